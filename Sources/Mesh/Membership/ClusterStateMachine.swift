/// Everything one node decides about the cluster — membership, the failure
/// detector, indirect probes made for others and asked of others, the
/// timers that retry and then remove down members and forget departed
/// ones — as a state machine with no I/O, no lock and no clock of its own
/// (the sans-I/O shape of swift-nio's protocol state machines and of
/// swift-cluster-membership's `SWIMInstance`).
///
/// The caller feeds it events with the time and performs the actions it
/// returns, in order: `Cluster` is that driver (a lock, a timer, the mesh's
/// connections). `Link` is how the driver names the connection an event
/// came on, so an answer can go back on it; tests use plain values.
///
/// What a member may claim, and about whom, is `Membership`'s rule
/// (docs/cluster.md, "Trust"); this type decides what the node does about it.
public struct ClusterStateMachine<Link: Sendable>: Sendable {
    /// The timers' settings (from `MeshSettings`).
    public struct Timing: Sendable {
        public var failureDetector = FailureDetectorSettings()
        /// How often a down member is sent our view (a healed partition converges).
        public var reconnectInterval: Duration = .seconds(1)
        /// How long a down member is retried before it is removed.
        public var reconnectTimeout: Duration = .seconds(3600)
        /// How long a member that left or was removed is remembered.
        public var tombstoneTime: Duration = .seconds(600)
        /// Gossip goes to one random live member every this many ticks.
        public var gossipEveryTicks: UInt64 = 4

        public init() {}
    }

    /// Where a control frame goes.
    public enum Destination: Sendable {
        /// To a member, over whatever connection the driver has to it.
        case member(MemberState)
        /// Back on the connection an event came on.
        case link(Link)
    }

    /// A control frame to send.
    public enum Control: Sendable, Equatable {
        case heartbeat(nonce: UInt64)
        case pingRequest(IndirectProbeMessage)
        case relayedAck(IndirectProbeMessage)
        /// This node's whole view (the driver splits it to fit frames).
        case gossip
    }

    public enum Action: Sendable {
        /// Members whose state changed, in order: tell the listeners.
        case publish([MemberState])
        case send(Control, to: Destination)
        /// Gossip to one live member, chosen at random by the driver.
        case gossipToSomePeer
        /// The member is down: close its connection (calls on it fail now).
        case drop(NodeID)
    }

    /// A probe this node makes on behalf of another member (an indirect probe).
    struct Relay: Sendable {
        var requester: Link
        var sequence: UInt64
        var target: String
        var expires: ContinuousClock.Instant
    }

    /// Nonces of heartbeats sent on another member's behalf have this bit
    /// set, so their acks are told apart from the detector's own probes.
    public static var relayNonceBit: UInt64 { 1 << 63 }
    /// Most labels a member may carry, and the longest key, value and host
    /// name gossip may hold: a member's state is copied to every node.
    public static var maxLabels: Int { 32 }
    public static var maxLabelBytes: Int { 255 }
    /// Most probes made for other members at once.
    public static var maxRelays: Int { 1024 }

    public let timing: Timing
    public private(set) var membership: Membership
    private var detector: FailureDetector
    private var ticks: UInt64 = 0
    /// After `stop`, events are ignored (the node is shutting down).
    public private(set) var stopped = false
    /// Joined through a seed or was gossiped to: a member others know of.
    /// A node that only made calls (`hma status`) never is, and does not
    /// announce leaving.
    public private(set) var inCluster = false
    private var relays: [UInt64: Relay] = [:]
    /// Indirect probes this node asked others to make.
    private var asked = IndirectProbeRequests()
    private var nextRelayNonce: UInt64 = Self.relayNonceBit
    /// When each down member was declared down (to retry and then remove it).
    private var downSince: [NodeName: ContinuousClock.Instant] = [:]
    /// When each member left or was removed (to forget it later).
    private var finalSince: [NodeName: ContinuousClock.Instant] = [:]
    private var nextReconnectAt: ContinuousClock.Instant

    public init(local: MemberState, timing: Timing = .init(), now: ContinuousClock.Instant) {
        self.timing = timing
        membership = Membership(local: local)
        detector = FailureDetector(settings: timing.failureDetector, now: now)
        nextReconnectAt = now
    }

