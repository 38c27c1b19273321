import Foundation

// The encoder builds a small tree: one node per container (and per nested
// value that needs one). A node keeps the bytes of its entries so far;
// primitives are appended to it directly. A nested value is encoded as soon as
// `encode(_:forKey:)` is called and its bytes are appended right away, but
// nested containers and super encoders (which Codable lets you write to later,
// interleaved with the outer container) stay open as "deferred" children and
// are spliced in when their parent is serialized.

/// State shared by all the nodes of one `encode` call.
final class BinaryEncodingContext {
    let userInfo: [CodingUserInfoKey: Any]
    /// The first misuse of the containers that could not be thrown on the spot.
    var error: EncodingError?

    init(userInfo: [CodingUserInfoKey: Any]) {
        self.userInfo = userInfo
    }

    func record(_ message: String, codingPath: [any CodingKey]) {
        if error == nil {
            error = .invalidValue((), EncodingError.Context(codingPath: codingPath, debugDescription: message))
        }
    }
}

/// An `Encoder`, and the container (keyed, unkeyed or single value) it hands out.
///
/// The mutable state is `@exclusivity(unchecked)`: dynamic exclusivity checks
/// on every append cost about a third of the encoding time, and accesses never
/// overlap (a node's bytes are only written by its own containers, while no
/// other access to them is in progress).
final class BinaryEncodingNode: Encoder, SingleValueEncodingContainer {
    enum State { case empty, single, keyed, unkeyed }

    let context: BinaryEncodingContext
    /// For the coding path only.
    var parent: BinaryEncodingNode?
    var key: (any CodingKey)?

    @exclusivity(unchecked) var state = State.empty
    /// Set once the node is serialized into its parent: later writes throw.
    @exclusivity(unchecked) var sealed = false
    /// The single value, or the entries (keys and values) of the container
    /// without its tag and count.
    @exclusivity(unchecked) var writer = BinaryWriter()
    /// Entries of the container.
    @exclusivity(unchecked) var count = 0
    /// Open nested containers: spliced into `writer.bytes` at `offset` when serialized.
    @exclusivity(unchecked) var deferred: [(offset: Int, node: BinaryEncodingNode)] = []
    /// A finished child kept for the next nested value (saves allocations).
    @exclusivity(unchecked) var spare: BinaryEncodingNode?

    init(context: BinaryEncodingContext, parent: BinaryEncodingNode?, key: (any CodingKey)?) {
        self.context = context
        self.parent = parent
        self.key = key
    }

    var codingPath: [any CodingKey] {
        var path: [any CodingKey] = []
        var node: BinaryEncodingNode? = self
        while let current = node {
            if let key = current.key { path.append(key) }
            node = current.parent
        }
        path.reverse()
        return path
    }

    var userInfo: [CodingUserInfoKey: Any] { context.userInfo }

