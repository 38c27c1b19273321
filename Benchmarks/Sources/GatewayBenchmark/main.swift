// make bench-gateway: the web IDE protocol of a real `hma dev` process
// (release build, its own process) under load from a raw SwiftNIO
// WebSocket client on one event-loop thread, against a bare Hummingbird
// WebSocket echo (the ceiling, this binary re-run with --echo-server) and a
// python-socketio + aiohttp echo (the earlier Python version's stack).
//
// (a) request/reply messages per second: 100 authenticated sockets, each
//     keeping one `list_projects` in flight (the next is sent when the
//     answer came): envelope, cookie authentication at the upgrade,
//     validation, rate limiting, routing and a handler reading the database;
// (b) the same load against the two echo servers (the same JSON text,
//     as the Socket.IO event's argument for python-socketio);
// (c) memory per idle socket: RSS growth of a fresh server process when
//     5,000 sockets each did their handshake (and `hello`) and one round trip;
// (d) terminal keystroke round trip through gateway, mesh, sandboxed PTY
//     and shell (readline's echo) and back;
// (e) session fan-out: `file_update` requests publish `file_tree_update`
//     through one chat session's hub to 50 subscribed tabs (the rate is
//     bounded by the source: one project's writes go one at a time).
//
// Settings (environment): BENCH_RUNS, BENCH_SECONDS, BENCH_CLIENTS,
// BENCH_IDLE_CONNECTIONS, BENCH_KEYSTROKES, BENCH_TABS, BENCH_PUBLISHERS;
// BENCH_PYTHON_PEER names the installed python-socketio peer.
import BenchmarkReport
import Foundation
import NIOCore
import NIOPosix

if CommandLine.arguments.count > 2, CommandLine.arguments[1] == "--echo-server" {
    try await runEchoServer(port: Int(CommandLine.arguments[2]) ?? 0)
    exit(0)
}

/// Prints a line at once (the run takes minutes; the output may be a pipe).
func say(_ line: String) {
    print(line)
    fflush(nil)
}

// make bench-e2e (EndToEnd.swift).
if CommandLine.arguments.dropFirst().first == "e2e" {
    try await runEndToEnd()
    stopAllServers()
    exit(0)
}

/// The machine's 1-minute load average (the machines are shared).
func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
}
let loadBefore = loadAverage()

let environment = ProcessInfo.processInfo.environment
func setting(_ name: String, _ value: Int) -> Int { environment[name].flatMap(Int.init) ?? value }
let runs = setting("BENCH_RUNS", 5)
let windowSeconds = setting("BENCH_SECONDS", 3)
let clients = setting("BENCH_CLIENTS", 100)
let idleCount = setting("BENCH_IDLE_CONNECTIONS", 5000)
let keystrokeCount = setting("BENCH_KEYSTROKES", 1000)
let tabCount = setting("BENCH_TABS", 50)
let publisherCount = setting("BENCH_PUBLISHERS", 2)
let window = Duration.seconds(windowSeconds), warmUp = Duration.seconds(1)
let peer = environment["BENCH_PYTHON_PEER"]

// 5,000 sockets on each side: raise the open-file limit to the hard one
// (the servers started from here inherit it).
var limit = rlimit()
getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
limit.rlim_cur = limit.rlim_max
setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
guard limit.rlim_cur >= rlim_t(idleCount + 1000) else {
    fatalError("the open-file limit \(limit.rlim_cur) is too low for \(idleCount) sockets (ulimit -Hn)")
}

// The load client: one event loop, one thread.
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

func describe(_ name: String, _ result: Throughput) {
    say(String(format: "%@: %.0f msg/s (runs %@), p50 %.2f ms, p99 %.2f ms, server %.2f cores, client %.2f cores", name,
                 median(result.perSecond), result.perSecond.map { String(format: "%.0f", $0) }.joined(separator: " "),
                 median(result.p50Milliseconds), median(result.p99Milliseconds), median(result.serverCores), median(result.clientCores)))
}

