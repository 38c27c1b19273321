import Foundation
import NIOCore
import Synchronization

/// This node's membership in the cluster: joins through seed nodes, spreads
/// the member list by gossip, and runs the failure detector over the
/// mesh's heartbeat frames. The rules live in two state machines with no
/// I/O — `Membership` (merging views) and `FailureDetector` (probing); this
/// class only feeds them events and time and sends what they ask for.
public final class Cluster: Sendable {
    private struct State {
        var membership: Membership
        var detector: FailureDetector
        var subscribers: [UUID: AsyncStream<MemberState>.Continuation] = [:]
        var ticks: UInt64 = 0
        /// After `stop`, events are ignored (the node is shutting down).
        var stopped = false
        /// Joined through a seed or was gossiped to: a member others know
        /// of. A node that only made calls (`hma status`) never is, and
        /// does not announce leaving.
        var inCluster = false
        /// Probes made for other members (indirect probes), by nonce.
        var relays: [UInt64: Relay] = [:]
        /// Indirect probes this node asked others to make.
        var asked = IndirectProbeRequests()
        var nextRelayNonce: UInt64 = Cluster.relayNonceBit
        /// When each down member was declared down (to retry and then remove it).
        var downSince: [NodeName: ContinuousClock.Instant] = [:]
        /// When each member left or was removed (to forget it later).
        var finalSince: [NodeName: ContinuousClock.Instant] = [:]
        var nextReconnectAt: ContinuousClock.Instant = .now
    }

    struct Relay {
        var requester: Association
        var sequence: UInt64
        var target: String
        var expires: ContinuousClock.Instant
    }

    /// Nonces of heartbeats sent on another member's behalf have this bit
    /// set, so their acks are told apart from the detector's own probes.
    static let relayNonceBit: UInt64 = 1 << 63

    private let state: Mutex<State>
    private let timer = Mutex<RepeatedTask?>(nil)
    /// Mesh services (watch, receptionist, virtual actors) told of every change.
    private let listeners = Mutex<[@Sendable (MemberState) -> Void]>([])
    private unowned let system: MeshActorSystem
    let localState: MemberState
    /// How often the detector is driven and gossip sent.
    static let tickInterval: TimeAmount = .milliseconds(50)
    static let gossipEveryTicks: UInt64 = 4

    init(system: MeshActorSystem, settings: FailureDetectorSettings) {
        self.system = system
        localState = MemberState(node: system.node, endpoint: system.endpoint, roles: system.settings.roles, status: .up,
                                 labels: system.settings.labels)
        state = Mutex(State(membership: Membership(local: localState), detector: FailureDetector(settings: settings, now: .now)))
    }

    /// Every member this node knows, by name (itself included).
    public var members: [MemberState] {
        state.withLock { $0.membership.members.values.sorted { $0.node.name.rawValue < $1.node.name.rawValue } }
    }

    /// The member that coordinates cluster-wide decisions (the virtual actor
    /// directory): the confirmed live member (up or suspect — a suspicion
    /// alone does not move the leadership; a `joining` member only someone
    /// else has vouched for cannot lead) with the lowest name. During a
    /// partition each side has its own.
    public var leader: MemberState? {
        state.withLock { state in
            state.membership.members.values.filter { $0.status.isConfirmedLive }
                .min { $0.node.name.rawValue < $1.node.name.rawValue }
        }
    }

    /// The member state of `node` as this node sees it (nil for an unknown
    /// node or an older start of a known one).
    public func member(_ node: NodeID) -> MemberState? {
        state.withLock { state in state.membership.members[node.name].flatMap { $0.node == node ? $0 : nil } }
    }

    /// Whether `node` is a live member (joining, up or suspect).
    public func isAlive(_ node: NodeID) -> Bool {
        member(node).map { !$0.status.isFinal } ?? (node == localState.node)
    }

    /// Registers a synchronous observer of membership changes (called
    /// outside the lock, in order, on the thread that made the change).
    func addListener(_ listener: @escaping @Sendable (MemberState) -> Void) {
        listeners.withLock { $0.append(listener) }
    }

