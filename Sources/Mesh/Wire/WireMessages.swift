import NIOCore

/// The protocol this code speaks. Peers must agree on `major`; `minor` may
/// differ (newer minors only add capabilities).
public enum WireVersion {
    public static let major: UInt16 = 1
    public static let minor: UInt16 = 0
    /// "HMAM" — first bytes of every hello, so a stray client fails fast.
    public static let magic: UInt32 = 0x484D_414D
}

/// `hello` (initiator → acceptor) and `welcome` (acceptor → initiator).
public struct HandshakeMessage: Sendable, Equatable {
    public var versionMajor: UInt16
    public var versionMinor: UInt16
    public var capabilities: MeshCapabilities
    public var node: NodeID
    public var roles: NodeRoles
    /// The largest frame this node accepts.
    public var maxFrameLength: UInt32

    public init(node: NodeID, roles: NodeRoles, maxFrameLength: UInt32,
                versionMajor: UInt16 = WireVersion.major, versionMinor: UInt16 = WireVersion.minor,
                capabilities: MeshCapabilities = .all) {
        self.versionMajor = versionMajor
        self.versionMinor = versionMinor
        self.capabilities = capabilities
        self.node = node
        self.roles = roles
        self.maxFrameLength = maxFrameLength
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(WireVersion.magic)
        buffer.writeInteger(versionMajor)
        buffer.writeInteger(versionMinor)
        buffer.writeInteger(capabilities.rawValue)
        buffer.writeShortString(node.name.rawValue)
        buffer.writeInteger(node.incarnation)
        buffer.writeInteger(roles.rawValue)
        buffer.writeInteger(maxFrameLength)
    }

    public static func read(from buffer: inout ByteBuffer, kind: FrameKind) throws(WireError) -> HandshakeMessage {
        func fail(_ reason: String) -> WireError { .malformed(kind: kind, reason: reason) }
        guard let magic = buffer.readInteger(as: UInt32.self) else { throw fail("truncated") }
        guard magic == WireVersion.magic else { throw fail("bad magic 0x\(String(magic, radix: 16))") }
        guard let major = buffer.readInteger(as: UInt16.self),
              let minor = buffer.readInteger(as: UInt16.self),
              let capabilities = buffer.readInteger(as: UInt32.self),
              let nameText = buffer.readShortString(),
              let incarnation = buffer.readInteger(as: UInt64.self),
              let roles = buffer.readInteger(as: UInt8.self),
              let maxFrame = buffer.readInteger(as: UInt32.self)
        else { throw fail("truncated") }
        guard buffer.readableBytes == 0 else { throw fail("\(buffer.readableBytes) trailing bytes") }
        let name: NodeName
        do { name = try NodeName(nameText) } catch { throw fail("invalid node name: \(error)") }
        return HandshakeMessage(
            node: NodeID(name: name, incarnation: incarnation), roles: NodeRoles(rawValue: roles),
            maxFrameLength: maxFrame, versionMajor: major, versionMinor: minor,
            capabilities: MeshCapabilities(rawValue: capabilities))
    }
}

/// `reject` and `goodbye`: a code and a human-readable reason.
public struct CloseMessage: Sendable, Equatable {
    public var code: UInt16
    public var reason: String

    public init(code: UInt16, reason: String) {
        self.code = code
        self.reason = reason
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(code)
        buffer.writeShortString(String(reason.utf8.prefix(1024)) ?? "")
    }

    public static func read(from buffer: inout ByteBuffer, kind: FrameKind) throws(WireError) -> CloseMessage {
        guard let code = buffer.readInteger(as: UInt16.self), let reason = buffer.readShortString(), buffer.readableBytes == 0
        else { throw .malformed(kind: kind, reason: "truncated or trailing bytes") }
        return CloseMessage(code: code, reason: reason)
    }
}

/// The head of a `call` or `oneWay` frame; the arguments follow it.
public struct CallHead: Sendable, Equatable {
    public var callID: UInt64
    /// Milliseconds the caller still waits; 0 means no deadline.
    public var timeoutMillis: UInt32
}

/// A recipient as named on the wire: the incarnation of the node it lives on
/// and its path there.
public struct WireRecipient: Hashable, Sendable {
    public var incarnation: UInt64
    public var path: String
}

