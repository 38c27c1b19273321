// make bench-e2e: whole projects through the web IDE protocol, with the
// demo model paced like a scripted 100 ms model (HMA_DEMO_PAUSE_MS=100: each
// recorded reply streams after 100 ms), on one `hma dev` node and on a
// three-node cluster (`hma gateway` + two `hma worker`s) on this machine.
// CONCURRENCY clients (default 20) each build the demo's Python project at
// once, approving each phase as a person would; reported: projects per
// minute, completion time p50/p99, the gateway's CPU and peak memory.
import BenchmarkReport
import Foundation
import NIOCore
import NIOPosix
import ProcessTesting

struct EndToEndResult {
    var projectsPerMinute: Double
    var p50Seconds: Double
    var p99Seconds: Double
    var gatewayCPUSeconds: Double
    var gatewayPeakBytes: Int
    var completed: Int
    var failed: Int
}

let endToEndRequest = "Make a small Python package that converts temperatures between Celsius, Fahrenheit and Kelvin, with unittest tests."

/// A node process of the three-node setup.
func startNode(_ arguments: [String], folder: String, environment: [String: String], marker: String, what: String) async throws -> ChildProcess {
    let child = try ChildProcess(executableFolder.appendingPathComponent("hma"), arguments, environment: environment)
    _ = try await awaitLine(child, containing: marker, what: what)
    return child
}

/// Runs `hma ARGUMENTS` to its end and returns its standard output.
func runHma(_ arguments: [String]) async throws -> [String] {
    let child = try ChildProcess(executableFolder.appendingPathComponent("hma"), arguments)
    var lines: [String] = []
    while let line = await child.lines.next() { lines.append(line) }
    guard await child.exitStatus() == 0 else { throw WebSocketFailure("hma \(arguments.joined(separator: " ")): \(child.standardError)") }
    return lines
}

/// The three-node cluster: certificates, a gateway, two workers, a user.
func startCluster(environment: [String: String]) async throws -> (ServerProcess, [ChildProcess]) {
    let folder = NSTemporaryDirectory() + "hma-bench-e2e-\(UUID().uuidString)"
    _ = try await runHma(["certs", "init", "--out", folder + "/ca"])
    for (name, role) in [("gw", "gateway"), ("w1", "worker"), ("w2", "worker")] {
        _ = try await runHma(["certs", "issue", name, "--role", role, "--address", "127.0.0.1", "--ca", folder + "/ca", "--out", folder + "/" + name])
    }
    let http = Int.random(in: 20_000..<40_000)
    let gateway = try await startNode([
        "gateway", "--name", "gw", "--listen", "127.0.0.1:\(http + 1)", "--certs", folder + "/gw", "--http", "127.0.0.1:\(http)",
        "--data-dir", folder + "/gw-data", "--log-level", "error"], folder: folder, environment: environment, marker: "is running", what: "hma gateway")
    var workers: [ChildProcess] = []
    for name in ["w1", "w2"] {
        workers.append(try await startNode([
            "worker", "--name", name, "--join", "127.0.0.1:\(http + 1)", "--certs", folder + "/" + name, "--data-dir", folder + "/" + name + "-data",
            "--log-level", "error"], folder: folder, environment: environment, marker: "member gw up", what: "hma worker \(name)"))
    }
    let token = try await runHma(["users", "add", "bench", "--data-dir", folder + "/gw-data"]).first { $0.hasPrefix("token ") }.map { String($0.dropFirst(6)) }
    guard let token else { throw WebSocketFailure("hma users add printed no token") }
    // The gateway sees both workers up before the load starts.
    try await Task.sleep(for: .seconds(2))
    return (ServerProcess(name: "HMA three-node cluster", child: gateway, port: http, headers: [("Authorization", "Bearer \(token)")], folder: folder), workers)
}

/// One person: a new project from the request, each phase approved, until it completes.
func buildProject(_ server: ServerProcess, group: any EventLoopGroup) async throws -> Double {
    let started = ContinuousClock.now
    let connection = try await connectWebSocket(port: server.port, path: "/ws", headers: server.headers, group: group)
    defer { Task { await connection.close() } }
    _ = try await connection.exchange("{\"type\":\"hello\",\"id\":\"h\",\"payload\":{\"clientVersion\":\"bench\"}}") { $0.contains("\"welcome\"") }
    let request = try JSONSerialization.data(withJSONObject: ["type": "start_project_init", "id": "s",
                                                              "payload": ["language": "python", "initialPrompt": endToEndRequest]])
    let opened = try await connection.exchange(String(decoding: request, as: UTF8.self), seconds: 60) { $0.contains("\"replyTo\":\"s\"") }
    if opened.contains("\"type\":\"error\"") { throw WebSocketFailure("start_project_init: \(opened.prefix(300))") }
    guard let data = opened.data(using: .utf8), let frame = try JSONSerialization.jsonObject(with: data) as? [String: Any],
          let payload = frame["payload"] as? [String: Any], let session = (payload["session"] as? [String: Any])?["id"] as? String else {
        throw WebSocketFailure("start_project_init answered \(opened.prefix(300))")
    }
    var phase = "understanding"
    var answers = 0
    while true {
        // One session per connection: every phase and status is this run's.
        let text = try await connection.exchange(nil, seconds: 600) { text in
            text.contains("\"project_status\"") || text.contains("\"project_init_status\"")
        }
        guard let data = text.data(using: .utf8), let frame = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let payload = frame["payload"] as? [String: Any] else { continue }
        if frame["type"] as? String == "project_init_status" {
            phase = payload["phase"] as? String ?? phase
            continue
        }
        switch payload["status"] as? String {
        case "completed":
            return (ContinuousClock.now - started).seconds
        case "waiting":
            answers += 1
            let id = "a\(answers)"
            let approve = "{\"type\":\"approve_phase\",\"id\":\"\(id)\",\"payload\":{\"sessionId\":\"\(session)\",\"phase\":\"\(phase)\"}}"
            let answer = try await connection.exchange(approve) { $0.contains("\"replyTo\":\"\(id)\"") }
            if answer.contains("\"type\":\"error\"") { throw WebSocketFailure("approve_phase \(phase): \(answer.prefix(300))") }
        case "error", "stopped":
            throw WebSocketFailure("a project ended \(payload["status"] ?? ""): \(text.prefix(300))")
        default:
            continue
        }
    }
}