    // MARK: - Queries

    /// Every member this node knows, by name (itself included).
    public var members: [MemberState] {
        membership.members.values.sorted { $0.node.name.rawValue < $1.node.name.rawValue }
    }

    /// The confirmed live member (up or suspect — a suspicion alone does
    /// not move the leadership; an unconfirmed `joining` member cannot
    /// lead) with the lowest name. During a partition each side has its own.
    public var leader: MemberState? {
        membership.members.values.filter { $0.status.isConfirmedLive }.min { $0.node.name.rawValue < $1.node.name.rawValue }
    }

    /// `node`'s state (nil for an unknown node or another start of a known one).
    public func member(_ node: NodeID) -> MemberState? {
        membership.members[node.name].flatMap { $0.node == node ? $0 : nil }
    }

    /// Members other than this node that are not final (gossip targets).
    public var livePeers: [MemberState] {
        membership.members.values.filter { $0.node != membership.local && !$0.status.isFinal }
    }

    /// Relays and asked probes outstanding (bounded; for tests).
    var outstandingProbes: (relays: Int, asked: Int) { (relays.count, asked.count) }

    // MARK: - Lifecycle

    /// Joined through a seed: this node is now a member others know of.
    public mutating func joined() { inCluster = true }

    /// Marks this node `left`; the driver then gossips to every connection
    /// (graceful leave). Returns false when there is nothing to announce.
    /// Allowed after `stop`: a node stops its timers first, then says goodbye.
    public mutating func leave() -> Bool {
        guard inCluster, var me = membership.members[membership.local.name] else { return false }
        me.status = .left
        return membership.merge(me, from: .local) != nil
    }

    public mutating func stop() { stopped = true }

    // MARK: - Events

    /// Gossip from `sender` (authenticated by `link`) with the roles its
    /// certificate grants. Observers have no say. Impossible states throw
    /// (the driver closes the connection).
    public mutating func receivedGossip(
        _ gossip: [MemberState], from sender: NodeID, roles: NodeRoles, on link: Link, now: ContinuousClock.Instant
    ) throws(WireError) -> [Action] {
        guard roles.isMember else { return [] }
        var states = gossip
        try Self.validate(states)
        // A member's roles are what its certificate grants, not what it says.
        for index in states.indices where states[index].node == sender { states[index].roles = roles }
        inCluster = true
        if stopped { return [] }
        var changes: [MemberState] = []
        var suspected: [NodeID] = []
        for update in states {
            switch membership.merge(update, from: .member(sender)) {
            case .updated(let member)?:
                changes.append(member)
                if member.node != membership.local { track(member, now: now) }
            case .replaced(let old, let new)?:
                // The old start is gone for good: down, then replaced.
                if !old.status.isFinal {
                    var gone = old
                    gone.status = .down
                    changes.append(gone)
                }
                changes.append(new)
                detector.remove(old.node)
                downSince.removeValue(forKey: old.node.name)
                finalSince.removeValue(forKey: old.node.name)
                track(new, now: now)
            case .refuted(let member)?:
                changes.append(member)
            case .suspected(let node)?:
                // What a member says of another only makes our own detector check it.
                suspected.append(node)
            case nil:
                continue
            }
        }
        var actions: [Action] = changes.isEmpty ? [] : [.publish(changes)]
        if !suspected.isEmpty {
            actions += detectorActions(suspected.flatMap { detector.reportedDown($0, now: now) }, now: now)
        }
        // Something was news: answer with our view so the sender converges too.
        if !changes.isEmpty { actions.append(.send(.gossip, to: .link(link))) }
        return actions
    }

    /// States no member can be in: an address nobody can dial, or more
    /// labels and longer texts than a member may carry.
    static func validate(_ states: [MemberState]) throws(WireError) {
        if let bad = states.first(where: { !(1...65535).contains($0.endpoint.port) || $0.endpoint.host.isEmpty }) {
            throw WireError.malformed(kind: .gossip, reason: "member \(bad.node) has the impossible address \(bad.endpoint)")
        }
        if let bad = states.first(where: { state in
            state.endpoint.host.utf8.count > maxLabelBytes || state.labels.count > maxLabels
                || state.labels.contains { $0.key.utf8.count > maxLabelBytes || $0.value.utf8.count > maxLabelBytes }
        }) {
            throw WireError.malformed(kind: .gossip, reason: "member \(bad.node) has more than \(maxLabels) labels or a host, label or value over \(maxLabelBytes) bytes")
        }
    }

