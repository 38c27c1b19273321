import Foundation
import GRDB

extension Store {
    /// Appends one message and returns it as stored. When it returns, the
    /// message is durable. A message whose client-given id is already stored in
    /// the same session is not stored twice: the stored one is returned.
    /// - Throws: `.sessionNotFound`, `.messageTooLarge`, `.duplicateId` (the
    ///   id belongs to another session), `.invalidField`.
    @discardableResult
    public func appendMessage(_ message: NewMessage) async throws -> ChatMessage {
        try await appendMessages([message])[0]
    }

    /// Appends several messages (to one or several sessions) in one
    /// transaction: all are stored, or none.
    @discardableResult
    public func appendMessages(_ messages: [NewMessage]) async throws -> [ChatMessage] {
        for message in messages { try validateMessage(message) }
        let timestamp = now
        let prepared = messages.map { message in
            (message, message.id ?? Self.newId(), (message.timestamp ?? timestamp).milliseconds)
        }
        return try await write { db in
            var projectOfSession: [String: String?] = [:]
            var stored: [ChatMessage] = []
            stored.reserveCapacity(prepared.count)
            let insert = try db.cachedStatement(sql: """
                INSERT INTO chat_message (id, session_id, type, content, timestamp, agent_id, metadata)
                VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
                """)
            for (message, id, millis) in prepared {
                if projectOfSession[message.sessionId] == nil {
                    let lookup = try db.cachedStatement(sql: "SELECT project_id FROM chat_session WHERE id = ?")
                    guard let row = try Row.fetchOne(lookup, arguments: [message.sessionId])
                    else { throw StorageError.sessionNotFound(id: message.sessionId) }
                    projectOfSession[message.sessionId] = .some(row["project_id"])
                }
                insert.setUncheckedArguments([
                    id, message.sessionId, message.sender.rawValue, message.content, millis,
                    message.agentId, message.metadata,
                ])
                try insert.execute()
                if db.changesCount == 1 {
                    stored.append(ChatMessage(
                        position: db.lastInsertedRowID, id: id, sessionId: message.sessionId, sender: message.sender,
                        content: message.content, timestamp: Date(milliseconds: millis),
                        agentId: message.agentId, metadata: message.metadata))
                } else {
                    // The id exists: a retried append is answered with what is stored.
                    let existing = try ChatMessage.fetchOne(
                        db, sql: "SELECT * FROM chat_message WHERE id = ?", arguments: [id])
                    guard let existing, existing.sessionId == message.sessionId else {
                        throw StorageError.duplicateId(kind: "message", id: id)
                    }
                    stored.append(existing)
                }
            }
            let touched = timestamp.milliseconds
            let touchSession = try db.cachedStatement(
                sql: "UPDATE chat_session SET last_modified = max(last_modified, ?) WHERE id = ?")
            let touchProject = try db.cachedStatement(
                sql: "UPDATE project_meta SET last_activity_at = max(last_activity_at, ?) WHERE id = ?")
            for (sessionId, projectId) in projectOfSession {
                try touchSession.execute(arguments: [touched, sessionId])
                if let projectId { try touchProject.execute(arguments: [touched, projectId]) }
            }
            return stored
        }
    }

    /// A page of a session's messages, newest first. Pass the returned
    /// `nextCursor` as `before` for older messages; messages appended while a
    /// client pages never shift the pages it has not read yet.
    /// - Throws: `.sessionNotFound`, `.invalidCursor`.
    public func messages(sessionId: String, limit: Int, before cursor: String? = nil) async throws -> Page<ChatMessage> {
        let limit = try pageSize(limit)
        let before = try cursor.map(Self.parseMessageCursor)
        return try await read { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM chat_session WHERE id = ?", arguments: [sessionId]) != nil else {
                throw StorageError.sessionNotFound(id: sessionId)
            }
            var items = try ChatMessage.fetchAll(
                db,
                sql: """
                    SELECT * FROM chat_message WHERE session_id = ? AND position < ?
                    ORDER BY position DESC LIMIT ?
                    """,
                arguments: [sessionId, before ?? Int64.max, limit + 1])
            var next: String?
            if items.count > limit {
                items.removeLast()
                next = items.last.map { "m1:\($0.position)" }
            }
            return Page(items: items, nextCursor: next)
        }
    }

    /// How many messages a session holds.
    public func messageCount(sessionId: String) async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM chat_message WHERE session_id = ?", arguments: [sessionId]) ?? 0
        }
    }

    static func parseMessageCursor(_ text: String) throws -> Int64 {
        guard text.hasPrefix("m1:"), let position = Int64(text.dropFirst(3)), position > 0 else {
            throw StorageError.invalidCursor(text)
        }
        return position
    }
}