do {
    // 1. The gateway: throughput, keystrokes, fan-out (one process).
    say("gateway: starting hma dev (\(gatewayEnvironment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))")
    let gateway = try await startGateway()
    let setup = try await openClient(gateway, .gateway, group: group)
    let (project, _) = try await importProject(setup, name: "bench", files: [("README.md", "# bench\n"), ("main.py", "print('hello')\n")])
    let gatewayLoad = try await measureThroughput(gateway, .gateway, clients: clients, runs: runs, window: window, warmUp: warmUp, group: group)
    describe("gateway list_projects", gatewayLoad)
    var keystrokes = try await measureKeystrokes(setup, project: project, count: keystrokeCount + 50)
    keystrokes.removeFirst(50)  // warm-up
    say(String(format: "keystroke round trip: p50 %.3f ms, p99 %.3f ms (%d keys)", percentile(keystrokes, 0.5), percentile(keystrokes, 0.99),
                 keystrokes.count))
    let fanOut = try await measureFanOut(gateway, tabs: tabCount, publishers: publisherCount, runs: runs, window: window, warmUp: warmUp, group: group)
    let complete = fanOut.delivered == fanOut.published * fanOut.tabs
    say(String(format: "fan-out: %.0f events/s published, %.0f deliveries/s to %d tabs; %d published, %d delivered (%@), %d resyncs",
                 median(fanOut.publishedPerSecond), median(fanOut.deliveredPerSecond), fanOut.tabs, fanOut.published, fanOut.delivered,
                 complete ? "all" : "expected \(fanOut.published * fanOut.tabs)", fanOut.resyncs))
    await setup.close()
    await gateway.stop()

    // 2. The ceiling and the peer, under the same load.
    let echo = try await startEchoServer()
    let echoLoad = try await measureThroughput(echo, .echo, clients: clients, runs: runs, window: window, warmUp: warmUp, group: group)
    describe("bare Hummingbird echo", echoLoad)
    await echo.stop()
    var socketIOLoad: Throughput?
    if let peer {
        let python = try await startSocketIOServer(peer: peer)
        socketIOLoad = try await measureThroughput(python, .socketIO, clients: clients, runs: runs, window: window, warmUp: warmUp, group: group)
        describe("python-socketio echo", socketIOLoad!)
        await python.stop()
    } else {
        say("python-socketio: skipped (BENCH_PYTHON_PEER is not set; scripts/bench.sh gateway installs it)")
    }

    // 3. Memory per idle socket, each on a fresh server.
    func idle(_ start: () async throws -> ServerProcess, _ flavor: Flavor) async throws -> IdleMemory {
        let server = try await start()
        let memory = try await measureIdleMemory(server, flavor, count: idleCount, group: group)
        await server.stop()
        say(String(format: "%@: %d idle sockets, RSS %.1f → %.1f MiB, %.1f KiB each", server.name, memory.connections,
                     Double(memory.before) / 1048576, Double(memory.after) / 1048576, memory.bytesPerConnection / 1024))
        return memory
    }
    let gatewayIdle = try await idle({ try await startGateway() }, .gateway)
    let echoIdle = try await idle(startEchoServer, .echo)
    var socketIOIdle: IdleMemory?
    if let peer { socketIOIdle = try await idle({ try await startSocketIOServer(peer: peer) }, .socketIO) }
    try await group.shutdownGracefully()

    // Report.
    let gatewayRate = median(gatewayLoad.perSecond), echoRate = median(echoLoad.perSecond)
    let socketIORate = socketIOLoad.map { median($0.perSecond) }
    let keyP99 = percentile(keystrokes, 0.99)
    let closing = String(format: "gateway/python-socketio messages-per-second ratio: %@ (gateway/bare-hummingbird %.2f)",
                         socketIORate.map { String(format: "%.1f", gatewayRate / $0) } ?? "n/a", gatewayRate / echoRate)
    func verdict(_ met: Bool) -> String { met ? "met" : "NOT met" }
    let goals = [
        socketIORate.map { String(format: "≥ 8× python-socketio: %@ (%.1f×)", verdict(gatewayRate / $0 >= 8), gatewayRate / $0) }
            ?? "≥ 8× python-socketio: not measured",
        String(format: "≥ 0.7 of bare Hummingbird: %@ (%.2f)", verdict(gatewayRate / echoRate >= 0.7), gatewayRate / echoRate),
        String(format: "≤ 40 KiB per idle connection: %@ (%.1f KiB)", verdict(gatewayIdle.bytesPerConnection <= 40 * 1024),
               gatewayIdle.bytesPerConnection / 1024),
        String(format: "keystroke p99 ≤ 5 ms: %@ (%.2f ms)", verdict(keyP99 <= 5), keyP99),
    ]
    let clientNote = String(format:
        "load client: one event-loop thread; it used %.2f cores against the gateway (which used %.2f) and %.2f against the bare echo (%.2f)",
        median(gatewayLoad.clientCores), median(gatewayLoad.serverCores), median(echoLoad.clientCores), median(echoLoad.serverCores))
    let summary = [
        closing,
        "goals: " + goals.joined(separator: "; "),
        String(format: "fan-out: %.0f events/s from one session to %d tabs = %.0f deliveries/s (%@ delivered, %d resyncs)",
               median(fanOut.publishedPerSecond), fanOut.tabs, median(fanOut.deliveredPerSecond), complete ? "all" : "NOT all", fanOut.resyncs),
        clientNote,
    ]

    let loads: [Throughput?] = [gatewayLoad, echoLoad, socketIOLoad]
    func cells(_ loads: [Throughput?], _ pick: (Throughput) -> Double, _ format: String) -> String {
        loads.map { load in load.map { String(format: format, pick($0)) } ?? "—" }.joined(separator: " | ")
    }
    func latency(_ load: Throughput?) -> String {
        load.map { String(format: "%.2f / %.2f ms", median($0.p50Milliseconds), median($0.p99Milliseconds)) } ?? "—"
    }
    func kib(_ memory: IdleMemory?) -> String {
        memory.map { String(format: "%.1f KiB (%.0f → %.0f MiB)", $0.bytesPerConnection / 1024, Double($0.before) / 1048576, Double($0.after) / 1048576) }
            ?? "—"
    }
    var table = [
        "| measure | HMA gateway | bare Hummingbird echo (ceiling) | python-socketio echo (peer) |",
        "|---|---:|---:|---:|",
        "| messages/s, \(clients) sockets × 1 request in flight (median) | " + cells(loads, { median($0.perSecond) }, "%.0f") + " |",
        "| the \(runs) runs, messages/s | " + loads.map { load in
            load.map { $0.perSecond.map { String(format: "%.0f", $0) }.joined(separator: ", ") } ?? "—"
        }.joined(separator: " | ") + " |",
        "| round trip p50 / p99 | \(latency(gatewayLoad)) | \(latency(echoLoad)) | \(latency(socketIOLoad)) |",
        "| server CPU, cores (of 2) | " + cells(loads, { median($0.serverCores) }, "%.2f") + " |",
        "| load client CPU, cores (one thread) | " + cells(loads, { median($0.clientCores) }, "%.2f") + " |",
        "| memory per idle socket, \(idleCount) sockets (RSS growth) | \(kib(gatewayIdle)) | \(kib(echoIdle)) | \(kib(socketIOIdle)) |",
        "",
        "| gateway only | result |",
        "|---|---|",
        String(format: "| terminal keystroke round trip (socket → gateway → mesh → sandboxed shell → back), %d keys, p50 / p99 | %.3f / %.2f ms |",
               keystrokes.count, percentile(keystrokes, 0.5), keyP99),
        String(format: "| session fan-out: `file_update` from %d sockets → `file_tree_update` to %d tabs (median) | %.0f events/s, %.0f deliveries/s; server %.2f cores, client %.2f |",
               publisherCount, fanOut.tabs, median(fanOut.publishedPerSecond), median(fanOut.deliveredPerSecond),
               median(fanOut.serverCores), median(fanOut.clientCores)),
    ]
    if socketIOLoad == nil { table.append("") ; table.append("python-socketio was not measured (BENCH_PYTHON_PEER unset).") }
    for line in table { say(line) }
    try writeBenchmarkSection(
        name: "gateway", command: "make bench-gateway",
        detail: "\(runs) × \(windowSeconds) s per point after 1 s warm-up, medians; every server its own process on 127.0.0.1; "
            + "load average \(loadBefore) before the run, \(loadAverage()) after",
        summary: summary, table: table)
    for line in summary.dropFirst() { say(line) }
    say(closing)
} catch {
    // Servers never outlive the run, even a failed one.
    say("gateway benchmark failed: \(error)")
    stopAllServers()
    exit(1)
}
