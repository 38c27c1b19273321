/// The web IDE protocol, defined once (docs/protocol.md): every message a
/// browser may send and every event the gateway sends, with their fields.
/// The gateway validates each incoming frame against it; the JSON Schema in
/// docs/protocol.schema.json and the web IDE's TypeScript types are
/// generated from it (`hma protocol schema`, `hma protocol typescript`).
public enum WebProtocol {
    /// Bumped when a message changes incompatibly.
    public static let version = "1"

    public static let clientMessages: [MessageSpec] = ClientMessages.all
    public static let serverEvents: [MessageSpec] = ServerEvents.all

    public static func client(_ type: String) -> MessageSpec? { clientIndex[type] }
    public static func server(_ type: String) -> MessageSpec? { serverIndex[type] }

    private static let clientIndex = Dictionary(uniqueKeysWithValues: clientMessages.map { ($0.type, $0) })
    private static let serverIndex = Dictionary(uniqueKeysWithValues: serverEvents.map { ($0.type, $0) })
}

/// One message type and its payload.
public struct MessageSpec: Sendable {
    public var type: String
    public var summary: String
    public var fields: [Field]
    /// What the gateway answers (client messages only).
    public var answers: [String]

    public init(_ type: String, _ summary: String, _ fields: [Field] = [], answers: [String] = []) {
        self.type = type
        self.summary = summary
        self.fields = fields
        self.answers = answers
    }
}

/// A payload field.
public struct Field: Sendable {
    public var name: String
    public var kind: FieldKind
    public var required: Bool
    public var summary: String

    public static func required(_ name: String, _ kind: FieldKind, _ summary: String = "") -> Field {
        Field(name: name, kind: kind, required: true, summary: summary)
    }

    public static func optional(_ name: String, _ kind: FieldKind, _ summary: String = "") -> Field {
        Field(name: name, kind: kind, required: false, summary: summary)
    }
}

/// What a field may hold. Every string and list is bounded, so validation
/// alone keeps a hostile frame from growing the gateway's memory.
public indirect enum FieldKind: Sendable {
    /// UTF-8 text of at most `maxBytes` bytes.
    case string(maxBytes: Int)
    /// An id the gateway issued (letters, digits, `-_.:`, at most 128 bytes).
    case id
    case integer(min: Int64, max: Int64)
    case number(min: Double, max: Double)
    case boolean
    /// One of these strings.
    case choice([String])
    case object([Field])
    case array(of: FieldKind, maxItems: Int)
    /// Any JSON (free-form metadata), at most `maxBytes` bytes once encoded.
    case anyJSON(maxBytes: Int)

    /// A project-relative path (the workspace rejects `..`, absolute paths and links out).
    public static let path = FieldKind.string(maxBytes: 4096)
    public static let shortText = FieldKind.string(maxBytes: 1024)
    /// File contents, prompts and chat messages.
    public static let longText = FieldKind.string(maxBytes: Limits.maxTextBytes)
    public static let count = FieldKind.integer(min: 0, max: 1 << 31)
    public static let seq = FieldKind.integer(min: 0, max: 1 << 53)

    public enum Limits {
        /// A file's contents or a prompt: 2 MiB.
        public static let maxTextBytes = 2 << 20
    }
}
