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
        var nextRelayNonce: UInt64 = Cluster.relayNonceBit
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
    private unowned let system: MeshActorSystem
    let localState: MemberState
    /// How often the detector is driven and gossip sent.
    static let tickInterval: TimeAmount = .milliseconds(50)
    static let gossipEveryTicks: UInt64 = 4

    init(system: MeshActorSystem, settings: FailureDetectorSettings) {
        self.system = system
        localState = MemberState(node: system.node, endpoint: system.endpoint, roles: system.settings.roles, status: .up)
        state = Mutex(State(membership: Membership(local: localState), detector: FailureDetector(settings: settings, now: .now)))
    }

    /// Every member this node knows, by name (itself included).
    public var members: [MemberState] {
        state.withLock { $0.membership.members.values.sorted { $0.node.name.rawValue < $1.node.name.rawValue } }
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
            return state.membership.merge(me) != nil
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

    func receivedGossip(_ payload: ByteBuffer, on association: Association) throws {
        let states: [MemberState]
        do {
            states = try system.binaryDecoder.decode([MemberState].self, from: payload.readableBytesView)
        } catch {
            throw WireError.malformed(kind: .gossip, reason: "\(error)")
        }
        let stopped = state.withLock { state -> Bool in
            state.inCluster = true
            return state.stopped
        }
        if stopped { return }
        let changed = apply(states)
        // Something was news: answer with our view so the sender converges too.
        if changed { sendGossip(on: association) }
    }

    /// Another member asks us to probe `request.target` (its own probe went
    /// unanswered); the target's ack is relayed back to it.
    func receivedPingRequest(_ request: IndirectProbeMessage, from requester: Association) {
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

    func receivedHeartbeatAck(_ sequence: UInt64, from peer: String) {
        if sequence & Self.relayNonceBit != 0 {
            guard let relay = state.withLock({ $0.relays.removeValue(forKey: sequence) }) else { return }
            relay.requester.sendControl(.relayedAck) {
                IndirectProbeMessage(sequence: relay.sequence, target: relay.target).write(to: &$0)
            }
            return
        }
        apply { state, now in
            guard let name = try? NodeName(peer), let node = state.membership.members[name]?.node else { return [] }
            return state.detector.ack(from: node, sequence: sequence, now: now)
        }
    }

    func heard(from peer: String) {
        apply { state, now in
            guard let name = try? NodeName(peer), let node = state.membership.members[name]?.node else { return [] }
            return state.detector.heard(from: node, now: now)
        }
    }

    func connectionLost(to peer: String) {
        apply { state, now in
            guard let name = try? NodeName(peer), let node = state.membership.members[name]?.node else { return [] }
            return state.detector.connectionLost(to: node, now: now)
        }
    }

    // MARK: - Driving the state machines

    private func tick() {
        var due = false
        apply { state, now in
            state.ticks &+= 1
            due = state.ticks % Self.gossipEveryTicks == 0
            state.relays = state.relays.filter { $0.value.expires > now }
            return state.detector.tick(now: now)
        }
        if due, let peer = randomPeer() { sendGossip(to: peer) }
    }

    /// Runs `body` under the lock, then performs the detector actions it returned.
    private func apply(_ body: (inout State, ContinuousClock.Instant) -> [FailureDetector.Action]) {
        let now = ContinuousClock.now
        var changes: [MemberState] = []
        let (actions, subscribers) = state.withLock { state -> ([FailureDetector.Action], [AsyncStream<MemberState>.Continuation]) in
            if state.stopped { return ([], []) }
            let actions = body(&state, now)
            for action in actions {
                switch action {
                case .suspect(let node), .down(let node):
                    guard var member = state.membership.members[node.name], member.node == node else { continue }
                    member.status = action == .down(node) ? .down : .suspect
                    if case .updated(let changed)? = state.membership.merge(member) { changes.append(changed) }
                    if member.status == .down { state.detector.remove(node) }
                default:
                    continue
                }
            }
            return (actions, changes.isEmpty ? [] : Array(state.subscribers.values))
        }
        for change in changes { for subscriber in subscribers { subscriber.yield(change) } }
        for action in actions {
            switch action {
            case .ping(let node, let sequence):
                guard let member = state.withLock({ $0.membership.members[node.name] }) else { continue }
                system.associationForCluster(to: member)?.sendControl(.heartbeat) { $0.writeInteger(sequence) }
            case .down(let node):
                system.dropAssociation(to: node)
            case .pingRequest(let target, let via, let sequence):
                guard let helper = state.withLock({ $0.membership.members[via.name] }) else { continue }
                system.associationForCluster(to: helper)?.sendControl(.pingRequest) {
                    IndirectProbeMessage(sequence: sequence, target: target.name.rawValue).write(to: &$0)
                }
            case .suspect, .alive:
                continue
            }
        }
        if !changes.isEmpty, let peer = randomPeer() { sendGossip(to: peer) }
    }

    /// Merges states from gossip; returns whether anything changed.
    private func apply(_ states: [MemberState]) -> Bool {
        var changes: [MemberState] = []
        let subscribers = state.withLock { state -> [AsyncStream<MemberState>.Continuation] in
            for update in states {
                switch state.membership.merge(update) {
                case .updated(let member)?:
                    changes.append(member)
                    if member.node != state.membership.local {
                        if member.status.isFinal { state.detector.remove(member.node) } else { state.detector.add(member.node) }
                    }
                case .replaced(let old, let new)?:
                    changes.append(new)
                    state.detector.remove(old.node)
                    if !new.status.isFinal { state.detector.add(new.node) }
                case .refuted(let member)?:
                    changes.append(member)
                case nil:
                    continue
                }
            }
            return changes.isEmpty ? [] : Array(state.subscribers.values)
        }
        for change in changes { for subscriber in subscribers { subscriber.yield(change) } }
        return !changes.isEmpty
    }

    private func randomPeer() -> MemberState? {
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
        guard let bytes = try? BinaryEncoder().encode(view) else { return }
        association.sendControl(.gossip) { $0.writeBytes(bytes) }
    }
}
