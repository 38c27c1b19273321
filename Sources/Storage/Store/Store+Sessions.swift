import Foundation
import GRDB

extension Store {
    /// Creates a chat session for `userId`, optionally with a client-chosen id
    /// and attached to a project.
    /// - Throws: `.userNotFound`, `.projectNotFound`, `.duplicateId`,
    ///   `.titleTooLong`, `.invalidField`.
    @discardableResult
    public func createSession(
        userId: String, title: String, projectId: String? = nil, id: String? = nil
    ) async throws -> ChatSession {
        let id = id ?? Self.newId()
        try validateId(id, field: "session id")
        try validateTitle(title)
        let createdAt = now
        return try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM user WHERE id = ?", arguments: [userId]) != nil else {
                throw StorageError.userNotFound(id: userId)
            }
            if let projectId, try Bool.fetchOne(db, sql: "SELECT 1 FROM project_meta WHERE id = ?", arguments: [projectId]) == nil {
                throw StorageError.projectNotFound(id: projectId)
            }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM chat_session WHERE id = ?", arguments: [id]) != nil {
                throw StorageError.duplicateId(kind: "chat session", id: id)
            }
            try db.execute(
                sql: """
                    INSERT INTO chat_session (id, user_id, title, created_at, last_modified, project_id)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id, userId, title, createdAt.milliseconds, createdAt.milliseconds, projectId])
            return try Self.fetchSession(db, id: id)
        }
    }

    /// The session with this id.
    /// - Throws: `.sessionNotFound`.
    public func session(id: String) async throws -> ChatSession {
        try await read { db in try Self.fetchSession(db, id: id) }
    }

    /// Renames a session; its `lastModified` moves to now.
    /// - Throws: `.sessionNotFound`, `.titleTooLong`.
    @discardableResult
    public func renameSession(id: String, title: String) async throws -> ChatSession {
        try validateTitle(title)
        let modified = now.milliseconds
        return try await write { db in
            try db.execute(
                sql: "UPDATE chat_session SET title = ?, last_modified = max(last_modified, ?) WHERE id = ?",
                arguments: [title, modified, id])
            guard db.changesCount > 0 else { throw StorageError.sessionNotFound(id: id) }
            return try Self.fetchSession(db, id: id)
        }
    }

    /// Deletes a session together with its messages and imported files, in one
    /// transaction. A project that pointed at it keeps existing, unlinked.
    /// - Throws: `.sessionNotFound`.
    public func deleteSession(id: String) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM chat_session WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { throw StorageError.sessionNotFound(id: id) }
        }
    }

    /// A page of `userId`'s sessions, most recently modified first.
    ///
    /// Paging is by key (last modification, id), so pages never repeat a
    /// session and never skip one that was not modified meanwhile; a session
    /// modified while a client pages moves to the top (the first page).
    public func sessions(userId: String, limit: Int, before cursor: String? = nil) async throws -> Page<ChatSession> {
        let limit = try pageSize(limit)
        let after = try cursor.map(SessionCursor.init(parsing:))
        return try await read { db in
            var sql = "SELECT * FROM chat_session WHERE user_id = ?"
            var arguments: StatementArguments = [userId]
            if let after {
                sql += " AND (last_modified, id) < (?, ?)"
                arguments += [after.lastModified, after.id]
            }
            sql += " ORDER BY last_modified DESC, id DESC LIMIT ?"
            arguments += [limit + 1]
            var items = try ChatSession.fetchAll(db, sql: sql, arguments: arguments)
            var next: String?
            if items.count > limit {
                items.removeLast()
                next = items.last.map { SessionCursor(lastModified: $0.lastModified.milliseconds, id: $0.id).encoded }
            }
            return Page(items: items, nextCursor: next)
        }
    }

    static func fetchSession(_ db: Database, id: String) throws -> ChatSession {
        guard let session = try ChatSession.fetchOne(db, sql: "SELECT * FROM chat_session WHERE id = ?", arguments: [id]) else {
            throw StorageError.sessionNotFound(id: id)
        }
        return session
    }
}

/// Where a session page ended: "s1:<lastModified ms>:<id>".
struct SessionCursor: Equatable {
    var lastModified: Int64
    var id: String

    init(lastModified: Int64, id: String) {
        self.lastModified = lastModified
        self.id = id
    }

    init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "s1", let modified = Int64(parts[1]), !parts[2].isEmpty else {
            throw StorageError.invalidCursor(text)
        }
        lastModified = modified
        id = String(parts[2])
    }

    var encoded: String { "s1:\(lastModified):\(id)" }
}
