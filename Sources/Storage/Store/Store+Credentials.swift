import Foundation
import GRDB

/// What an access token is for.
public enum AccessTokenKind: String, Sendable, CaseIterable {
    /// A long-lived token for programs and for signing in (`hma users add`).
    case api
    /// Signs in once, then is gone (the URL `hma dev` prints).
    case once
    /// A browser's session cookie.
    case login
}

extension Store {
    /// The user called `name`, or nil.
    public func user(named name: String) async throws -> User? {
        try await read { db in try User.fetchOne(db, sql: "SELECT * FROM user WHERE name = ?", arguments: [name]) }
    }

    /// Every user, oldest first.
    public func users() async throws -> [User] {
        try await read { db in try User.fetchAll(db, sql: "SELECT * FROM user ORDER BY created_at, id") }
    }

    /// Records a token by its hash (the caller keeps the token itself).
    /// - Throws: `.userNotFound`.
    public func addAccessToken(hash: Data, userId: String, kind: AccessTokenKind, label: String? = nil, expiresAt: Date? = nil) async throws {
        let created = now.milliseconds
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM user WHERE id = ?", arguments: [userId]) != nil else {
                throw StorageError.userNotFound(id: userId)
            }
            try db.execute(
                sql: "INSERT INTO access_token (hash, user_id, kind, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [hash, userId, kind.rawValue, label, created, expiresAt?.milliseconds])
        }
    }

    /// The user a token of one of `kinds` belongs to, if it exists and has
    /// not expired. A `once` token is deleted in the same transaction, so
    /// it signs in exactly once.
    public func redeemAccessToken(hash: Data, kinds: Set<AccessTokenKind>) async throws -> User? {
        let at = now.milliseconds
        return try await write { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT user_id, kind, expires_at FROM access_token WHERE hash = ?", arguments: [hash]) else { return nil }
            let kindText: String = row["kind"]
            guard let kind = AccessTokenKind(rawValue: kindText), kinds.contains(kind) else { return nil }
            if let expires = row["expires_at"] as Int64?, expires <= at {
                try db.execute(sql: "DELETE FROM access_token WHERE hash = ?", arguments: [hash])
                return nil
            }
            if kind == .once { try db.execute(sql: "DELETE FROM access_token WHERE hash = ?", arguments: [hash]) }
            let userId: String = row["user_id"]
            return try User.fetchOne(db, sql: "SELECT * FROM user WHERE id = ?", arguments: [userId])
        }
    }

    /// Removes one token (sign-out) — or every token of a user with `userId`.
    public func revokeAccessTokens(hash: Data? = nil, userId: String? = nil) async throws {
        try await write { db in
            if let hash { try db.execute(sql: "DELETE FROM access_token WHERE hash = ?", arguments: [hash]) }
            if let userId { try db.execute(sql: "DELETE FROM access_token WHERE user_id = ?", arguments: [userId]) }
        }
    }

    /// Stores a sealed secret (the gateway seals it first).
    public func setUserSecret(userId: String, name: String, sealed: Data) async throws {
        try validateId(name, field: "secret name")
        let at = now.milliseconds
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM user WHERE id = ?", arguments: [userId]) != nil else {
                throw StorageError.userNotFound(id: userId)
            }
            try db.execute(
                sql: """
                    INSERT INTO user_secret (user_id, name, sealed, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT(user_id, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at
                    """,
                arguments: [userId, name, sealed, at])
        }
    }

    /// A sealed secret, or nil.
    public func userSecret(userId: String, name: String) async throws -> Data? {
        try await read { db in
            try Data.fetchOne(db, sql: "SELECT sealed FROM user_secret WHERE user_id = ? AND name = ?", arguments: [userId, name])
        }
    }

    /// The names of a user's secrets (never their values).
    public func userSecretNames(userId: String) async throws -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT name FROM user_secret WHERE user_id = ? ORDER BY name", arguments: [userId])
        }
    }
}
