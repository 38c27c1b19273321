import NIOCore

/// A name that can be interned, with the bytes it holds in a table.
public protocol InternedName: Hashable, Sendable {
    var internedBytes: Int { get }
}

extension String: InternedName {
    public var internedBytes: Int { utf8.count }
}

extension WireRecipient: InternedName {
    public var internedBytes: Int { 8 + path.utf8.count }
}

/// The limits both ends of a connection apply to interned names
/// (docs/wire-protocol.md §5 and §8): a sender never defines past them, a
/// receiver closes the connection of a peer that does.
public enum InternLimits {
    /// Definitions one table holds.
    public static let maxEntries = 1 << 16
    /// Bytes of names one table holds (paths and mangled names).
    public static let maxBytes = 4 << 20
    /// The longest name that is interned; longer ones are always inline.
    public static let maxNameBytes = 1024
}

/// Long names (actor paths, mangled call targets) are sent once per
/// connection and then referred to by number, so a hot call does not resend
/// them (docs/wire-protocol.md §5).
///
/// A reference is a u32. With the top bit set, the definition follows it
/// inline and the receiver remembers it under the low 31 bits; without, it
/// refers to an earlier definition. Reference 0 with the top bit set is an
/// inline definition the receiver must not remember (the sender's table is
/// full, or the name is longer than `InternLimits.maxNameBytes`). Both
/// tables start empty on each new connection.
public struct OutboundInternTable<Key: InternedName>: Sendable {
    static var defineBit: UInt32 { 0x8000_0000 }
    public let capacity: Int
    public let byteBudget: Int
    private var refs: [Key: UInt32] = [:]
    private var nextRef: UInt32 = 1
    private var bytes = 0

    public init(capacity: Int = InternLimits.maxEntries, byteBudget: Int = InternLimits.maxBytes) {
        self.capacity = capacity
        self.byteBudget = byteBudget
    }

    /// Writes the reference for `key`, with its definition the first time.
    mutating func write(_ key: Key, to buffer: inout ByteBuffer, define: (Key, inout ByteBuffer) -> Void) {
        if let ref = refs[key] {
            buffer.writeInteger(ref)
            return
        }
        let size = key.internedBytes
        if refs.count < capacity && size <= InternLimits.maxNameBytes && bytes + size <= byteBudget {
            let ref = nextRef
            nextRef += 1
            refs[key] = ref
            bytes += size
            buffer.writeInteger(ref | Self.defineBit)
        } else {
            buffer.writeInteger(Self.defineBit)
        }
        define(key, &buffer)
    }
}

/// The receiving side of an `OutboundInternTable`: bounded by count, bytes
/// and name length, so a peer cannot make it hold gigabytes.
public struct InboundInternTable<Value: InternedName & Equatable>: Sendable {
    public let capacity: Int
    public let byteBudget: Int
    private var values: [UInt32: Value] = [:]
    private var bytes = 0

    public init(capacity: Int = InternLimits.maxEntries, byteBudget: Int = InternLimits.maxBytes) {
        self.capacity = capacity
        self.byteBudget = byteBudget
    }

    mutating func read(
        from buffer: inout ByteBuffer, kind: FrameKind, define: (inout ByteBuffer) -> Value?
    ) throws(WireError) -> Value {
        guard let raw = buffer.readInteger(as: UInt32.self) else {
            throw .malformed(kind: kind, reason: "truncated reference")
        }
        let ref = raw & ~OutboundInternTable<String>.defineBit
        guard raw & OutboundInternTable<String>.defineBit != 0 else {
            guard let value = values[ref] else { throw .unknownReference(ref) }
            return value
        }
        guard let value = define(&buffer) else { throw .malformed(kind: kind, reason: "truncated definition") }
        if ref == 0 { return value }
        if let existing = values[ref] {
            guard existing == value else { throw .malformed(kind: kind, reason: "reference \(ref) redefined") }
            return value
        }
        let size = value.internedBytes
        guard size <= InternLimits.maxNameBytes else {
            throw .malformed(kind: kind, reason: "a definition of \(size) bytes (at most \(InternLimits.maxNameBytes) are interned)")
        }
        guard values.count < capacity, bytes + size <= byteBudget else {
            throw .malformed(kind: kind, reason: "more than \(capacity) definitions or \(byteBudget) bytes of names")
        }
        values[ref] = value
        bytes += size
        return value
    }
}

/// Writes `call` and `oneWay` frames for one connection.
public struct CallFrameEncoder: Sendable {
    var recipients = OutboundInternTable<WireRecipient>()
    var targets = OutboundInternTable<String>()

