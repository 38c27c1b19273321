import Foundation

// Low-level pieces of the binary Codable format described in BinaryCodec.swift:
// the tag bytes, the reader's error, and the keys. The writer, the reader and
// the table of fast-path types have files of their own.

/// The one-byte tags that start every value (and every key of a keyed container).
/// The raw values are the wire format (docs/wire-protocol.md): never renumber.
enum BinaryTag: UInt8 {
    case null = 0x00
    case `false` = 0x01
    case `true` = 0x02
    case signed = 0x03
    case unsigned = 0x04
    case float32 = 0x05
    case float64 = 0x06
    case string = 0x07
    case bytes = 0x08
    case unkeyed = 0x09
    case keyed = 0x0A
    case intKey = 0x0B
    case stringKey = 0x0C

    /// A readable name for error messages.
    var name: String {
        switch self {
        case .null: return "nil"
        case .false, .true: return "a Bool"
        case .signed: return "a signed integer"
        case .unsigned: return "an unsigned integer"
        case .float32: return "a Float"
        case .float64: return "a Double"
        case .string: return "a string"
        case .bytes: return "a byte string"
        case .unkeyed: return "an unkeyed container"
        case .keyed: return "a keyed container"
        case .intKey: return "an integer key"
        case .stringKey: return "a string key"
        }
    }

    /// The name of the tag `byte` read from the input, which may be no tag at all.
    static func name(of byte: UInt8) -> String {
        BinaryTag(rawValue: byte)?.name ?? "the invalid tag 0x" + String(byte, radix: 16, uppercase: true)
    }
}

// MARK: - Errors

/// The reader's error, without a coding path. Containers turn it into a
/// `DecodingError` that names the requested type and the coding path.
struct BinaryWireError: Error {
    enum Kind: Sendable { case corrupted, typeMismatch, valueNotFound }
    var kind: Kind
    var message: String

    static func corrupted(_ message: String) -> BinaryWireError {
        BinaryWireError(kind: .corrupted, message: message)
    }

    static func truncated(at offset: Int, reading what: String) -> BinaryWireError {
        .corrupted("Unexpected end of input at byte \(offset) while reading \(what).")
    }

    /// The value at `offset` starts with the byte `tag` but `expected` was asked for.
    static func mismatch(expected: String, found tag: UInt8, at offset: Int) -> BinaryWireError {
        if tag == BinaryTag.null.rawValue {
            return BinaryWireError(kind: .valueNotFound, message: "Expected \(expected) but found nil at byte \(offset).")
        }
        // A value tag is a type mismatch; a key tag or an invalid byte, corruption.
        let kind: Kind = tag <= BinaryTag.keyed.rawValue ? .typeMismatch : .corrupted
        return BinaryWireError(kind: kind, message: "Expected \(expected) but found \(BinaryTag.name(of: tag)) at byte \(offset).")
    }

    func decodingError(_ type: Any.Type, codingPath: [any CodingKey]) -> DecodingError {
        let context = DecodingError.Context(codingPath: codingPath, debugDescription: message)
        switch kind {
        case .corrupted: return .dataCorrupted(context)
        case .typeMismatch: return .typeMismatch(type, context)
        case .valueNotFound: return .valueNotFound(type, context)
        }
    }
}

// MARK: - Keys

/// How a key of a keyed container is written: its `intValue` when it has one
/// and `K(intValue:)` gives the key back (same `stringValue`), else its string.
/// The check keeps `[String: V]` keys such as "01" or "+1" (whose `intValue`
/// is 1) exact: they go out as strings.
enum BinaryWireKey {
    case int(Int)
    case string(String)

    @inline(__always)
    init<K: CodingKey>(_ key: K) {
        if let int = Self.intValue(of: key) {
            self = .int(int)
        } else {
            self = .string(key.stringValue)
        }
    }

    /// The integer `key` is written as, or nil when it is written as a string.
    /// Encoder and decoder use the same rule.
    @inline(__always)
    static func intValue<K: CodingKey>(of key: K) -> Int? {
        guard let int = key.intValue else { return nil }
        guard let canonical = K(intValue: int), canonical.stringValue == key.stringValue else { return nil }
        return int
    }
}

/// The key of an element of an unkeyed container, for coding paths.
struct BinaryIndexKey: CodingKey {
    let index: Int
    init(_ index: Int) { self.index = index }
    init?(intValue: Int) { self.index = intValue }
    init?(stringValue: String) { return nil }
    var intValue: Int? { index }
    var stringValue: String { "Index \(index)" }
}

/// A string key, used for "super".
struct BinaryNamedKey: CodingKey {
    let stringValue: String
    init(_ stringValue: String) { self.stringValue = stringValue }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
    var intValue: Int? { nil }

    static let `super` = BinaryNamedKey("super")
}