    /// Each change of a member's state from now on (the current members first).
    public func changes() -> AsyncStream<MemberState> {
        let (stream, continuation) = AsyncStream<MemberState>.makeStream()
        let id = UUID()
        let current = state.withLock { state in
            state.subscribers[id] = continuation
            return Array(state.membership.members.values)
        }
        for member in current { continuation.yield(member) }
        continuation.onTermination = { [weak self] _ in _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) } }
        return stream
    }

    /// Joins through `seeds`, retrying while none answers: the first retry
    /// after `initialBackoff`, each later one after twice the previous delay
    /// (at most `maxBackoff`), until `timeout` has passed. `onRetry` is told
    /// of each failed round and the delay before the next.
    /// - Throws: `MeshError.seedsUnreachable` with the last error when the
    ///   time is up.
    public func join(
        _ seeds: [Endpoint], timeout: Duration, initialBackoff: Duration = .milliseconds(250), maxBackoff: Duration = .seconds(10),
        onRetry: @Sendable (_ attempt: Int, _ error: any Error, _ delay: Duration) -> Void = { _, _, _ in }
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        var delay = initialBackoff
        var attempt = 1
        while true {
            do {
                try await join(seeds)
                return
            } catch {
                let remaining = deadline - .now
                guard remaining > .zero else {
                    throw MeshError.seedsUnreachable(seeds: seeds.map(\.description), attempts: attempt, lastError: "\(error)")
                }
                let wait = min(delay, remaining)
                onRetry(attempt, error, wait)
                try await Task.sleep(for: wait)
                delay = min(delay * 2, maxBackoff)
                attempt += 1
            }
        }
    }

    /// Joins the cluster through `seeds`: dials each and exchanges member
    /// lists; the rest spreads by gossip. Throws when no seed answers.
    public func join(_ seeds: [Endpoint]) async throws {
        var lastError: (any Error)?
        var joined = false
        for seed in seeds {
            do {
                let association = try await system.dial(seed)
                sendGossip(on: association)
                joined = true
            } catch {
                lastError = error
            }
        }
        if !joined, let lastError { throw lastError }
        state.withLock { $0.inCluster = true }
    }

    func start() {
        let loop = system.group.next()
        let task = loop.scheduleRepeatedTask(initialDelay: Self.tickInterval, delay: Self.tickInterval) { [weak self] _ in
            self?.tick()
        }
        timer.withLock { $0 = task }
    }

    /// Marks this node `left` and tells every connected member, so they do
    /// not wait for the failure detector (graceful leave).
    func leave(over associations: [Association]) {
        let changed = state.withLock { state -> Bool in
            guard state.inCluster, var me = state.membership.members[localState.node.name] else { return false }
            me.status = .left
            return state.membership.merge(me, from: .local) != nil
        }
        guard changed else { return }
        for association in associations { sendGossip(on: association) }
    }

    func stop() {
        timer.withLock { $0?.cancel(); $0 = nil }
        let subscribers = state.withLock { state in
            state.stopped = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    // MARK: - Events from connections

    /// Most labels a member may carry, and the longest key, value and host
    /// name gossip may hold: a member's state is copied to every node.
    static let maxLabels = 32
    static let maxLabelBytes = 255

    func receivedGossip(_ payload: ByteBuffer, on association: Association) throws {
        // Observers read status; they are not members and have no say.
        guard let peer = association.peer, peer.roles.isMember else { return }
        let sender = peer.node
        var states: [MemberState]
        do {
            states = try system.binaryDecoder.decode([MemberState].self, from: payload.readableBytesView)
        } catch {
            throw WireError.malformed(kind: .gossip, reason: "\(error)")
        }
        // States no member can be in: an address nobody can dial.
        if let bad = states.first(where: { !(1...65535).contains($0.endpoint.port) || $0.endpoint.host.isEmpty }) {
            throw WireError.malformed(kind: .gossip, reason: "member \(bad.node) has the impossible address \(bad.endpoint)")
        }
        if let bad = states.first(where: { state in
            state.endpoint.host.utf8.count > Self.maxLabelBytes || state.labels.count > Self.maxLabels
                || state.labels.contains { $0.key.utf8.count > Self.maxLabelBytes || $0.value.utf8.count > Self.maxLabelBytes }
        }) {
            throw WireError.malformed(kind: .gossip, reason: "member \(bad.node) has more than \(Self.maxLabels) labels or a host, label or value over \(Self.maxLabelBytes) bytes")
        }
        // A member's roles are what its certificate grants, not what it says.
        for index in states.indices where states[index].node == sender { states[index].roles = peer.roles }
        let stopped = state.withLock { state -> Bool in
            state.inCluster = true
            return state.stopped
        }
        if stopped { return }
        let changed = apply(states, from: sender)
        // Something was news: answer with our view so the sender converges too.
        if changed { sendGossip(on: association) }
    }

    /// Another member asks us to probe `request.target` (its own probe went
    /// unanswered); the target's ack is relayed back to it.
    func receivedPingRequest(_ request: IndirectProbeMessage, from requester: Association) {
        guard requester.peer?.roles.isMember == true else { return }
        let now = ContinuousClock.now
        let (member, nonce) = state.withLock { state -> (MemberState?, UInt64) in
            guard !state.stopped, let name = try? NodeName(request.target), let member = state.membership.members[name],
                  !member.status.isFinal, member.node != state.membership.local else { return (nil, 0) }
            let nonce = state.nextRelayNonce
            state.nextRelayNonce = Cluster.relayNonceBit | (state.nextRelayNonce &+ 1)
            state.relays[nonce] = Relay(requester: requester, sequence: request.sequence, target: request.target, expires: now + .seconds(2))
            return (member, nonce)
        }
        guard let member else { return }
        system.associationForCluster(to: member)?.sendControl(.heartbeat) { $0.writeInteger(nonce) }
    }

    /// A `relayedAck` from `sender`: believed only when `sender` is a helper
    /// this node asked to probe that target for that sequence.
    func receivedRelayedAck(_ ack: IndirectProbeMessage, from sender: String) {
        let believed = state.withLock { $0.asked.accept(sequence: ack.sequence, target: ack.target, from: sender, now: .now) }
        guard believed else { return }
        receivedHeartbeatAck(ack.sequence, from: ack.target)
    }

    /// A heartbeat ack on a connection to `peer` (nil before its handshake,
    /// or when relayed and known only by name).
    func receivedHeartbeatAck(_ sequence: UInt64, from peer: String, node: NodeID? = nil, roles: NodeRoles = []) {
        if sequence & Self.relayNonceBit != 0 {
            guard let relay = state.withLock({ $0.relays.removeValue(forKey: sequence) }) else { return }
            relay.requester.sendControl(.relayedAck) {
                IndirectProbeMessage(sequence: relay.sequence, target: relay.target).write(to: &$0)
            }
            return
        }
        apply { state, now, changes in
            guard let name = try? NodeName(peer), let member = state.membership.members[name]?.node,
                  node == nil || node == member else { return [] }
            if let node { Self.confirm(node, roles: roles, in: &state, changes: &changes) }
            return state.detector.ack(from: member, sequence: sequence, now: now)
        }
    }

    /// A frame arrived from `node`. Events of another start of a member's
    /// name (an old process still shutting down) are not about the member.
    func heard(from node: NodeID, roles: NodeRoles = []) {
        apply { state, now, changes in
            guard state.membership.members[node.name]?.node == node else { return [] }
            Self.confirm(node, roles: roles, in: &state, changes: &changes)
            return state.detector.heard(from: node, now: now)
        }
    }

    /// This node heard from `node` itself over its authenticated connection:
    /// a member only others had vouched for is confirmed up, with the roles
    /// its certificate grants.
    private static func confirm(_ node: NodeID, roles: NodeRoles, in state: inout State, changes: inout [MemberState]) {
        guard roles.isMember, var member = state.membership.members[node.name], member.node == node, member.status == .joining else { return }
        member.status = .up
        member.roles = roles
        if case .updated(let changed)? = state.membership.merge(member, from: .local) { changes.append(changed) }
    }

    func connectionLost(to node: NodeID) {
        apply { state, now, _ in
            guard state.membership.members[node.name]?.node == node else { return [] }
            return state.detector.connectionLost(to: node, now: now)
        }
    }

    // MARK: - Driving the state machines

    private func tick() {
        var due = false
        var retry: MemberState?
        var expired: [MemberState] = []
        let settings = system.settings
        apply { state, now, _ in
            state.ticks &+= 1
            due = state.ticks % Self.gossipEveryTicks == 0
            state.relays = state.relays.filter { $0.value.expires > now }
            state.asked.expire(now: now)
            // A down member may only be cut off: now and then tell it our
            // view, so a healed partition converges. After the reconnect
            // timeout it is removed and no longer tried.
            for (name, since) in state.downSince where now - since >= settings.reconnectTimeout {
                state.downSince.removeValue(forKey: name)
                if var member = state.membership.members[name], member.status == .down {
                    member.status = .removed
                    if state.membership.merge(member, from: .local) != nil {
                        expired.append(member)
                        state.finalSince[name] = now
                    }
                }
            }
            // Members that left or were removed are remembered for a while
            // (stale gossip cannot bring them back), then forgotten.
            for (name, since) in state.finalSince where now - since >= settings.tombstoneTime {
                state.finalSince.removeValue(forKey: name)
                state.membership.forget(name)
            }
            if now >= state.nextReconnectAt, let name = state.downSince.keys.randomElement() {
                state.nextReconnectAt = now + settings.reconnectInterval
                retry = state.membership.members[name]
            }
            return state.detector.tick(now: now)
        }
        if !expired.isEmpty {
            publish(expired, to: state.withLock { Array($0.subscribers.values) })
        }
        if due, let peer = randomLivePeer() { sendGossip(to: peer) }
        if let retry { sendGossip(to: retry) }
    }

    /// Runs `body` under the lock, then performs the detector actions it
    /// returned and publishes the membership changes it made.
    private func apply(_ body: (inout State, ContinuousClock.Instant, inout [MemberState]) -> [FailureDetector.Action]) {
        let now = ContinuousClock.now
        var changes: [MemberState] = []
        let (actions, subscribers) = state.withLock { state -> ([FailureDetector.Action], [AsyncStream<MemberState>.Continuation]) in
            if state.stopped { return ([], []) }
            let actions = body(&state, now, &changes)
            for action in actions {
                switch action {
                case .suspect(let node), .down(let node):
                    guard var member = state.membership.members[node.name], member.node == node else { continue }
                    // An unconfirmed member stays `joining` while suspected:
                    // `suspect` would count as confirmed (leader, placement).
                    if action == .suspect(node) && member.status == .joining { continue }
                    member.status = action == .down(node) ? .down : .suspect
                    if case .updated(let changed)? = state.membership.merge(member, from: .local) { changes.append(changed) }
                    if member.status == .down {
                        state.detector.remove(node)
                        state.downSince[node.name] = now
                    }
                default:
                    continue
                }
            }
            return (actions, changes.isEmpty ? [] : Array(state.subscribers.values))
        }
        publish(changes, to: subscribers)
        for action in actions {
            switch action {
            case .ping(let node, let sequence):
                guard let member = state.withLock({ $0.membership.members[node.name] }) else { continue }
                system.associationForCluster(to: member)?.sendControl(.heartbeat) { $0.writeInteger(sequence) }
            case .down(let node):
                system.dropAssociation(to: node)
            case .pingRequest(let target, let via, let sequence):
                let expires = ContinuousClock.now + system.settings.failureDetector.probeInterval * 2
                guard let helper = state.withLock({ state -> MemberState? in
                    state.asked.asked(via.name.rawValue, toProbe: target.name.rawValue, sequence: sequence, until: expires)
                    return state.membership.members[via.name]
                }) else { continue }
                system.associationForCluster(to: helper)?.sendControl(.pingRequest) {
                    IndirectProbeMessage(sequence: sequence, target: target.name.rawValue).write(to: &$0)
                }
            case .alive(let node):
                // It answered while this node suspects it: tell it, so it
                // refutes and this node's view of it is up again.
                if let member = state.withLock({ $0.membership.members[node.name] }), member.node == node { sendGossip(to: member) }
            case .suspect:
                continue
            }
        }
        if !changes.isEmpty, let peer = randomLivePeer() { sendGossip(to: peer) }
    }

    /// Merges states gossiped by `sender`; returns whether anything changed.
    /// What `sender` claims about other members only makes this node's
    /// failure detector check them (`Membership.Change.suspected`).
    private func apply(_ states: [MemberState], from sender: NodeID) -> Bool {
        var changes: [MemberState] = []
        var suspected: [NodeID] = []
        let now = ContinuousClock.now
        let subscribers = state.withLock { state -> [AsyncStream<MemberState>.Continuation] in
            if state.stopped { return [] }
            for update in states {
                switch state.membership.merge(update, from: .member(sender)) {
                case .updated(let member)?:
                    changes.append(member)
                    if member.node != state.membership.local { track(member, in: &state, now: now) }
                case .replaced(let old, let new)?:
                    // The old start is gone for good: down, then replaced.
                    if !old.status.isFinal { changes.append(MemberState(node: old.node, endpoint: old.endpoint, roles: old.roles, status: .down, version: old.version, labels: old.labels)) }
                    changes.append(new)
                    state.detector.remove(old.node)
                    state.downSince.removeValue(forKey: old.node.name)
                    state.finalSince.removeValue(forKey: old.node.name)
                    track(new, in: &state, now: now)
                case .refuted(let member)?:
                    changes.append(member)
                case .suspected(let node)?:
                    suspected.append(node)
                case nil:
                    continue
                }
            }
            return changes.isEmpty ? [] : Array(state.subscribers.values)
        }
        publish(changes, to: subscribers)
        if !suspected.isEmpty {
            apply { state, now, _ in suspected.flatMap { state.detector.reportedDown($0, now: now) } }
        }
        return !changes.isEmpty
    }

    /// Keeps the detector and the down/final timers in step with a member's new state.
    private func track(_ member: MemberState, in state: inout State, now: ContinuousClock.Instant) {
        if member.status.isFinal { state.detector.remove(member.node) } else { state.detector.add(member.node) }
        if member.status == .down { state.downSince[member.node.name] = now } else { state.downSince.removeValue(forKey: member.node.name) }
        if member.status == .left || member.status == .removed { state.finalSince[member.node.name] = now }
    }

    private func publish(_ changes: [MemberState], to subscribers: [AsyncStream<MemberState>.Continuation]) {
        guard !changes.isEmpty else { return }
        let listeners = self.listeners.withLock { $0 }
        for change in changes {
            for listener in listeners { listener(change) }
            for subscriber in subscribers { subscriber.yield(change) }
        }
    }

    func randomLivePeer() -> MemberState? {
        state.withLock { state in
            state.membership.members.values.filter { $0.node != state.membership.local && !$0.status.isFinal }.randomElement()
        }
    }

    private func sendGossip(to member: MemberState) {
        guard let association = system.associationForCluster(to: member) else { return }
        sendGossip(on: association)
    }

    private func sendGossip(on association: Association) {
        let view = state.withLock { Array($0.membership.members.values) }
        for bytes in Self.gossipPayloads(view, limit: association.peerFrameLimit - 1) {
            association.sendControl(.gossip) { $0.writeBytes(bytes) }
        }
    }

    /// The view encoded in as few payloads of at most `limit` bytes as
    /// halving finds (the peer refuses larger frames). A single member
    /// larger than that is left out: no frame could carry it.
    static func gossipPayloads(_ view: [MemberState], limit: Int) -> [[UInt8]] {
        guard !view.isEmpty, let bytes = try? BinaryEncoder().encode(view) else { return [] }
        if bytes.count <= limit { return [bytes] }
        if view.count == 1 { return [] }
        let half = view.count / 2
        return gossipPayloads(Array(view[..<half]), limit: limit) + gossipPayloads(Array(view[half...]), limit: limit)
    }
}
