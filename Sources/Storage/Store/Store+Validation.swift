import Foundation

extension Store {
    /// Ids are opaque strings chosen by clients or by us: non-empty, bounded,
    /// and free of control characters so they log and display safely.
    func validateId(_ id: String, field: String) throws {
        if id.isEmpty { throw StorageError.invalidField(name: field, reason: "it is empty") }
        if id.utf8.count > limits.maxIdBytes {
            throw StorageError.invalidField(name: field, reason: "it is longer than \(limits.maxIdBytes) bytes")
        }
        // Fast path: printable ASCII, which nearly every id is.
        let printableASCII = id.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        if !printableASCII, id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw StorageError.invalidField(name: field, reason: "it contains control characters")
        }
    }

    func validateTitle(_ title: String) throws {
        let length = title.count
        if length > limits.maxTitleLength {
            throw StorageError.titleTooLong(length: length, limit: limits.maxTitleLength)
        }
    }

    func validateMessage(_ message: NewMessage) throws {
        if let id = message.id { try validateId(id, field: "message id") }
        try validateId(message.sessionId, field: "session id")
        let bytes = message.content.utf8.count
        if bytes > limits.maxMessageBytes {
            throw StorageError.messageTooLarge(bytes: bytes, limit: limits.maxMessageBytes)
        }
        if let agentId = message.agentId { try validateId(agentId, field: "agent id") }
        if let metadata = message.metadata {
            let bytes = metadata.utf8.count
            if bytes > limits.maxMessageBytes {
                throw StorageError.messageTooLarge(bytes: bytes, limit: limits.maxMessageBytes)
            }
            guard (try? JSONSerialization.jsonObject(with: Data(metadata.utf8), options: [.fragmentsAllowed])) != nil else {
                throw StorageError.invalidField(name: "message metadata", reason: "it is not valid JSON")
            }
        }
    }

    func pageSize(_ requested: Int) throws -> Int {
        guard requested > 0 else {
            throw StorageError.invalidField(name: "limit", reason: "it must be at least 1")
        }
        return min(requested, limits.maxPageSize)
    }

    /// A new time-ordered id, as the store makes for records (callers that need
    /// an id before the record exists, e.g. a project folder named by it).
    public static func newId() -> String { TimeOrderedID.make() }
}
