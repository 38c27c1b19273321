import Distributed
import Foundation
import Synchronization

/// Why a watched actor is gone.
public enum TerminationReason: String, Sendable, Codable, Equatable {
    /// The actor was deinitialised (or stopped by its host).
    case stopped
    /// Its node was declared down, left the cluster, or restarted.
    case nodeDown
    /// It no longer existed when the watch reached its node.
    case notFound
}

/// A watched actor's end, delivered once to each watch.
public struct Termination: Sendable, Equatable {
    public let actor: MeshActorID
    public let reason: TerminationReason
}

/// Identifies one watch, for `unwatch`.
public struct WatchToken: Hashable, Sendable {
    let id: UUID
    let watched: MeshActorID
}

/// Lifecycle watches of one node (docs/cluster.md, "Lifecycle watch").
///
/// A watch of a local actor fires when the actor resigns its id (deinit). A
/// watch of a remote actor is registered with the `LifecycleActor` of the
/// actor's node, once per watching node; that node reports the actor's end
/// with a call that is retried while the watching node is alive, so a watch
/// survives reconnects. Independently, every watch of an actor whose node is
/// declared down (or leaves, or restarts) fires at once with `.nodeDown`.
final class LifecycleWatches: Sendable {
    struct Watch {
        let watcher: MeshActorID
        let handler: @Sendable (Termination) -> Void
    }

    private struct State {
        /// Watches held here, by watched actor.
        var watches: [MeshActorID: [UUID: Watch]] = [:]
        /// Nodes watching each local actor (by path).
        var remoteWatchers: [String: Set<NodeID>] = [:]
        /// How many local actors each node (by name, all its starts) watches.
        var watchCounts: [NodeName: Int] = [:]
        /// Remote actors whose node has confirmed our watch.
        var confirmed: Set<MeshActorID> = []
    }

    private let state = Mutex(State())
    private let link: SystemLink
    private var system: MeshActorSystem { link.system }

    init(link: SystemLink) {
        self.link = link
    }

    func watch(_ watched: MeshActorID, by watcher: MeshActorID, handler: @escaping @Sendable (Termination) -> Void) -> WatchToken {
        let token = WatchToken(id: UUID(), watched: watched)
        let first = state.withLock { state -> Bool in
            let first = state.watches[watched]?.isEmpty ?? true
            state.watches[watched, default: [:]][token.id] = Watch(watcher: watcher, handler: handler)
            return first
        }
        if watched.node == system.node {
            if !system.isLocalActorAlive(path: watched.path) { fire(watched, .notFound) }
        } else if !system.cluster.isAlive(watched.node) {
            fire(watched, .nodeDown)
        } else if first {
            registerRemotely(watched)
        }
        return token
    }

    func unwatch(_ token: WatchToken) {
        let last = state.withLock { state -> Bool in
            guard state.watches[token.watched]?.removeValue(forKey: token.id) != nil else { return false }
            if state.watches[token.watched]?.isEmpty == true {
                state.watches.removeValue(forKey: token.watched)
                return true
            }
            return false
        }
        if last && token.watched.node != system.node { unregisterRemotely(token.watched) }
    }

    /// Tells the watched actor's node that this node watches it; retried
    /// until it answers or the node is gone.
    private func registerRemotely(_ watched: MeshActorID) {
        let system = self.system
        Self.retrying(while: { self.isWatched(watched) && system.cluster.isAlive(watched.node) }) {
            do {
                let lifecycle = try LifecycleActor.resolve(id: LifecycleActor.id(on: watched), using: system)
                let exists = try await MeshActorSystem.withCallTimeout(.seconds(5)) {
                    try await lifecycle.watch(path: watched.path, from: system.node)
                }
                if exists {
                    self.state.withLock { _ = $0.confirmed.insert(watched) }
                } else {
                    self.fire(watched, .notFound)
                }
            } catch MeshError.actorNotFound {
                self.fire(watched, .nodeDown)  // the node restarted: that start is gone
            }
        }
    }

