import NIOCore

/// Long names (actor paths, mangled call targets) are sent once per
/// connection and then referred to by number, so a hot call does not resend
/// them (docs/wire-protocol.md §5).
///
/// A reference is a u32. With the top bit set, the definition follows it
/// inline and the receiver remembers it under the low 31 bits; without, it
/// refers to an earlier definition. Reference 0 with the top bit set is an
/// inline definition the receiver must not remember (the sender's table is
/// full). Both tables start empty on each new connection.
public struct OutboundInternTable<Key: Hashable & Sendable>: Sendable {
    static var defineBit: UInt32 { 0x8000_0000 }
    public let capacity: Int
    private var refs: [Key: UInt32] = [:]
    private var nextRef: UInt32 = 1

    public init(capacity: Int = 1 << 16) { self.capacity = capacity }

    /// Writes the reference for `key`, with its definition the first time.
    mutating func write(_ key: Key, to buffer: inout ByteBuffer, define: (Key, inout ByteBuffer) -> Void) {
        if let ref = refs[key] {
            buffer.writeInteger(ref)
            return
        }
        if refs.count < capacity {
            let ref = nextRef
            nextRef += 1
            refs[key] = ref
            buffer.writeInteger(ref | Self.defineBit)
        } else {
            buffer.writeInteger(Self.defineBit)
        }
        define(key, &buffer)
    }
}

/// The receiving side of an `OutboundInternTable`.
public struct InboundInternTable<Value: Sendable & Equatable>: Sendable {
    public let capacity: Int
    private var values: [UInt32: Value] = [:]

    public init(capacity: Int = 1 << 16) { self.capacity = capacity }

    mutating func read(
        from buffer: inout ByteBuffer, kind: FrameKind, define: (inout ByteBuffer) -> Value?
    ) throws(WireError) -> Value {
        guard let raw = buffer.readInteger(as: UInt32.self) else {
            throw .malformed(kind: kind, reason: "truncated reference")
        }
        let ref = raw & ~OutboundInternTable<Int>.defineBit
        guard raw & OutboundInternTable<Int>.defineBit != 0 else {
            guard let value = values[ref] else { throw .unknownReference(ref) }
            return value
        }
        guard let value = define(&buffer) else { throw .malformed(kind: kind, reason: "truncated definition") }
        if ref == 0 { return value }
        if let existing = values[ref], existing != value {
            throw .malformed(kind: kind, reason: "reference \(ref) redefined")
        }
        guard values.count < capacity || values[ref] != nil else {
            throw .malformed(kind: kind, reason: "more than \(capacity) definitions")
        }
        values[ref] = value
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
