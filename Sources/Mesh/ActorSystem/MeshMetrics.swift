import CoreMetrics

/// The mesh's metrics (swift-metrics; the gateway exports them): members by
/// state, calls and failures, virtual activations, association queue depth.
///
/// Names follow Prometheus conventions; every metric carries the node's
/// name as the `node` dimension so one scrape of several in-process nodes
/// (tests, `hma dev`) stays apart.
public struct MeshMetrics: Sendable {
    let factory: any MetricsFactory
    let node: String
    /// Remote calls sent and received.
    let callsSent: Counter
    let callsReceived: Counter
    /// Remote calls that ended with an error (thrown remotely, timeout, unreachable).
    let callFailures: Counter
    let activations: Counter
    let deactivations: Counter

    init(factory: any MetricsFactory, node: NodeName) {
        self.factory = factory
        self.node = node.rawValue
        let dimensions = [("node", node.rawValue)]
        callsSent = Counter(label: "hma_mesh_calls_sent_total", dimensions: dimensions, factory: factory)
        callsReceived = Counter(label: "hma_mesh_calls_received_total", dimensions: dimensions, factory: factory)
        callFailures = Counter(label: "hma_mesh_call_failures_total", dimensions: dimensions, factory: factory)
        activations = Counter(label: "hma_mesh_virtual_activations_total", dimensions: dimensions, factory: factory)
        deactivations = Counter(label: "hma_mesh_virtual_deactivations_total", dimensions: dimensions, factory: factory)
    }

    /// Members this node sees, by state (every state reported, zeros too).
    func recordMembers(_ members: [MemberState]) {
        for status in MemberStatus.allCases {
            Gauge(label: "hma_mesh_members", dimensions: [("node", node), ("status", "\(status)")], factory: factory)
                .record(members.filter { $0.status == status }.count)
        }
    }

    /// Bytes queued towards each peer.
    func recordQueueDepth(peer: String, bytes: Int) {
        Gauge(label: "hma_mesh_association_queue_bytes", dimensions: [("node", node), ("peer", peer)], factory: factory)
            .record(bytes)
    }
}
