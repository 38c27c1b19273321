import Distributed
import Foundation
import MeshTesting
import Testing
@testable import Mesh

/// A member taken over by the code it runs ("trust-z", which holds a valid
/// certificate and joined the cluster) calls the other nodes' system actors
/// with identities in the arguments that are not its own: each call is
/// refused, and nothing changes (docs/cluster.md, "Trust").
@Suite struct SystemActorTrustTests {
    struct Cluster3 {
        let a: MeshActorSystem
        let b: MeshActorSystem
        let z: MeshActorSystem

        init(configure: @escaping (String, inout MeshSettings) -> Void = { _, _ in }) async throws {
            let nodes = try await startCluster(["trust-sys-a", "trust-sys-b", "trust-sys-z"]) { name, settings in
                configure(name, &settings)
            }
            (a, b, z) = (nodes[0], nodes[1], nodes[2])
            for node in nodes { node.kinds.register("probe", as: ProbeActor.self) { _, s in ProbeActor(actorSystem: s) } }
        }

        func member(_ node: MeshActorSystem) throws -> MemberState { try #require(z.cluster.member(node.node)) }
        func stop() async { await shutdownAll([a, b, z]) }
    }

    func expectRefused(_ what: String, _ call: () async throws -> Void) async {
        do {
            try await call()
            Issue.record("\(what) was accepted")
        } catch MeshError.refused {
        } catch {
            Issue.record("\(what) failed with \(error), not refused")
        }
    }

    @Test func theReceptionistTakesRegistrationsOnlyFromTheirNode() async throws {
        let cluster = try await Cluster3()
        let key = ReceptionKey(ProbeActor.self, id: "trust-probes")
        let onB = ProbeActor(actorSystem: cluster.b)
        cluster.b.receptionist.register(onB, with: key)
        try await within(10, "trust-sys-a to list trust-sys-b's probe") {
            for await listing in cluster.a.receptionist.listing(key) where listing.map(\.id) == [onB.id] { return }
        }
        let receptionist = try ReceptionistActor.resolve(
            id: MeshActorID(node: cluster.a.node, endpoint: cluster.a.endpoint, path: ReceptionistActor.path), using: cluster.z)
        await expectRefused("a snapshot in trust-sys-b's name") {
            try await receptionist.publish(ReceptionistSnapshot(node: cluster.b.node, version: .max, entries: [:]))
        }
        await expectRefused("a snapshot of its own listing trust-sys-b's actor") {
            try await receptionist.publish(ReceptionistSnapshot(node: cluster.z.node, version: 1, entries: [key.id: [onB.id]]))
        }
        #expect(cluster.a.receptionist.lookup(key).map(\.id) == [onB.id])
        // Its own registrations are its to publish.
        let onZ = ProbeActor(actorSystem: cluster.z)
        try await receptionist.publish(ReceptionistSnapshot(node: cluster.z.node, version: 1_000, entries: [key.id: [onZ.id]]))
        #expect(Set(cluster.a.receptionist.lookup(key).map(\.id)) == [onB.id, onZ.id])
        await cluster.stop()
    }

