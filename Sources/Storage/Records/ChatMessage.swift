import Foundation
import GRDB

/// Who wrote a message.
public enum MessageSender: String, Sendable, Codable, CaseIterable {
    case user, assistant, system
}

/// A message to append. `id` may be given by the client (so a retried save is
/// recognised); when nil the store makes one.
public struct NewMessage: Sendable, Equatable {
    public var id: String?
    public var sessionId: String
    public var sender: MessageSender
    public var content: String
    public var agentId: String?
    /// Free-form JSON text kept as is (for example which files an agent touched).
    public var metadata: String?
    /// When nil, the store's clock.
    public var timestamp: Date?

    public init(
        id: String? = nil, sessionId: String, sender: MessageSender, content: String,
        agentId: String? = nil, metadata: String? = nil, timestamp: Date? = nil
    ) {
        self.id = id
        self.sessionId = sessionId
        self.sender = sender
        self.content = content
        self.agentId = agentId
        self.metadata = metadata
        self.timestamp = timestamp
    }
}

/// A stored message. `position` is its place in the store's append order:
/// it only grows and is never reused, which is what makes paging by cursor
/// stable while other writers append.
public struct ChatMessage: Sendable, Equatable, FetchableRecord {
    public var position: Int64
    public var id: String
    public var sessionId: String
    public var sender: MessageSender
    public var content: String
    public var timestamp: Date
    public var agentId: String?
    public var metadata: String?

    init(
        position: Int64, id: String, sessionId: String, sender: MessageSender, content: String,
        timestamp: Date, agentId: String?, metadata: String?
    ) {
        self.position = position
        self.id = id
        self.sessionId = sessionId
        self.sender = sender
        self.content = content
        self.timestamp = timestamp
        self.agentId = agentId
        self.metadata = metadata
    }

    public init(row: Row) throws {
        position = row["position"]
        id = row["id"]
        sessionId = row["session_id"]
        let type: String = row["type"]
        guard let sender = MessageSender(rawValue: type) else {
            throw StorageError.invalidField(name: "message type", reason: "unknown sender \(type)")
        }
        self.sender = sender
        content = row["content"]
        timestamp = Date(milliseconds: row["timestamp"])
        agentId = row["agent_id"]
        metadata = row["metadata"]
    }
}
