import Foundation
import GRDB

/// One conversation. `lastModified` moves forward whenever a message is added
/// or the session is renamed; history lists are ordered by it, newest first.
public struct ChatSession: Sendable, Equatable, FetchableRecord {
    public var id: String
    public var userId: String
    public var title: String
    public var createdAt: Date
    public var lastModified: Date
    public var projectId: String?

    public init(row: Row) throws {
        id = row["id"]
        userId = row["user_id"]
        title = row["title"]
        createdAt = Date(milliseconds: row["created_at"])
        lastModified = Date(milliseconds: row["last_modified"])
        projectId = row["project_id"]
    }
}