    /// Runs `attempt` in a task until it returns, retrying after failures
    /// (100 ms, doubling to 2 s) for as long as `wanted` holds.
    private static func retrying(while wanted: @escaping @Sendable () -> Bool, _ attempt: @escaping @Sendable () async throws -> Void) {
        Task {
            var delay = Duration.milliseconds(100)
            while wanted() {
                do {
                    try await attempt()
                    return
                } catch {
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(2))
                }
            }
        }
    }

    private func unregisterRemotely(_ watched: MeshActorID) {
        let system = self.system
        Task {
            guard let lifecycle = try? LifecycleActor.resolve(id: LifecycleActor.id(on: watched), using: system) else { return }
            try? await MeshActorSystem.withOneWayDelivery { try await lifecycle.unwatch(path: watched.path, from: system.node) }
        }
    }

    /// Watches held here of `id` (for tests).
    func watchCount(of id: MeshActorID) -> Int {
        state.withLock { $0.watches[id]?.count ?? 0 }
    }

    /// Whether `id`'s node has confirmed this node's watch of it (for tests).
    func isConfirmed(_ id: MeshActorID) -> Bool {
        state.withLock { $0.confirmed.contains(id) }
    }

    /// Nodes watching the local actor at `path` (for tests).
    func remoteWatcherCount(path: String) -> Int {
        state.withLock { $0.remoteWatchers[path]?.count ?? 0 }
    }

    private func isWatched(_ id: MeshActorID) -> Bool {
        state.withLock { $0.watches[id]?.isEmpty == false }
    }

    /// Runs and removes every watch of `id`.
    func fire(_ id: MeshActorID, _ reason: TerminationReason) {
        let watches: [UUID: Watch] = state.withLock { state in
            state.confirmed.remove(id)
            return state.watches.removeValue(forKey: id) ?? [:]
        }
        let termination = Termination(actor: id, reason: reason)
        for watch in watches.values { watch.handler(termination) }
    }

    // MARK: - Events

    /// A local actor resigned its id: its watchers here and elsewhere learn it.
    func resigned(_ id: MeshActorID) {
        let (watchers, ownWatches) = state.withLock { state -> (Set<NodeID>, [MeshActorID]) in
            let watchers = state.remoteWatchers.removeValue(forKey: id.path) ?? []
            for watcher in watchers { Self.uncount(watcher, in: &state) }
            // Watches an actor made end with it.
            var own: [MeshActorID] = []
            for (watched, watches) in state.watches {
                let kept = watches.filter { $0.value.watcher != id }
                guard kept.count < watches.count else { continue }
                state.watches[watched] = kept.isEmpty ? nil : kept
                if kept.isEmpty && watched.node != id.node { own.append(watched) }
            }
            return (watchers, own)
        }
        for watched in ownWatches { unregisterRemotely(watched) }
        fire(id, .stopped)
        for watcher in watchers { notify(watcher, of: id) }
    }

    /// Reports `id`'s end to a watching node, retrying while it is alive.
    private func notify(_ watcher: NodeID, of id: MeshActorID) {
        guard let member = system.cluster.member(watcher) else { return }
        let system = self.system
        Self.retrying(while: { system.cluster.isAlive(watcher) }) {
            let lifecycle = try LifecycleActor.resolve(
                id: MeshActorID(node: watcher, endpoint: member.endpoint, path: LifecycleActor.path), using: system)
            try await MeshActorSystem.withCallTimeout(.seconds(5)) { try await lifecycle.terminated(id) }
        }
    }

    /// A remote node registers its interest in a local actor.
    /// - Throws: `MeshError.refused` past `MeshSettings.maxRemoteWatchesPerNode`.
    func addRemoteWatcher(path: String, node: NodeID) throws -> Bool {
        guard system.isLocalActorAlive(path: path) else { return false }
        let limit = system.settings.maxRemoteWatchesPerNode
        try state.withLock { state in
            guard state.remoteWatchers[path]?.contains(node) != true else { return }
            guard state.watchCounts[node.name, default: 0] < limit else {
                throw MeshError.refused("\(node.name) already watches \(limit) actors here")
            }
            state.remoteWatchers[path, default: []].insert(node)
            state.watchCounts[node.name, default: 0] += 1
        }
        // It may have resigned between the check and the insert.
        if !system.isLocalActorAlive(path: path) {
            removeRemoteWatcher(path: path, node: node)
            return false
        }
        return true
    }

    func removeRemoteWatcher(path: String, node: NodeID) {
        state.withLock { state in
            guard state.remoteWatchers[path]?.remove(node) != nil else { return }
            Self.uncount(node, in: &state)
            if state.remoteWatchers[path]?.isEmpty == true { state.remoteWatchers.removeValue(forKey: path) }
        }
    }

    private static func uncount(_ node: NodeID, in state: inout State) {
        state.watchCounts[node.name, default: 1] -= 1
        if state.watchCounts[node.name] == 0 { state.watchCounts.removeValue(forKey: node.name) }
    }

    /// A member changed state: when it is gone, everything watched on it has
    /// terminated, and its watches here are dropped.
    func memberChanged(_ member: MemberState) {
        guard member.status.isFinal else { return }
        let gone = state.withLock { state -> [MeshActorID] in
            for path in state.remoteWatchers.keys where state.remoteWatchers[path]?.remove(member.node) != nil {
                Self.uncount(member.node, in: &state)
            }
            return state.watches.keys.filter { $0.node == member.node }
        }
        for id in gone { fire(id, .nodeDown) }
    }
}