    /// A member (`requesterRoles`) asks us to probe `request.target` (its own
    /// probe went unanswered); the target's ack will be relayed back on `link`.
    public mutating func receivedPingRequest(
        _ request: IndirectProbeMessage, requesterRoles: NodeRoles, on link: Link, now: ContinuousClock.Instant
    ) -> [Action] {
        // Bounded: a peer flooding requests gets no more probes made for it
        // than this many outstanding (each expires within 2 s, at a tick).
        guard requesterRoles.isMember, !stopped, relays.count < Self.maxRelays, let name = try? NodeName(request.target),
              let member = membership.members[name], !member.status.isFinal, member.node != membership.local else { return [] }
        let nonce = nextRelayNonce
        nextRelayNonce = Self.relayNonceBit | (nextRelayNonce &+ 1)
        relays[nonce] = Relay(requester: link, sequence: request.sequence, target: request.target, expires: now + .seconds(2))
        return [.send(.heartbeat(nonce: nonce), to: .member(member))]
    }

    /// A `relayedAck` from `sender`: believed only when `sender` is a helper
    /// this node asked to probe that target for that sequence.
    public mutating func receivedRelayedAck(_ ack: IndirectProbeMessage, from sender: String, now: ContinuousClock.Instant) -> [Action] {
        guard asked.accept(sequence: ack.sequence, target: ack.target, from: sender, now: now) else { return [] }
        return receivedHeartbeatAck(ack.sequence, from: ack.target, now: now)
    }

    /// A heartbeat ack from `peer` (by name; with its `node` and certificate
    /// `roles` when it came on its own authenticated connection).
    public mutating func receivedHeartbeatAck(
        _ sequence: UInt64, from peer: String, node: NodeID? = nil, roles: NodeRoles = [], now: ContinuousClock.Instant
    ) -> [Action] {
        if sequence & Self.relayNonceBit != 0 {
            guard let relay = relays.removeValue(forKey: sequence) else { return [] }
            return [.send(.relayedAck(IndirectProbeMessage(sequence: relay.sequence, target: relay.target)), to: .link(relay.requester))]
        }
        guard !stopped, let name = try? NodeName(peer), let member = membership.members[name]?.node, node == nil || node == member else {
            return []
        }
        var changes: [MemberState] = []
        if let node { confirm(node, roles: roles, changes: &changes) }
        return detectorActions(detector.ack(from: member, sequence: sequence, now: now), now: now, changes: changes)
    }

    /// A frame arrived from `node`. Events of another start of a member's
    /// name (an old process still shutting down) are not about the member.
    public mutating func heard(from node: NodeID, roles: NodeRoles = [], now: ContinuousClock.Instant) -> [Action] {
        guard !stopped, membership.members[node.name]?.node == node else { return [] }
        var changes: [MemberState] = []
        confirm(node, roles: roles, changes: &changes)
        return detectorActions(detector.heard(from: node, now: now), now: now, changes: changes)
    }

    /// The connection to `node` dropped: suspect it now.
    public mutating func connectionLost(to node: NodeID, now: ContinuousClock.Instant) -> [Action] {
        guard !stopped, membership.members[node.name]?.node == node else { return [] }
        return detectorActions(detector.connectionLost(to: node, now: now), now: now)
    }