/// The `call` / `oneWay` payload with its interned names resolved.
public struct CallMessage: Sendable {
    public var head: CallHead
    public var recipient: WireRecipient
    public var target: String
    /// Mangled names of the generic parameters (calls through `@Resolvable` stubs).
    public var substitutions: [String]
    public var arguments: [ByteBuffer]
}

/// Reply codes of a `failure` frame (docs/wire-protocol.md §6).
public enum WireErrorCode: UInt16, Sendable, CaseIterable {
    case actorNotFound = 1
    case timeout = 3
    case overloaded = 4
    case decodeFailed = 5
    case remote = 6
    case unknownTarget = 8
    case typeNotAllowed = 9
    case refused = 10
}

/// The `failure` payload: why a call failed on the remote side.
public struct FailureMessage: Sendable, Equatable {
    public var callID: UInt64
    public var code: UInt16
    /// For `remote`: the registered name of the thrown error's type.
    public var typeName: String
    public var message: String
    /// For `remote` with a registered Codable error type: the encoded error.
    public var payload: ByteBuffer?

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(callID)
        buffer.writeInteger(code)
        buffer.writeShortString(typeName)
        buffer.writeLongString(message)
        if var payload {
            buffer.writeInteger(UInt32(payload.readableBytes))
            buffer.writeBuffer(&payload)
        } else {
            buffer.writeInteger(UInt32(0))
        }
    }

    public static func read(from buffer: inout ByteBuffer) throws(WireError) -> FailureMessage {
        guard let callID = buffer.readInteger(as: UInt64.self),
              let code = buffer.readInteger(as: UInt16.self),
              let typeName = buffer.readShortString(),
              let message = buffer.readLongString(),
              let length = buffer.readInteger(as: UInt32.self),
              let payload = buffer.readSlice(length: Int(length)),
              buffer.readableBytes == 0
        else { throw .malformed(kind: .failure, reason: "truncated or trailing bytes") }
        return FailureMessage(callID: callID, code: code, typeName: typeName, message: message,
                              payload: length == 0 ? nil : payload)
    }
}

extension ByteBuffer {
    /// u16 length + UTF-8; longer strings are cut at 65,535 bytes.
    @inlinable
    public mutating func writeShortString(_ text: String) {
        let utf8 = text.utf8
        let count = Swift.min(utf8.count, Int(UInt16.max))
        writeInteger(UInt16(count))
        if count == utf8.count { writeString(text) } else { writeBytes(utf8.prefix(count)) }
    }

    @inlinable
    public mutating func readShortString() -> String? {
        guard let length = getInteger(at: readerIndex, as: UInt16.self),
              readableBytes >= 2 + Int(length) else { return nil }
        moveReaderIndex(forwardBy: 2)
        return readString(length: Int(length))
    }

    /// u32 length + UTF-8.
    @inlinable
    public mutating func writeLongString(_ text: String) {
        writeInteger(UInt32(text.utf8.count))
        writeString(text)
    }

    @inlinable
    public mutating func readLongString() -> String? {
        guard let length = getInteger(at: readerIndex, as: UInt32.self),
              readableBytes >= 4 + Int(length) else { return nil }
        moveReaderIndex(forwardBy: 4)
        return readString(length: Int(length))
    }
}

/// `pingRequest` (probe `target` for me) and `relayedAck` (`target` answered
/// your probe `sequence`): SWIM's indirect probes.
public struct IndirectProbeMessage: Sendable, Equatable {
    public var sequence: UInt64
    public var target: String

    public init(sequence: UInt64, target: String) {
        self.sequence = sequence
        self.target = target
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(sequence)
        buffer.writeShortString(target)
    }

    public static func read(from buffer: inout ByteBuffer, kind: FrameKind) throws(WireError) -> IndirectProbeMessage {
        guard let sequence = buffer.readInteger(as: UInt64.self), let target = buffer.readShortString(), buffer.readableBytes == 0 else {
            throw .malformed(kind: kind, reason: "expected u64 sequence and a node name")
        }
        return IndirectProbeMessage(sequence: sequence, target: target)
    }
}
