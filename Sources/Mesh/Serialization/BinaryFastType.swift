import Foundation

// The types the codec writes and reads itself instead of through their
// `Codable` conformances: the primitives, which have their own methods in the
// Codable containers, and the table of fast paths for generic values.

/// How a fast-path value is laid out.
enum BinaryFastShape {
    /// One tagged value.
    case scalar
    /// An unkeyed container of primitives, as `Array.encode(to:)` writes it.
    /// On a decoding error the caller retries through `Array.init(from:)`
    /// to report the failing element's coding path.
    case array
    /// A byte string (`Data`, `[UInt8]`). Their own `Codable` conformances
    /// write an unkeyed container instead, which is still accepted: read
    /// through `init(from:)`.
    case byteString
}

/// A type with a fast path: written and read directly, with the bytes its
/// `Codable` conformance would give (byte strings aside).
protocol BinaryFastValue {
    static var binaryShape: BinaryFastShape { get }
    func binaryWrite(to out: inout BinaryWriter)
    /// `depth` is the number of containers around the value.
    static func binaryRead(from reader: inout BinaryReader, depth: Int) throws(BinaryWireError) -> Self
}

/// The types with their own methods in the Codable containers.
protocol BinaryPrimitive: BinaryFastValue {
    static func binaryRead(from reader: inout BinaryReader) throws(BinaryWireError) -> Self
}

extension BinaryPrimitive {
    static var binaryShape: BinaryFastShape { .scalar }

    @inline(__always)
    static func binaryRead(from reader: inout BinaryReader, depth: Int) throws(BinaryWireError) -> Self {
        try binaryRead(from: &reader)
    }
}

extension Bool: BinaryPrimitive {
    static func binaryRead(from reader: inout BinaryReader) throws(BinaryWireError) -> Bool { try reader.readBool() }
    func binaryWrite(to out: inout BinaryWriter) { out.bool(self) }
}

extension String: BinaryPrimitive {
    static func binaryRead(from reader: inout BinaryReader) throws(BinaryWireError) -> String { try reader.readString() }
    func binaryWrite(to out: inout BinaryWriter) { out.string(self) }
}

extension Double: BinaryPrimitive {
    static func binaryRead(from reader: inout BinaryReader) throws(BinaryWireError) -> Double { try reader.readDouble() }
    func binaryWrite(to out: inout BinaryWriter) { out.double(self) }
}

extension Float: BinaryPrimitive {
    static func binaryRead(from reader: inout BinaryReader) throws(BinaryWireError) -> Float { try reader.readFloat() }
    func binaryWrite(to out: inout BinaryWriter) { out.float(self) }
}

/// Signed integers: zigzag varint.
protocol BinarySignedPrimitive: BinaryPrimitive, FixedWidthInteger, SignedInteger {}
extension BinarySignedPrimitive {
    static func binaryRead(from reader: inout BinaryReader) throws(BinaryWireError) -> Self {
        try reader.readInteger(as: Self.self)
    }
    func binaryWrite(to out: inout BinaryWriter) { out.signed(Int64(self)) }
}

/// Unsigned integers: plain varint.
protocol BinaryUnsignedPrimitive: BinaryPrimitive, FixedWidthInteger, UnsignedInteger {}
extension BinaryUnsignedPrimitive {
    static func binaryRead(from reader: inout BinaryReader) throws(BinaryWireError) -> Self {
        try reader.readInteger(as: Self.self)
    }
    func binaryWrite(to out: inout BinaryWriter) { out.unsigned(UInt64(self)) }
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

extension Data: BinaryFastValue {
    static var binaryShape: BinaryFastShape { .byteString }

    func binaryWrite(to out: inout BinaryWriter) {
        withUnsafeBytes { out.byteString($0) }
    }

    static func binaryRead(from reader: inout BinaryReader, depth: Int) throws(BinaryWireError) -> Data {
        Data(reader.input.bytes[try reader.readByteRange()])
    }
}

/// `[UInt8]` is a byte string, like `Data`; other arrays of primitives are
/// unkeyed containers. (The check on `Element` folds away wherever the
/// element type is known.)
extension Array: BinaryFastValue where Element: BinaryPrimitive {
    static var binaryShape: BinaryFastShape { Element.self == UInt8.self ? .byteString : .array }