    @Test func watchesAndTerminationsAreTakenOnlyFromTheNodeConcerned() async throws {
        let cluster = try await Cluster3 { name, settings in
            if name == "trust-sys-a" { settings.maxRemoteWatchesPerNode = 2 }
        }
        let onB = ProbeActor(actorSystem: cluster.b)
        let watcher = ProbeActor(actorSystem: cluster.a)
        cluster.a.watch(try ProbeActor.resolve(id: onB.id, using: cluster.a), by: watcher) { _ in }
        let lifecycleOnA = try LifecycleActor.resolve(id: LifecycleActor.id(on: watcher.id), using: cluster.z)
        await expectRefused("reporting the end of trust-sys-b's actor") { try await lifecycleOnA.terminated(onB.id) }
        #expect(cluster.a.watches.watchCount(of: onB.id) == 1, "the watch did not fire")
        let lifecycleOnB = try LifecycleActor.resolve(id: LifecycleActor.id(on: onB.id), using: cluster.z)
        await expectRefused("a watch in trust-sys-a's name") { try await lifecycleOnB.watch(path: onB.id.path, from: cluster.a.node) }
        await expectRefused("ending trust-sys-a's watch") { try await lifecycleOnB.unwatch(path: onB.id.path, from: cluster.a.node) }
        // Its own watches count against a quota.
        let targets = (0..<3).map { _ in ProbeActor(actorSystem: cluster.a) }
        #expect(try await lifecycleOnA.watch(path: targets[0].id.path, from: cluster.z.node))
        #expect(try await lifecycleOnA.watch(path: targets[1].id.path, from: cluster.z.node))
        #expect(try await lifecycleOnA.watch(path: targets[0].id.path, from: cluster.z.node), "the same watch again is not a new one")
        await expectRefused("a watch past the quota") { _ = try await lifecycleOnA.watch(path: targets[2].id.path, from: cluster.z.node) }
        try await lifecycleOnA.unwatch(path: targets[0].id.path, from: cluster.z.node)
        #expect(try await lifecycleOnA.watch(path: targets[2].id.path, from: cluster.z.node), "room again after an unwatch")
        await cluster.stop()
    }

    @Test func theDirectoryTakesActivationsOnlyFromTheirNode() async throws {
        let cluster = try await Cluster3()
        let directory = try DirectoryActor.resolve(id: DirectoryActor.id(of: try cluster.member(cluster.a)), using: cluster.z)
        let activation = VirtualActivation(key: VirtualKey(kind: "probe", key: "k"), id: ProbeActor(actorSystem: cluster.b).id)
        await expectRefused("reporting trust-sys-b's activation") { _ = try await directory.report([activation]) }
        await expectRefused("deactivating trust-sys-b's activation") { try await directory.deactivated(activation) }
        #expect(try await directory.knownActivations().isEmpty)
        await cluster.stop()
    }

    @Test func hostedActorsAreStoppedOnlyByTheirSpawnerAndSpawnsHaveAQuota() async throws {
        let cluster = try await Cluster3 { name, settings in
            if name == "trust-sys-a" { settings.maxSpawnsPerCaller = 2 }
        }
        let hostFromB = try HostActor.resolve(id: HostActor.id(of: try #require(cluster.b.cluster.member(cluster.a.node))), using: cluster.b)
        let hostFromZ = try HostActor.resolve(id: HostActor.id(of: try cluster.member(cluster.a)), using: cluster.z)
        let spawned = try await hostFromB.spawn(kind: "probe", key: "")
        await expectRefused("stopping trust-sys-b's actor") { try await hostFromZ.stop(path: spawned.path) }
        #expect(cluster.a.isLocalActorAlive(path: spawned.path))
        // A virtual activation, dropped without passivation only by the leader (trust-sys-a itself here).
        let key = VirtualKey(kind: "probe", key: "v")
        _ = try await hostFromZ.activate(key)
        await expectRefused("a non-leader deactivating an activation") { try await hostFromZ.deactivate(key, passivate: false) }
        #expect(try await hostFromZ.activation(key) != nil)
        // Its own spawns: two, then refused.
        _ = try await hostFromZ.spawn(kind: "probe", key: "")
        _ = try await hostFromZ.spawn(kind: "probe", key: "")
        await expectRefused("a third spawn") { _ = try await hostFromZ.spawn(kind: "probe", key: "") }
        // The spawner stops its own.
        try await hostFromB.stop(path: spawned.path)
        #expect(!cluster.a.isLocalActorAlive(path: spawned.path), "released before the reply")
        await cluster.stop()
    }

    @Test func loadsNoNodeCouldHaveAreNotUsed() {
        #expect(NodeLoad(hostedActors: 3, callsPerSecond: 12.5).isPlausible)
        for load in [NodeLoad(hostedActors: -1, callsPerSecond: 0), NodeLoad(hostedActors: 0, callsPerSecond: -.infinity),
                     NodeLoad(hostedActors: 0, callsPerSecond: .nan), NodeLoad(hostedActors: 0, callsPerSecond: .infinity),
                     NodeLoad(hostedActors: 0, callsPerSecond: -1)] {
            #expect(!load.isPlausible, "\(load)")
        }
    }
}
