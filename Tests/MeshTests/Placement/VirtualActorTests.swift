import Distributed
import Foundation
import MeshTesting
import Testing
@testable import Mesh

@Suite struct VirtualActorTests {
    /// A cluster whose counters may run on the nodes listed in `hosts`
    /// (label `counters=yes`), with their state store on `storeOn`.
    func counterCluster(_ names: [String], hosts: Set<String>, storeOn: Int, idle: Duration = .seconds(300)) async throws -> ([MeshActorSystem], StateStoreActor) {
        let nodes = try await startCluster(names) { name, settings in
            if hosts.contains(name) { settings.labels["counters"] = "yes" }
            settings.virtualActorIdleTimeout = idle
        }
        let store = MeshActorSystem.$nextActorPath.withValue(StateStoreActor.wellKnownPath) { StateStoreActor(actorSystem: nodes[storeOn]) }
        for node in nodes {
            let storeRef = try StateStoreActor.resolve(id: store.id, using: node)
            CounterActor.register(on: node, store: storeRef, placement: .init(labels: ["counters": "yes"]))
        }
        return (nodes, store)
    }

    func activationCount(_ key: String, on nodes: [MeshActorSystem]) -> Int {
        nodes.filter { $0.host.activation(VirtualKey(kind: CounterActor.kind, key: key)) != nil }.count
    }

    @Test func concurrentFirstCallsFromEveryNodeActivateOneCopy() async throws {
        let (nodes, store) = try await counterCluster(["vc-a", "vc-b", "vc-c"], hosts: ["vc-b", "vc-c"], storeOn: 0)
        let values = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<30 {
                let node = nodes[index % 3]
                group.addTask { try await node.virtualActors.call(CounterActor.self, kind: CounterActor.kind, key: "project/P/src/api/user.ts") { try await $0.increment() } }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        // One activation served all 30 calls: each saw a distinct count.
        #expect(values.sorted() == Array(1...30))
        #expect(activationCount("project/P/src/api/user.ts", on: nodes) == 1)
        #expect(try await store.get("project/P/src/api/user.ts") == 30)
        withExtendedLifetime(store) {}
        await shutdownAll(nodes)
    }

    @Test func aVirtualActorMovesToAnotherNodeWithItsStateWhenItsNodeGoes() async throws {
        let (nodes, store) = try await counterCluster(["vm-a", "vm-b", "vm-c"], hosts: ["vm-b", "vm-c"], storeOn: 0)
        let a = nodes[0]
        let call = { try await a.virtualActors.call(CounterActor.self, kind: CounterActor.kind, key: "k") { try await $0.increment() } }
        #expect(try await call() == 1)
        #expect(try await call() == 2)
        let first = try await a.virtualActors.resolve(CounterActor.self, kind: CounterActor.kind, key: "k").hostNode()
        let lost = nodes.first { $0.node.name.rawValue == first }!
        try await lost.shutdown()
        #expect(try await call() == 3, "state restored from the store")
        let second = try await a.virtualActors.resolve(CounterActor.self, kind: CounterActor.kind, key: "k").hostNode()
        #expect(second != first && second != "vm-a")
        withExtendedLifetime(store) {}
        await shutdownAll(nodes.filter { $0 !== lost })
    }

    @Test func anIdleVirtualActorIsPassivatedAndComesBackWithItsState() async throws {
        let (nodes, store) = try await counterCluster(["vi-a", "vi-b"], hosts: ["vi-b"], storeOn: 0, idle: .seconds(1))
        let a = nodes[0]
        for expected in 1...2 {
            #expect(try await a.virtualActors.call(CounterActor.self, kind: CounterActor.kind, key: "idle") { try await $0.increment() } == expected)
        }
        try await waitUntil("the idle counter to be deactivated") { activationCount("idle", on: nodes) == 0 }
        // One write per increment, and at least one by passivation (read
        // after the fact; on a loaded machine the counter may even be
        // passivated between the two increments, and then twice).
        #expect(try await store.writeCount() >= 3, "passivation saved the state")
        #expect(try await a.virtualActors.call(CounterActor.self, kind: CounterActor.kind, key: "idle") { try await $0.increment() } == 3)
        #expect(activationCount("idle", on: nodes) == 1)
        await shutdownAll(nodes)
    }

    @Test func duplicateActivationsAreReducedToOne() async throws {
        let (nodes, store) = try await counterCluster(["vd-a", "vd-b", "vd-c"], hosts: ["vd-b", "vd-c"], storeOn: 0)
        // Two copies, as two sides of a partition would have made them.
        let key = VirtualKey(kind: CounterActor.kind, key: "dup")
        _ = try await nodes[1].host.activate(key)
        _ = try await nodes[2].host.activate(key)
        #expect(activationCount("dup", on: nodes) == 2)
        _ = try await nodes[0].virtualActors.call(CounterActor.self, kind: CounterActor.kind, key: "dup") { try await $0.increment() }
        #expect(activationCount("dup", on: nodes) == 1)
        withExtendedLifetime(store) {}
        await shutdownAll(nodes)
    }

    @Test func aNewLeaderLearnsActivationsFromTheOtherNodes() async throws {
        let (nodes, store) = try await counterCluster(["vl-a", "vl-b", "vl-c"], hosts: ["vl-b", "vl-c"], storeOn: 2)
        let c = nodes[2]
        #expect(c.cluster.leader?.node == nodes[0].node)
        for key in ["x", "y", "z"] {
            _ = try await c.virtualActors.call(CounterActor.self, kind: CounterActor.kind, key: key) { try await $0.increment() }
        }
        try await nodes[0].shutdown()  // the leader leaves; vl-b takes over with an empty table
        try await waitForMembers(of: c, "vl-b to lead") { _ in c.cluster.leader?.node == nodes[1].node }
        let directory = try DirectoryActor.resolve(id: DirectoryActor.id(of: c.cluster.leader!), using: c)
        // vl-c reports its activations to the new leader, which rebuilds its table from them.
        try await within(10, "the new leader to learn the activations") {
            while try await directory.knownActivations().count < 3 { try await Task.sleep(for: .milliseconds(10)) }
        }
        for key in ["x", "y", "z"] {
            let id = try await directory.locate(VirtualKey(kind: CounterActor.kind, key: key), stale: nil)
            #expect(try await CounterActor.resolve(id: id, using: c).current() == 1, "the existing activation, not a new one")
        }
        #expect(nodes[1...].map { $0.host.activations.count }.reduce(0, +) == 3)
        withExtendedLifetime(store) {}
        await shutdownAll(Array(nodes[1...]))
    }
}
