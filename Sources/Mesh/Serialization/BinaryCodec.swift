import Foundation

/// A compact binary `Codable` format for call arguments and results on the wire.
///
/// # Format
///
/// Every value starts with a one-byte tag. Varints are unsigned LEB128 (7 bits
/// per byte, least significant group first, high bit set on every byte but
/// the last), at most 10 bytes and at most 64 bits (the encoder writes the
/// shortest form; the decoder also accepts padded forms within 10 bytes);
/// "zigzag" maps a signed `n` to `(n << 1) ^ (n >> 63)` so small negative
/// numbers stay short. Floats are their IEEE 754 bit pattern, little-endian
/// (NaN payloads survive).
///
/// | Tag    | Value             | Followed by                                       |
/// |--------|-------------------|---------------------------------------------------|
/// | `0x00` | nil               | nothing                                           |
/// | `0x01` | false             | nothing                                           |
/// | `0x02` | true              | nothing                                           |
/// | `0x03` | signed integer    | zigzag varint                                     |
/// | `0x04` | unsigned integer  | varint                                            |
/// | `0x05` | Float             | 4 bytes, bit pattern, little-endian               |
/// | `0x06` | Double            | 8 bytes, bit pattern, little-endian               |
/// | `0x07` | string            | varint byte count, UTF-8 bytes                    |
/// | `0x08` | bytes             | varint byte count, raw bytes                      |
/// | `0x09` | unkeyed container | varint element count, the elements                |
/// | `0x0A` | keyed container   | varint entry count, entries of (key, value)       |
/// | `0x0B` | int key           | zigzag varint (only as the key of an entry)       |
/// | `0x0C` | string key        | varint byte count, UTF-8 (only as a key)          |
///
/// Other tag bytes are invalid.
///
/// - Integers: `Int`, `Int8` … `Int64` are written as `0x03`, `UInt`, `UInt8` …
///   `UInt64` as `0x04`. Any integer type decodes from either tag if the value
///   fits the requested width (300 into `UInt8` is an error). `Int128` and
///   `UInt128` are written the same way and must fit in 64 bits.
/// - `Double` also decodes from `0x05`; `Float` also from `0x06` if the value
///   does not overflow `Float`.
/// - `Data` and `[UInt8]` are written as `0x08` (64 bytes of `Data` take 66
///   bytes). When decoding either type, an unkeyed container of integers is
///   accepted too (what their own `Codable` conformances write).
/// - A keyed entry's key is written as `0x0B` when the `CodingKey` has an
///   `intValue` and `Key(intValue:)` gives back a key with the same
///   `stringValue`; otherwise as `0x0C` with its `stringValue`. (So the keys of
///   `[Int: V]` and `enum CodingKeys: Int` go out as integers, while a
///   `[String: V]` key such as "01", whose `intValue` is 1, stays a string.)
///   The decoder applies the same rule to find a key. Entries may come in any
///   order, entries nobody asks for are skipped, and if a key occurs twice the
///   last entry wins.
/// - `superEncoder()` writes the superclass as a nested value under the
///   string key "super" (keyed container) or as the next element (unkeyed);
///   `superEncoder(forKey:)` under that key.
/// - An `Encodable` that encodes nothing is written as an empty keyed
///   container (`0x0A 0x00`).
/// - The top-level value must be followed by nothing.
///
/// # Limits
///
/// The decoder checks the whole input's structure before decoding (so garbage
/// is rejected early and every length and count is known to fit the input),
/// limits container nesting to `Limits.maxDepth` and element counts to
/// `Limits.maxCollectionCount`, never reserves room for more bytes or
/// elements than there are input bytes left, rejects varints over 10 bytes
/// and invalid UTF-8, and reports every problem as a `DecodingError` with the
/// coding path; it does not trap on any input.
///
/// Like `JSONEncoder`, `Optional<Optional<T>>.some(nil)` is written as nil
/// and decodes as `nil`.
public struct BinaryEncoder: Sendable {
    /// Handed to `encode(to:)` implementations as `Encoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    public init() {}

