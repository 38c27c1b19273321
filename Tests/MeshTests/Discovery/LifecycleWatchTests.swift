import Distributed
import Foundation
import MeshTesting
import Synchronization
import Testing
@testable import Mesh

/// Collects terminations delivered to a watch handler and lets a test await them.
final class Terminations: Sendable {
    private let (stream, continuation) = AsyncStream<Termination>.makeStream()
    var handler: @Sendable (Termination) -> Void { { [continuation] in continuation.yield($0) } }
    func next(_ what: String) async throws -> Termination {
        try await within(10, what) { [stream] in
            var iterator = stream.makeAsyncIterator()
            guard let next = await iterator.next() else { throw CancellationError() }
            return next
        }
    }
}

@Suite struct LifecycleWatchTests {
    @Test func aWatchOfALocalActorFiresWhenItIsDeinitialised() async throws {
        let a = try await startNode("watch-local")
        let watcher = ProbeActor(actorSystem: a)
        var watched: ProbeActor? = ProbeActor(actorSystem: a)
        let id = watched!.id
        let seen = Terminations()
        a.watch(watched!, by: watcher, onTermination: seen.handler)
        watched = nil
        #expect(try await seen.next("local termination") == Termination(actor: id, reason: .stopped))
        try await a.shutdown()
    }

    @Test func aWatchOfARemoteActorFiresWhenItStopsAndSurvivesAReconnect() async throws {
        // The test drops the connection on purpose: a detector patient enough
        // that a busy machine does not turn that into "down".
        let nodes = try await startCluster(["watch-a", "watch-b"]) { _, settings in
            settings.failureDetector.suspicionTimeout = .seconds(30)
        }
        let (a, b) = (nodes[0], nodes[1])
        for node in nodes { node.kinds.register("probe", as: ProbeActor.self) { _, system in ProbeActor(actorSystem: system) } }
        let remote = try await a.spawn(ProbeActor.self, kind: "probe", requirement: PlacementRequirement(labels: [:]).pinned(to: b))
        #expect(remote.id.node == b.node)
        let watcher = ProbeActor(actorSystem: a)
        let seen = Terminations()
        a.watch(remote, by: watcher, onTermination: seen.handler)
        // The watch is registered on b once a's call arrives there.
        _ = try await remote.add(1, 2)
        try await waitUntil("b to record a's watch, and a to hear it did") {
            b.watches.remoteWatcherCount(path: remote.id.path) == 1 && a.watches.isConfirmed(remote.id)
        }
        // The connection drops (not the node): the watch stays.
        a.dropAssociation(to: b.node)
        #expect(a.cluster.isAlive(b.node))
        try await a.stop(spawned: remote.id)
        let termination = try await seen.next("remote termination")
        #expect(termination == Termination(actor: remote.id, reason: .stopped), "\(termination)")
        withExtendedLifetime(watcher) {}
        await shutdownAll(nodes)
    }

    @Test func aWatchFiresWhenTheWatchedActorsNodeLeaves() async throws {
        let nodes = try await startCluster(["wnd-a", "wnd-b"])
        let (a, b) = (nodes[0], nodes[1])
        let onB = ProbeActor(actorSystem: b)
        let remote = try ProbeActor.resolve(id: onB.id, using: a)
        let watcher = ProbeActor(actorSystem: a)
        let seen = Terminations()
        a.watch(remote, by: watcher, onTermination: seen.handler)
        try await b.shutdown()
        #expect(try await seen.next("node-down termination") == Termination(actor: onB.id, reason: .nodeDown))
        withExtendedLifetime((watcher, onB)) {}
        try await a.shutdown()
    }

    @Test func watchingAnActorThatIsGoneFiresAtOnce() async throws {
        let nodes = try await startCluster(["wgone-a", "wgone-b"])
        let (a, b) = (nodes[0], nodes[1])
        let missing = try ProbeActor.resolve(id: MeshActorID(node: b.node, endpoint: b.endpoint, path: "/user/nobody"), using: a)
        let watcher = ProbeActor(actorSystem: a)
        let seen = Terminations()
        a.watch(missing, by: watcher, onTermination: seen.handler)
        #expect(try await seen.next("not-found termination").reason == .notFound)
        withExtendedLifetime(watcher) {}
        await shutdownAll(nodes)
    }

    @Test func anUnwatchedOrOrphanedWatchDoesNotFire() async throws {
        let a = try await startNode("watch-un")
        let watched = ProbeActor(actorSystem: a)
        var watcher: ProbeActor? = ProbeActor(actorSystem: a)
        let fired = Atomic(0)
        let token = a.watch(watched, by: watcher!) { _ in fired.add(1, ordering: .relaxed) }
        a.unwatch(token)
        a.watch(watched, by: watcher!) { _ in fired.add(1, ordering: .relaxed) }
        watcher = nil  // the watcher's watches end with it
        #expect(a.watches.watchCount(of: watched.id) == 0)
        #expect(fired.load(ordering: .relaxed) == 0)
        try await a.shutdown()
    }
}

extension PlacementRequirement {
    /// Pins to one node through a label every test node carries (`node=NAME`).
    func pinned(to system: MeshActorSystem) -> PlacementRequirement {
        var copy = self
        copy.labels["node"] = system.node.name.rawValue
        return copy
    }
}

/// Polls a condition that no event reports (a remote node's internal
/// table), every 10 ms, for at most 10 s.
func waitUntil(_ what: String, _ condition: @escaping @Sendable () -> Bool) async throws {
    try await within(10, what) {
        while !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }
}