func measureEndToEnd(_ server: ServerProcess, concurrency: Int, group: any EventLoopGroup) async throws -> EndToEndResult {
    let cpuBefore = server.cpuSeconds()
    let started = ContinuousClock.now
    var peak = server.residentBytes()
    let sampler = Task {
        var highest = 0
        while !Task.isCancelled {
            highest = max(highest, server.residentBytes())
            try? await Task.sleep(for: .milliseconds(200))
        }
        return highest
    }
    var times: [Double] = []
    var failed = 0
    await withTaskGroup(of: Double?.self) { tasks in
        for _ in 0..<concurrency {
            tasks.addTask {
                do { return try await buildProject(server, group: group) } catch {
                    say("e2e: a project failed: \(error)")
                    return nil
                }
            }
        }
        for await time in tasks { if let time { times.append(time) } else { failed += 1 } }
    }
    let wall = (ContinuousClock.now - started).seconds
    sampler.cancel()
    peak = max(peak, await sampler.value)
    return EndToEndResult(
        projectsPerMinute: Double(times.count) / wall * 60, p50Seconds: percentile(times, 0.5), p99Seconds: percentile(times, 0.99),
        gatewayCPUSeconds: server.cpuSeconds() - cpuBefore, gatewayPeakBytes: peak, completed: times.count, failed: failed)
}

func runEndToEnd() async throws {
    let concurrency = Int(ProcessInfo.processInfo.environment["CONCURRENCY"] ?? "") ?? 20
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    // One user starts every project: lift the per-user run limit (3).
    var environment = ["HMA_DEMO_PAUSE_MS": "100", "HMA_LIMITS_USER_RUNS": "\(concurrency)"]
    for key in ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENROUTER_API_KEY", "OLLAMA_HOST"] {
        environment[key] = ""
    }
    say("e2e: \(concurrency) concurrent projects, demo model paced at 100 ms per reply")

    let single = try await startGateway(environment: environment)
    let one = try await measureEndToEnd(single, concurrency: concurrency, group: group)
    await single.stop()
    describeEndToEnd("1 node (hma dev)", one)

    let (gateway, workers) = try await startCluster(environment: environment)
    let three = try await measureEndToEnd(gateway, concurrency: concurrency, group: group)
    for worker in workers { worker.signal(SIGTERM); _ = await worker.exitStatus() }
    await gateway.stop()
    describeEndToEnd("3 nodes (gateway + 2 workers)", three)

    let row = { (name: String, result: EndToEndResult) in
        String(format: "| %@ | %.1f | %.1f | %.1f | %.1f | %.0f | %d/%d |", name, result.projectsPerMinute, result.p50Seconds, result.p99Seconds,
               result.gatewayCPUSeconds, Double(result.gatewayPeakBytes) / 1_048_576, result.completed, result.completed + result.failed)
    }
    try writeBenchmarkSection(
        name: "e2e", command: "make bench-e2e",
        detail: "\(concurrency) WebSocket clients at once, each building the demo's Python project (every phase approved), demo model paced at 100 ms per reply; one `hma dev` process, then `hma gateway` + two `hma worker`s on loopback with mutual TLS; release build; 2 cores shared by every process and the clients.",
        summary: [
            String(format: "projects per minute: 1 node %.1f, 3 nodes %.1f (3 nodes / 1 node %.2f)", one.projectsPerMinute, three.projectsPerMinute,
                   three.projectsPerMinute / max(one.projectsPerMinute, 0.001)),
        ],
        table: [
            "| setup | projects/min | completion p50 s | completion p99 s | gateway CPU s | gateway peak MiB | completed |",
            "|---|---:|---:|---:|---:|---:|---:|",
            row("1 node (hma dev)", one), row("3 nodes (gateway + 2 workers)", three),
        ])
}

func describeEndToEnd(_ name: String, _ result: EndToEndResult) {
    say(String(format: "e2e %@: %.1f projects/min, completion p50 %.1f s, p99 %.1f s, gateway CPU %.1f s, peak %.0f MiB, %d completed, %d failed",
                 name, result.projectsPerMinute, result.p50Seconds, result.p99Seconds, result.gatewayCPUSeconds,
                 Double(result.gatewayPeakBytes) / 1_048_576, result.completed, result.failed))
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
