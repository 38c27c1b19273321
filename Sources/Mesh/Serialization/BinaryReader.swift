import Foundation

/// The input of one `BinaryDecoder.decode` call, shared by all its nodes.
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

    /// A reader at `offset`.
    @inline(__always)
    func reader(at offset: Int) -> BinaryReader {
        BinaryReader(input: self, offset: offset)
    }

    /// Whether the byte at `offset` is `tag` (false past the end).
    @inline(__always)
    func has(_ tag: BinaryTag, at offset: Int) -> Bool {
        offset >= 0 && offset < bytes.count && bytes[offset] == tag.rawValue
    }

    /// Whether `readFast` applies to the value at `offset`: always, except
    /// for byte strings (`Data`, `[UInt8]`) when the value is not one (the
    /// caller then falls back to `T.init(from:)`, which reads an unkeyed
    /// container).
    @inline(__always)
    func fastApplies(_ fast: BinaryFastType, at offset: Int) -> Bool {
        fast.shape != .byteString || has(.bytes, at: offset)
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

/// A position in a `BinaryDecodingInput` and the bounds-checked reads from
/// it. Every read starts at a tag byte and, on success, moves `offset` past
/// the value; on failure `offset` is left somewhere inside the value.
///
/// Each decoding node keeps one, which its containers move to where they
/// read: a reader made for each read would retain the input every time.
struct BinaryReader {
    let input: BinaryDecodingInput
    var offset: Int

    @inline(__always)
    mutating func byte(reading what: @autoclosure () -> String) throws(BinaryWireError) -> UInt8 {
        guard offset >= 0, offset < input.bytes.count else { throw .truncated(at: offset, reading: what()) }
        let b = input.bytes[offset]
        offset += 1
        return b
    }

    /// LEB128, at most 10 bytes, at most 64 bits.
    @inline(__always)
    mutating func varint() throws(BinaryWireError) -> UInt64 {
        guard offset >= 0, offset < input.bytes.count else { throw .truncated(at: offset, reading: "a varint") }
        let first = input.bytes[offset]
        if first < 0x80 {
            offset += 1
            return UInt64(first)
        }
        return try longVarint()
    }

    @inline(never)
    mutating func longVarint() throws(BinaryWireError) -> UInt64 {
        let start = offset
        var i = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard i < input.bytes.count else { throw .truncated(at: i, reading: "a varint") }
            let b = input.bytes[i]
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
    mutating func length(of what: @autoclosure () -> String) throws(BinaryWireError) -> Int {
        let start = offset
        let n = try varint()
        let remaining = input.bytes.count - offset
        guard n <= UInt64(remaining) else {
            throw .corrupted("The length \(n) of \(what()) at byte \(start) exceeds the \(remaining) remaining byte(s).")
        }
        return Int(n)
    }

    /// The element (or entry) count of a container at nesting `level`
    /// (1 for a top-level container). Checks the depth and count limits, and
    /// that the count is no more than the bytes left (every element takes one).
    @inline(__always)
    mutating func count(level: Int) throws(BinaryWireError) -> Int {
        let maxDepth = input.maxDepth
        guard level <= maxDepth else {
            throw .corrupted("Containers are nested more than \(maxDepth) deep (the decoder's depth limit) at byte \(offset - 1).")
        }
        let start = offset
        let n = try varint()
        let maxCount = input.maxCount
        guard n <= UInt64(maxCount) else {
            throw .corrupted("The container at byte \(start - 1) declares \(n) elements, more than the limit of \(maxCount).")
        }
        let remaining = input.bytes.count - offset
        guard n <= UInt64(remaining) else {
            throw .corrupted("The container at byte \(start - 1) declares \(n) elements but only \(remaining) byte(s) remain.")
        }
        return Int(n)
    }

    /// `zigZag` undone.
    @inline(__always)
    static func unZigZag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ (0 &- Int64(bitPattern: value & 1))
    }

    // MARK: Skipping (validation)

    /// Moves past one value, checking its structure: tags, lengths, counts,
    /// keys, the depth limit. `depth` is the number of containers around the
    /// value. Recursion is bounded by `maxDepth`.
    mutating func skip(depth: Int) throws(BinaryWireError) {
        let tag = try byte(reading: "a tag")
        switch tag {
        case BinaryTag.null.rawValue, BinaryTag.false.rawValue, BinaryTag.true.rawValue:
            return
        case BinaryTag.signed.rawValue, BinaryTag.unsigned.rawValue:
            _ = try varint()
        case BinaryTag.float32.rawValue:
            try advance(by: 4, reading: "a Float")
        case BinaryTag.float64.rawValue:
            try advance(by: 8, reading: "a Double")
        case BinaryTag.string.rawValue, BinaryTag.bytes.rawValue:
            let n = try length(of: BinaryTag.name(of: tag))
            offset += n
        case BinaryTag.unkeyed.rawValue:
            let n = try count(level: depth + 1)
            for _ in 0..<n { try skip(depth: depth + 1) }
        case BinaryTag.keyed.rawValue:
            let n = try count(level: depth + 1)
            for _ in 0..<n {
                try skipKey()
                try skip(depth: depth + 1)
            }
        default:
            throw .corrupted("Invalid tag 0x\(String(tag, radix: 16, uppercase: true)) at byte \(offset - 1).")
        }
    }

    @inline(__always)
    mutating func skipKey() throws(BinaryWireError) {
        let tag = try byte(reading: "a key")
        switch tag {
        case BinaryTag.intKey.rawValue:
            _ = try varint()
        case BinaryTag.stringKey.rawValue:
            let n = try length(of: "a string key")
            offset += n
        default:
            throw .corrupted("Expected a key but found \(BinaryTag.name(of: tag)) at byte \(offset - 1).")
        }
    }

    @inline(__always)
    mutating func advance(by n: Int, reading what: @autoclosure () -> String) throws(BinaryWireError) {
        guard input.bytes.count - offset >= n else { throw .truncated(at: offset, reading: what()) }
        offset += n
    }

    // MARK: Typed reads

    @inline(__always)
    mutating func readBool() throws(BinaryWireError) -> Bool {
        let start = offset
        let tag = try byte(reading: "a Bool")
        switch tag {
        case BinaryTag.false.rawValue: return false
        case BinaryTag.true.rawValue: return true
        default: throw .mismatch(expected: "Bool", found: tag, at: start)
        }
    }

    @inline(__always)
    mutating func readInteger<T: FixedWidthInteger>(as type: T.Type) throws(BinaryWireError) -> T {
        let start = offset
        let tag = try byte(reading: "\(T.self)")
        switch tag {
        case BinaryTag.signed.rawValue:
            let value = Self.unZigZag(try varint())
            guard let result = T(exactly: value) else {
                throw .corrupted("The integer \(value) at byte \(start) does not fit in \(T.self).")
            }
            return result
        case BinaryTag.unsigned.rawValue:
            let value = try varint()
            guard let result = T(exactly: value) else {
                throw .corrupted("The integer \(value) at byte \(start) does not fit in \(T.self).")
            }
            return result
        default:
            throw .mismatch(expected: "\(T.self)", found: tag, at: start)
        }
    }

    @inline(__always)
    mutating func load<T: FixedWidthInteger>(as type: T.Type, reading what: String) throws(BinaryWireError) -> T {
        let size = MemoryLayout<T>.size
        guard offset >= 0, input.bytes.count - offset >= size else { throw .truncated(at: offset, reading: what) }
        let value = input.bytes.withUnsafeBytes { [offset] in $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        offset += size
        return T(littleEndian: value)
    }

    mutating func readDouble() throws(BinaryWireError) -> Double {
        let start = offset
        let tag = try byte(reading: "a Double")
        switch tag {
        case BinaryTag.float64.rawValue: return Double(bitPattern: try load(as: UInt64.self, reading: "a Double"))
        case BinaryTag.float32.rawValue: return Double(Float(bitPattern: try load(as: UInt32.self, reading: "a Float")))
        default: throw .mismatch(expected: "Double", found: tag, at: start)
        }
    }

    mutating func readFloat() throws(BinaryWireError) -> Float {
        let start = offset
        let tag = try byte(reading: "a Float")
        switch tag {
        case BinaryTag.float32.rawValue:
            return Float(bitPattern: try load(as: UInt32.self, reading: "a Float"))
        case BinaryTag.float64.rawValue:
            let double = Double(bitPattern: try load(as: UInt64.self, reading: "a Double"))
            let float = Float(double)
            guard float.isFinite || !double.isFinite else {
                throw .corrupted("The Double \(double) at byte \(start) does not fit in Float.")
            }
            return float
        default:
            throw .mismatch(expected: "Float", found: tag, at: start)
        }
    }

    mutating func readString() throws(BinaryWireError) -> String {
        let start = offset
        let tag = try byte(reading: "a string")
        guard tag == BinaryTag.string.rawValue else { throw .mismatch(expected: "String", found: tag, at: start) }
        let n = try length(of: "a string")
        let range = offset..<(offset + n)
        guard let string = input.makeString(range) else {
            throw .corrupted("The string at byte \(start) is not valid UTF-8.")
        }
        offset += n
        return string
    }

    /// The range of the bytes of a byte string.
    @inline(__always)
    mutating func readByteRange() throws(BinaryWireError) -> Range<Int> {
        let start = offset
        let tag = try byte(reading: "a byte string")
        guard tag == BinaryTag.bytes.rawValue else { throw .mismatch(expected: "bytes", found: tag, at: start) }
        let n = try length(of: "a byte string")
        defer { offset += n }
        return offset..<(offset + n)
    }

    /// An unkeyed container of primitives; `depth` is the number of
    /// containers around it.
    mutating func readArray<P: BinaryPrimitive>(of type: P.Type, depth: Int) throws(BinaryWireError) -> [P] {
        let start = offset
        let tag = try byte(reading: "an unkeyed container")
        guard tag == BinaryTag.unkeyed.rawValue else { throw .mismatch(expected: "an unkeyed container", found: tag, at: start) }
        let n = try count(level: depth + 1)
        var result: [P] = []
        result.reserveCapacity(n)  // n ≤ the bytes left, each element takes at least one
        for _ in 0..<n { result.append(try P.binaryRead(from: &self)) }
        return result
    }

    /// Reads a `T` that has a fast path (and `fastApplies`); `depth` is the
    /// number of containers around the value. Returns `T`, not `T?`: an
    /// `Optional<T>` of an unspecialized `T` costs a metadata lookup.
    @inline(__always)
    mutating func readFast<T>(_ fast: BinaryFastType, as type: T.Type, depth: Int) throws(BinaryWireError) -> T {
        try fast.accept(BinaryFastRead<T>(depth: depth), (), &self)
    }
}
