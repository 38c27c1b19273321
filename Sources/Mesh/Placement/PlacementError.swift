/// Errors of spawning, placement and activation; they cross the wire as themselves.
public enum PlacementError: Error, Codable, Equatable, Sendable, CustomStringConvertible {
    case unknownKind(String)
    case noNodeFits(kind: String, requirement: String)
    case activationFailed(key: String, reason: String)
    /// A live member did not answer whether it hosts the key; activating
    /// now could create a second copy. Retry once it answers or is down.
    case membersUnresponsive(key: String, nodes: [String])

    public var description: String {
        switch self {
        case .unknownKind(let kind): return "no actor kind \(kind) is registered on this node"
        case .noNodeFits(let kind, let requirement): return "no live node fits \(kind) (\(requirement))"
        case .activationFailed(let key, let reason): return "activating \(key) failed: \(reason)"
        case .membersUnresponsive(let key, let nodes):
            return "cannot place \(key) yet: \(nodes.joined(separator: ", ")) did not answer (retry after failure detection)"
        }
    }
}
