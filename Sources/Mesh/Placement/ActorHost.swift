import CoreMetrics
import Distributed
import Foundation
import NIOCore
import Synchronization

/// The actors this node hosts on others' request: spawned ones and virtual
/// activations, kept alive (strongly referenced) until stopped or
/// deactivated; plus the node's load figures.
final class ActorHost: Sendable {
    private struct Hosted {
        let kind: ActorKind
        let actor: any DistributedActor
        /// `actor.id`, typed: through `any DistributedActor` the id is an
        /// existential, which every use would have to cast. `make` checks it.
        let id: MeshActorID
        let virtualKey: VirtualKey?
        var lastActive: ContinuousClock.Instant
        /// The node that spawned it (nil for virtual activations and local spawns).
        var spawner: NodeName?
    }

    private struct State {
        var hosted: [String: Hosted] = [:]
        var activating: [VirtualKey: Task<MeshActorID, any Error>] = [:]
        var spawnCounter: UInt64 = 0
        var rate = 0.0
        var lastSample: (ContinuousClock.Instant, UInt64) = (.now, 0)
    }

    private let state = Mutex(State())
    private let callsReceived = Atomic<UInt64>(0)
    private let timer = Mutex<RepeatedTask?>(nil)
    private let link: SystemLink
    private var system: MeshActorSystem { link.system }

    init(link: SystemLink) {
        self.link = link
    }

