// make bench-mesh
//
// In one run, on loopback with TLS 1.3 (mutual), 64-byte argument and reply,
// BENCH_SECONDS (default 10) per point after a warm-up, median of
// BENCH_RUNS (default 3) runs:
//   (a) mesh request/reply calls per second at concurrency 1 and 64, p50/p99;
//   (b) mesh one-way messages per second;
//   (c) the ceiling: bare SwiftNIO + NIOSSL length-prefixed echo, pipelined;
//   (d) the peer: the same request/reply over grpc-swift 2 (raw bytes).
// Client and server share this process and its 2 cores, as in MESH-NOTES.md.
import AllocationCounter
import BenchmarkReport
import Foundation
import Logging
import Mesh
import MeshTesting
import Synchronization

let seconds = Double(ProcessInfo.processInfo.environment["BENCH_SECONDS"] ?? "") ?? 10
let runs = Int(ProcessInfo.processInfo.environment["BENCH_RUNS"] ?? "") ?? 3
let warmup = min(2, seconds / 2)
/// BENCH_ONLY=mesh-c64 (etc.) runs one point, for profiling.
let only = ProcessInfo.processInfo.environment["BENCH_ONLY"]
let payload = Data(repeating: 0x5A, count: 64)

// TLS material for every contestant: one cluster CA, one certificate per side.
let ca = try CertificateAuthority.makeCA()
func credentials(_ name: String) throws -> NodeCredentials {
    let issued = try CertificateAuthority.issueNode(try NodeName(name), roles: .member, addresses: ["127.0.0.1"], caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM)
    return NodeCredentials(caCertificatePEM: ca.certificatePEM, certificatePEM: issued.certificatePEM, privateKeyPEM: issued.privateKeyPEM)
}
let serverCredentials = try credentials("bench-server")
let clientCredentials = try credentials("bench-client")

func median(_ points: [Point]) -> Point {
    let sorted = points.sorted { $0.perSecond < $1.perSecond }
    return sorted[sorted.count / 2]
}

func f(_ value: Double, _ digits: Int = 0) -> String { value.isNaN ? "–" : String(format: "%.\(digits)f", value) }

/// Tells looping tasks to end.
final class StopFlag: Sendable {
    private let flag = Atomic(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

/// Runs `concurrency` tasks calling `call` in a loop for the point's duration.
func requestReply(concurrency: Int, _ call: @escaping @Sendable () async throws -> Void) async throws -> Point {
    let recorder = Recorder()
    let stop = StopFlag()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                while !stop.isSet {
                    let start = ContinuousClock.now
                    try await call()
                    recorder.record(.now - start)
                }
            }
        }
        try await Task.sleep(for: .seconds(warmup))
        recorder.reset()
        try await Task.sleep(for: .seconds(seconds))
        stop.set()
        try await group.waitForAll()
    }
    return recorder.point(seconds: seconds)
}

nonisolated(unsafe) var logger = Logger(label: "bench")
logger.logLevel = .error
func startNode(_ name: String, _ credentials: NodeCredentials) async throws -> MeshActorSystem {
    var settings = MeshSettings(name: try NodeName(name), credentials: credentials)
    settings.defaultCallTimeout = .seconds(60)
    return try await MeshActorSystem.start(settings, logger: logger)
}

/// One-way messages for the point's duration, counted at the receiver.
func oneWay(to remote: ProbeActor) async throws -> Point {
    let before = try await remote.deliveredCount()
    let stop = StopFlag()
    let sender = Task {
        try await MeshActorSystem.withOneWayDelivery {
            while !stop.isSet {
                do { try await remote.deliver(payload) } catch MeshError.overloaded { await Task.yield() }
            }
        }
    }
    try await Task.sleep(for: .seconds(seconds))
    stop.set()
    try await sender.value
    // A request/reply after the one-way burst returns once all of it was
    // delivered (ordered); it waits for room in the outbound queue first.
    var after = 0
    while true {
        do { after = try await remote.deliveredCount(); break } catch MeshError.overloaded {
            try await Task.sleep(for: .milliseconds(1))
        }
    }
    return Point(perSecond: Double(after - before) / seconds, p50Micros: .nan, p99Micros: .nan)
}

nonisolated(unsafe) var allocationsPerCall = Double.nan
nonisolated(unsafe) var allocationsPerMessage = Double.nan