    public init() {}

    /// Appends a complete frame to `buffer`. Arguments are already encoded.
    public mutating func writeCall(
        oneWay: Bool, callID: UInt64, timeoutMillis: UInt32, recipient: WireRecipient, target: String,
        substitutions: [String] = [], arguments: [[UInt8]], into buffer: inout ByteBuffer
    ) {
        buffer.writeFrame(oneWay ? .oneWay : .call) { buffer in
            buffer.writeInteger(callID)
            buffer.writeInteger(timeoutMillis)
            recipients.write(recipient, to: &buffer) { recipient, buffer in
                buffer.writeInteger(recipient.incarnation)
                buffer.writeShortString(recipient.path)
            }
            targets.write(target, to: &buffer) { target, buffer in buffer.writeShortString(target) }
            buffer.writeInteger(UInt8(substitutions.count))
            for substitution in substitutions {
                targets.write(substitution, to: &buffer) { name, buffer in buffer.writeShortString(name) }
            }
            buffer.writeInteger(UInt8(arguments.count))
            for argument in arguments {
                buffer.writeInteger(UInt32(argument.count))
                buffer.writeBytes(argument)
            }
        }
    }
}

/// Reads `call` and `oneWay` frames for one connection.
public struct CallFrameDecoder: Sendable {
    var recipients = InboundInternTable<WireRecipient>()
    var targets = InboundInternTable<String>()

    public init() {}

    public mutating func read(_ frame: Frame) throws(WireError) -> CallMessage {
        var buffer = frame.payload
        let kind = frame.kind
        guard let callID = buffer.readInteger(as: UInt64.self),
              let timeout = buffer.readInteger(as: UInt32.self)
        else { throw .malformed(kind: kind, reason: "truncated head") }
        let recipient = try recipients.read(from: &buffer, kind: kind) { buffer in
            guard let incarnation = buffer.readInteger(as: UInt64.self), let path = buffer.readShortString() else { return nil }
            return WireRecipient(incarnation: incarnation, path: path)
        }
        let target = try targets.read(from: &buffer, kind: kind) { buffer in buffer.readShortString() }
        guard let substitutionCount = buffer.readInteger(as: UInt8.self) else {
            throw .malformed(kind: kind, reason: "truncated substitution count")
        }
        var substitutions: [String] = []
        for _ in 0..<substitutionCount {
            substitutions.append(try targets.read(from: &buffer, kind: kind) { buffer in buffer.readShortString() })
        }
        guard let count = buffer.readInteger(as: UInt8.self) else { throw .malformed(kind: kind, reason: "truncated argument count") }
        var arguments: [ByteBuffer] = []
        arguments.reserveCapacity(Int(count))
        for index in 0..<count {
            guard let length = buffer.readInteger(as: UInt32.self), let bytes = buffer.readSlice(length: Int(length)) else {
                throw .malformed(kind: kind, reason: "argument \(index) truncated")
            }
            arguments.append(bytes)
        }
        guard buffer.readableBytes == 0 else { throw .malformed(kind: kind, reason: "\(buffer.readableBytes) trailing bytes") }
        return CallMessage(
            head: CallHead(callID: callID, timeoutMillis: timeout),
            recipient: recipient, target: target, substitutions: substitutions, arguments: arguments)
    }
}

/// `reply` payload: u64 call id, u8 (0 = no value, 1 = value), the encoded value.
public struct ReplyMessage: Sendable, Equatable {
    public var callID: UInt64
    public var value: ByteBuffer?

    public static func write(callID: UInt64, value: [UInt8]?, into buffer: inout ByteBuffer) {
        buffer.writeFrame(.reply) { buffer in
            buffer.writeInteger(callID)
            if let value {
                buffer.writeInteger(UInt8(1))
                buffer.writeBytes(value)
            } else {
                buffer.writeInteger(UInt8(0))
            }
        }
    }

    public static func read(from frame: Frame) throws(WireError) -> ReplyMessage {
        var buffer = frame.payload
        guard let callID = buffer.readInteger(as: UInt64.self), let flag = buffer.readInteger(as: UInt8.self), flag <= 1 else {
            throw .malformed(kind: .reply, reason: "truncated head")
        }
        if flag == 0 {
            guard buffer.readableBytes == 0 else { throw .malformed(kind: .reply, reason: "value on a void reply") }
            return ReplyMessage(callID: callID, value: nil)
        }
        return ReplyMessage(callID: callID, value: buffer)
    }
}
