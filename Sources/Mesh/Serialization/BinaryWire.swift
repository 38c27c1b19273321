import Foundation

// Low-level pieces of the binary Codable format described in BinaryCodec.swift:
// tag bytes, the writer (extensions on [UInt8]) and the bounds-checked reader.

/// The one-byte tags that start every value (and every key of a keyed container).
enum BinaryTag {
    static let null: UInt8 = 0x00
    static let `false`: UInt8 = 0x01
    static let `true`: UInt8 = 0x02
    static let signed: UInt8 = 0x03
    static let unsigned: UInt8 = 0x04
    static let float32: UInt8 = 0x05
    static let float64: UInt8 = 0x06
    static let string: UInt8 = 0x07
    static let bytes: UInt8 = 0x08
    static let unkeyed: UInt8 = 0x09
    static let keyed: UInt8 = 0x0A
    static let intKey: UInt8 = 0x0B
    static let stringKey: UInt8 = 0x0C

    /// A readable name for error messages.
    static func name(_ tag: UInt8) -> String {
        switch tag {
        case null: return "nil"
        case `false`, `true`: return "a Bool"
        case signed: return "a signed integer"
        case unsigned: return "an unsigned integer"
        case float32: return "a Float"
        case float64: return "a Double"
        case string: return "a string"
        case bytes: return "a byte string"
        case unkeyed: return "an unkeyed container"
        case keyed: return "a keyed container"
        case intKey: return "an integer key"
        case stringKey: return "a string key"
        default: return "the invalid tag 0x" + String(tag, radix: 16, uppercase: true)
        }
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

    /// The value at `offset` has `tag` but `expected` was asked for.
    static func mismatch(expected: String, found tag: UInt8, at offset: Int) -> BinaryWireError {
        if tag == BinaryTag.null {
            return BinaryWireError(kind: .valueNotFound, message: "Expected \(expected) but found nil at byte \(offset).")
        }
        let kind: Kind = tag <= BinaryTag.keyed ? .typeMismatch : .corrupted
        return BinaryWireError(kind: kind, message: "Expected \(expected) but found \(BinaryTag.name(tag)) at byte \(offset).")
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

// MARK: - Writer

extension Array where Element == UInt8 {
    // Varints and floats are appended a byte at a time: for 1–10 bytes that
    // measured faster than `append(contentsOf:)` of a scratch buffer.

    @inline(__always)
    mutating func binaryWriteVarint(_ value: UInt64) {
        if value < 0x80 {
            append(UInt8(truncatingIfNeeded: value))
        } else {
            binaryWriteLongVarint(value)
        }
    }

    /// LEB128 of a value ≥ 0x80.
    mutating func binaryWriteLongVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    mutating func binaryWriteLittleEndian<T: FixedWidthInteger & UnsignedInteger>(_ value: T) {
        var v = value
        for _ in 0..<MemoryLayout<T>.size {
            append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    @inline(__always)
    mutating func binaryWriteSigned(_ value: Int64) {
        append(BinaryTag.signed)
        binaryWriteVarint(binaryZigZag(value))
    }

    @inline(__always)
    mutating func binaryWriteUnsigned(_ value: UInt64) {
        append(BinaryTag.unsigned)
        binaryWriteVarint(value)
    }

    @inline(__always)
    mutating func binaryWriteFloat(_ value: Float) {
        append(BinaryTag.float32)
        binaryWriteLittleEndian(value.bitPattern)
    }

    @inline(__always)
    mutating func binaryWriteDouble(_ value: Double) {
        append(BinaryTag.float64)
        binaryWriteLittleEndian(value.bitPattern)
    }

    /// `tag`, the UTF-8 byte count, then the UTF-8 bytes (tag is `string` or `stringKey`).
    @inline(__always)
    mutating func binaryWriteString(_ value: String, tag: UInt8 = BinaryTag.string) {
        var value = value
        value.withUTF8 { utf8 in
            append(tag)
            binaryWriteVarint(UInt64(utf8.count))
            append(contentsOf: utf8)
        }
    }

    @inline(__always)
    mutating func binaryWriteBytes(_ bytes: UnsafeRawBufferPointer) {
        append(BinaryTag.bytes)
        binaryWriteVarint(UInt64(bytes.count))
        append(contentsOf: bytes)
    }

    @inline(__always)
    mutating func binaryWriteKey(_ key: BinaryWireKey) {
        switch key {
        case .int(let int):
            append(BinaryTag.intKey)
            binaryWriteVarint(binaryZigZag(Int64(int)))
        case .string(let string):
            binaryWriteString(string, tag: BinaryTag.stringKey)
        }
    }
}

/// How a key of a keyed container is written: its `intValue` when it has one
/// and `K(intValue:)` gives the key back (same `stringValue`), else its string.
/// The check keeps `[String: V]` keys such as "01" or "+1" (whose `intValue`
/// is 1) exact: they go out as strings.
enum BinaryWireKey {
    case int(Int)
    case string(String)

    @inline(__always)
    init<K: CodingKey>(_ key: K) {
        if let int = binaryIntKey(key) {
            self = .int(int)
        } else {
            self = .string(key.stringValue)
        }
    }
}

/// The integer a key is written as, or nil when it is written as a string.
/// Encoder and decoder use the same rule.
@inline(__always)
func binaryIntKey<K: CodingKey>(_ key: K) -> Int? {
    guard let int = key.intValue else { return nil }
    guard let canonical = K(intValue: int), canonical.stringValue == key.stringValue else { return nil }
    return int
}

@inline(__always)
func binaryZigZag(_ value: Int64) -> UInt64 {
    UInt64(bitPattern: (value &<< 1) ^ (value >> 63))
}

@inline(__always)
func binaryUnZigZag(_ value: UInt64) -> Int64 {
    Int64(bitPattern: value >> 1) ^ (0 &- Int64(bitPattern: value & 1))
}

// MARK: - Reader

/// The input of one `BinaryDecoder.decode` call, with the bounds-checked
/// readers. Every reader takes `offset` at a tag byte and, on success, moves it
/// past the value; on failure `offset` is left somewhere inside the value.
final class BinaryDecodingInput {
    let bytes: [UInt8]
    let maxDepth: Int
    let maxCount: Int
    let userInfo: [CodingUserInfoKey: Any]

    init(bytes: [UInt8], limits: BinaryDecoder.Limits, userInfo: [CodingUserInfoKey: Any]) {
        self.bytes = bytes
        self.maxDepth = limits.maxDepth
        self.maxCount = max(0, limits.maxCollectionCount)
        self.userInfo = userInfo
    }

    @inline(__always)
    func byte(_ offset: inout Int, reading what: @autoclosure () -> String) throws(BinaryWireError) -> UInt8 {
        guard offset >= 0, offset < bytes.count else { throw .truncated(at: offset, reading: what()) }
        let b = bytes[offset]
        offset += 1
        return b
    }

    /// The tag at `offset`, without moving.
    @inline(__always)
    func tag(at offset: Int) throws(BinaryWireError) -> UInt8 {
        guard offset >= 0, offset < bytes.count else { throw .truncated(at: offset, reading: "a tag") }
        return bytes[offset]
    }

    /// LEB128, at most 10 bytes, at most 64 bits.
    @inline(__always)
    func varint(_ offset: inout Int) throws(BinaryWireError) -> UInt64 {
        guard offset >= 0, offset < bytes.count else { throw .truncated(at: offset, reading: "a varint") }
        let first = bytes[offset]
        if first < 0x80 {
            offset += 1
            return UInt64(first)
        }
        return try longVarint(&offset)
    }

    @inline(never)
    func longVarint(_ offset: inout Int) throws(BinaryWireError) -> UInt64 {
        let start = offset
        var i = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard i < bytes.count else { throw .truncated(at: i, reading: "a varint") }
            let b = bytes[i]
            i += 1
            if shift == 63 {
                // Tenth byte: only the top bit of a UInt64 is left, and no continuation.
                guard b <= 1 else {
                    throw .corrupted("The varint at byte \(start) is longer than 10 bytes or exceeds 64 bits.")
                }
                result |= UInt64(b) << 63
                offset = i
                return result
            }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 {
                offset = i
                return result
            }
            shift += 7
        }
    }

    /// A byte length that fits in what is left of the input.
    @inline(__always)
    func length(_ offset: inout Int, of what: @autoclosure () -> String) throws(BinaryWireError) -> Int {
        let start = offset
        let n = try varint(&offset)
        let remaining = bytes.count - offset
        guard n <= UInt64(remaining) else {
            throw .corrupted("The length \(n) of \(what()) at byte \(start) exceeds the \(remaining) remaining byte(s).")
        }
        return Int(n)
    }

    /// The element (or entry) count of a container at nesting `level`
    /// (1 for a top-level container). Checks the depth and count limits, and
    /// that the count is no more than the bytes left (every element takes one).
    @inline(__always)
    func count(_ offset: inout Int, level: Int) throws(BinaryWireError) -> Int {
        guard level <= maxDepth else {
            throw .corrupted("Containers are nested more than \(maxDepth) deep (the decoder's depth limit) at byte \(offset - 1).")
        }
        let start = offset
        let n = try varint(&offset)
        guard n <= UInt64(maxCount) else {
            throw .corrupted("The container at byte \(start - 1) declares \(n) elements, more than the limit of \(maxCount).")
        }
        let remaining = bytes.count - offset
        guard n <= UInt64(remaining) else {
            throw .corrupted("The container at byte \(start - 1) declares \(n) elements but only \(remaining) byte(s) remain.")
        }
        return Int(n)
    }

    // MARK: Skipping (validation)

    /// Moves `offset` past one value, checking its structure: tags, lengths,
    /// counts, keys, the depth limit. `depth` is the number of containers
    /// around the value. Recursion is bounded by `maxDepth`.
    func skip(_ offset: inout Int, depth: Int) throws(BinaryWireError) {
        let tag = try byte(&offset, reading: "a tag")
        switch tag {
        case BinaryTag.null, BinaryTag.false, BinaryTag.true:
            return
        case BinaryTag.signed, BinaryTag.unsigned:
            _ = try varint(&offset)
        case BinaryTag.float32:
            try advance(&offset, by: 4, reading: "a Float")
        case BinaryTag.float64:
            try advance(&offset, by: 8, reading: "a Double")
        case BinaryTag.string, BinaryTag.bytes:
            let n = try length(&offset, of: BinaryTag.name(tag))
            offset += n
        case BinaryTag.unkeyed:
            let n = try count(&offset, level: depth + 1)
            for _ in 0..<n { try skip(&offset, depth: depth + 1) }
        case BinaryTag.keyed:
            let n = try count(&offset, level: depth + 1)
            for _ in 0..<n {
                try skipKey(&offset)
                try skip(&offset, depth: depth + 1)
            }
        default:
            throw .corrupted("Invalid tag 0x\(String(tag, radix: 16, uppercase: true)) at byte \(offset - 1).")
        }
    }

    @inline(__always)
    func skipKey(_ offset: inout Int) throws(BinaryWireError) {
        let tag = try byte(&offset, reading: "a key")
        switch tag {
        case BinaryTag.intKey:
            _ = try varint(&offset)
        case BinaryTag.stringKey:
            let n = try length(&offset, of: "a string key")
            offset += n
        default:
            throw .corrupted("Expected a key but found \(BinaryTag.name(tag)) at byte \(offset - 1).")
        }
    }

    @inline(__always)
    func advance(_ offset: inout Int, by n: Int, reading what: @autoclosure () -> String) throws(BinaryWireError) {
        guard bytes.count - offset >= n else { throw .truncated(at: offset, reading: what()) }
        offset += n
    }

    // MARK: Typed reads

    func readNil(_ offset: inout Int) throws(BinaryWireError) -> Bool {
        let tag = try self.tag(at: offset)
        if tag == BinaryTag.null { offset += 1; return true }
        return false
    }

    @inline(__always)
    func readBool(_ offset: inout Int) throws(BinaryWireError) -> Bool {
        let start = offset
        let tag = try byte(&offset, reading: "a Bool")
        switch tag {
        case BinaryTag.false: return false
        case BinaryTag.true: return true
        default: throw .mismatch(expected: "Bool", found: tag, at: start)
        }
    }

    @inline(__always)
    func readInteger<T: FixedWidthInteger>(_ offset: inout Int, as type: T.Type) throws(BinaryWireError) -> T {
        let start = offset
        let tag = try byte(&offset, reading: "\(T.self)")
        switch tag {
        case BinaryTag.signed:
            let value = binaryUnZigZag(try varint(&offset))
            guard let result = T(exactly: value) else {
                throw .corrupted("The integer \(value) at byte \(start) does not fit in \(T.self).")
            }
            return result
        case BinaryTag.unsigned:
            let value = try varint(&offset)
            guard let result = T(exactly: value) else {
                throw .corrupted("The integer \(value) at byte \(start) does not fit in \(T.self).")
            }
            return result
        default:
            throw .mismatch(expected: "\(T.self)", found: tag, at: start)
        }
    }

    @inline(__always)
    func load<T: FixedWidthInteger>(_ offset: inout Int, as type: T.Type, reading what: String) throws(BinaryWireError) -> T {
        let size = MemoryLayout<T>.size
        guard offset >= 0, bytes.count - offset >= size else { throw .truncated(at: offset, reading: what) }
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        offset += size
        return T(littleEndian: value)
    }

    func readDouble(_ offset: inout Int) throws(BinaryWireError) -> Double {
        let start = offset
        let tag = try byte(&offset, reading: "a Double")
        switch tag {
        case BinaryTag.float64: return Double(bitPattern: try load(&offset, as: UInt64.self, reading: "a Double"))
        case BinaryTag.float32: return Double(Float(bitPattern: try load(&offset, as: UInt32.self, reading: "a Float")))
        default: throw .mismatch(expected: "Double", found: tag, at: start)
        }
    }

    func readFloat(_ offset: inout Int) throws(BinaryWireError) -> Float {
        let start = offset
        let tag = try byte(&offset, reading: "a Float")
        switch tag {
        case BinaryTag.float32:
            return Float(bitPattern: try load(&offset, as: UInt32.self, reading: "a Float"))
        case BinaryTag.float64:
            let double = Double(bitPattern: try load(&offset, as: UInt64.self, reading: "a Double"))
            let float = Float(double)
            guard float.isFinite || !double.isFinite else {
                throw .corrupted("The Double \(double) at byte \(start) does not fit in Float.")
            }
            return float
        default:
            throw .mismatch(expected: "Float", found: tag, at: start)
        }
    }

    func readString(_ offset: inout Int) throws(BinaryWireError) -> String {
        let start = offset
        let tag = try byte(&offset, reading: "a string")
        guard tag == BinaryTag.string else { throw .mismatch(expected: "String", found: tag, at: start) }
        let n = try length(&offset, of: "a string")
        let range = offset..<(offset + n)
        guard let string = makeString(range) else {
            throw .corrupted("The string at byte \(start) is not valid UTF-8.")
        }
        offset += n
        return string
    }

    /// The range of the bytes of a byte string; the caller has checked the tag.
    @inline(__always)
    func readByteRange(_ offset: inout Int) throws(BinaryWireError) -> Range<Int> {
        let start = offset
        let tag = try byte(&offset, reading: "a byte string")
        guard tag == BinaryTag.bytes else { throw .mismatch(expected: "bytes", found: tag, at: start) }
        let n = try length(&offset, of: "a byte string")
        defer { offset += n }
        return offset..<(offset + n)
    }

    /// A String from validated UTF-8 (ASCII fast path), or nil.
    @inline(__always)
    func makeString(_ range: Range<Int>) -> String? {
        let slice = bytes[range]
        var ascii = true
        for b in slice where b >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: slice, as: UTF8.self) }
        return String(validating: slice, as: UTF8.self)
    }

    func isValidUTF8(_ range: Range<Int>) -> Bool {
        for b in bytes[range] where b >= 0x80 {
            return String(validating: bytes[range], as: UTF8.self) != nil
        }
        return true
    }
}

// MARK: - Primitive types

/// The types with their own methods in the Codable containers.
protocol BinaryPrimitive {
    static func binaryRead(_ input: BinaryDecodingInput, _ offset: inout Int) throws(BinaryWireError) -> Self
    func binaryWrite(into out: inout [UInt8])
}

extension Bool: BinaryPrimitive {
    static func binaryRead(_ input: BinaryDecodingInput, _ offset: inout Int) throws(BinaryWireError) -> Bool {
        try input.readBool(&offset)
    }
    func binaryWrite(into out: inout [UInt8]) { out.append(self ? BinaryTag.true : BinaryTag.false) }
}

extension String: BinaryPrimitive {
    static func binaryRead(_ input: BinaryDecodingInput, _ offset: inout Int) throws(BinaryWireError) -> String {
        try input.readString(&offset)
    }
    func binaryWrite(into out: inout [UInt8]) { out.binaryWriteString(self) }
}

extension Double: BinaryPrimitive {
    static func binaryRead(_ input: BinaryDecodingInput, _ offset: inout Int) throws(BinaryWireError) -> Double {
        try input.readDouble(&offset)
    }
    func binaryWrite(into out: inout [UInt8]) { out.binaryWriteDouble(self) }
}

extension Float: BinaryPrimitive {
    static func binaryRead(_ input: BinaryDecodingInput, _ offset: inout Int) throws(BinaryWireError) -> Float {
        try input.readFloat(&offset)
    }
    func binaryWrite(into out: inout [UInt8]) { out.binaryWriteFloat(self) }
}

/// Signed integers: zigzag varint.
protocol BinarySignedPrimitive: BinaryPrimitive, FixedWidthInteger, SignedInteger {}
extension BinarySignedPrimitive {
    static func binaryRead(_ input: BinaryDecodingInput, _ offset: inout Int) throws(BinaryWireError) -> Self {
        try input.readInteger(&offset, as: Self.self)
    }
    func binaryWrite(into out: inout [UInt8]) { out.binaryWriteSigned(Int64(self)) }
}

/// Unsigned integers: plain varint.
protocol BinaryUnsignedPrimitive: BinaryPrimitive, FixedWidthInteger, UnsignedInteger {}
extension BinaryUnsignedPrimitive {
    static func binaryRead(_ input: BinaryDecodingInput, _ offset: inout Int) throws(BinaryWireError) -> Self {
        try input.readInteger(&offset, as: Self.self)
    }
    func binaryWrite(into out: inout [UInt8]) { out.binaryWriteUnsigned(UInt64(self)) }
}

extension Int: BinarySignedPrimitive {}
extension Int8: BinarySignedPrimitive {}
extension Int16: BinarySignedPrimitive {}
extension Int32: BinarySignedPrimitive {}
extension Int64: BinarySignedPrimitive {}
extension UInt: BinaryUnsignedPrimitive {}
extension UInt8: BinaryUnsignedPrimitive {}
extension UInt16: BinaryUnsignedPrimitive {}
extension UInt32: BinaryUnsignedPrimitive {}
extension UInt64: BinaryUnsignedPrimitive {}

// MARK: - Fast paths for generic values

/// The concrete types that `encode<T>` / `decode<T>` handle without going
/// through `T.encode(to:)` / `T.init(from:)`, found by comparing metatypes
/// (no existential cast, no boxing). Arrays of the common primitives are
/// included: the standard library's unspecialized `Array.init(from:)` costs a
/// metadata lookup per element.
enum BinaryFastType {
    case string, int, double, bool, data, byteArray
    case int64, uint64, int32, uint32, float, int8, uint8, int16, uint16, uint
    case stringArray, intArray, doubleArray, boolArray, int64Array, uint64Array, int32Array, uint32Array, floatArray

    @inline(__always)
    static func of<T>(_ type: T.Type) -> BinaryFastType? {
        let id = ObjectIdentifier(T.self)
        if id == ObjectIdentifier(String.self) { return .string }
        if id == ObjectIdentifier(Int.self) { return .int }
        if id == ObjectIdentifier(Double.self) { return .double }
        if id == ObjectIdentifier(Bool.self) { return .bool }
        if id == ObjectIdentifier(Int64.self) { return .int64 }
        if id == ObjectIdentifier(UInt64.self) { return .uint64 }
        if id == ObjectIdentifier(Int32.self) { return .int32 }
        if id == ObjectIdentifier(UInt32.self) { return .uint32 }
        if id == ObjectIdentifier(Float.self) { return .float }
        if id == ObjectIdentifier(Int8.self) { return .int8 }
        if id == ObjectIdentifier(UInt8.self) { return .uint8 }
        if id == ObjectIdentifier(Int16.self) { return .int16 }
        if id == ObjectIdentifier(UInt16.self) { return .uint16 }
        if id == ObjectIdentifier(UInt.self) { return .uint }
        let ids = Ids.shared  // one lazy-global check for all of them
        if id == ids.data { return .data }
        if id == ids.byteArray { return .byteArray }
        if id == ids.stringArray { return .stringArray }
        if id == ids.intArray { return .intArray }
        if id == ids.doubleArray { return .doubleArray }
        if id == ids.boolArray { return .boolArray }
        if id == ids.int64Array { return .int64Array }
        if id == ids.uint64Array { return .uint64Array }
        if id == ids.int32Array { return .int32Array }
        if id == ids.uint32Array { return .uint32Array }
        if id == ids.floatArray { return .floatArray }
        return nil
    }

    /// Looked up once: `[UInt8].self` and the like cost a generic metadata
    /// lookup each time they are evaluated.
    private struct Ids {
        let data = ObjectIdentifier(Data.self)
        let byteArray = ObjectIdentifier([UInt8].self)
        let stringArray = ObjectIdentifier([String].self)
        let intArray = ObjectIdentifier([Int].self)
        let doubleArray = ObjectIdentifier([Double].self)
        let boolArray = ObjectIdentifier([Bool].self)
        let int64Array = ObjectIdentifier([Int64].self)
        let uint64Array = ObjectIdentifier([UInt64].self)
        let int32Array = ObjectIdentifier([Int32].self)
        let uint32Array = ObjectIdentifier([UInt32].self)
        let floatArray = ObjectIdentifier([Float].self)

        static let shared = Ids()
    }

    /// Arrays: on a decoding error the caller retries through
    /// `Array.init(from:)` to report the failing element's coding path.
    var isArray: Bool {
        switch self {
        case .stringArray, .intArray, .doubleArray, .boolArray, .int64Array, .uint64Array,
             .int32Array, .uint32Array, .floatArray:
            return true
        default:
            return false
        }
    }
}

/// `value` as `U`, for a `T` already checked to be `U` (`T.self == U.self`).
@inline(__always)
func binaryCast<T, U>(_ value: T, to type: U.Type) -> U {
    unsafeBitCast(value, to: U.self)
}

extension Array where Element == UInt8 {
    /// An unkeyed container of primitives: the bytes `Array.encode(to:)` would give.
    @inline(__always)
    mutating func binaryWriteArray<P: BinaryPrimitive>(_ elements: [P]) {
        append(BinaryTag.unkeyed)
        binaryWriteVarint(UInt64(elements.count))
        for element in elements { element.binaryWrite(into: &self) }
    }
}

/// Writes `value` if its type has a fast path; returns false (writing nothing) otherwise.
@inline(__always)
func binaryWriteIfFast<T>(_ value: T, into out: inout [UInt8]) -> Bool {
    guard let fast = BinaryFastType.of(T.self) else { return false }
    switch fast {
    case .string: out.binaryWriteString(binaryCast(value, to: String.self))
    case .int: out.binaryWriteSigned(Int64(binaryCast(value, to: Int.self)))
    case .double: out.binaryWriteDouble(binaryCast(value, to: Double.self))
    case .bool: out.append(binaryCast(value, to: Bool.self) ? BinaryTag.true : BinaryTag.false)
    case .data: binaryCast(value, to: Data.self).withUnsafeBytes { out.binaryWriteBytes($0) }
    case .byteArray: binaryCast(value, to: [UInt8].self).withUnsafeBytes { out.binaryWriteBytes($0) }
    case .int64: out.binaryWriteSigned(binaryCast(value, to: Int64.self))
    case .uint64: out.binaryWriteUnsigned(binaryCast(value, to: UInt64.self))
    case .int32: out.binaryWriteSigned(Int64(binaryCast(value, to: Int32.self)))
    case .uint32: out.binaryWriteUnsigned(UInt64(binaryCast(value, to: UInt32.self)))
    case .float: out.binaryWriteFloat(binaryCast(value, to: Float.self))
    case .int8: out.binaryWriteSigned(Int64(binaryCast(value, to: Int8.self)))
    case .uint8: out.binaryWriteUnsigned(UInt64(binaryCast(value, to: UInt8.self)))
    case .int16: out.binaryWriteSigned(Int64(binaryCast(value, to: Int16.self)))
    case .uint16: out.binaryWriteUnsigned(UInt64(binaryCast(value, to: UInt16.self)))
    case .uint: out.binaryWriteUnsigned(UInt64(binaryCast(value, to: UInt.self)))
    case .stringArray: out.binaryWriteArray(binaryCast(value, to: [String].self))
    case .intArray: out.binaryWriteArray(binaryCast(value, to: [Int].self))
    case .doubleArray: out.binaryWriteArray(binaryCast(value, to: [Double].self))
    case .boolArray: out.binaryWriteArray(binaryCast(value, to: [Bool].self))
    case .int64Array: out.binaryWriteArray(binaryCast(value, to: [Int64].self))
    case .uint64Array: out.binaryWriteArray(binaryCast(value, to: [UInt64].self))
    case .int32Array: out.binaryWriteArray(binaryCast(value, to: [Int32].self))
    case .uint32Array: out.binaryWriteArray(binaryCast(value, to: [UInt32].self))
    case .floatArray: out.binaryWriteArray(binaryCast(value, to: [Float].self))
    }
    return true
}

extension BinaryDecodingInput {
    /// Whether `readFast` applies to the value at `offset`: always, except for
    /// Data and [UInt8] when the value is not a byte string (the caller then
    /// falls back to `T.init(from:)`, which reads an unkeyed container).
    @inline(__always)
    func fastApplies(_ fast: BinaryFastType, at offset: Int) -> Bool {
        switch fast {
        case .data, .byteArray: return offset >= 0 && offset < bytes.count && bytes[offset] == BinaryTag.bytes
        default: return true
        }
    }

    /// Reads a `T` that has a fast path (and `fastApplies`); `depth` is the
    /// number of containers around the value. Returns `T`, not `T?`: an
    /// `Optional<T>` of an unspecialized `T` costs a metadata lookup.
    @inline(__always)
    func readFast<T>(_ fast: BinaryFastType, as type: T.Type, _ offset: inout Int, depth: Int) throws(BinaryWireError) -> T {
        switch fast {
        case .string: return binaryCast(try readString(&offset), to: T.self)
        case .int: return binaryCast(try readInteger(&offset, as: Int.self), to: T.self)
        case .double: return binaryCast(try readDouble(&offset), to: T.self)
        case .bool: return binaryCast(try readBool(&offset), to: T.self)
        case .data: return binaryCast(Data(bytes[try readByteRange(&offset)]), to: T.self)
        case .byteArray: return binaryCast(Array(bytes[try readByteRange(&offset)]), to: T.self)
        case .int64: return binaryCast(try readInteger(&offset, as: Int64.self), to: T.self)
        case .uint64: return binaryCast(try readInteger(&offset, as: UInt64.self), to: T.self)
        case .int32: return binaryCast(try readInteger(&offset, as: Int32.self), to: T.self)
        case .uint32: return binaryCast(try readInteger(&offset, as: UInt32.self), to: T.self)
        case .float: return binaryCast(try readFloat(&offset), to: T.self)
        case .int8: return binaryCast(try readInteger(&offset, as: Int8.self), to: T.self)
        case .uint8: return binaryCast(try readInteger(&offset, as: UInt8.self), to: T.self)
        case .int16: return binaryCast(try readInteger(&offset, as: Int16.self), to: T.self)
        case .uint16: return binaryCast(try readInteger(&offset, as: UInt16.self), to: T.self)
        case .uint: return binaryCast(try readInteger(&offset, as: UInt.self), to: T.self)
        case .stringArray: return binaryCast(try readArray(&offset, of: String.self, depth: depth), to: T.self)
        case .intArray: return binaryCast(try readArray(&offset, of: Int.self, depth: depth), to: T.self)
        case .doubleArray: return binaryCast(try readArray(&offset, of: Double.self, depth: depth), to: T.self)
        case .boolArray: return binaryCast(try readArray(&offset, of: Bool.self, depth: depth), to: T.self)
        case .int64Array: return binaryCast(try readArray(&offset, of: Int64.self, depth: depth), to: T.self)
        case .uint64Array: return binaryCast(try readArray(&offset, of: UInt64.self, depth: depth), to: T.self)
        case .int32Array: return binaryCast(try readArray(&offset, of: Int32.self, depth: depth), to: T.self)
        case .uint32Array: return binaryCast(try readArray(&offset, of: UInt32.self, depth: depth), to: T.self)
        case .floatArray: return binaryCast(try readArray(&offset, of: Float.self, depth: depth), to: T.self)
        }
    }

    /// An unkeyed container of primitives.
    func readArray<P: BinaryPrimitive>(_ offset: inout Int, of type: P.Type, depth: Int) throws(BinaryWireError) -> [P] {
        let start = offset
        let tag = try byte(&offset, reading: "an unkeyed container")
        guard tag == BinaryTag.unkeyed else { throw .mismatch(expected: "an unkeyed container", found: tag, at: start) }
        let n = try count(&offset, level: depth + 1)
        var result: [P] = []
        result.reserveCapacity(n)  // n ≤ the bytes left, each element takes at least one
        for _ in 0..<n { result.append(try P.binaryRead(self, &offset)) }
        return result
    }
}

// MARK: - Coding keys of our own

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