/// Runs every point and returns the medians by name.
func measure() async throws -> [String: Point] {
    print("mesh benchmark: \(Int(seconds)) s per point after \(warmup) s warm-up, median of \(runs) runs, 64-byte payloads, TLS 1.3")

    // (a) and (b): the mesh.
    let server = try await startNode("bench-server", serverCredentials)
    let client = try await startNode("bench-client", clientCredentials)
    let probe = ProbeActor(actorSystem: server)
    let remote = try ProbeActor.resolve(id: probe.id, using: client)
    _ = try await remote.echo(payload)

    var results: [String: Point] = [:]
    if only == "oneway" {
        print("oneway: \(Int(try await oneWay(to: remote).perSecond)) msg/s")
        exit(0)
    }
    if let only, only.hasPrefix("mesh-c") {
        let concurrency = Int(only.dropFirst("mesh-c".count)) ?? 64
        let point = try await requestReply(concurrency: concurrency) { _ = try await remote.echo(payload) }
        print("\(only): \(Int(point.perSecond)) calls/s, p50 \(Int(point.p50Micros)) µs")
        exit(0)
    }
    for concurrency in [1, 64] {
        var points: [Point] = []
        for _ in 0..<runs {
            points.append(try await requestReply(concurrency: concurrency) { _ = try await remote.echo(payload) })
        }
        results["mesh c\(concurrency)"] = median(points)
        print("mesh request/reply c\(concurrency): \(Int(results["mesh c\(concurrency)"]!.perSecond)) calls/s")
    }

    var oneWayPoints: [Point] = []
    for _ in 0..<runs { oneWayPoints.append(try await oneWay(to: remote)) }
    results["one-way"] = median(oneWayPoints)
    print("mesh one-way: \(Int(results["one-way"]!.perSecond)) msg/s")

    // Heap allocations per call, both ends (they share this process).
    let calls = 20_000
    var before = hma_allocation_count()
    for _ in 0..<calls { _ = try await remote.echo(payload) }
    allocationsPerCall = Double(hma_allocation_count() - before) / Double(calls)
    let delivered = try await remote.deliveredCount()
    before = hma_allocation_count()
    try await MeshActorSystem.withOneWayDelivery {
        var sent = 0
        while sent < calls {
            do { try await remote.deliver(payload); sent += 1 } catch MeshError.overloaded { await Task.yield() }
        }
    }
    while try await remote.deliveredCount() < delivered + calls { try await Task.sleep(for: .milliseconds(1)) }
    allocationsPerMessage = Double(hma_allocation_count() - before) / Double(calls)
    print("allocations: \(f(allocationsPerCall, 1)) per request/reply call, \(f(allocationsPerMessage, 1)) per one-way message (both ends)")
    withExtendedLifetime(probe) {}
    try await client.shutdown()
    try await server.shutdown()

    // (c) the ceiling.
    let echoServer = try await Ceiling.startServer(credentials: serverCredentials)
    let echoPort = echoServer.localAddress!.port!
    for concurrency in [1, 64] {
        var points: [Point] = []
        for _ in 0..<runs {
            points.append(try await Ceiling.run(port: echoPort, credentials: clientCredentials, concurrency: concurrency, payloadSize: 64, warmup: warmup, seconds: seconds))
        }
        results["ceiling c\(concurrency)"] = median(points)
        print("ceiling c\(concurrency): \(Int(results["ceiling c\(concurrency)"]!.perSecond)) req/s")
    }
    try await echoServer.close()

    // (d) the peer: grpc-swift 2.
    let grpcTLS = GRPCTLSMaterial(caPEM: ca.certificatePEM, certificatePEM: serverCredentials.certificatePEM, privateKeyPEM: serverCredentials.privateKeyPEM)
    let grpcServer = try await GRPCEchoServer.start(tls: grpcTLS)
    let grpcClient = try await GRPCEchoClient.connect(port: grpcServer.port, tls: GRPCTLSMaterial(caPEM: ca.certificatePEM, certificatePEM: clientCredentials.certificatePEM, privateKeyPEM: clientCredentials.privateKeyPEM))
    let bytes = Array(payload)
    _ = try await grpcClient.echo(bytes)
    for concurrency in [1, 64] {
        var points: [Point] = []
        for _ in 0..<runs {
            points.append(try await requestReply(concurrency: concurrency) { _ = try await grpcClient.echo(bytes) })
        }
        results["grpc c\(concurrency)"] = median(points)
        print("grpc c\(concurrency): \(Int(results["grpc c\(concurrency)"]!.perSecond)) calls/s")
    }
    await grpcClient.close()
    await grpcServer.stop()

    return results
}

let results = try await measure()

// Report.
func row(_ name: String, _ key: String) -> String {
    let p = results[key]!
    return "| \(name) | \(f(p.perSecond)) | \(f(p.p50Micros)) | \(f(p.p99Micros)) |"
}
let table = [
    "| what | per second | p50 µs | p99 µs |",
    "|---|---:|---:|---:|",
    row("mesh request/reply, concurrency 1", "mesh c1"),
    row("mesh request/reply, concurrency 64", "mesh c64"),
    row("mesh one-way messages", "one-way"),
    row("ceiling: NIO+TLS echo, concurrency 1", "ceiling c1"),
    row("ceiling: NIO+TLS echo, concurrency 64", "ceiling c64"),
    row("peer: grpc-swift 2 unary, concurrency 1", "grpc c1"),
    row("peer: grpc-swift 2 unary, concurrency 64", "grpc c64"),
]
let ratio = results["mesh c64"]!.perSecond / results["ceiling c64"]!.perSecond
let versusGRPC = results["mesh c64"]!.perSecond / results["grpc c64"]!.perSecond
let latencyRatio = results["mesh c1"]!.p50Micros / results["ceiling c1"]!.p50Micros
let summary = "mesh/ceiling calls-per-second ratio at concurrency 64: \(f(ratio, 2)) (mesh/grpc \(f(versusGRPC, 1)))"
let lines = [
    "p50 at concurrency 1: mesh/ceiling \(f(latencyRatio, 1))x",
    "ceiling here: c1 \(f(results["ceiling c1"]!.perSecond)) req/s, c64 \(f(results["ceiling c64"]!.perSecond)) req/s (an independent bare NIO+TLS 1.3 echo reached about 42000 and 880000 on this machine kind while planning)",
    "allocations: \(f(allocationsPerCall, 1)) per request/reply call, \(f(allocationsPerMessage, 1)) per one-way message (both ends, one process)",
    "reference: Akka Artery one-way, about 630000 msg/s (its published laptop figure; not run here)",
    "mesh one-way \(f(results["one-way"]!.perSecond)) msg/s",
    summary,
]
for line in table { print(line) }
for line in lines { print(line) }

try writeBenchmarkSection(
    name: "mesh", command: "make bench-mesh", detail: "\(Int(seconds)) s per point, median of \(runs)",
    summary: lines, table: table)
