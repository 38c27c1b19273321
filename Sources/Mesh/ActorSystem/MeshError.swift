/// Every error a distributed call can end with besides the error the remote
/// actor itself threw (docs/wire-protocol.md §6). A call never crashes the
/// node and never hangs past its deadline.
public enum MeshError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No actor with this id lives on its node (never did, was deinitialised,
    /// or the id belongs to an earlier start of the node).
    case actorNotFound(String)
    /// The connection to the node is down: it could not be opened, or it
    /// dropped while the call was in flight. Calls fail with this at once.
    case nodeUnreachable(node: String, reason: String)
    /// No reply within the call's deadline.
    case timeout(seconds: Double)
    /// The outbound queue towards that node is full (the peer does not read
    /// fast enough); nothing was sent.
    case overloaded(node: String)
    /// Bytes from the wire could not be decoded into the expected type.
    case decodeFailed(String)
    /// The remote actor threw an error whose type is not registered here.
    case remote(type: String, message: String)
    /// The peer refused the connection's handshake (or we refused it).
    case handshakeRejected(String)
    /// A type on the wire that is not on this system's allow-list.
    case typeNotAllowed(String)
    /// The remote node has no such distributed function (different builds).
    case unknownTarget(String)
    /// Something this mesh cannot send (e.g. a generic parameter without a mangled name).
    case unsupported(String)
    /// The receiving node refused the call: the caller may not do that (a
    /// member speaks only for itself), or it used up its quota.
    case refused(String)
    /// No seed node answered a join before its deadline.
    case seedsUnreachable(seeds: [String], attempts: Int, lastError: String)

    public var description: String {
        switch self {
        case .actorNotFound(let id): return "actor \(id) not found"
        case .nodeUnreachable(let node, let reason): return "node \(node) unreachable: \(reason)"
        case .timeout(let seconds): return "no reply within \(seconds) s"
        case .overloaded(let node): return "outbound queue to \(node) is full; retry later"
        case .decodeFailed(let reason): return "could not decode: \(reason)"
        case .remote(let type, let message): return "remote \(type): \(message)"
        case .handshakeRejected(let reason): return "handshake rejected: \(reason)"
        case .typeNotAllowed(let type): return "type \(type) is not registered with the actor system"
        case .unknownTarget(let target): return "the remote node has no distributed function \(target)"
        case .unsupported(let what): return "unsupported: \(what)"
        case .refused(let reason): return "refused: \(reason)"
        case .seedsUnreachable(let seeds, let attempts, let lastError):
            return "no seed node answered (\(seeds.joined(separator: ", ")); \(attempts) attempts, last error: \(lastError)"
        }
    }
}
