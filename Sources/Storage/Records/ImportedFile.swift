import Crypto
import Foundation
import GRDB

/// A file a person brought into a session (upload, zip or clone). The content
/// lives in the workspace; the store keeps what identifies it.
public struct ImportedFile: Sendable, Equatable, FetchableRecord {
    public var id: String
    public var sessionId: String
    public var name: String
    public var path: String
    public var size: Int64
    /// Lowercase hex SHA-256 of the content.
    public var contentHash: String
    public var importedAt: Date

    public init(row: Row) throws {
        id = row["id"]
        sessionId = row["session_id"]
        name = row["name"]
        path = row["path"]
        size = row["size"]
        contentHash = row["content_hash"]
        importedAt = Date(milliseconds: row["imported_at"])
    }

    /// The hash the store records for `content`.
    public static func contentHash(of content: some DataProtocol) -> String {
        SHA256.hash(data: content).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
