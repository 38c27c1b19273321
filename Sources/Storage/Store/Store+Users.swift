import Foundation
import GRDB

extension Store {
    /// The user called `name`, created on first use.
    public func ensureUser(name: String) async throws -> User {
        try validateId(name, field: "user name")
        let createdAt = now
        let newId = Self.newId()
        return try await write { db in
            if let existing = try User.fetchOne(db, sql: "SELECT * FROM user WHERE name = ?", arguments: [name]) {
                return existing
            }
            try db.execute(
                sql: "INSERT INTO user (id, name, created_at) VALUES (?, ?, ?)",
                arguments: [newId, name, createdAt.milliseconds])
            return User(id: newId, name: name, createdAt: createdAt)
        }
    }

    /// The user with this id.
    /// - Throws: `StorageError.userNotFound`.
    public func user(id: String) async throws -> User {
        let user = try await read { db in
            try User.fetchOne(db, sql: "SELECT * FROM user WHERE id = ?", arguments: [id])
        }
        guard let user else { throw StorageError.userNotFound(id: id) }
        return user
    }
}
