import Distributed
import Foundation
import NIOCore
import Synchronization

/// A typed key actors register under. One key id names one actor type
/// across the cluster.
public struct ReceptionKey<Act: DistributedActor>: Hashable, Sendable where Act.ActorSystem == MeshActorSystem {
    public let id: String
    public init(_ type: Act.Type = Act.self, id: String) { self.id = id }
}

/// One node's registrations, as it publishes them to every member. A node
/// always sends all of them with a version it raises on every change, so a
/// lost, duplicated or reordered message is repaired by the next one.
struct ReceptionistSnapshot: Codable, Sendable, Equatable {
    var node: NodeID
    var version: UInt64
    var entries: [String: [MeshActorID]]

    /// Most keys, registrations and key bytes one node may publish.
    static let maxKeys = 4096
    static let maxRegistrations = 65_536
    static let maxKeyBytes = 1024

    /// Throws `MeshError.refused` for a snapshot a node cannot honestly
    /// send: registrations of actors on other nodes, or beyond the limits.
    func validate() throws {
        guard entries.count <= Self.maxKeys, entries.values.reduce(0, { $0 + $1.count }) <= Self.maxRegistrations,
              entries.keys.allSatisfy({ $0.utf8.count <= Self.maxKeyBytes }) else {
            throw MeshError.refused("a receptionist snapshot holds at most \(Self.maxKeys) keys of \(Self.maxKeyBytes) bytes and \(Self.maxRegistrations) registrations")
        }
        if let foreign = entries.values.joined().first(where: { $0.node != node }) {
            throw MeshError.refused("\(node) may not register \(foreign), an actor of another node")
        }
    }
}

/// Cluster-wide discovery (docs/cluster.md, "Receptionist"): actors register under typed
/// keys; lookups and subscriptions see the registrations of every live
/// member. Registrations vanish when their actor is deinitialised or their
/// node is down, leaves or restarts.
///
/// Each node pushes its snapshot to every member when it changes, to a
/// member that comes up, and to one random member every
/// `Receptionist.resyncInterval` (anti-entropy).
public final class Receptionist: Sendable {
    static let resyncInterval: TimeAmount = .seconds(2)

    private struct State {
        var local: [String: Set<MeshActorID>] = [:]
        var version: UInt64 = 0
        var remote: [NodeName: ReceptionistSnapshot] = [:]
        var subscribers: [String: [UUID: Subscriber]] = [:]
        var stopped = false
    }

    private struct Subscriber: Sendable {
        let yield: @Sendable ([MeshActorID]) -> Void
        let finish: @Sendable () -> Void
    }

    private let state = Mutex(State())
    private let timer = Mutex<RepeatedTask?>(nil)
    private let link: SystemLink
    private var system: MeshActorSystem { link.system }

    init(link: SystemLink) {
        self.link = link
    }

    func start() {
        let task = system.group.next().scheduleRepeatedTask(initialDelay: Self.resyncInterval, delay: Self.resyncInterval) { [weak self] _ in
            guard let self, let peer = self.system.cluster.randomLivePeer() else { return }
            self.push(to: peer)
        }
        timer.withLock { $0 = task }
    }

