/// A member's life in the cluster (docs/cluster.md, "Member states").
public enum MemberStatus: UInt8, Sendable, Codable, CaseIterable, Comparable {
    case joining = 0
    case up = 1
    case suspect = 2
    /// Declared failed. Comes back only if the member itself proves it is
    /// alive with a higher version (a healed partition); a restart is a new
    /// incarnation instead.
    case down = 3
    /// Left gracefully: never comes back.
    case left = 4
    /// Down for longer than the reconnect timeout: never comes back.
    case removed = 5

    /// Down, left and removed: the member is not part of the cluster (its
    /// actors are gone for watchers, its registrations dropped).
    public var isFinal: Bool { self >= .down }

    public static func < (lhs: MemberStatus, rhs: MemberStatus) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What one node believes about one member; spread by gossip.
public struct MemberState: Sendable, Equatable, Codable {
    public var node: NodeID
    public var endpoint: Endpoint
    public var roles: NodeRoles
    public var status: MemberStatus
    /// Raised only by the member itself, to refute a suspicion of it.
    public var version: UInt32
    /// Operator-given labels (`zone=eu`, `gpu=yes`) placement can pin to.
    public var labels: [String: String]

    public init(node: NodeID, endpoint: Endpoint, roles: NodeRoles, status: MemberStatus, version: UInt32 = 0,
                labels: [String: String] = [:]) {
        self.node = node
        self.endpoint = endpoint
        self.roles = roles
        self.status = status
        self.version = version
        self.labels = labels
    }
}

/// One node's view of the cluster, merged from gossip with SWIM's rules, as a
/// state machine with no I/O. Every rule is monotonic, so views converge
/// whatever order updates arrive in:
///
/// - A newer incarnation of a name replaces the older one (the old start is
///   gone for good); an older incarnation is ignored.
/// - Within an incarnation, the update with the higher `version` wins, and at
///   the same version the more severe status wins (joining < up < suspect <
///   down). `left` and `removed` only move forward. `down` is left only by
///   the member itself saying `up` at a higher version: it was cut off, not
///   dead (a healed partition), as in HashiCorp memberlist.
/// - Suspicion of the local node is refuted by raising its own version.
public struct Membership: Sendable {
    public let local: NodeID
    public private(set) var members: [NodeName: MemberState] = [:]

    public init(local: MemberState) {
        self.local = local.node
        members[local.node.name] = local
    }

    /// The result of merging one update.
    public enum Change: Sendable, Equatable {
        /// The view changed to this state.
        case updated(MemberState)
        /// A newer start replaced `old`, which is to be treated as down.
        case replaced(old: MemberState, new: MemberState)
        /// Someone suspects (or declared down) this node; it answered with a
        /// higher version that must be gossiped.
        case refuted(MemberState)
    }

    /// Merges an update received by gossip or observed locally.
    /// - Returns: what changed, or nil when the update was stale or redundant.
    public mutating func merge(_ update: MemberState) -> Change? {
        guard let current = members[update.node.name] else {
            members[update.node.name] = update
            return .updated(update)
        }
        if update.node.incarnation != current.node.incarnation {
            guard update.node.incarnation > current.node.incarnation, update.node != local else { return nil }
            if current.node == local { return nil }  // someone else claims our name with a newer start: keep ours
            members[update.node.name] = update
            return .replaced(old: current, new: update)
        }
        if update.node == local && (update.status == .suspect || update.status == .down) && !current.status.isFinal {
            var refutation = current
            refutation.version = max(current.version, update.version) &+ 1
            refutation.status = .up
            members[update.node.name] = refutation
            return .refuted(refutation)
        }
        guard Self.supersedes(update, current) else { return nil }
        members[update.node.name] = update
        return .updated(update)
    }

    /// Whether `update` should replace `current` (same incarnation): `left`
    /// and `removed` rank above everything; below them the order is by
    /// (version, severity). A maximum over one total order, so merges commute.
    static func supersedes(_ update: MemberState, _ current: MemberState) -> Bool {
        let terminal: (MemberStatus) -> Bool = { $0 == .left || $0 == .removed }
        if terminal(current.status) || terminal(update.status) {
            return terminal(update.status) && (!terminal(current.status) || update.status > current.status)
        }
        if update.version != current.version { return update.version > current.version }
        return update.status > current.status
    }
}