    /// Encodes `value` into a new byte array.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        var buffer: [UInt8] = []
        try encode(value, into: &buffer)
        return buffer
    }

    /// Appends the encoding of `value` to `buffer`. On error `buffer` is left
    /// unchanged.
    ///
    /// - Throws: `EncodingError.invalidValue` when `value`'s `encode(to:)`
    ///   misuses the containers (two values in one single-value container, a
    ///   keyed container asked of an encoder that already has an unkeyed one,
    ///   a container written to after the value that owns it was encoded) or
    ///   encodes an `Int128`/`UInt128` beyond 64 bits; errors thrown by
    ///   `encode(to:)` itself.
    public func encode<T: Encodable>(_ value: T, into buffer: inout [UInt8]) throws {
        // The writer holds the buffer's storage during the call (appends do
        // not copy it) and gives it back.
        var out = BinaryWriter()
        swap(&out.bytes, &buffer)
        defer { swap(&out.bytes, &buffer) }
        // Strings, integers, Data, … : no encoder object at all.
        if out.writeIfFast(value) { return }
        let context = BinaryEncodingContext(userInfo: userInfo.isEmpty ? [:] : userInfo.mapValues { $0 as Any })
        let root = BinaryEncodingNode(context: context, parent: nil, key: nil)
        root.writer.bytes.reserveCapacity(256)  // one allocation instead of several doublings
        do {
            try value.encode(to: root)
        } catch {
            root.tearDown()
            throw error
        }
        if let error = context.error {
            root.tearDown()
            throw error
        }
        if out.bytes.isEmpty {
            // Exact size when there are no deferred children. (Not for a buffer
            // being appended to: growing it to the exact size every time would
            // turn repeated appends quadratic.)
            out.bytes.reserveCapacity(root.writer.bytes.count + 11)
        }
        root.serialize(into: &out)
    }
}

public struct BinaryDecoder: Sendable {
    /// Bounds on what a decode accepts. The input's own size bounds the rest.
    public struct Limits: Sendable, Equatable {
        /// How deeply containers may nest (a top-level array is depth 1).
        /// Decoding recurses once per level, so keep this in the hundreds at most.
        public var maxDepth: Int
        /// The largest element or entry count of one container.
        public var maxCollectionCount: Int

        public init(maxDepth: Int = 64, maxCollectionCount: Int = 1 << 20) {
            self.maxDepth = maxDepth
            self.maxCollectionCount = maxCollectionCount
        }
    }

    public var limits: Limits
    /// Handed to `init(from:)` implementations as `Decoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    public init(limits: Limits = .init()) {
        self.limits = limits
    }

    /// Decodes a `T` from `bytes`, which must hold exactly one value.
    ///
    /// - Throws: `DecodingError` (`dataCorrupted`, `typeMismatch`,
    ///   `keyNotFound`, `valueNotFound`) for malformed or unexpected input,
    ///   trailing bytes, or input beyond the limits; errors thrown by
    ///   `T.init(from:)` itself.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let input = BinaryDecodingInput(
            bytes: bytes,
            limits: limits,
            userInfo: userInfo.isEmpty ? [:] : userInfo.mapValues { $0 as Any }
        )
        // Validate the structure of the whole input once, up front.
        var reader = input.reader(at: 0)
        do throws(BinaryWireError) {
            try reader.skip(depth: 0)
        } catch {
            throw error.decodingError(T.self, codingPath: [])
        }
        let end = reader.offset
        guard end == bytes.count else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: [],
                debugDescription: "\(bytes.count - end) trailing byte(s) after the top-level value, which ends at byte \(end)."
            ))
        }
        let root = BinaryDecodingNode(input: input, parent: nil, key: nil, offset: 0, depth: 0)
        return try root.decode(T.self)
    }

    /// Decodes a `T` from `bytes` (`Data`, `ArraySlice<UInt8>`, …), which must
    /// hold exactly one value. The bytes are copied once into an array.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        if let array = bytes as? [UInt8] {
            return try decode(type, from: array)
        }
        return try decode(type, from: Array(bytes))
    }
}