    /// Advances time (the driver calls it every tick): expires probes,
    /// removes members down past the reconnect timeout, forgets departed
    /// ones after their tombstone time, and says when to gossip.
    public mutating func tick(now: ContinuousClock.Instant) -> [Action] {
        guard !stopped else { return [] }
        ticks &+= 1
        relays = relays.filter { $0.value.expires > now }
        asked.expire(now: now)
        var expired: [MemberState] = []
        // A down member may only be cut off: now and then tell it our view,
        // so a healed partition converges. After the reconnect timeout it
        // is removed and no longer tried.
        for (name, since) in downSince where now - since >= timing.reconnectTimeout {
            downSince.removeValue(forKey: name)
            if var member = membership.members[name], member.status == .down {
                member.status = .removed
                if membership.merge(member, from: .local) != nil {
                    expired.append(member)
                    finalSince[name] = now
                }
            }
        }
        // Members that left or were removed are remembered for a while
        // (stale gossip cannot bring them back), then forgotten.
        for (name, since) in finalSince where now - since >= timing.tombstoneTime {
            finalSince.removeValue(forKey: name)
            membership.forget(name)
        }
        var retry: MemberState?
        if now >= nextReconnectAt, let name = downSince.keys.randomElement() {
            nextReconnectAt = now + timing.reconnectInterval
            retry = membership.members[name]
        }
        var actions = detectorActions(detector.tick(now: now), now: now)
        if !expired.isEmpty { actions.insert(.publish(expired), at: 0) }
        if ticks % timing.gossipEveryTicks == 0 { actions.append(.gossipToSomePeer) }
        if let retry { actions.append(.send(.gossip, to: .member(retry))) }
        return actions
    }

    // MARK: - Rules

    /// This node heard from `node` itself over its authenticated connection:
    /// a member only others had vouched for is confirmed up, with the roles
    /// its certificate grants.
    private mutating func confirm(_ node: NodeID, roles: NodeRoles, changes: inout [MemberState]) {
        guard roles.isMember, var member = membership.members[node.name], member.node == node, member.status == .joining else { return }
        member.status = .up
        member.roles = roles
        if case .updated(let changed)? = membership.merge(member, from: .local) { changes.append(changed) }
    }

    /// Applies the detector's verdicts to membership and turns its requests
    /// into frames to send. Any change is published first and then
    /// gossiped, so the cluster learns of it without waiting for a round.
    private mutating func detectorActions(
        _ verdicts: [FailureDetector.Action], now: ContinuousClock.Instant, changes earlier: [MemberState] = []
    ) -> [Action] {
        var changes = earlier
        var sends: [Action] = []
        for verdict in verdicts {
            switch verdict {
            case .suspect(let node), .down(let node):
                guard var member = membership.members[node.name], member.node == node else { continue }
                // An unconfirmed member stays `joining` while suspected:
                // `suspect` would count as confirmed (leader, placement).
                if verdict == .suspect(node) && member.status == .joining { continue }
                let down = verdict == .down(node)
                member.status = down ? .down : .suspect
                if case .updated(let changed)? = membership.merge(member, from: .local) { changes.append(changed) }
                if down {
                    detector.remove(node)
                    downSince[node.name] = now
                    sends.append(.drop(node))
                }
            case .ping(let node, let sequence):
                guard let member = membership.members[node.name] else { continue }
                sends.append(.send(.heartbeat(nonce: sequence), to: .member(member)))
            case .pingRequest(let target, let via, let sequence):
                guard let helper = membership.members[via.name] else { continue }
                asked.asked(via.name.rawValue, toProbe: target.name.rawValue, sequence: sequence,
                            until: now + timing.failureDetector.probeInterval * 2)
                sends.append(.send(.pingRequest(IndirectProbeMessage(sequence: sequence, target: target.name.rawValue)), to: .member(helper)))
            case .alive(let node):
                // It answered while this node suspects it: tell it, so it
                // refutes and this node's view of it is up again.
                if let member = membership.members[node.name], member.node == node { sends.append(.send(.gossip, to: .member(member))) }
            }
        }
        if changes.isEmpty { return sends }
        return [.publish(changes)] + sends + [.gossipToSomePeer]
    }

    /// Keeps the detector and the down/final timers in step with a member's new state.
    private mutating func track(_ member: MemberState, now: ContinuousClock.Instant) {
        if member.status.isFinal { detector.remove(member.node) } else { detector.add(member.node) }
        if member.status == .down { downSince[member.node.name] = now } else { downSince.removeValue(forKey: member.node.name) }
        if member.status == .left || member.status == .removed { finalSince[member.node.name] = now }
    }
}