    func start() {
        let task = system.group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
            self?.sampleLoad()
            self?.deactivateIdle()
            self?.system.recordQueueDepths()
        }
        timer.withLock { $0 = task }
    }

    func stop() {
        timer.withLock { $0?.cancel(); $0 = nil }
    }

    /// A remote call arrived for `path` (load and idle tracking).
    func received(path: String) {
        callsReceived.wrappingAdd(1, ordering: .relaxed)
        if path.hasPrefix("/virtual/") { touch(path) }
    }

    func touch(_ path: String) {
        state.withLock { $0.hosted[path]?.lastActive = .now }
    }

    var load: NodeLoad {
        let draining = self.draining.load(ordering: .relaxed)
        return state.withLock { NodeLoad(hostedActors: $0.hosted.count, callsPerSecond: $0.rate, draining: draining) }
    }

    /// Whether this node is being drained (reported in its load).
    let draining = Atomic(false)

    private func sampleLoad() {
        let count = callsReceived.load(ordering: .relaxed)
        state.withLock { state in
            let now = ContinuousClock.now
            let (then, before) = state.lastSample
            let seconds = Double((now - then).components.attoseconds) / 1e18 + Double((now - then).components.seconds)
            guard seconds > 0 else { return }
            let current = Double(count &- before) / seconds
            state.rate = state.rate * 0.5 + current * 0.5  // smoothed over the last few seconds
            state.lastSample = (now, count)
        }
    }

    // MARK: - Spawning

    /// Spawns an actor of kind `name` for `spawner` (nil: this node), which
    /// may have at most `MeshSettings.maxSpawnsPerCaller` here.
    func spawn(kind name: String, key: String, for spawner: NodeName?) async throws -> MeshActorID {
        guard let kind = system.kinds[name] else { throw PlacementError.unknownKind(name) }
        let limit = system.settings.maxSpawnsPerCaller
        let path = try state.withLock { state throws -> String in
            if let spawner, state.hosted.values.count(where: { $0.spawner == spawner }) >= limit {
                throw MeshError.refused("\(spawner) already has \(limit) spawned actors here")
            }
            state.spawnCounter += 1
            return "/spawned/\(name)/\(state.spawnCounter)"
        }
        let (actor, id) = try await make(kind, key: key, path: path)
        state.withLock { $0.hosted[path] = Hosted(kind: kind, actor: actor, id: id, virtualKey: nil, lastActive: .now, spawner: spawner) }
        return id
    }

    /// Releases a spawned actor (it is deinitialised when nothing else
    /// holds it). Only its spawner (or this node) may.
    func stop(path: String, by caller: NodeName?) throws {
        try state.withLock { state in
            guard let hosted = state.hosted[path], hosted.virtualKey == nil else { return }
            if let caller, hosted.spawner != caller {
                throw MeshError.refused("\(caller) did not spawn \(path) and may not stop it")
            }
            state.hosted.removeValue(forKey: path)
        }
    }

    /// Makes the actor of `kind` at `path` and checks that it is there.
    private func make(_ kind: ActorKind, key: String, path: String) async throws -> (actor: any DistributedActor, id: MeshActorID) {
        let actor = try await MeshActorSystem.$nextActorPath.withValue(path) { try await kind.make(key, system) }
        guard let id = actor.id as? MeshActorID, id.path == path, id.node == system.node else {
            throw PlacementError.activationFailed(
                key: key, reason: "kind \(kind.name) made \(actor.id), not an actor at \(path) on this node (make must create exactly one actor)")
        }
        return (actor, id)
    }

    // MARK: - Virtual activations

    /// The local activation of `key`, created when there is none (two
    /// concurrent requests share one activation).
    func activate(_ key: VirtualKey) async throws -> MeshActorID {
        guard let kind = system.kinds[key.kind] else { throw PlacementError.unknownKind(key.kind) }
        let task = state.withLock { state -> Task<MeshActorID, any Error> in
            if let hosted = state.hosted[key.path] {
                let id = hosted.id
                return Task { id }
            }
            if let running = state.activating[key] { return running }
            let task = Task { [self] () throws -> MeshActorID in
                defer { _ = self.state.withLock { $0.activating.removeValue(forKey: key) } }
                let (actor, id) = try await make(kind, key: key.key, path: key.path)
                self.state.withLock { $0.hosted[key.path] = Hosted(kind: kind, actor: actor, id: id, virtualKey: key, lastActive: .now) }
                system.metrics.activations.increment()
                return id
            }
            state.activating[key] = task
            return task
        }
        do {
            return try await task.value
        } catch let error as PlacementError {
            throw error
        } catch {
            throw PlacementError.activationFailed(key: key.description, reason: "\(error)")
        }
    }

    func activation(_ key: VirtualKey) -> MeshActorID? {
        state.withLock { $0.hosted[key.path]?.id }
    }

    var activations: [VirtualActivation] {
        state.withLock { state in
            state.hosted.values.compactMap { hosted in
                hosted.virtualKey.map { VirtualActivation(key: $0, id: hosted.id) }
            }
        }
    }

    /// Deactivates the local activation of `key`. With `passivate` the
    /// kind's hook saves its state first; a duplicate found after a
    /// partition is dropped without it, so it cannot overwrite the state of
    /// the copy that stays.
    func deactivate(_ key: VirtualKey, passivate: Bool) async {
        guard let hosted = state.withLock({ $0.hosted[key.path] }), hosted.virtualKey == key else { return }
        if passivate { await hosted.kind.passivate(hosted.actor) }
        _ = state.withLock { $0.hosted.removeValue(forKey: key.path) }
        system.metrics.deactivations.increment()
    }

    private func deactivateIdle() {
        let idle = system.settings.virtualActorIdleTimeout
        let now = ContinuousClock.now
        let due = state.withLock { state in
            state.hosted.values.filter { $0.virtualKey != nil && now - $0.lastActive >= idle }.map { ($0.virtualKey!, $0.id) }
        }
        for (key, id) in due {
            Task {
                await deactivate(key, passivate: true)
                await system.virtualActors.deactivated(VirtualActivation(key: key, id: id))
            }
        }
    }
}

/// Every node's host for remote spawns and virtual activations, at `HostActor.path`.
distributed actor HostActor {
    typealias ActorSystem = MeshActorSystem
    static let path = "/system/host"

    static func id(of member: MemberState) -> MeshActorID {
        MeshActorID(node: member.node, endpoint: member.endpoint, path: path)
    }

    init(actorSystem: MeshActorSystem) {
        self.actorSystem = actorSystem
    }

    distributed func spawn(kind: String, key: String) async throws -> MeshActorID {
        try await actorSystem.host.spawn(kind: kind, key: key, for: MeshActorSystem.remoteCaller(of: id)?.name)
    }

    distributed func stop(path: String) throws {
        try actorSystem.host.stop(path: path, by: MeshActorSystem.remoteCaller(of: id)?.name)
    }

    distributed func load() -> NodeLoad {
        actorSystem.host.load
    }

    distributed func activate(_ key: VirtualKey) async throws -> MeshActorID {
        try await actorSystem.host.activate(key)
    }

    distributed func activation(_ key: VirtualKey) -> MeshActorID? {
        actorSystem.host.activation(key)
    }

    distributed func activations() -> [VirtualActivation] {
        actorSystem.host.activations
    }

    /// Only the leader's directory (dropping a duplicate) or this node may.
    distributed func deactivate(_ key: VirtualKey, passivate: Bool) async throws {
        try actorSystem.requireLeaderOrLocal(calling: id, toDo: "deactivate \(key)")
        await actorSystem.host.deactivate(key, passivate: passivate)
    }
}

