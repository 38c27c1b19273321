import Crypto
import Foundation

/// One file of a project's durable copy (docs/architecture.md, "Project
/// copies"): its path in the project and its bytes.
public struct CopiedFile: Sendable, Codable, Equatable {
    public var path: String
    public var content: Data

    public init(path: String, content: Data) {
        self.path = path
        self.content = content
    }

    /// The content's SHA-256, hex: what the copy compares a host's files by.
    public static func digest(_ content: Data) -> String {
        SHA256.hash(data: content).map { String(format: "%02x", $0) }.joined()
    }
}

/// What changed in a project since its copy was last brought up to date.
public struct ProjectCopyChanges: Sendable, Codable, Equatable {
    /// New or changed files, whole.
    public var written: [CopiedFile]
    /// Paths no longer in the project.
    public var removed: [String]

    public init(written: [CopiedFile] = [], removed: [String] = []) {
        self.written = written
        self.removed = removed
    }

    public var isEmpty: Bool { written.isEmpty && removed.isEmpty }
}
