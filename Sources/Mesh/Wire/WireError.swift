/// What can be wrong with bytes received from a peer. Any of these closes
/// the connection (after a `goodbye` naming it, where the connection still
/// works); none of them crashes or stalls the node.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The declared frame length exceeds the limit; the frame is never allocated.
    case frameTooLarge(length: UInt32, limit: UInt32)
    /// A frame of length zero (it must hold at least the kind byte).
    case emptyFrame
    case unknownFrameKind(UInt8)
    /// The payload of a frame of this kind is shorter or longer than its layout.
    case malformed(kind: FrameKind, reason: String)
    /// A frame that is not allowed in the current state (e.g. a call before the handshake).
    case unexpected(kind: FrameKind, state: String)
    /// A reference to an interned name that was never defined on this connection.
    case unknownReference(UInt32)

    public var description: String {
        switch self {
        case .frameTooLarge(let length, let limit): return "frame of \(length) bytes exceeds the limit of \(limit) bytes"
        case .emptyFrame: return "frame of length 0"
        case .unknownFrameKind(let kind): return "unknown frame kind 0x\(String(kind, radix: 16))"
        case .malformed(let kind, let reason): return "malformed \(kind) frame: \(reason)"
        case .unexpected(let kind, let state): return "unexpected \(kind) frame while \(state)"
        case .unknownReference(let ref): return "reference \(ref) was never defined on this connection"
        }
    }
}
