import Foundation

/// Appends values in the binary format (BinaryCodec.swift) to `bytes`.
///
/// Varints and floats are appended a byte at a time: for 1–10 bytes that
/// measured faster than `append(contentsOf:)` of a scratch buffer.
struct BinaryWriter {
    var bytes: [UInt8]

    init(bytes: [UInt8] = []) {
        self.bytes = bytes
    }

    @inline(__always)
    mutating func tag(_ tag: BinaryTag) {
        bytes.append(tag.rawValue)
    }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        if value < 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value))
        } else {
            longVarint(value)
        }
    }

    /// LEB128 of a value ≥ 0x80.
    mutating func longVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    mutating func littleEndian<T: FixedWidthInteger & UnsignedInteger>(_ value: T) {
        var v = value
        for _ in 0..<MemoryLayout<T>.size {
            bytes.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    @inline(__always)
    mutating func bool(_ value: Bool) {
        tag(value ? .true : .false)
    }

    @inline(__always)
    mutating func signed(_ value: Int64) {
        tag(.signed)
        varint(Self.zigZag(value))
    }

    @inline(__always)
    mutating func unsigned(_ value: UInt64) {
        tag(.unsigned)
        varint(value)
    }

    @inline(__always)
    mutating func float(_ value: Float) {
        tag(.float32)
        littleEndian(value.bitPattern)
    }

    @inline(__always)
    mutating func double(_ value: Double) {
        tag(.float64)
        littleEndian(value.bitPattern)
    }

    /// `tag`, the UTF-8 byte count, then the UTF-8 bytes (tag is `string` or `stringKey`).
    @inline(__always)
    mutating func string(_ value: String, tag: BinaryTag = .string) {
        var value = value
        value.withUTF8 { utf8 in
            self.tag(tag)
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    @inline(__always)
    mutating func byteString(_ raw: UnsafeRawBufferPointer) {
        tag(.bytes)
        varint(UInt64(raw.count))
        bytes.append(contentsOf: raw)
    }

    @inline(__always)
    mutating func key(_ key: BinaryWireKey) {
        switch key {
        case .int(let int):
            tag(.intKey)
            varint(Self.zigZag(Int64(int)))
        case .string(let string):
            self.string(string, tag: .stringKey)
        }
    }

    /// An unkeyed container of primitives: the bytes `Array.encode(to:)` would give.
    @inline(__always)
    mutating func array<P: BinaryPrimitive>(_ elements: [P]) {
        tag(.unkeyed)
        varint(UInt64(elements.count))
        for element in elements { element.binaryWrite(to: &self) }
    }

    /// Writes `value` if its type has a fast path (`BinaryFastType`); returns
    /// false, writing nothing, otherwise.
    @inline(__always)
    mutating func writeIfFast<T>(_ value: T) -> Bool {
        guard let fast = BinaryFastType.of(T.self) else { return false }
        fast.accept(BinaryFastWrite(), value, &self)
        return true
    }

    /// Maps a signed `n` to `(n << 1) ^ (n >> 63)`, so small negative numbers
    /// make short varints.
    @inline(__always)
    static func zigZag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value &<< 1) ^ (value >> 63))
    }
}