extension MeshActorSystem {
    /// Spawns an actor of a registered kind on a node chosen by placement
    /// (the kind's requirement, or `requirement` when given) and returns it.
    public func spawn<Act: DistributedActor>(
        _ type: Act.Type, kind: String, key: String = "", requirement: PlacementRequirement? = nil
    ) async throws -> Act where Act.ID == MeshActorID, Act.ActorSystem == MeshActorSystem {
        guard let registered = kinds[kind] else { throw PlacementError.unknownKind(kind) }
        let requirement = requirement ?? registered.placement
        guard let node = await choosePlacement(for: key.isEmpty ? UUID().uuidString : key, requirement: requirement) else {
            throw PlacementError.noNodeFits(kind: kind, requirement: requirement.description)
        }
        let host = try HostActor.resolve(id: HostActor.id(of: node), using: self)
        let id = try await host.spawn(kind: kind, key: key)
        return try Act.resolve(id: id, using: self)
    }

    /// Releases an actor made by `spawn` on its node.
    public func stop(spawned id: MeshActorID) async throws {
        guard let member = cluster.member(id.node) else { throw MeshError.actorNotFound(id.description) }
        try await HostActor.resolve(id: HostActor.id(of: member), using: self).stop(path: id.path)
    }

    /// The load of each of `members` that answered within `timeout` (asked
    /// in parallel, twice each: a connection being replaced by a duplicate's
    /// retirement fails the first call at once).
    func loads(of members: [MemberState], timeout: Duration) async -> [NodeName: NodeLoad] {
        await withTaskGroup(of: (NodeName, NodeLoad?).self) { group in
            for member in members where !member.status.isFinal {
                group.addTask {
                    let host = try? HostActor.resolve(id: HostActor.id(of: member), using: self)
                    for _ in 0..<2 {
                        if let load = try? await MeshActorSystem.withCallTimeout(timeout, { try await host?.load() }) {
                            // A load no node can have (negative, NaN, infinite) would win or skew placement.
                            return (member.node.name, load.isPlausible ? load : nil)
                        }
                    }
                    return (member.node.name, nil)
                }
            }
            var loads: [NodeName: NodeLoad] = [:]
            for await (name, load) in group { loads[name] = load }
            return loads
        }
    }

    /// The live member placement picks for `key`: it asks the admitted
    /// members for their load (`placementLoadTimeout`) and applies `Placement`. Up
    /// members are preferred to suspect ones.
    func choosePlacement(for key: String, requirement: PlacementRequirement, excluding: Set<NodeName> = []) async -> MemberState? {
        let admitted = cluster.members.filter {
            $0.status.isConfirmedLive && !excluding.contains($0.node.name) && requirement.admits(roles: $0.roles, labels: $0.labels)
        }
        // Up members first; a suspect one (perhaps only slow) when nothing else fits.
        let up = admitted.filter { $0.status == .up }
        let members = up.isEmpty ? admitted : up
        let loads = await loads(of: members, timeout: settings.placementLoadTimeout)
        // Placements made in the last few seconds count as hosted actors:
        // the loads just asked for do not show them yet, and concurrent
        // placements (a manager delegating to five coders at once) would
        // otherwise all see the same loads and land by hash alone.
        let chosen = recentPlacements.withLock { recent -> NodeName? in
            let now = ContinuousClock.now
            recent.removeAll { now - $0.at > Self.placementMemory }
            let counts = Dictionary(grouping: recent, by: \.node).mapValues(\.count)
            let candidates = members.map { member in
                PlacementCandidate(name: member.node.name, roles: member.roles, labels: member.labels, load: loads[member.node.name].map {
                    NodeLoad(hostedActors: $0.hostedActors + counts[member.node.name, default: 0], callsPerSecond: $0.callsPerSecond,
                             draining: $0.draining)
                })
            }
            let chosen = Placement.choose(for: key, requirement: requirement, among: candidates)
            if let chosen { recent.append((chosen, now)) }
            return chosen
        }
        return members.first { $0.node.name == chosen }
    }
}
