import Foundation

/// A client message that passed validation: its payload holds exactly the
/// fields its `MessageSpec` allows, each of the declared kind and size.
public struct IncomingMessage: Sendable, Equatable {
    public var type: String
    public var id: String?
    public var payload: [String: JSONValue]

    // Accessors for validated fields: a required field is always present
    // with its kind, so the fallbacks are never used for those.
    public func string(_ name: String) -> String { payload[name]?.stringValue ?? "" }
    public func optionalString(_ name: String) -> String? { payload[name]?.stringValue }
    public func int(_ name: String) -> Int { Int(payload[name]?.intValue ?? 0) }
    public func optionalInt(_ name: String) -> Int? { payload[name]?.intValue.map { Int($0) } }
    public func double(_ name: String) -> Double? { payload[name]?.doubleValue }
    public func bool(_ name: String) -> Bool { payload[name]?.boolValue ?? false }
    public func object(_ name: String) -> [String: JSONValue]? { payload[name]?.objectValue }
    public func array(_ name: String) -> [JSONValue]? { payload[name]?.arrayValue }
}

/// Checks incoming frames against `WebProtocol` (pure: no I/O).
public enum ProtocolValidator {
    public static let maxIdBytes = 128

    /// Decodes and validates one text frame. The error's `replyTo` is the
    /// request's id when it could be read.
    public static func decode(_ text: String) -> Result<IncomingMessage, ProtocolFailure> {
        guard let json = JSONValue.parse(text), case .object(let envelope) = json else {
            return .failure(ProtocolFailure(ProtocolError(.badFrame, "a frame must be one JSON object"), replyTo: nil))
        }
        var id: String?
        switch envelope["id"] {
        case .none, .some(.null): id = nil
        case .some(.string(let value)) where !value.isEmpty && value.utf8.count <= maxIdBytes: id = value
        case .some(.int(let value)): id = String(value)
        default:
            return .failure(ProtocolFailure(ProtocolError(.invalidField, "id must be a string of 1–\(maxIdBytes) bytes"), replyTo: nil))
        }
        guard let type = envelope["type"]?.stringValue else {
            return .failure(ProtocolFailure(ProtocolError(.invalidField, "type is missing or not a string"), replyTo: id))
        }
        if let extra = envelope.keys.first(where: { !["type", "id", "payload"].contains($0) }) {
            return .failure(ProtocolFailure(ProtocolError(.invalidField, "unknown envelope field \(extra)"), replyTo: id))
        }
        guard let spec = WebProtocol.client(type) else {
            return .failure(ProtocolFailure(ProtocolError(.unknownType, "unknown message type \(type.prefix(64))"), replyTo: id))
        }
        let payload: [String: JSONValue]
        switch envelope["payload"] {
        case .none, .some(.null): payload = [:]
        case .some(.object(let object)): payload = object
        default:
            return .failure(ProtocolFailure(ProtocolError(.invalidField, "payload must be an object"), replyTo: id))
        }
        if let problem = check(payload, against: spec.fields, at: "payload") {
            return .failure(ProtocolFailure(ProtocolError(.invalidField, "\(type): \(problem)"), replyTo: id))
        }
        return .success(IncomingMessage(type: type, id: id, payload: payload.filter { $0.value != .null }))
    }

    /// Why `object` does not fit `fields`, or nil when it does. Unknown
    /// fields are refused; `null` counts as absent.
    public static func check(_ object: [String: JSONValue], against fields: [Field], at path: String) -> String? {
        let known = Set(fields.map(\.name))
        if let extra = object.keys.sorted().first(where: { !known.contains($0) }) {
            return "\(path).\(extra) is not a field of this message"
        }
        for field in fields {
            let value = object[field.name]
            if value == nil || value == .null {
                if field.required { return "\(path).\(field.name) is required" }
                continue
            }
            if let problem = check(value!, against: field.kind, at: "\(path).\(field.name)") { return problem }
        }
        return nil
    }

    static func check(_ value: JSONValue, against kind: FieldKind, at path: String) -> String? {
        switch kind {
        case .string(let maxBytes):
            guard let text = value.stringValue else { return "\(path) must be a string" }
            return text.utf8.count <= maxBytes ? nil : "\(path) is longer than \(maxBytes) bytes"
        case .id:
            guard let text = value.stringValue else { return "\(path) must be a string" }
            return isId(text) ? nil : "\(path) is not an id"
        case .integer(let min, let max):
            guard let number = value.intValue else { return "\(path) must be an integer" }
            return (min...max).contains(number) ? nil : "\(path) must be between \(min) and \(max)"
        case .number(let min, let max):
            guard let number = value.doubleValue, number.isFinite else { return "\(path) must be a number" }
            return (min...max).contains(number) ? nil : "\(path) must be between \(min) and \(max)"
        case .boolean:
            return value.boolValue == nil ? "\(path) must be true or false" : nil
        case .choice(let options):
            guard let text = value.stringValue, options.contains(text) else {
                return "\(path) must be one of \(options.joined(separator: ", "))"
            }
            return nil
        case .object(let fields):
            guard let object = value.objectValue else { return "\(path) must be an object" }
            return check(object, against: fields, at: path)
        case .array(let element, let maxItems):
            guard let items = value.arrayValue else { return "\(path) must be a list" }
            guard items.count <= maxItems else { return "\(path) has more than \(maxItems) items" }
            for (index, item) in items.enumerated() {
                if let problem = check(item, against: element, at: "\(path)[\(index)]") { return problem }
            }
            return nil
        case .anyJSON(let maxBytes):
            return value.jsonText.utf8.count <= maxBytes ? nil : "\(path) is larger than \(maxBytes) bytes"
        }
    }

    /// Ids the gateway issues: 1–128 bytes of letters, digits and `-_.:`.
    public static func isId(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= maxIdBytes
            && text.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
            }
    }

    /// Checks an event the gateway is about to send (tests use it on every event they receive).
    public static func checkEvent(type: String, payload: [String: JSONValue]) -> String? {
        guard let spec = WebProtocol.server(type) else { return "unknown event type \(type)" }
        return check(payload, against: spec.fields, at: type)
    }
}

/// A frame that failed validation, and the request id to answer.
public struct ProtocolFailure: Error, Sendable, Equatable {
    public var error: ProtocolError
    public var replyTo: String?

    public init(_ error: ProtocolError, replyTo: String?) {
        self.error = error
        self.replyTo = replyTo
    }
}