    // MARK: Encoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if state == .empty { state = .keyed }
        guard state == .keyed, !sealed else {
            context.record(
                sealed ? "A keyed container was requested after the value was encoded."
                    : "A keyed container was requested from an encoder that already holds \(state == .single ? "a single value" : "an unkeyed container").",
                codingPath: codingPath
            )
            return KeyedEncodingContainer(BinaryKeyedEncoding<Key>(node: detached()))
        }
        return KeyedEncodingContainer(BinaryKeyedEncoding<Key>(node: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if state == .empty { state = .unkeyed }
        guard state == .unkeyed, !sealed else {
            context.record(
                sealed ? "An unkeyed container was requested after the value was encoded."
                    : "An unkeyed container was requested from an encoder that already holds \(state == .single ? "a single value" : "a keyed container").",
                codingPath: codingPath
            )
            return BinaryUnkeyedEncoding(node: detached())
        }
        return BinaryUnkeyedEncoding(node: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        self
    }

    /// A node whose writes go nowhere, for containers handed out after a misuse
    /// (the misuse is thrown at the end of `encode`).
    private func detached() -> BinaryEncodingNode {
        let node = BinaryEncodingNode(context: context, parent: parent, key: key)
        node.state = .keyed
        return node
    }

    // MARK: Writing

    @inline(__always)
    func checkOpen() throws {
        if sealed {
            throw EncodingError.invalidValue((), EncodingError.Context(
                codingPath: codingPath,
                debugDescription: "A container was written to after the value that owns it was encoded."
            ))
        }
    }

    /// A keyed entry with a primitive value.
    @inline(__always)
    func put<P: BinaryPrimitive, K: CodingKey>(_ value: P, forKey key: K) throws {
        try checkOpen()
        let wireKey = BinaryWireKey(key)
        writer.key(wireKey)
        value.binaryWrite(to: &writer)
        count += 1
    }

    /// An unkeyed element with a primitive value.
    @inline(__always)
    func append<P: BinaryPrimitive>(_ value: P) throws {
        try checkOpen()
        value.binaryWrite(to: &writer)
        count += 1
    }

    /// A keyed entry with any value.
    @inline(__always)
    func put<T: Encodable, K: CodingKey>(value: T, forKey key: K) throws {
        try checkOpen()
        let wireKey = BinaryWireKey(key)
        let mark = writer.bytes.count
        writer.key(wireKey)
        if writer.writeIfFast(value) {
            count += 1
            return
        }
        try encodeChild(value, key: key, rollback: mark)
    }

    /// An unkeyed element with any value.
    @inline(__always)
    func append<T: Encodable>(value: T) throws {
        try checkOpen()
        if writer.writeIfFast(value) {
            count += 1
            return
        }
        try encodeChild(value, key: BinaryIndexKey(count), rollback: writer.bytes.count)
    }

    /// Encodes `value` through its own `encode(to:)` with a child encoder and
    /// appends the result. If that throws, `writer` is cut back to `rollback`
    /// (dropping the entry's key), so an `encode(to:)` that catches the error
    /// and goes on still produces a well-formed container.
    private func encodeChild<T: Encodable>(_ value: T, key: any CodingKey, rollback: Int) throws {
        var child: BinaryEncodingNode
        if let reused = spare {
            spare = nil
            reused.reset(parent: self, key: key)
            child = reused
        } else {
            child = BinaryEncodingNode(context: context, parent: self, key: key)
        }
        do {
            try value.encode(to: child)
        } catch {
            child.tearDown()
            writer.bytes.removeSubrange(rollback...)
            throw error
        }
        child.serialize(into: &writer)
        count += 1
        // Keep the child for the next value if nobody else holds it. Its parent
        // link is cut so the two do not keep each other alive.
        if isKnownUniquelyReferenced(&child) {
            child.parent = nil
            child.key = nil
            if child.writer.bytes.capacity > 1 << 16 { child.writer = BinaryWriter() }
            spare = child
        }
    }

    private func reset(parent: BinaryEncodingNode, key: any CodingKey) {
        self.parent = parent
        self.key = key
        state = .empty
        sealed = false
        writer.bytes.removeAll(keepingCapacity: true)
        count = 0
    }

    /// A deferred child: a nested container or a super encoder. For a keyed
    /// container, `key` has already been written.
    func openChild(key: any CodingKey, state: State) -> BinaryEncodingNode {
        let child = BinaryEncodingNode(context: context, parent: self, key: key)
        child.state = state
        if sealed {
            context.record("A nested container was requested after the value that owns it was encoded.", codingPath: codingPath)
            return child
        }
        deferred.append((writer.bytes.count, child))
        count += 1
        return child
    }

    func openChild<K: CodingKey>(forKey key: K, state: State) -> BinaryEncodingNode {
        if !sealed {
            let wireKey = BinaryWireKey(key)
            writer.key(wireKey)
        }
        return openChild(key: key, state: state)
    }

    /// Appends this node's value to `out`, then seals it (and its children).
    func serialize(into out: inout BinaryWriter) {
        sealed = true
        switch state {
        case .empty:
            out.tag(.keyed)
            out.varint(0)
        case .single:
            out.bytes.append(contentsOf: writer.bytes)
        case .keyed, .unkeyed:
            out.tag(state == .keyed ? .keyed : .unkeyed)
            out.varint(UInt64(count))
            if deferred.isEmpty {
                out.bytes.append(contentsOf: writer.bytes)
            } else {
                var start = 0
                for (offset, child) in deferred {
                    out.bytes.append(contentsOf: writer.bytes[start..<offset])
                    child.serialize(into: &out)
                    start = offset
                }
                out.bytes.append(contentsOf: writer.bytes[start...])
                // The children point back at this node: drop them to break the cycle.
                deferred.removeAll()
            }
        }
    }

    /// Drops the deferred children (recursively) after an error, to break the
    /// child → parent reference cycles.
    func tearDown() {
        for (_, child) in deferred { child.tearDown() }
        deferred.removeAll()
        spare = nil
    }

    // MARK: SingleValueEncodingContainer

    @inline(__always)
    private func beginSingle() throws {
        try checkOpen()
        guard state == .empty else {
            throw EncodingError.invalidValue((), EncodingError.Context(
                codingPath: codingPath,
                debugDescription: state == .single
                    ? "A single value container already holds a value."
                    : "A single value was encoded into an encoder that already holds a container."
            ))
        }
        state = .single
    }

    @inline(__always)
    private func single<P: BinaryPrimitive>(_ value: P) throws {
        try beginSingle()
        value.binaryWrite(to: &writer)
    }

    func encodeNil() throws {
        try beginSingle()
        writer.tag(.null)
    }

    func encode(_ value: Bool) throws { try single(value) }
    func encode(_ value: String) throws { try single(value) }
    func encode(_ value: Double) throws { try single(value) }
    func encode(_ value: Float) throws { try single(value) }
    func encode(_ value: Int) throws { try single(value) }
    func encode(_ value: Int8) throws { try single(value) }
    func encode(_ value: Int16) throws { try single(value) }
    func encode(_ value: Int32) throws { try single(value) }
    func encode(_ value: Int64) throws { try single(value) }
    func encode(_ value: UInt) throws { try single(value) }
    func encode(_ value: UInt8) throws { try single(value) }
    func encode(_ value: UInt16) throws { try single(value) }
    func encode(_ value: UInt32) throws { try single(value) }
    func encode(_ value: UInt64) throws { try single(value) }
    func encode(_ value: Int128) throws { try single(try binaryNarrow(value, codingPath: codingPath)) }
    func encode(_ value: UInt128) throws { try single(try binaryNarrow(value, codingPath: codingPath)) }

    func encode<T: Encodable>(_ value: T) throws {
        try checkOpen()
        guard state == .empty else { try beginSingle(); return }  // throws
        if writer.writeIfFast(value) {
            state = .single
            return
        }
        // The value's own containers go on this same node.
        try value.encode(to: self)
    }
}

/// 128-bit integers travel as 64-bit ones.
func binaryNarrow(_ value: Int128, codingPath: [any CodingKey]) throws -> Int64 {
    guard let narrow = Int64(exactly: value) else {
        throw EncodingError.invalidValue(value, EncodingError.Context(
            codingPath: codingPath,
            debugDescription: "The Int128 \(value) does not fit in 64 bits, the largest integer of the binary format."
        ))
    }
    return narrow
}

func binaryNarrow(_ value: UInt128, codingPath: [any CodingKey]) throws -> UInt64 {
    guard let narrow = UInt64(exactly: value) else {
        throw EncodingError.invalidValue(value, EncodingError.Context(
            codingPath: codingPath,
            debugDescription: "The UInt128 \(value) does not fit in 64 bits, the largest integer of the binary format."
        ))
    }
    return narrow
}

// MARK: - Keyed

struct BinaryKeyedEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: BinaryEncodingNode

    var codingPath: [any CodingKey] { node.codingPath }

    mutating func encodeNil(forKey key: Key) throws {
        try node.checkOpen()
        let wireKey = BinaryWireKey(key)
        node.writer.key(wireKey)
        node.writer.tag(.null)
        node.count += 1
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws { try node.put(value, forKey: key) }
    mutating func encode(_ value: String, forKey key: Key) throws { try node.put(value, forKey: key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try node.put(value, forKey: key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try node.put(value, forKey: key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try node.put(value, forKey: key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try node.put(value, forKey: key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try node.put(value, forKey: key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try node.put(value, forKey: key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try node.put(value, forKey: key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try node.put(value, forKey: key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try node.put(value, forKey: key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try node.put(value, forKey: key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try node.put(value, forKey: key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try node.put(value, forKey: key) }

    mutating func encode(_ value: Int128, forKey key: Key) throws {
        try node.put(try binaryNarrow(value, codingPath: codingPath + [key]), forKey: key)
    }

    mutating func encode(_ value: UInt128, forKey key: Key) throws {
        try node.put(try binaryNarrow(value, codingPath: codingPath + [key]), forKey: key)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try node.put(value: value, forKey: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(BinaryKeyedEncoding<NestedKey>(node: node.openChild(forKey: key, state: .keyed)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        BinaryUnkeyedEncoding(node: node.openChild(forKey: key, state: .unkeyed))
    }

    mutating func superEncoder() -> any Encoder {
        node.openChild(forKey: BinaryNamedKey.super, state: .empty)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        node.openChild(forKey: key, state: .empty)
    }
}

// MARK: - Unkeyed

struct BinaryUnkeyedEncoding: UnkeyedEncodingContainer {
    let node: BinaryEncodingNode

    var codingPath: [any CodingKey] { node.codingPath }
    var count: Int { node.count }

    mutating func encodeNil() throws {
        try node.checkOpen()
        node.writer.tag(.null)
        node.count += 1
    }

    mutating func encode(_ value: Bool) throws { try node.append(value) }
    mutating func encode(_ value: String) throws { try node.append(value) }
    mutating func encode(_ value: Double) throws { try node.append(value) }
    mutating func encode(_ value: Float) throws { try node.append(value) }
    mutating func encode(_ value: Int) throws { try node.append(value) }
    mutating func encode(_ value: Int8) throws { try node.append(value) }
    mutating func encode(_ value: Int16) throws { try node.append(value) }
    mutating func encode(_ value: Int32) throws { try node.append(value) }
    mutating func encode(_ value: Int64) throws { try node.append(value) }
    mutating func encode(_ value: UInt) throws { try node.append(value) }
    mutating func encode(_ value: UInt8) throws { try node.append(value) }
    mutating func encode(_ value: UInt16) throws { try node.append(value) }
    mutating func encode(_ value: UInt32) throws { try node.append(value) }
    mutating func encode(_ value: UInt64) throws { try node.append(value) }

    mutating func encode(_ value: Int128) throws {
        try node.append(try binaryNarrow(value, codingPath: codingPath + [BinaryIndexKey(count)]))
    }

    mutating func encode(_ value: UInt128) throws {
        try node.append(try binaryNarrow(value, codingPath: codingPath + [BinaryIndexKey(count)]))
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try node.append(value: value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(BinaryKeyedEncoding<NestedKey>(
            node: node.openChild(key: BinaryIndexKey(node.count), state: .keyed)
        ))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        BinaryUnkeyedEncoding(node: node.openChild(key: BinaryIndexKey(node.count), state: .unkeyed))
    }

    mutating func superEncoder() -> any Encoder {
        node.openChild(key: BinaryIndexKey(node.count), state: .empty)
    }
}
