/// One event to a browser: `{"type", "replyTo"?, "seq"?, "payload"}`.
public struct ServerFrame: Sendable, Equatable {
    public var type: String
    public var payload: [String: JSONValue]
    public var replyTo: String?
    /// The chat session's sequence number (session events only).
    public var seq: Int64?

    public init(_ type: String, _ payload: [String: JSONValue] = [:], replyTo: String? = nil, seq: Int64? = nil) {
        self.type = type
        self.payload = payload.filter { $0.value != .null }
        self.replyTo = replyTo
        self.seq = seq
    }

    public static func error(_ error: ProtocolError, replyTo: String?) -> ServerFrame {
        ServerFrame("error", ["code": .string(error.code.rawValue), "message": .string(String(error.message.prefix(1000)))],
                    replyTo: replyTo)
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["type": .string(type), "payload": .object(payload)]
        if let replyTo { object["replyTo"] = .string(replyTo) }
        if let seq { object["seq"] = .int(seq) }
        return .object(object)
    }

    public var text: String { json.jsonText }

    /// Reads a frame the gateway sent (clients and tests).
    public static func parse(_ text: String) -> ServerFrame? {
        guard let json = JSONValue.parse(text), let type = json["type"]?.stringValue else { return nil }
        return ServerFrame(type, json["payload"]?.objectValue ?? [:], replyTo: json["replyTo"]?.stringValue,
                           seq: json["seq"]?.intValue)
    }
}
