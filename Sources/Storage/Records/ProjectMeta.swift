import Foundation
import GRDB

/// Where a project is in its life. Retention moves idle projects to
/// `archived`; a person can bring an archived project back to `active`.
public enum ProjectStatus: String, Sendable, Codable, CaseIterable {
    case active, completed, archived

    /// The transitions the store accepts:
    /// active → completed → archived, active → archived (retention),
    /// completed → active (more work asked), archived → active (restored).
    public func canTransition(to next: ProjectStatus) -> Bool {
        switch (self, next) {
        case (.active, .completed), (.active, .archived),
             (.completed, .active), (.completed, .archived),
             (.archived, .active):
            return true
        default:
            return false
        }
    }
}

/// A generated or imported project and its retention state.
public struct ProjectMeta: Sendable, Equatable, FetchableRecord {
    public var id: String
    public var ownerId: String
    public var sessionId: String?
    public var name: String
    /// The project's folder relative to the workspace root of its host.
    public var projectPath: String
    public var language: String
    public var status: ProjectStatus
    public var createdAt: Date
    /// Last time anything happened in the project (a message, a file write).
    public var lastActivityAt: Date
    /// When retention compressed the project's files; nil while uncompressed.
    public var compressedAt: Date?

    public init(row: Row) throws {
        id = row["id"]
        ownerId = row["owner_id"]
        sessionId = row["session_id"]
        name = row["name"]
        projectPath = row["project_path"]
        language = row["language"]
        let raw: String = row["status"]
        guard let status = ProjectStatus(rawValue: raw) else {
            throw StorageError.invalidField(name: "project status", reason: "unknown status \(raw)")
        }
        self.status = status
        createdAt = Date(milliseconds: row["created_at"])
        lastActivityAt = Date(milliseconds: row["last_activity_at"])
        compressedAt = (row["compressed_at"] as Int64?).map(Date.init(milliseconds:))
    }
}
