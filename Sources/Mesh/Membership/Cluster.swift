import Foundation
import NIOCore
import Synchronization

/// This node's membership in the cluster: joins through seed nodes, spreads
/// the member list by gossip, and runs the failure detector over the
/// mesh's heartbeat frames. Every decision is `ClusterStateMachine`'s (no
/// I/O, tested alone); this class is its driver — it holds it under a
/// lock, feeds it events and time, and performs the actions it returns:
/// control frames on the mesh's connections, dropped connections, and
/// membership changes told to listeners and subscribers.
public final class Cluster: Sendable {
    typealias Machine = ClusterStateMachine<Association>

    private struct State {
        var machine: Machine
        var subscribers: [UUID: AsyncStream<MemberState>.Continuation] = [:]
    }

    private let state: Mutex<State>
    private let timer = Mutex<RepeatedTask?>(nil)
    /// Mesh services (watch, receptionist, virtual actors) told of every change.
    private let listeners = Mutex<[@Sendable (MemberState) -> Void]>([])
    /// The mesh owns this cluster (`SystemLink`: no cycle).
    private let link: SystemLink
    private var system: MeshActorSystem { link.system }
    let localState: MemberState
    /// How often the state machine is driven (gossip goes every
    /// `Timing.gossipEveryTicks` ticks).
    static let tickInterval: TimeAmount = .milliseconds(50)

    init(link: SystemLink, node: NodeID, endpoint: Endpoint, settings: MeshSettings) {
        self.link = link
        localState = MemberState(node: node, endpoint: endpoint, roles: settings.roles, status: .up,
                                 labels: settings.labels)
        var timing = Machine.Timing()
        timing.failureDetector = settings.failureDetector
        timing.reconnectInterval = settings.reconnectInterval
        timing.reconnectTimeout = settings.reconnectTimeout
        timing.tombstoneTime = settings.tombstoneTime
        state = Mutex(State(machine: Machine(local: localState, timing: timing, now: .now)))
    }

    /// Every member this node knows, by name (itself included).
    public var members: [MemberState] { state.withLock { $0.machine.members } }

    /// The member that coordinates cluster-wide decisions (the virtual actor
    /// directory); see `ClusterStateMachine.leader`.
    public var leader: MemberState? { state.withLock { $0.machine.leader } }

    /// The member state of `node` as this node sees it (nil for an unknown
    /// node or an older start of a known one).
    public func member(_ node: NodeID) -> MemberState? { state.withLock { $0.machine.member(node) } }

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
            return state.machine.members
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
        state.withLock { $0.machine.joined() }
    }

    func start() {
        let loop = system.group.next()
        let task = loop.scheduleRepeatedTask(initialDelay: Self.tickInterval, delay: Self.tickInterval) { [weak self] _ in
            self?.drive { $0.tick(now: $1) }
        }
        timer.withLock { $0 = task }
    }

    /// Marks this node `left` and tells every connected member, so they do
    /// not wait for the failure detector (graceful leave).
    func leave(over associations: [Association]) {
        guard state.withLock({ $0.machine.leave() }) else { return }
        for association in associations { sendGossip(on: association) }
    }

    func stop() {
        timer.withLock { $0?.cancel(); $0 = nil }
        let subscribers = state.withLock { state in
            state.machine.stop()
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    // MARK: - Events from connections

    func receivedGossip(_ payload: ByteBuffer, on association: Association) throws {
        guard let peer = association.peer else { return }
        let states: [MemberState]
        do {
            states = try system.binaryDecoder.decode([MemberState].self, from: payload.readableBytesView)
        } catch {
            throw WireError.malformed(kind: .gossip, reason: "\(error)")
        }
        try drive { machine, now throws(WireError) in
            try machine.receivedGossip(states, from: peer.node, roles: peer.roles, on: association, now: now)
        }
    }

    func receivedPingRequest(_ request: IndirectProbeMessage, from requester: Association) {
        let roles = requester.peer?.roles ?? []
        drive { $0.receivedPingRequest(request, requesterRoles: roles, on: requester, now: $1) }
    }

    func receivedRelayedAck(_ ack: IndirectProbeMessage, from sender: String) {
        drive { $0.receivedRelayedAck(ack, from: sender, now: $1) }
    }

    /// A heartbeat ack on a connection to `peer` (nil before its handshake,
    /// or when relayed and known only by name).
    func receivedHeartbeatAck(_ sequence: UInt64, from peer: String, node: NodeID? = nil, roles: NodeRoles = []) {
        drive { $0.receivedHeartbeatAck(sequence, from: peer, node: node, roles: roles, now: $1) }
    }

    /// A frame arrived from `node`.
    func heard(from node: NodeID, roles: NodeRoles = []) {
        drive { $0.heard(from: node, roles: roles, now: $1) }
    }

    func connectionLost(to node: NodeID) {
        drive { $0.connectionLost(to: node, now: $1) }
    }

    // MARK: - Driving the state machine

    /// Feeds one event to the machine under the lock, then performs the
    /// actions it returned outside it, in order.
    private func drive<E: Error>(_ event: (inout Machine, ContinuousClock.Instant) throws(E) -> [Machine.Action]) throws(E) {
        let now = ContinuousClock.now
        let (actions, subscribers) = try state.withLock { state throws(E) -> ([Machine.Action], [AsyncStream<MemberState>.Continuation]) in
            let actions = try event(&state.machine, now)
            let publishes = actions.contains { if case .publish = $0 { return true } else { return false } }
            return (actions, publishes ? Array(state.subscribers.values) : [])
        }
        for action in actions {
            switch action {
            case .publish(let changes):
                publish(changes, to: subscribers)
            case .send(let control, let destination):
                let association: Association?
                switch destination {
                case .member(let member): association = system.associationForCluster(to: member)
                case .link(let link): association = link
                }
                guard let association else { continue }
                send(control, on: association)
            case .gossipToSomePeer:
                if let peer = randomLivePeer() { sendGossip(to: peer) }
            case .drop(let node):
                system.dropAssociation(to: node)
            }
        }
    }

    private func send(_ control: Machine.Control, on association: Association) {
        switch control {
        case .heartbeat(let nonce): association.sendControl(.heartbeat) { $0.writeInteger(nonce) }
        case .pingRequest(let request): association.sendControl(.pingRequest) { request.write(to: &$0) }
        case .relayedAck(let ack): association.sendControl(.relayedAck) { ack.write(to: &$0) }
        case .gossip: sendGossip(on: association)
        }
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
        state.withLock { $0.machine.livePeers.randomElement() }
    }

    private func sendGossip(to member: MemberState) {
        guard let association = system.associationForCluster(to: member) else { return }
        sendGossip(on: association)
    }

    private func sendGossip(on association: Association) {
        let view = state.withLock { Array($0.machine.membership.members.values) }
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
