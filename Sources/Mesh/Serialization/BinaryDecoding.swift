import Foundation

// The decoder reads in place: a node is a `Decoder` for the value whose tag is
// at `offset`. By the time a node exists, `BinaryDecoder.decode` has already
// walked the whole input once (`BinaryReader.skip`), so every length,
// count and nesting level is known to be within bounds; the readers check
// bounds again anyway and throw rather than trap.

/// One entry of a keyed container: its key and where its value starts.
struct BinaryKeyEntry {
    /// The key when it is an int key.
    var intKey: Int
    /// Where a string key's UTF-8 starts; -1 for an int key.
    var keyStart: Int
    var keyLength: Int
    /// The offset of the value's tag.
    var value: Int

    var isInt: Bool { keyStart < 0 }
}

/// A `Decoder` for one value, and its single value container.
///
/// The mutable state is `@exclusivity(unchecked)` (no dynamic exclusivity
/// checks): it is only touched by the node's own methods and containers, and
/// those accesses never overlap.
final class BinaryDecodingNode: Decoder, SingleValueDecodingContainer {
    let input: BinaryDecodingInput
    /// For the coding path only.
    @exclusivity(unchecked) var parent: BinaryDecodingNode?
    @exclusivity(unchecked) var key: (any CodingKey)?
    /// The offset of the value's tag.
    @exclusivity(unchecked) var offset: Int
    /// The number of containers around the value.
    @exclusivity(unchecked) var depth: Int
    /// The reader of this node and its containers, moved to where each read
    /// starts (see `BinaryReader`). A read never calls out to other code, so
    /// two reads never overlap.
    @exclusivity(unchecked) var reader: BinaryReader

    // The index of a keyed container, built on the first request and kept
    // (a class and its superclass may both ask for the container).
    @exclusivity(unchecked) var indexed = false
    @exclusivity(unchecked) var entries: [BinaryKeyEntry] = []
    /// Where the keyed container ends.
    @exclusivity(unchecked) var indexEnd = 0
    /// The entry found last: lookups try the one after it first, then it.
    @exclusivity(unchecked) var cursor = -1
    /// For containers with more than `smallIndex` entries.
    @exclusivity(unchecked) var stringMap: [String: Int]?
    @exclusivity(unchecked) var intMap: [Int: Int]?
    static let smallIndex = 16

    /// A finished child kept for the next nested value (saves allocations).
    @exclusivity(unchecked) var spare: BinaryDecodingNode?

    init(input: BinaryDecodingInput, parent: BinaryDecodingNode?, key: (any CodingKey)?, offset: Int, depth: Int) {
        self.input = input
        self.parent = parent
        self.key = key
        self.offset = offset
        self.depth = depth
        self.reader = input.reader(at: offset)
    }

    var codingPath: [any CodingKey] {
        var path: [any CodingKey] = []
        var node: BinaryDecodingNode? = self
        while let current = node {
            if let key = current.key { path.append(key) }
            node = current.parent
        }
        path.reverse()
        return path
    }

    var userInfo: [CodingUserInfoKey: Any] { input.userInfo }

    // MARK: Errors

    /// `error` with the coding path of this node (plus `key`).
    func failure(_ error: BinaryWireError, _ type: Any.Type, key: (any CodingKey)? = nil) -> DecodingError {
        var path = codingPath
        if let key { path.append(key) }
        return error.decodingError(type, codingPath: path)
    }