    func binaryWrite(to out: inout BinaryWriter) {
        if Element.self == UInt8.self {
            withUnsafeBytes { out.byteString($0) }
        } else {
            out.array(self)
        }
    }

    static func binaryRead(from reader: inout BinaryReader, depth: Int) throws(BinaryWireError) -> [Element] {
        if Element.self == UInt8.self {
            return binaryCast(Array<UInt8>(reader.input.bytes[try reader.readByteRange()]), to: [Element].self)
        }
        return try reader.readArray(of: Element.self, depth: depth)
    }
}

// MARK: - The table

/// The concrete types that `encode<T>` / `decode<T>` handle without going
/// through `T.encode(to:)` / `T.init(from:)`, found by comparing metatypes
/// (no existential cast, no boxing). Arrays of the common primitives are
/// included: the standard library's unspecialized `Array.init(from:)` costs a
/// metadata lookup per element.
///
/// This is the one list of them: to add a type, add a case and its line in
/// `accept`.
enum BinaryFastType: CaseIterable {
    case string, int, double, bool, data, byteArray
    case int64, uint64, int32, uint32, float, int8, uint8, int16, uint16, uint
    case stringArray, intArray, doubleArray, boolArray, int64Array, uint64Array, int32Array, uint32Array, floatArray

    /// Hands the case's type to `visitor`, with `value` and `state`. Inlined,
    /// with visitors whose `visit` is too, it is one switch with each type's
    /// code in place.
    @inline(__always)
    func accept<Visitor: BinaryFastTypeVisitor, Value>(
        _ visitor: Visitor, _ value: Value, _ state: inout Visitor.State
    ) throws(Visitor.Failure) -> Visitor.Result {
        switch self {
        case .string: return try visitor.visit(String.self, value, &state)
        case .int: return try visitor.visit(Int.self, value, &state)
        case .double: return try visitor.visit(Double.self, value, &state)
        case .bool: return try visitor.visit(Bool.self, value, &state)
        case .data: return try visitor.visit(Data.self, value, &state)
        case .byteArray: return try visitor.visit([UInt8].self, value, &state)
        case .int64: return try visitor.visit(Int64.self, value, &state)
        case .uint64: return try visitor.visit(UInt64.self, value, &state)
        case .int32: return try visitor.visit(Int32.self, value, &state)
        case .uint32: return try visitor.visit(UInt32.self, value, &state)
        case .float: return try visitor.visit(Float.self, value, &state)
        case .int8: return try visitor.visit(Int8.self, value, &state)
        case .uint8: return try visitor.visit(UInt8.self, value, &state)
        case .int16: return try visitor.visit(Int16.self, value, &state)
        case .uint16: return try visitor.visit(UInt16.self, value, &state)
        case .uint: return try visitor.visit(UInt.self, value, &state)
        case .stringArray: return try visitor.visit([String].self, value, &state)
        case .intArray: return try visitor.visit([Int].self, value, &state)
        case .doubleArray: return try visitor.visit([Double].self, value, &state)
        case .boolArray: return try visitor.visit([Bool].self, value, &state)
        case .int64Array: return try visitor.visit([Int64].self, value, &state)
        case .uint64Array: return try visitor.visit([UInt64].self, value, &state)
        case .int32Array: return try visitor.visit([Int32].self, value, &state)
        case .uint32Array: return try visitor.visit([UInt32].self, value, &state)
        case .floatArray: return try visitor.visit([Float].self, value, &state)
        }
    }

    @inline(__always)
    static func of<T>(_ type: T.Type) -> BinaryFastType? {
        let id = UInt(bitPattern: ObjectIdentifier(T.self))
        let table = Table.shared  // one lazy-global check for all of them
        var slot = Table.slot(of: id)
        while true {
            let found = table.ids[slot]
            if found == id { return table.cases[slot] }
            if found == 0 { return nil }
            slot = (slot + 1) & Table.mask
        }
    }

    var isArray: Bool { shape == .array }

