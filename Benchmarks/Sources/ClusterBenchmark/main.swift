// make bench-cluster: 5-node clusters of real processes on 127.0.0.x.
//
// Each trial starts five fresh `hma-bench-node` processes (n1 holds the
// counters' state; n2–n5 may host counters), measures the time until every
// node sees every other up, activates a virtual counter (first call) and
// calls it again (warm), then SIGKILLs the counter's node and measures
// (a) when each of the four others prints it `down` and (b) when a call
// from n1 is answered again by a re-activation elsewhere with its state.
//
// The same run repeats the trials with the failure detector set to
// swift-distributed-actors' default intervals (probe every 1 s, 300 ms ping
// timeout, 3 indirect probes; its Lifeguard suspicion of 3–10 s plus 1 s
// downing approximated by a 4 s suspicion): that library is not in this
// machine's package mirror, so its timing is emulated, not run.
import BenchmarkReport
import Foundation
import Mesh
import MeshTesting
import ProcessTesting

struct Trial {
    var formation: Duration
    var firstActivation: Duration
    var warmCall: Duration
    var crashToDown: Duration
    var reactivation: Duration
}

struct Configuration {
    let name: String
    let options: [String]
}

let nodeBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("hma-bench-node")
let trials = Int(ProcessInfo.processInfo.environment["BENCH_TRIALS"] ?? "10") ?? 10

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Duration) {
    let start = ContinuousClock.now
    let value = try await body()
    return (value, ContinuousClock.now - start)
}

func runTrial(_ index: Int, _ configuration: Configuration, certs: CertificateFolder) async throws -> Trial {
    let names = (1...5).map { "n\($0)" }
    let subnet = 100 + index
    let start = ContinuousClock.now
    var nodes: [NodeProcess] = []
    for (offset, name) in names.enumerated() {
        var options = configuration.options
        if offset == 0 {
            options += ["--store-here", "yes"]
        } else {
            options += ["--store", nodes[0].endpoint.description, "--labels", "counters=yes"]
        }
        nodes.append(try await NodeProcess(name, certs: certs, host: "127.0.\(subnet).\(offset + 1)",
                                           join: nodes.first.map { [$0.endpoint] } ?? [], options: options, executable: nodeBinary))
    }
    for node in nodes { for other in nodes where other !== node { _ = try await node.waitForMember(other.name, .up) } }
    let formation = ContinuousClock.now - start

    let (first, firstActivation) = try await timed { try await nodes[0].command("call k") }
    let (_, warmCall) = try await timed { try await nodes[0].command("call k") }
    let hostName = String(first.split(separator: " ")[1])
    let victim = nodes.first { $0.name == hostName }!
    let killed = ContinuousClock.now
    victim.kill()
    let caller = nodes[0]
    async let answered: String = caller.command("call k", seconds: 60)
    var slowest = Duration.zero
    for node in nodes where node !== victim {
        slowest = max(slowest, try await node.waitForMember(victim.name, .down, seconds: 60, after: killed) - killed)
    }
    let reply = try await answered
    let reactivation = ContinuousClock.now - killed
    guard reply.hasPrefix("3 ") else { throw NodeFailure(name: "n1", message: "expected the counter's state to carry on, got \(reply)") }
    for node in nodes where node !== victim { _ = try await node.leave() }
    return Trial(formation: formation, firstActivation: firstActivation, warmCall: warmCall, crashToDown: slowest, reactivation: reactivation)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

let configurations = [
    Configuration(name: "HMA defaults (probe 200 ms, timeout 100 ms, 2 indirect, suspicion 1 s)", options: []),
    Configuration(name: "swift-distributed-actors' intervals, emulated (probe 1 s, timeout 300 ms, 3 indirect, suspicion 4 s)",
                  options: ["--probe-ms", "1000", "--probe-timeout-ms", "300", "--indirect-probes", "3", "--suspicion-ms", "4000"]),
]
let certs = try CertificateFolder()
defer { try? FileManager.default.removeItem(atPath: certs.folder) }
var results: [(Configuration, [Trial])] = []
for configuration in configurations {
    var done: [Trial] = []
    for index in 0..<trials {
        let trial = try await runTrial(index, configuration, certs: certs)
        print(String(format: "%@ trial %d: formed %.2f s, first activation %.1f ms, warm call %.1f ms, crash-to-down %.2f s, re-activated %.2f s",
                     String(configuration.name.prefix(24)), index + 1, seconds(trial.formation), seconds(trial.firstActivation) * 1000,
                     seconds(trial.warmCall) * 1000, seconds(trial.crashToDown), seconds(trial.reactivation)))
        done.append(trial)
    }
    results.append((configuration, done))
}

var table = ["| failure detector | crash-to-down median | max | 5-node formation median | first activation median | warm call median | re-activation after SIGKILL median |",
             "|---|---|---|---|---|---|---|"]
for (configuration, done) in results {
    let down = done.map { seconds($0.crashToDown) }
    table.append(String(format: "| %@ | %.2f s | %.2f s | %.2f s | %.1f ms | %.1f ms | %.2f s |", configuration.name,
                        median(down), down.max()!, median(done.map { seconds($0.formation) }),
                        median(done.map { seconds($0.firstActivation) }) * 1000, median(done.map { seconds($0.warmCall) }) * 1000,
                        median(done.map { seconds($0.reactivation) })))
}
let ours = results[0].1.map { seconds($0.crashToDown) }
let emulated = results[1].1.map { seconds($0.crashToDown) }
let closing = String(format: "crash-to-down median %.2f s, max %.2f s (%d trials, 5 nodes)", median(ours), ours.max()!, trials)
let summary = [
    closing,
    String(format: "vs swift-distributed-actors' intervals (emulated) median %.2f s: %.1f× faster", median(emulated), median(emulated) / median(ours)),
    "calls are timed from the driving process (stdin → node → stdout), so they include about a millisecond of pipe overhead;",
    "re-activation includes failure detection: a key moves only once its node is declared down.",
]
for (line) in table { print(line) }
try writeBenchmarkSection(
    name: "cluster", command: "make bench-cluster",
    detail: "\(trials) trials per configuration; five processes per trial on 127.0.x.y, all on this machine",
    summary: summary, table: table)
print(closing)
