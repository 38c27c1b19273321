import Foundation
import GRDB

extension Store {
    /// Records that a file was imported into a session. Importing the same
    /// path again replaces the record (new size and hash).
    /// - Throws: `.sessionNotFound`, `.invalidField`.
    @discardableResult
    public func recordImportedFile(
        sessionId: String, path: String, size: Int64, contentHash: String
    ) async throws -> ImportedFile {
        try validateId(path, field: "file path")
        guard size >= 0 else { throw StorageError.invalidField(name: "file size", reason: "it is negative") }
        guard contentHash.count == 64, contentHash.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw StorageError.invalidField(name: "content hash", reason: "it is not a lowercase hex SHA-256")
        }
        let name = (path as NSString).lastPathComponent
        let id = Self.newId()
        let importedAt = now.milliseconds
        return try await write { db in
            _ = try Self.fetchSession(db, id: sessionId)
            try db.execute(
                sql: """
                    INSERT INTO imported_file (id, session_id, name, path, size, content_hash, imported_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (session_id, path) DO UPDATE SET
                        size = excluded.size, content_hash = excluded.content_hash,
                        imported_at = excluded.imported_at
                    """,
                arguments: [id, sessionId, name, path, size, contentHash, importedAt])
            return try ImportedFile.fetchOne(
                db, sql: "SELECT * FROM imported_file WHERE session_id = ? AND path = ?",
                arguments: [sessionId, path])!
        }
    }

    /// The files imported into a session, by path.
    /// - Throws: `.sessionNotFound`.
    public func importedFiles(sessionId: String) async throws -> [ImportedFile] {
        try await read { db in
            _ = try Self.fetchSession(db, id: sessionId)
            return try ImportedFile.fetchAll(
                db, sql: "SELECT * FROM imported_file WHERE session_id = ? ORDER BY path", arguments: [sessionId])
        }
    }
}
