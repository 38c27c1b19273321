import Distributed
import Foundation
import MeshTesting
import Testing
@testable import Mesh

@Suite struct ReceptionistTests {
    static let workers = ReceptionKey(ProbeActor.self, id: "workers")

    /// Waits for the listing of `key` on `system` to satisfy `predicate`.
    func waitForListing(on system: MeshActorSystem, _ what: String, until predicate: @escaping @Sendable ([MeshActorID]) -> Bool) async throws {
        try await within(10, what) {
            for await listing in system.receptionist.listing(Self.workers) where predicate(listing.map(\.id)) { return }
        }
    }

    @Test func registrationsAreSeenAcrossTheClusterAndFollowJoinsAndFailures() async throws {
        let nodes = try await startCluster(["rec-a", "rec-b"])
        let (a, b) = (nodes[0], nodes[1])
        let onA = ProbeActor(actorSystem: a)
        let onB = ProbeActor(actorSystem: b)
        a.receptionist.register(onA, with: Self.workers)
        b.receptionist.register(onB, with: Self.workers)
        try await waitForListing(on: a, "a to list both") { Set($0) == [onA.id, onB.id] }
        try await waitForListing(on: b, "b to list both") { Set($0) == [onA.id, onB.id] }
        // A node that joins later gets the existing registrations, and its own spread.
        let c = try await startNode("rec-c")
        try await c.cluster.join([a.endpoint])
        let onC = ProbeActor(actorSystem: c)
        c.receptionist.register(onC, with: Self.workers)
        try await waitForListing(on: c, "c to list all three") { Set($0) == [onA.id, onB.id, onC.id] }
        try await waitForListing(on: a, "a to list c's") { Set($0) == [onA.id, onB.id, onC.id] }
        // Listed actors answer calls.
        let listed = a.receptionist.lookup(Self.workers)
        #expect(try await listed.asyncMap { try await $0.add(1, 1) } == [2, 2, 2])
        // A node that goes away takes its registrations with it.
        try await c.shutdown()
        try await waitForListing(on: a, "a to drop c's") { Set($0) == [onA.id, onB.id] }
        withExtendedLifetime((onA, onB, onC)) {}
        await shutdownAll(nodes)
    }

    @Test func aDeinitialisedOrDeregisteredActorDisappears() async throws {
        let nodes = try await startCluster(["rdel-a", "rdel-b"])
        let (a, b) = (nodes[0], nodes[1])
        var onB: ProbeActor? = ProbeActor(actorSystem: b)
        let other = ProbeActor(actorSystem: b)
        b.receptionist.register(onB!, with: Self.workers)
        b.receptionist.register(other, with: Self.workers)
        let id = onB!.id
        try await waitForListing(on: a, "a to list b's two") { $0.count == 2 }
        onB = nil
        try await waitForListing(on: a, "a to drop the deinitialised one") { $0 == [other.id] }
        #expect(!a.receptionist.lookup(Self.workers).map(\.id).contains(id))
        b.receptionist.deregister(other, from: Self.workers)
        try await waitForListing(on: a, "a to drop the deregistered one") { $0.isEmpty }
        await shutdownAll(nodes)
    }

    @Test func staleAndForeignSnapshotsAreIgnored() async throws {
        let nodes = try await startCluster(["rst-a", "rst-b"])
        let (a, b) = (nodes[0], nodes[1])
        let onB = ProbeActor(actorSystem: b)
        b.receptionist.register(onB, with: Self.workers)
        try await waitForListing(on: a, "a to list b's") { $0 == [onB.id] }
        // An older version of b's registrations, replayed: no effect.
        a.receptionist.received(ReceptionistSnapshot(node: b.node, version: 0, entries: [:]))
        #expect(a.receptionist.lookup(Self.workers).map(\.id) == [onB.id])
        // A snapshot from a node that is not a member: ignored.
        let stranger = NodeID(name: try NodeName("stranger"))
        a.receptionist.received(ReceptionistSnapshot(node: stranger, version: 9, entries: ["workers": [MeshActorID(node: stranger, endpoint: b.endpoint, path: "/x")]]))
        #expect(a.receptionist.lookup(Self.workers).map(\.id) == [onB.id])
        await shutdownAll(nodes)
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