/// Every node's endpoint for watches: other nodes register here to watch a
/// local actor and report here the end of actors this node watches.
distributed actor LifecycleActor {
    typealias ActorSystem = MeshActorSystem

    static let path = "/system/lifecycle"

    static func id(on other: MeshActorID) -> MeshActorID {
        MeshActorID(node: other.node, endpoint: other.endpoint, path: path)
    }

    init(actorSystem: MeshActorSystem) {
        self.actorSystem = actorSystem
    }

    /// `node` watches the local actor at `path`; false when there is none.
    /// Only `node` itself may register its watches.
    distributed func watch(path: String, from node: NodeID) throws -> Bool {
        try MeshActorSystem.requireCaller(of: id, is: node, toDo: "watch actors")
        return try actorSystem.watches.addRemoteWatcher(path: path, node: node)
    }

    distributed func unwatch(path: String, from node: NodeID) throws {
        try MeshActorSystem.requireCaller(of: id, is: node, toDo: "end watches")
        actorSystem.watches.removeRemoteWatcher(path: path, node: node)
    }

    /// An actor watched from this node has terminated; only the node it
    /// lived on may say so.
    distributed func terminated(_ actor: MeshActorID) throws {
        try MeshActorSystem.requireCaller(of: id, is: actor.node, toDo: "report the end of \(actor)")
        actorSystem.watches.fire(actor, .stopped)
    }
}

extension MeshActorSystem {
    /// Calls `onTermination` once when `watched` terminates (deinitialised)
    /// or its node goes down, leaves or restarts. The watch ends with the
    /// watcher: when `watcher` is deinitialised its watches are dropped.
    /// Watching an actor that is already gone fires at once (`.notFound` or
    /// `.nodeDown`).
    @discardableResult
    public func watch<Watched: DistributedActor, Watcher: DistributedActor>(
        _ watched: Watched, by watcher: Watcher, onTermination: @escaping @Sendable (Termination) -> Void
    ) -> WatchToken where Watched.ID == MeshActorID, Watcher.ID == MeshActorID {
        watches.watch(watched.id, by: watcher.id, handler: onTermination)
    }

    /// Ends a watch; its handler is not called afterwards.
    public func unwatch(_ token: WatchToken) {
        watches.unwatch(token)
    }
}
