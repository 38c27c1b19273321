import Distributed
import Foundation
import MeshTesting
import Testing
@testable import Mesh

@Suite struct SpawnTests {
    @Test func spawnPlacesByRoleLabelAndLoad() async throws {
        let nodes = try await startCluster(["sp-gw", "sp-w1", "sp-w2"]) { name, settings in
            settings.roles = name == "sp-gw" ? [.gateway] : [.worker]
            // This test is about placement: a member suspected because the
            // machine is busy with other tests must not drop out of it.
            settings.failureDetector.probeInterval = .seconds(5)
            settings.failureDetector.probeTimeout = .seconds(2)
            settings.failureDetector.suspicionTimeout = .seconds(30)
        }
        for system in nodes { system.kinds.register("probe", as: ProbeActor.self, placement: .init(role: .worker)) { _, s in ProbeActor(actorSystem: s) } }
        let gateway = nodes[0]
        // Connections to both workers are open before placement asks for loads
        // (a cold dial on a loaded machine could miss the load deadline).
        for worker in nodes[1...] {
            let member = try #require(gateway.cluster.members.first { $0.node == worker.node })
            _ = try await HostActor.resolve(id: HostActor.id(of: member), using: gateway).load()
        }
        // By role: never on the gateway; by load: alternating between the two idle workers.
        var placed: [String] = []
        for _ in 0..<4 {
            let probe = try await gateway.spawn(ProbeActor.self, kind: "probe")
            #expect(try await probe.add(2, 3) == 5)
            placed.append(probe.id.node.name.rawValue)
        }
        var loads: [String] = []
        for worker in nodes[1...] {
            let member = try #require(gateway.cluster.members.first { $0.node == worker.node })
            loads.append("\(worker.node.name) \(member.status) \(try await HostActor.resolve(id: HostActor.id(of: member), using: gateway).load())")
        }
        #expect(placed.sorted() == ["sp-w1", "sp-w1", "sp-w2", "sp-w2"], "\(loads)")
        // Pinned by label.
        let pinned = try await gateway.spawn(ProbeActor.self, kind: "probe", requirement: PlacementRequirement(role: .worker).pinned(to: nodes[2]))
        #expect(pinned.id.node == nodes[2].node)
        #expect(try await HostActor.resolve(id: HostActor.id(of: nodes[2].cluster.members.first { $0.node == nodes[2].node }!), using: gateway).load().hostedActors == 3)
        await shutdownAll(nodes)
    }

    @Test func concurrentSpawnsSpreadOverEquallyLoadedWorkers() async throws {
        let nodes = try await startCluster(["cs-gw", "cs-w1", "cs-w2"]) { name, settings in
            settings.roles = name == "cs-gw" ? [.gateway] : [.worker]
            settings.placementLoadTimeout = .seconds(10)
            // About placement: a worker suspected because the machine is busy
            // with other tests must not drop out of it.
            settings.failureDetector.probeInterval = .seconds(5)
            settings.failureDetector.probeTimeout = .seconds(2)
            settings.failureDetector.suspicionTimeout = .seconds(30)
        }
        for system in nodes { system.kinds.register("probe", as: ProbeActor.self, placement: .init(role: .worker)) { _, s in ProbeActor(actorSystem: s) } }
        let (w1, w2) = (try NodeName("cs-w1"), try NodeName("cs-w2"))
        // Keys whose hash prefers cs-w1: on equal loads alone, all four would land there.
        var keys: [String] = []
        var candidate = 0
        while keys.count < 4 {
            candidate += 1
            if Placement.rank("k\(candidate)", w1) > Placement.rank("k\(candidate)", w2) { keys.append("k\(candidate)") }
        }
        let gateway = nodes[0]
        let placed = try await withThrowingTaskGroup(of: String.self) { group in
            for key in keys { group.addTask { try await gateway.spawn(ProbeActor.self, kind: "probe", key: key).id.node.name.rawValue } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(placed.filter { $0 == "cs-w1" }.count == 2 && placed.filter { $0 == "cs-w2" }.count == 2, "\(placed)")
        await shutdownAll(nodes)
    }

    @Test func unknownKindsAndImpossibleRequirementsAreTypedErrors() async throws {
        let nodes = try await startCluster(["spe-a", "spe-b"])
        let (a, b) = (nodes[0], nodes[1])
        await #expect(throws: PlacementError.unknownKind("nothing")) { _ = try await a.spawn(ProbeActor.self, kind: "nothing") }
        a.kinds.register("probe", as: ProbeActor.self) { _, s in ProbeActor(actorSystem: s) }
        await #expect(throws: PlacementError.self) {
            _ = try await a.spawn(ProbeActor.self, kind: "probe", requirement: .init(labels: ["gpu": "yes"]))
        }
        // The kind exists here but not on b: b's host says so, and the error crosses the wire as itself.
        let hostB = try HostActor.resolve(id: HostActor.id(of: b.cluster.members.first { $0.node == b.node }!), using: a)
        await #expect(throws: PlacementError.unknownKind("probe")) { _ = try await hostB.spawn(kind: "probe", key: "") }
        await shutdownAll(nodes)
    }
}
