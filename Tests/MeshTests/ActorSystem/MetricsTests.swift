import Foundation
import MeshTesting
import MetricsTestKit
import Testing
@testable import Mesh

@Suite struct MeshMetricsTests {
    @Test func callsFailuresMembersActivationsAndQueuesAreMeasured() async throws {
        let metrics = TestMetrics()
        let nodes = try await startCluster(["met-a", "met-b"]) { name, settings in
            if name == "met-a" { settings.metricsFactory = metrics }
        }
        let (a, b) = (nodes[0], nodes[1])
        let probe = try ProbeActor.resolve(id: ProbeActor(actorSystem: b).id, using: a)
        let onB = ProbeActor(actorSystem: b)
        let remote = try ProbeActor.resolve(id: onB.id, using: a)
        for _ in 0..<5 { _ = try await remote.add(1, 2) }
        await #expect(throws: MeshError.self) { _ = try await probe.add(1, 1) }  // deinitialised at once: not found
        let node = [("node", "met-a")]
        #expect(try metrics.expectCounter("hma_mesh_calls_sent_total", node).totalValue >= 6)
        #expect(try metrics.expectCounter("hma_mesh_call_failures_total", node).totalValue >= 1)
        // Both up — awaited, since on a loaded machine a late heartbeat can make a member briefly suspect.
        try await waitUntil("the members gauge to count both nodes up") {
            (try? metrics.expectGauge("hma_mesh_members", node + [("status", "up")]).lastValue) == 2
        }

        let store = StateStoreActor(actorSystem: a)
        for system in nodes { CounterActor.register(on: system, store: try StateStoreActor.resolve(id: store.id, using: system), placement: PlacementRequirement().pinned(to: a)) }
        _ = try await b.virtualActors.call(CounterActor.self, kind: CounterActor.kind, key: "m") { try await $0.increment() }
        #expect(try metrics.expectCounter("hma_mesh_virtual_activations_total", node).totalValue == 1)
        // Queue depth is sampled every second for each association.
        try await waitUntil("a queue depth sample") {
            (try? metrics.expectGauge("hma_mesh_association_queue_bytes", node + [("peer", "met-b")])) != nil
        }
        try await b.shutdown()
        try await waitUntil("met-b counted as left") {
            (try? metrics.expectGauge("hma_mesh_members", node + [("status", "left")]).lastValue) == 1
        }
        withExtendedLifetime((onB, store)) {}
        try await a.shutdown()
    }
}