    func stop() {
        timer.withLock { $0?.cancel(); $0 = nil }
        let subscribers = state.withLock { state in
            state.stopped = true
            defer { state.subscribers.removeAll() }
            return state.subscribers.values.flatMap(\.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    // MARK: - Public API

    /// Registers a local actor under `key` until it is deinitialised (or
    /// `deregister`ed).
    public func register<Act>(_ actor: Act, with key: ReceptionKey<Act>) {
        precondition(actor.id.node == system.node, "register local actors only; \(actor.id) lives on another node")
        let changed = state.withLock { state -> Bool in
            guard state.local[key.id, default: []].insert(actor.id).inserted else { return false }
            state.version += 1
            return true
        }
        if changed { localChanged(keys: [key.id]) }
    }

    public func deregister<Act>(_ actor: Act, from key: ReceptionKey<Act>) {
        let changed = state.withLock { state -> Bool in
            guard state.local[key.id]?.remove(actor.id) != nil else { return false }
            if state.local[key.id]?.isEmpty == true { state.local.removeValue(forKey: key.id) }
            state.version += 1
            return true
        }
        if changed { localChanged(keys: [key.id]) }
    }

    /// The actors registered under `key` on every live member, in a stable order.
    public func lookup<Act>(_ key: ReceptionKey<Act>) -> [Act] {
        resolve(ids(for: key.id))
    }

    /// The listing of `key` now and after each change of it (only the
    /// newest listing is kept for a slow reader).
    public func listing<Act>(_ key: ReceptionKey<Act>) -> AsyncStream<[Act]> {
        let (stream, continuation) = AsyncStream<[Act]>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        let subscriber = Subscriber(
            yield: { [weak self] ids in if let self { continuation.yield(self.resolve(ids)) } }, finish: { continuation.finish() })
        let stopped = state.withLock { state -> Bool in
            if !state.stopped { state.subscribers[key.id, default: [:]][id] = subscriber }
            return state.stopped
        }
        subscriber.yield(ids(for: key.id))
        if stopped { continuation.finish() }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers[key.id]?.removeValue(forKey: id) }
        }
        return stream
    }

    private func resolve<Act: DistributedActor>(_ ids: [MeshActorID]) -> [Act] where Act.ID == MeshActorID, Act.ActorSystem == MeshActorSystem {
        ids.compactMap { try? Act.resolve(id: $0, using: system) }
    }

    private func ids(for key: String) -> [MeshActorID] {
        let (local, remote) = state.withLock { state in
            (state.local[key] ?? [], state.remote.values.flatMap { $0.entries[key] ?? [] })
        }
        let live = remote.filter { system.cluster.isAlive($0.node) }
        return (Array(local) + live).sorted { ($0.node.name.rawValue, $0.path) < ($1.node.name.rawValue, $1.path) }
    }

    // MARK: - Events

    /// A local actor resigned its id: its registrations go.
    func resigned(_ id: MeshActorID) {
        let keys = state.withLock { state -> [String] in
            let keys = state.local.filter { $0.value.contains(id) }.map(\.key)
            for key in keys {
                state.local[key]?.remove(id)
                if state.local[key]?.isEmpty == true { state.local.removeValue(forKey: key) }
            }
            if !keys.isEmpty { state.version += 1 }
            return keys
        }
        if !keys.isEmpty { localChanged(keys: keys) }
    }

    /// A member's snapshot arrived.
    func received(_ snapshot: ReceptionistSnapshot) {
        guard snapshot.node != system.node, system.cluster.isAlive(snapshot.node) else { return }
        let changedKeys = state.withLock { state -> Set<String> in
            let name = snapshot.node.name
            if let known = state.remote[name] {
                if known.node.incarnation > snapshot.node.incarnation { return [] }
                if known.node == snapshot.node && known.version >= snapshot.version { return [] }
            }
            let old = state.remote[name]?.entries ?? [:]
            state.remote[name] = snapshot
            return Self.differingKeys(old, snapshot.entries)
        }
        notify(keys: changedKeys)
    }

    /// A member changed: a gone member's registrations disappear; a member
    /// that came up gets ours.
    func memberChanged(_ member: MemberState) {
        guard member.node != system.node else { return }
        if member.status.isFinal {
            let changedKeys = state.withLock { state -> Set<String> in
                guard let known = state.remote[member.node.name], known.node == member.node else { return [] }
                state.remote.removeValue(forKey: member.node.name)
                return Set(known.entries.keys)
            }
            notify(keys: changedKeys)
        } else if member.status == .up {
            push(to: member)
        }
    }

    static func differingKeys(_ a: [String: [MeshActorID]], _ b: [String: [MeshActorID]]) -> Set<String> {
        Set(a.keys).union(b.keys).filter { Set(a[$0] ?? []) != Set(b[$0] ?? []) }
    }

    private func localChanged(keys: [String]) {
        notify(keys: Set(keys))
        for member in system.cluster.members where member.node != system.node && !member.status.isFinal {
            push(to: member)
        }
    }

    private func notify(keys: Set<String>) {
        guard !keys.isEmpty else { return }
        for key in keys {
            let subscribers = state.withLock { $0.subscribers[key].map { Array($0.values) } ?? [] }
            guard !subscribers.isEmpty else { continue }
            let listing = ids(for: key)
            for subscriber in subscribers { subscriber.yield(listing) }
        }
    }

    private var snapshot: ReceptionistSnapshot {
        state.withLock { ReceptionistSnapshot(node: system.node, version: $0.version, entries: $0.local.mapValues { Array($0) }) }
    }

    /// Sends this node's registrations to `member` (one-way: the next push
    /// or the periodic resync repairs a loss).
    private func push(to member: MemberState) {
        let snapshot = self.snapshot
        let system = self.system
        let id = MeshActorID(node: member.node, endpoint: member.endpoint, path: ReceptionistActor.path)
        Task {
            guard let peer = try? ReceptionistActor.resolve(id: id, using: system) else { return }
            try? await MeshActorSystem.withOneWayDelivery { try await peer.publish(snapshot) }
        }
    }
}

/// Receives other members' registrations.
distributed actor ReceptionistActor {
    typealias ActorSystem = MeshActorSystem
    static let path = "/system/receptionist"

    init(actorSystem: MeshActorSystem) {
        self.actorSystem = actorSystem
    }

    /// A member's registrations: accepted only from that member, and only
    /// for its own actors.
    distributed func publish(_ snapshot: ReceptionistSnapshot) throws {
        try MeshActorSystem.requireCaller(of: id, is: snapshot.node, toDo: "publish registrations")
        try snapshot.validate()
        actorSystem.receptionist.received(snapshot)
    }
}