    // MARK: Decoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if !indexed {
            do throws(BinaryWireError) {
                try buildIndex()
            } catch {
                throw failure(error, KeyedDecodingContainer<Key>.self)
            }
        }
        return KeyedDecodingContainer(BinaryKeyedDecoding<Key>(node: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        reader.offset = offset
        let count: Int
        do throws(BinaryWireError) {
            let tag = try reader.byte(reading: "an unkeyed container")
            guard tag == BinaryTag.unkeyed.rawValue else {
                throw .mismatch(expected: "an unkeyed container", found: tag, at: offset)
            }
            count = try reader.count(level: depth + 1)
            guard count <= Int(UInt32.max) else {
                throw .corrupted("The unkeyed container at byte \(offset) has more than \(UInt32.max) elements.")
            }
        } catch {
            throw failure(error, (any UnkeyedDecodingContainer).self)
        }
        return BinaryUnkeyedDecoding(node: self, count: count, position: reader.offset)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        self
    }

    // MARK: Children

    /// Decodes the value at `offset` (inside this node's container) as a `T`.
    @inline(__always)
    func decodeValue<T: Decodable>(_ type: T.Type, at offset: Int, key: @autoclosure () -> any CodingKey) throws -> T {
        if let fast = BinaryFastType.of(T.self), input.fastApplies(fast, at: offset) {
            reader.offset = offset
            do throws(BinaryWireError) {
                return try reader.readFast(fast, as: T.self, depth: depth + 1)
            } catch {
                // Arrays: let Array.init(from:) report the element's coding path.
                if !fast.isArray { throw failure(error, T.self, key: key()) }
            }
        }
        var end = -1
        return try decodeChild(type, at: offset, key: key(), end: &end)
    }

    /// Decodes the value at `offset` through `T.init(from:)` with a child node.
    /// Sets `end` to where the value ends when that is known (a keyed
    /// container was read), else leaves it.
    func decodeChild<T: Decodable>(_ type: T.Type, at offset: Int, key: any CodingKey, end: inout Int) throws -> T {
        var child: BinaryDecodingNode
        if let reused = spare {
            spare = nil
            reused.reset(parent: self, key: key, offset: offset, depth: depth + 1)
            child = reused
        } else {
            child = BinaryDecodingNode(input: input, parent: self, key: key, offset: offset, depth: depth + 1)
        }
        let value = try T(from: child)
        if child.indexed { end = child.indexEnd }
        // Keep the child for the next value if nobody else holds it. Its parent
        // link is cut so the two do not keep each other alive.
        if isKnownUniquelyReferenced(&child) {
            child.parent = nil
            child.key = nil
            spare = child
        }
        return value
    }

    private func reset(parent: BinaryDecodingNode, key: any CodingKey, offset: Int, depth: Int) {
        self.parent = parent
        self.key = key
        self.offset = offset
        self.depth = depth
        if indexed {
            indexed = false
            entries.removeAll(keepingCapacity: entries.capacity <= 256)
            cursor = -1
            stringMap = nil
            intMap = nil
        }
    }

    /// A node for the value at `offset`, for nested containers and super decoders.
    func child(at offset: Int, key: any CodingKey) -> BinaryDecodingNode {
        BinaryDecodingNode(input: input, parent: self, key: key, offset: offset, depth: depth + 1)
    }

    // MARK: Keyed index

    /// Scans the keyed container at `offset` once into `entries`: key → value offset.
    private func buildIndex() throws(BinaryWireError) {
        reader.offset = offset
        let tag = try reader.byte(reading: "a keyed container")
        guard tag == BinaryTag.keyed.rawValue else {
            throw .mismatch(expected: "a keyed container", found: tag, at: offset)
        }
        let count = try reader.count(level: depth + 1)
        entries.removeAll(keepingCapacity: true)
        // Every entry takes at least 3 bytes; `count` fits the input already.
        entries.reserveCapacity(min(count, (input.bytes.count - reader.offset) / 3))
        for _ in 0..<count {
            let keyOffset = reader.offset
            let keyTag = try reader.byte(reading: "a key")
            var entry = BinaryKeyEntry(intKey: 0, keyStart: -1, keyLength: 0, value: 0)
            switch keyTag {
            case BinaryTag.intKey.rawValue:
                let raw = BinaryReader.unZigZag(try reader.varint())
                guard let int = Int(exactly: raw) else {
                    throw .corrupted("The integer key \(raw) at byte \(keyOffset) does not fit in Int.")
                }
                entry.intKey = int
            case BinaryTag.stringKey.rawValue:
                let length = try reader.length(of: "a string key")
                guard input.isValidUTF8(reader.offset..<(reader.offset + length)) else {
                    throw .corrupted("The string key at byte \(keyOffset) is not valid UTF-8.")
                }
                entry.keyStart = reader.offset
                entry.keyLength = length
                reader.offset += length
            default:
                throw .corrupted("Expected a key but found \(BinaryTag.name(of: keyTag)) at byte \(keyOffset).")
            }
            entry.value = reader.offset
            try reader.skip(depth: depth + 1)
            entries.append(entry)
        }
        if entries.count <= Self.smallIndex {
            removeSmallDuplicates()
        } else {
            buildMaps()
        }
        cursor = -1
        indexEnd = reader.offset
        indexed = true
    }

    private func sameKey(_ a: BinaryKeyEntry, _ b: BinaryKeyEntry) -> Bool {
        if a.isInt || b.isInt { return a.isInt && b.isInt && a.intKey == b.intKey }
        guard a.keyLength == b.keyLength else { return false }
        let bytes = input.bytes
        for i in 0..<a.keyLength where bytes[a.keyStart + i] != bytes[b.keyStart + i] {
            return false
        }
        return true
    }

    /// Duplicate keys: the last entry wins.
    private func removeSmallDuplicates() {
        var duplicates = false
        for i in entries.indices {
            for j in (i + 1)..<entries.count where sameKey(entries[i], entries[j]) {
                entries[i].value = -1
                duplicates = true
                break
            }
        }
        if duplicates { entries.removeAll { $0.value < 0 } }
    }

    private func keyString(_ entry: BinaryKeyEntry) -> String {
        String(decoding: input.bytes[entry.keyStart..<(entry.keyStart + entry.keyLength)], as: UTF8.self)
    }

    /// Maps for large containers (duplicate keys: the last entry wins).
    private func buildMaps() {
        var strings: [String: Int] = [:]
        var ints: [Int: Int] = [:]
        var duplicates = false
        for (i, entry) in entries.enumerated() {
            let previous = entry.isInt ? ints.updateValue(i, forKey: entry.intKey)
                : strings.updateValue(i, forKey: keyString(entry))
            if let previous {
                entries[previous].value = -1
                duplicates = true
            }
        }
        if duplicates {
            entries.removeAll { $0.value < 0 }
            strings.removeAll(keepingCapacity: true)
            ints.removeAll(keepingCapacity: true)
            for (i, entry) in entries.enumerated() {
                if entry.isInt { ints[entry.intKey] = i } else { strings[keyString(entry)] = i }
            }
        }
        stringMap = strings
        intMap = ints
    }

    /// The index of the entry for `key`, or nil.
    @inline(__always)
    func find<K: CodingKey>(_ key: K) -> Int? {
        if let int = BinaryWireKey.intValue(of: key) { return find(int: int) }
        return find(string: key.stringValue)
    }

    func find(int: Int) -> Int? {
        let next = cursor + 1
        if next < entries.count, entries[next].isInt, entries[next].intKey == int {
            cursor = next
            return next
        }
        if cursor >= 0, cursor < entries.count, entries[cursor].isInt, entries[cursor].intKey == int {
            return cursor
        }
        if let intMap {
            guard let found = intMap[int] else { return nil }
            cursor = found
            return found
        }
        for i in entries.indices where entries[i].isInt && entries[i].intKey == int {
            cursor = i
            return i
        }
        return nil
    }

    func find(string: String) -> Int? {
        var string = string
        let found: Int? = string.withUTF8 { utf8 in
            let next = cursor + 1
            if next < entries.count, matches(entries[next], utf8) { return next }
            if cursor >= 0, cursor < entries.count, matches(entries[cursor], utf8) { return cursor }
            if stringMap != nil { return -1 }
            for i in entries.indices where matches(entries[i], utf8) { return i }
            return nil
        }
        if found == -1, let stringMap {
            guard let mapped = stringMap[string] else { return nil }
            cursor = mapped
            return mapped
        }
        if let found { cursor = found }
        return found
    }

    @inline(__always)
    private func matches(_ entry: BinaryKeyEntry, _ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !entry.isInt, entry.keyLength == utf8.count else { return false }
        let bytes = input.bytes
        var i = 0
        var j = entry.keyStart
        while i < utf8.count {
            if bytes[j] != utf8[i] { return false }
            i += 1
            j += 1
        }
        return true
    }

    func allKeys<K: CodingKey>(as type: K.Type) -> [K] {
        entries.compactMap { entry in
            entry.isInt ? K(intValue: entry.intKey) : K(stringValue: keyString(entry))
        }
    }

    /// The value offset for `key`, or `keyNotFound`.
    func valueOffset<K: CodingKey>(forKey key: K) throws -> Int {
        guard let i = find(key) else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(
                codingPath: codingPath,
                debugDescription: "No value for the key \(binaryDescribe(key))."
            ))
        }
        return entries[i].value
    }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool {
        input.has(.null, at: offset)
    }

    @inline(__always)
    private func single<P: BinaryPrimitive>(_ type: P.Type) throws -> P {
        reader.offset = offset
        do throws(BinaryWireError) {
            return try P.binaryRead(from: &reader)
        } catch {
            throw failure(error, P.self)
        }
    }

    func decode(_ type: Bool.Type) throws -> Bool { try single(type) }
    func decode(_ type: String.Type) throws -> String { try single(type) }
    func decode(_ type: Double.Type) throws -> Double { try single(type) }
    func decode(_ type: Float.Type) throws -> Float { try single(type) }
    func decode(_ type: Int.Type) throws -> Int { try single(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try single(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try single(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try single(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try single(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try single(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try single(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try single(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try single(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try single(type) }
    func decode(_ type: Int128.Type) throws -> Int128 { try read128(type, at: offset) }
    func decode(_ type: UInt128.Type) throws -> UInt128 { try read128(type, at: offset) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if let fast = BinaryFastType.of(T.self), input.fastApplies(fast, at: offset) {
            reader.offset = offset
            do throws(BinaryWireError) {
                return try reader.readFast(fast, as: T.self, depth: depth)
            } catch {
                // Arrays: let Array.init(from:) report the element's coding path.
                if !fast.isArray { throw failure(error, T.self) }
            }
        }
        // The value's own containers come from this same node.
        return try T(from: self)
    }

    /// Int128 / UInt128 from a 64-bit integer value.
    func read128<T: FixedWidthInteger>(_ type: T.Type, at offset: Int, key: (any CodingKey)? = nil) throws -> T {
        reader.offset = offset
        do throws(BinaryWireError) {
            return try reader.readInteger(as: T.self)
        } catch {
            throw failure(error, T.self, key: key)
        }
    }
}

/// `"name"` or `"name" (int 3)`, for messages.
func binaryDescribe(_ key: some CodingKey) -> String {
    if let int = key.intValue { return "\"\(key.stringValue)\" (int \(int))" }
    return "\"\(key.stringValue)\""
}

// MARK: - Keyed

struct BinaryKeyedDecoding<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let node: BinaryDecodingNode

    var codingPath: [any CodingKey] { node.codingPath }
    var allKeys: [Key] { node.allKeys(as: Key.self) }

    func contains(_ key: Key) -> Bool { node.find(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        let offset = try node.valueOffset(forKey: key)
        return node.input.bytes[offset] == BinaryTag.null.rawValue
    }

    @inline(__always)
    private func read<P: BinaryPrimitive>(_ type: P.Type, at offset: Int, key: Key) throws -> P {
        node.reader.offset = offset
        do throws(BinaryWireError) {
            return try P.binaryRead(from: &node.reader)
        } catch {
            throw node.failure(error, P.self, key: key)
        }
    }

    @inline(__always)
    private func primitive<P: BinaryPrimitive>(_ type: P.Type, _ key: Key) throws -> P {
        try read(type, at: try node.valueOffset(forKey: key), key: key)
    }

    /// Absent key or nil value → nil.
    @inline(__always)
    private func presentOffset(_ key: Key) -> Int? {
        guard let i = node.find(key) else { return nil }
        let offset = node.entries[i].value
        return node.input.bytes[offset] == BinaryTag.null.rawValue ? nil : offset
    }

    @inline(__always)
    private func primitiveIfPresent<P: BinaryPrimitive>(_ type: P.Type, _ key: Key) throws -> P? {
        guard let offset = presentOffset(key) else { return nil }
        return try read(type, at: offset, key: key)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try primitive(type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try primitive(type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try primitive(type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try primitive(type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try primitive(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try primitive(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try primitive(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try primitive(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try primitive(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try primitive(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try primitive(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try primitive(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try primitive(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try primitive(type, key) }

    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 {
        try node.read128(type, at: try node.valueOffset(forKey: key), key: key)
    }

    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 {
        try node.read128(type, at: try node.valueOffset(forKey: key), key: key)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try node.decodeValue(type, at: try node.valueOffset(forKey: key), key: key)
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try primitiveIfPresent(type, key) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try primitiveIfPresent(type, key) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try primitiveIfPresent(type, key) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try primitiveIfPresent(type, key) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try primitiveIfPresent(type, key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try primitiveIfPresent(type, key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try primitiveIfPresent(type, key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try primitiveIfPresent(type, key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try primitiveIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try primitiveIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try primitiveIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try primitiveIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try primitiveIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try primitiveIfPresent(type, key) }

    func decodeIfPresent(_ type: Int128.Type, forKey key: Key) throws -> Int128? {
        guard let offset = presentOffset(key) else { return nil }
        return try node.read128(type, at: offset, key: key)
    }

    func decodeIfPresent(_ type: UInt128.Type, forKey key: Key) throws -> UInt128? {
        guard let offset = presentOffset(key) else { return nil }
        return try node.read128(type, at: offset, key: key)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let offset = presentOffset(key) else { return nil }
        return try node.decodeValue(type, at: offset, key: key)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try node.child(at: try node.valueOffset(forKey: key), key: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try node.child(at: try node.valueOffset(forKey: key), key: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        node.child(at: try node.valueOffset(forKey: BinaryNamedKey.super), key: BinaryNamedKey.super)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        node.child(at: try node.valueOffset(forKey: key), key: key)
    }
}

// MARK: - Unkeyed

struct BinaryUnkeyedDecoding: UnkeyedDecodingContainer {
    let node: BinaryDecodingNode
    /// The offset of the next element's tag.
    private var position: Int
    // 32-bit counters keep the container within an existential's inline
    // buffer (three words), which saves an allocation per container.
    private let total32: UInt32
    private var index32: UInt32 = 0

    /// `count` must be at most `UInt32.max`.
    init(node: BinaryDecodingNode, count: Int, position: Int) {
        self.node = node
        self.total32 = UInt32(truncatingIfNeeded: count)
        self.position = position
    }

    var codingPath: [any CodingKey] { node.codingPath }
    var count: Int? { Int(total32) }
    var total: Int { Int(total32) }
    var isAtEnd: Bool { index32 >= total32 }
    var currentIndex: Int {
        get { Int(index32) }
        set { index32 = UInt32(truncatingIfNeeded: newValue) }
    }

    private var input: BinaryDecodingInput { node.input }

    @inline(__always)
    private func checkNotAtEnd(_ type: Any.Type) throws {
        if index32 >= total32 {
            throw DecodingError.valueNotFound(type, DecodingError.Context(
                codingPath: codingPath + [BinaryIndexKey(currentIndex)],
                debugDescription: "The unkeyed container has no more elements (it has \(total))."
            ))
        }
    }

    mutating func decodeNil() throws -> Bool {
        try checkNotAtEnd(Optional<Any>.self)
        guard input.has(.null, at: position) else { return false }
        position += 1
        currentIndex += 1
        return true
    }

    @inline(__always)
    private mutating func next<P: BinaryPrimitive>(_ type: P.Type) throws -> P {
        try checkNotAtEnd(type)
        node.reader.offset = position
        do throws(BinaryWireError) {
            let value = try P.binaryRead(from: &node.reader)
            position = node.reader.offset
            currentIndex += 1
            return value
        } catch {
            throw node.failure(error, P.self, key: BinaryIndexKey(currentIndex))
        }
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type) }

    mutating func decode(_ type: Int128.Type) throws -> Int128 { try decode128(type) }
    mutating func decode(_ type: UInt128.Type) throws -> UInt128 { try decode128(type) }

    private mutating func decode128<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        try checkNotAtEnd(type)
        node.reader.offset = position
        do throws(BinaryWireError) {
            let value = try node.reader.readInteger(as: T.self)
            position = node.reader.offset
            currentIndex += 1
            return value
        } catch {
            throw node.failure(error, T.self, key: BinaryIndexKey(currentIndex))
        }
    }

    /// The offset of the next element, moving past it.
    private mutating func nextElement(_ type: Any.Type) throws -> Int {
        try checkNotAtEnd(type)
        let start = position
        node.reader.offset = position
        do throws(BinaryWireError) {
            try node.reader.skip(depth: node.depth + 1)
        } catch {
            throw node.failure(error, type, key: BinaryIndexKey(currentIndex))
        }
        position = node.reader.offset
        currentIndex += 1
        return start
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try checkNotAtEnd(type)
        let index = currentIndex
        if let fast = BinaryFastType.of(T.self), input.fastApplies(fast, at: position) {
            node.reader.offset = position
            do throws(BinaryWireError) {
                let value = try node.reader.readFast(fast, as: T.self, depth: node.depth + 1)
                position = node.reader.offset
                currentIndex += 1
                return value
            } catch {
                // Arrays: let Array.init(from:) report the element's coding path.
                if !fast.isArray { throw node.failure(error, T.self, key: BinaryIndexKey(index)) }
            }
        }
        let start = position
        var end = -1
        let value = try node.decodeChild(type, at: start, key: BinaryIndexKey(index), end: &end)
        if end < 0 {
            // The value was not a keyed container: find its end.
            node.reader.offset = start
            do throws(BinaryWireError) {
                try node.reader.skip(depth: node.depth + 1)
            } catch {
                throw node.failure(error, type, key: BinaryIndexKey(index))
            }
            end = node.reader.offset
        }
        position = end
        currentIndex += 1
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        let index = currentIndex
        try checkNotAtEnd(KeyedDecodingContainer<NestedKey>.self)
        let container = try node.child(at: position, key: BinaryIndexKey(index)).container(keyedBy: type)
        _ = try nextElement(KeyedDecodingContainer<NestedKey>.self)
        return container
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let index = currentIndex
        try checkNotAtEnd((any UnkeyedDecodingContainer).self)
        let container = try node.child(at: position, key: BinaryIndexKey(index)).unkeyedContainer()
        _ = try nextElement((any UnkeyedDecodingContainer).self)
        return container
    }

    mutating func superDecoder() throws -> any Decoder {
        let index = currentIndex
        let start = try nextElement((any Decoder).self)
        return node.child(at: start, key: BinaryIndexKey(index))
    }
}
