import CoreMetrics
import Prometheus
import Synchronization

/// The gateway's metrics (docs/operations.md, "Metrics"), through
/// swift-metrics like the mesh's, so `/metrics` shows both.
public final class GatewayMetrics: Sendable {
    let connections: CoreMetrics.Gauge
    let messagesIn: CoreMetrics.Counter
    let messagesOut: CoreMetrics.Counter
    let refused: CoreMetrics.Counter
    let runsStarted: CoreMetrics.Counter
    let activeRuns: CoreMetrics.Gauge
    let tokens: CoreMetrics.Counter
    let streamedBytes: CoreMetrics.Counter
    let costMicroUSD: CoreMetrics.Counter
    let hubQueueDepth: CoreMetrics.Gauge

    /// The registry `/metrics` renders; the mesh's metrics go to it too
    /// (pass `factory` as the mesh's `metricsFactory`).
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
        connections = CoreMetrics.Gauge(label: "hma_gateway_connections", factory: factory)
        messagesIn = CoreMetrics.Counter(label: "hma_gateway_messages_in_total", factory: factory)
        messagesOut = CoreMetrics.Counter(label: "hma_gateway_messages_out_total", factory: factory)
        refused = CoreMetrics.Counter(label: "hma_gateway_refused_total", factory: factory)
        runsStarted = CoreMetrics.Counter(label: "hma_runs_started_total", factory: factory)
        activeRuns = CoreMetrics.Gauge(label: "hma_runs_active", factory: factory)
        tokens = CoreMetrics.Counter(label: "hma_llm_tokens_total", factory: factory)
        streamedBytes = CoreMetrics.Counter(label: "hma_llm_streamed_bytes_total", factory: factory)
        costMicroUSD = CoreMetrics.Counter(label: "hma_llm_cost_microdollars_total", factory: factory)
        hubQueueDepth = CoreMetrics.Gauge(label: "hma_gateway_hub_queue_depth_max", factory: factory)
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    private let openConnections = Atomic<Int>(0)

    func connectionOpened() { connections.record(openConnections.add(1, ordering: .relaxed).newValue) }
    func connectionClosed() { connections.record(openConnections.subtract(1, ordering: .relaxed).newValue) }
    func received() { messagesIn.increment() }
    func sent() { messagesOut.increment() }
    func refusedOne() { refused.increment() }
    func runStarted(active: Int) {
        runsStarted.increment()
        activeRuns.record(active)
    }
    func runsActive(_ count: Int) { activeRuns.record(count) }

    func tokensStreamed(_ bytes: Int) { streamedBytes.increment(by: bytes) }

    func usage(_ tokenCount: Int, costUSD: Double) {
        tokens.increment(by: tokenCount)
        costMicroUSD.increment(by: Int(costUSD * 1_000_000))
    }
}
