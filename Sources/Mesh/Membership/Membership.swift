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

    /// Up or suspect: a live member this node has heard from itself (not
    /// one only another member vouched for), fit to lead and to place on.
    public var isConfirmedLive: Bool { self == .up || self == .suspect }

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
/// state machine with no I/O.
///
/// Who says a thing decides whether it is believed (docs/cluster.md, "Trust"):
///
/// - A member's own status — its join, a newer start (incarnation), its
///   leave, a refutation — is believed only from that member itself, as
///   authenticated by its connection, or from this node's own failure
///   detector (`.local`). Another member's claim that B left, is down, or
///   restarted is a *suspicion*: `merge` answers `.suspected(B)` and the
///   caller lets its own failure detector check B.
/// - A member not yet known may be introduced by anyone, but only as
///   `joining` at version 0 (unconfirmed: not a leader, not placed on) until
///   this node hears from it directly. Its own claims replace the
///   introduction whatever incarnation the introducer named.
/// - Within an incarnation, the update with the higher `version` wins, and at
///   the same version the more severe status wins (joining < up < suspect <
///   down). `left` and `removed` only move forward. `down` is left only by
///   the member itself saying `up` at a higher version: it was cut off, not
///   dead (a healed partition), as in HashiCorp memberlist.
/// - Suspicion of the local node is refuted by raising its own version,
///   which saturates instead of wrapping.
///
/// Every rule is a maximum over a total order per source, so views converge
/// whatever order updates arrive in.
public struct Membership: Sendable {
    public let local: NodeID
    public private(set) var members: [NodeName: MemberState] = [:]
    /// Members introduced by a third party are not taken past this count.
    public let maxMembers: Int
    /// Members known only from a third party's introduction: their
    /// incarnation may be made up, so the member's own word replaces it.
    public private(set) var unconfirmed: Set<NodeName> = []

    public init(local: MemberState, maxMembers: Int = 1024) {
        self.local = local.node
        self.maxMembers = maxMembers
        members[local.node.name] = local
    }

    /// Who an update comes from.
    public enum Source: Sendable, Equatable {
        /// This node's own observation (its failure detector, its leave).
        case local
        /// Gossip from this member, authenticated by its connection.
        case member(NodeID)
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
        /// Another member says this one is in trouble (down, left, suspect,
        /// restarted): the local failure detector should check it now.
        case suspected(NodeID)
    }

    /// Merges an update received by gossip or observed locally.
    /// - Returns: what changed, or nil when the update was stale, redundant
    ///   or not the sender's to make.
    public mutating func merge(_ update: MemberState, from source: Source) -> Change? {
        if update.node.name == local.name {
            guard case .member = source else { return mergeOwn(update) }
            return refute(update)
        }
        switch source {
        case .local:
            return mergeOwn(update)
        case .member(let sender) where sender == update.node:
            return mergeOwn(update)
        case .member(let sender) where sender.name == update.node.name:
            return nil  // a member speaking of another start of itself: not news
        case .member:
            return mergeThirdParty(update)
        }
    }

    /// A state this node may believe as told: from the member itself or from
    /// its own observation.
    private mutating func mergeOwn(_ update: MemberState) -> Change? {
        guard let current = members[update.node.name] else {
            members[update.node.name] = update
            return .updated(update)
        }
        if update.node.incarnation != current.node.incarnation {
            // A newer start wins; an older one only over an unconfirmed
            // introduction (whose incarnation a third party made up).
            guard update.node.incarnation > current.node.incarnation || unconfirmed.contains(update.node.name),
                  current.node != local else { return nil }
            members[update.node.name] = update
            unconfirmed.remove(update.node.name)
            return .replaced(old: current, new: update)
        }
        guard Self.supersedes(update, current) else { return nil }
        members[update.node.name] = update
        unconfirmed.remove(update.node.name)
        return .updated(update)
    }

    /// Another member says something about the local node: suspicion is
    /// answered with a refutation, anything else is ignored.
    private mutating func refute(_ update: MemberState) -> Change? {
        guard update.node == local, update.status == .suspect || update.status == .down,
              var refutation = members[local.name], !refutation.status.isFinal else { return nil }
        refutation.version = refutation.version == .max ? .max : refutation.version + 1
        refutation.status = .up
        members[local.name] = refutation
        return .refuted(refutation)
    }

    /// A third party's claim: an introduction of an unknown member, or a
    /// suspicion of a known one.
    private mutating func mergeThirdParty(_ update: MemberState) -> Change? {
        let introduction = MemberState(node: update.node, endpoint: update.endpoint, roles: update.roles, status: .joining,
                                       labels: update.labels)
        guard let current = members[update.node.name] else {
            guard !update.status.isFinal, members.count < maxMembers else { return nil }
            members[update.node.name] = introduction
            unconfirmed.insert(update.node.name)
            return .updated(introduction)
        }
        if update.node.incarnation > current.node.incarnation {
            if current.status.isFinal, !update.status.isFinal {
                members[update.node.name] = introduction
                unconfirmed.insert(update.node.name)
                return .replaced(old: current, new: introduction)
            }
            return current.status == .up ? .suspected(current.node) : nil
        }
        guard update.node.incarnation == current.node.incarnation, current.status == .up,
              update.status >= .suspect, update.version >= current.version else { return nil }
        return .suspected(current.node)
    }

    /// Drops a member that left or was removed (after its tombstone time),
    /// so the table does not grow with every start the cluster has seen.
    public mutating func forget(_ name: NodeName) {
        guard name != local.name, let member = members[name], member.status == .left || member.status == .removed else { return }
        members.removeValue(forKey: name)
        unconfirmed.remove(name)
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