    @inline(__always)
    var shape: BinaryFastShape {
        var none: Void = ()
        return accept(BinaryFastShapeOf(), (), &none)
    }

    /// The cases by metatype, looked up once (`[UInt8].self` and the like
    /// cost a generic metadata lookup each time they are evaluated): a hash
    /// table with linear probing, mostly empty so that a type without a fast
    /// path (most of them) is rejected after a probe or two. It is in memory
    /// that is never freed, so reading it costs no reference counting.
    /// (`@unchecked Sendable`: written once, in `init`, before it is shared.)
    private struct Table: @unchecked Sendable {
        static let mask = 63
        /// Metatype bits, 0 for an empty slot.
        let ids: UnsafeMutablePointer<UInt>
        let cases: UnsafeMutablePointer<BinaryFastType>

        static let shared = Table()

        @inline(__always)
        static func slot(of id: UInt) -> Int {
            // Fibonacci hashing: the top 6 bits of the product, for 64 slots.
            Int(truncatingIfNeeded: (id &* 0x9E37_79B9_7F4A_7C15) >> 58) & mask
        }

        private init() {
            precondition(BinaryFastType.allCases.count * 2 <= Self.mask + 1)
            ids = .allocate(capacity: Self.mask + 1)
            ids.initialize(repeating: 0, count: Self.mask + 1)
            cases = .allocate(capacity: Self.mask + 1)
            cases.initialize(repeating: .string, count: Self.mask + 1)
            var none: Void = ()
            for fast in BinaryFastType.allCases {
                let id = UInt(bitPattern: fast.accept(BinaryFastTypeID(), (), &none))
                var slot = Self.slot(of: id)
                while ids[slot] != 0 { slot = (slot + 1) & Self.mask }
                ids[slot] = id
                cases[slot] = fast
            }
        }
    }
}

/// What to do with the type of a `BinaryFastType` case: `visit` gets the
/// concrete type `V`, the value handed to `accept` (a `V` when writing, none
/// when reading) and the state to work on (the writer or the reader). The
/// value is passed through, not kept in the visitor: a visitor generic over
/// the value's type would cost a metadata lookup on every call.
protocol BinaryFastTypeVisitor {
    associatedtype State
    associatedtype Result
    associatedtype Failure: Error
    func visit<V: BinaryFastValue, Value>(
        _ type: V.Type, _ value: Value, _ state: inout State
    ) throws(Failure) -> Result
}

/// The visited type's identity, for `BinaryFastType.Table`.
private struct BinaryFastTypeID: BinaryFastTypeVisitor {
    func visit<V: BinaryFastValue, Value>(_ type: V.Type, _ value: Value, _ state: inout Void) -> ObjectIdentifier {
        ObjectIdentifier(V.self)
    }
}

/// The visited type's `binaryShape`.
private struct BinaryFastShapeOf: BinaryFastTypeVisitor {
    @inline(__always)
    func visit<V: BinaryFastValue, Value>(_ type: V.Type, _ value: Value, _ state: inout Void) -> BinaryFastShape {
        V.binaryShape
    }
}

/// Writes `value`, which is of the visited type.
struct BinaryFastWrite: BinaryFastTypeVisitor {
    @inline(__always)
    func visit<V: BinaryFastValue, Value>(_ type: V.Type, _ value: Value, _ out: inout BinaryWriter) {
        binaryCast(value, to: V.self).binaryWrite(to: &out)
    }
}

/// Reads the visited type as a `T` (the same type).
struct BinaryFastRead<T>: BinaryFastTypeVisitor {
    let depth: Int

    @inline(__always)
    func visit<V: BinaryFastValue, Value>(
        _ type: V.Type, _ value: Value, _ reader: inout BinaryReader
    ) throws(BinaryWireError) -> T {
        binaryCast(try V.binaryRead(from: &reader, depth: depth), to: T.self)
    }
}

/// `value` as `U`, for a `T` already checked to be `U` (`T.self == U.self`).
@inline(__always)
func binaryCast<T, U>(_ value: T, to type: U.Type) -> U {
    unsafeBitCast(value, to: U.self)
}
