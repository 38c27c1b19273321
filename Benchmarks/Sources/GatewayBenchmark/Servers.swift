// The servers under load, each in its own process so its memory and CPU
// time can be read from /proc and the load client never shares it:
// `hma dev` (release build beside this binary), the bare Hummingbird echo
// (this binary re-run with --echo-server) and the python-socketio echo.
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import ProcessTesting
import Synchronization

/// Every server still running, so a failed run can end them.
private let runningServers = Mutex<[Int32: ChildProcess]>([:])

func stopAllServers() {
    for child in runningServers.withLock({ $0.values }) { child.signal(SIGKILL) }
}

/// The ceiling: a Hummingbird WebSocket server that sends every message
/// back, built the way the gateway builds its socket (a WebSocket router
/// with one `ws` route, `inbound.messages`, `outbound.write`) but with
/// nothing behind it.
func runEchoServer(port: Int) async throws {
    var logger = Logger(label: "echo")
    logger.logLevel = .warning
    let router = Router(context: BasicWebSocketRequestContext.self)
    router.ws("/ws") { inbound, outbound, _ in
        for try await message in inbound.messages(maxSize: 4 << 20) {
            switch message {
            case .text(let text): try await outbound.write(.text(text))
            case .binary(let bytes): try await outbound.write(.binary(bytes))
            }
        }
    }
    let app = Application(
        router: Router(),
        server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: .init(maxFrameSize: 4 << 20, autoPing: .enabled(timePeriod: .seconds(30))))),
        configuration: .init(address: .hostname("127.0.0.1", port: port)),
        onServerRunning: { channel in
            print("listening \(channel.localAddress?.port ?? port)")
            fflush(nil)
        },
        logger: logger)
    try await app.runService()
}

/// A server process under test.
final class ServerProcess: Sendable {
    let name: String
    let child: ChildProcess
    let port: Int
    /// Headers of an authenticated upgrade (the gateway's session cookie).
    let headers: [(String, String)]
    let folder: String?

    init(name: String, child: ChildProcess, port: Int, headers: [(String, String)] = [], folder: String? = nil) {
        self.name = name
        self.child = child
        self.port = port
        self.headers = headers
        self.folder = folder
        runningServers.withLock { $0[child.pid] = child }
    }

    var pid: Int32 { child.pid }

    /// Resident memory now (VmRSS), in bytes.
    func residentBytes() -> Int { ProcessStats.residentBytes(pid: pid) }
    /// User + system CPU time so far, in seconds.
    func cpuSeconds() -> Double { ProcessStats.cpuSeconds(pid: pid) }

    func stop() async {
        child.signal(SIGTERM)
        let stopped = Task { await child.exitStatus() }
        let deadline = Task {
            try await Task.sleep(for: .seconds(20))
            child.signal(SIGKILL)
        }
        _ = await stopped.value
        deadline.cancel()
        runningServers.withLock { _ = $0.removeValue(forKey: child.pid) }
        if let folder { try? FileManager.default.removeItem(atPath: folder) }
    }
}

enum ProcessStats {
    static func residentBytes(pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        let kib = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kib * 1024
    }

    /// utime + stime of a process from /proc/PID/stat (fields 14 and 15).
    static func cpuSeconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func selfCPUSeconds() -> Double { cpuSeconds(pid: getpid()) }
}

/// Waits for the child's line that contains `marker` (bounded).
func awaitLine(_ child: ChildProcess, containing marker: String, seconds: Int = 120, what: String) async throws -> String {
    let found = Task { await child.lines.first { $0.contains(marker) } }
    let timer = Task {
        try await Task.sleep(for: .seconds(seconds))
        found.cancel()
        child.signal(SIGKILL)
    }
    let line = await found.value
    timer.cancel()
    guard let line else { throw WebSocketFailure("\(what) printed no line with \(marker): \(child.standardError.suffix(2000))") }
    return line
}

let executableFolder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()

func startEchoServer() async throws -> ServerProcess {
    let child = try ChildProcess(executableFolder.appendingPathComponent("GatewayBenchmark"), ["--echo-server", "0"])
    let line = try await awaitLine(child, containing: "listening ", what: "the echo server")
    guard let port = Int(line.split(separator: " ").last ?? "") else { throw WebSocketFailure("echo server: \(line)") }
    return ServerProcess(name: "bare Hummingbird echo", child: child, port: port)
}

/// `python3 socketio_echo.py 0` with the peer's packages on PYTHONPATH.
func startSocketIOServer(peer: String) async throws -> ServerProcess {
    let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3", peer + "/socketio_echo.py", "0"],
                                 environment: ["PYTHONPATH": peer + "/site", "PYTHONUNBUFFERED": "1"])
    let line = try await awaitLine(child, containing: "listening ", what: "the python-socketio echo server")
    guard let port = Int(line.split(separator: " ").last ?? "") else { throw WebSocketFailure("socketio server: \(line)") }
    return ServerProcess(name: "python-socketio echo", child: child, port: port)
}

/// Limits raised for the benchmark (the defaults would refuse its load).
let gatewayEnvironment: [String: String] = [
    // 100 clients each sending hundreds of messages per second.
    "HMA_LIMITS_MESSAGES_PER_SECOND": "1000000",
    // 5,000 sockets of one user.
    "HMA_LIMITS_USER_CONNECTIONS": "10000",
    "HMA_DEMO_PAUSE_MS": "0",
]

/// A fresh `hma dev` on free ports, signed in like a browser: the session
/// cookie from `/?token=` is what every load socket presents.
func startGateway(environment base: [String: String] = gatewayEnvironment) async throws -> ServerProcess {
    let folder = NSTemporaryDirectory() + "hma-bench-gateway-\(UUID().uuidString)"
    var environment = base
    for key in ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENROUTER_API_KEY", "OLLAMA_HOST"] {
        environment[key] = ""
    }
    let child = try ChildProcess(executableFolder.appendingPathComponent("hma"),
                                 ["dev", "--data-dir", folder, "--port", "0", "--mesh-port", "0"], environment: environment)
    let line = try await awaitLine(child, containing: "http://", what: "hma dev")
    guard let url = URLComponents(string: String(line[line.range(of: "http://")!.lowerBound...])), let port = url.port,
          let token = url.queryItems?.first(where: { $0.name == "token" })?.value else {
        throw WebSocketFailure("hma dev printed no sign-in URL: \(line)")
    }
    let (status, headers) = try httpGet(port: port, path: "/?token=\(token)")
    guard status == 303, let cookie = headers.first(where: { $0.0.lowercased() == "set-cookie" })?.1 else {
        throw WebSocketFailure("sign-in answered \(status) without a cookie")
    }
    let session = String(cookie.split(separator: ";")[0])
    return ServerProcess(name: "HMA gateway", child: child, port: port, headers: [("Cookie", session)], folder: folder)
}
