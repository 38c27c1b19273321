import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The `docker` backend: each command is a container made through the
/// Docker Engine API on its unix socket (podman's compatible service
/// works too), with the same isolation as the bwrap backend expressed as
/// container options: the project's uid, no network, all capabilities
/// dropped, no new privileges, a read-only root with a private /tmp, only
/// the project directory mounted writable, and memory, nano-CPU and pids
/// limits.
///
/// Terminals are containers with a TTY the engine allocates, reached
/// through the attach API on a hijacked connection (raw bytes both ways
/// once the engine answers the upgrade).
public final class DockerSandbox: Sandbox {
    public let kind = SandboxKind.docker
    public let enforcement = LimitEnforcement(memory: .container, cpu: .container, pids: .container)
    public let projectRoot: String
    public let uid: UInt32
    let configuration: SandboxConfiguration
    let projectID: String
    private let client: UnixHTTPClient
    private let terminals: TerminalRegistry
    private let logger: Logger
    /// Terminal containers not yet removed: `shutdown` removes what is left.
    private let liveContainers = LiveContainers()

    public init(projectRoot: String, projectID: String, uid: UInt32, configuration: SandboxConfiguration,
                logger: Logger = Logger(label: "hma.sandbox")) throws {
        guard FileManager.default.fileExists(atPath: configuration.dockerSocket) else {
            throw SandboxError.unavailable(.docker, reason: "no Docker Engine socket at \(configuration.dockerSocket)")
        }
        self.projectRoot = projectRoot
        self.projectID = projectID
        self.uid = uid
        self.configuration = configuration
        client = UnixHTTPClient(socketPath: configuration.dockerSocket)
        self.logger = logger
        terminals = TerminalRegistry(limit: configuration.maxTerminals, idleTimeout: configuration.terminalIdleTimeout)
        try BwrapSandbox.giveFiles(at: projectRoot, to: uid)
        logger.info("docker sandbox ready", metadata: ["project": "\(projectID)", "image": "\(configuration.dockerImage)", "limits": "\(enforcement)"])
    }

    public func run(_ command: [String], options: RunOptions = .init()) async throws -> RunResult {
        guard !command.isEmpty else { throw SandboxError.emptyCommand }
        let start = ContinuousClock.now
        let create = DockerRequests.create(command: command, projectRoot: projectRoot, projectID: projectID, uid: uid,
                                           configuration: configuration, environment: options.environment)
        let id = try DockerRequests.containerID(try await client.send(create))
        // The container goes before the result is returned, whatever ended
        // the command (no container outlives its run).
        let result: Result<RunResult, any Error>
        do {
            result = .success(try await runCreated(id, options: options, start: start))
        } catch {
            result = .failure(error)
        }
        let removed = try? await client.send(DockerRequests.remove(id))
        if removed.map({ $0.status != 204 && $0.status != 404 }) ?? true {
            logger.error("a container could not be removed", metadata: ["container": "\(id)", "status": "\(removed.map { "\($0.status)" } ?? "no answer")"])
        }
        return try result.get()
    }

    private func runCreated(_ id: String, options: RunOptions, start: ContinuousClock.Instant) async throws -> RunResult {
        try DockerRequests.checkStarted(try await client.send(DockerRequests.start(id)))
        let waiter = Task { try await client.send(DockerRequests.wait(id), timeout: nil) }  // as long as the command runs
        let deadline = Task { [client] () -> Bool in
            guard (try? await Task.sleep(for: options.timeout)) != nil else { return false }
            _ = try? await client.send(DockerRequests.kill(id))
            return true
        }
        let waited = try await withTaskCancellationHandler {
            try await waiter.value
        } onCancel: {
            Task { [client] in _ = try? await client.send(DockerRequests.kill(id)) }
        }
        deadline.cancel()
        let timedOut = await deadline.value
        let status = ((try? JSONSerialization.jsonObject(with: waited.body) as? [String: Any])?["StatusCode"] as? Int) ?? -1
        let inspect = try await client.send(DockerRequests.inspect(id))
        let state = ((try? JSONSerialization.jsonObject(with: inspect.body) as? [String: Any])?["State"] as? [String: Any]) ?? [:]
        let outOfMemory = state["OOMKilled"] as? Bool ?? false
        // Read no more of the log than the cap needs (frame headers included).
        let logs = try await client.send(DockerRequests.logs(id), maxBytes: options.maxOutputBytes * 2 + (64 << 10))
        let output = DockerRequests.demultiplex(logs.body)
        let (exitCode, signal) = RunResult.ending(exitCode: Int32(status))
        return RunResult(exitCode: exitCode, signal: signal, output: output.prefix(options.maxOutputBytes),
                         truncated: output.count > options.maxOutputBytes || logs.cut, timedOut: timedOut, outOfMemory: outOfMemory,
                         duration: ContinuousClock.now - start)
    }

    /// Opens a shell in a new container of the project with a TTY. Blocks
    /// for the few engine requests that make it (create, attach, start),
    /// each bounded by the client's request timeout.
    public func openTerminal(rows: UInt16, columns: UInt16) throws -> TerminalSession {
        try terminals.open { onEnd in
            let shell = ["/bin/sh", "-c", "command -v bash >/dev/null && exec bash -i || exec sh -i"]
            let create = DockerRequests.create(command: shell, projectRoot: projectRoot, projectID: projectID, uid: uid, configuration: configuration,
                                               environment: ["TERM": "xterm-256color"], terminal: true)
            let id = try DockerRequests.containerID(try client.sendBlocking(create))
            let client = self.client, logger = self.logger, live = self.liveContainers
            live.insert(id)
            let remove: @Sendable () -> Void = {
                let removed = try? client.sendBlocking(DockerRequests.remove(id))
                if removed.map({ $0.status == 204 || $0.status == 404 }) ?? false {
                    live.remove(id)
                } else {
                    logger.error("a terminal container could not be removed", metadata: ["container": "\(id)"])
                }
            }
            var stream: Int32 = -1
            do {
                // Attached before the start, so not a byte of the prompt is lost.
                stream = try client.hijack(DockerRequests.attach(id))
                try DockerRequests.checkStarted(try client.sendBlocking(DockerRequests.start(id)))
                _ = try? client.sendBlocking(DockerRequests.resize(id, rows: rows, columns: columns))
            } catch {
                if stream >= 0 { Glibc.close(stream) }
                remove()
                throw error
            }
            return TerminalSession(
                descriptor: stream,
                resize: { _, rows, columns in
                    let response = try client.sendBlocking(DockerRequests.resize(id, rows: rows, columns: columns))
                    guard response.status == 200 || response.status == 201 else {
                        throw SandboxError.launchFailed("resize: \(response.status) \(String(decoding: response.body, as: UTF8.self))")
                    }
                },
                // Not on the caller's thread: idle reaping runs on the concurrency pool.
                terminate: { Thread.detachNewThread { _ = try? client.sendBlocking(DockerRequests.kill(id)) } },
                waitForExit: {
                    // The attach stream ended: the shell exited, or the stream
                    // broke with the container still running — then it is killed.
                    var waited = try? client.sendBlocking(DockerRequests.wait(id), timeout: .seconds(10))
                    if waited == nil {
                        _ = try? client.sendBlocking(DockerRequests.kill(id))
                        waited = try? client.sendBlocking(DockerRequests.wait(id), timeout: .seconds(10))
                    }
                    let status = waited.flatMap { (try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any])?["StatusCode"] as? Int } ?? -1
                    remove()
                    let (exitCode, signal) = RunResult.ending(exitCode: Int32(status))
                    return TerminalSession.TerminalExit(exitCode: exitCode, signal: signal)
                },
                onEnd: onEnd)
        }
    }

    /// Ends every terminal and removes their containers before returning.
    public func shutdown() {
        terminals.closeAll()
        for id in liveContainers.all {
            if let removed = try? client.sendBlocking(DockerRequests.remove(id)), removed.status == 204 || removed.status == 404 {
                liveContainers.remove(id)
            }
        }
    }

    deinit { shutdown() }
}

/// Container ids, shared with terminal reader threads.
final class LiveContainers: Sendable {
    private let ids = Mutex<Set<String>>([])
    func insert(_ id: String) { _ = ids.withLock { $0.insert(id) } }
    func remove(_ id: String) { _ = ids.withLock { $0.remove(id) } }
    var all: [String] { ids.withLock { Array($0) } }
}

/// The Engine API requests of the docker backend (no I/O; tested alone).
enum DockerRequests {
    struct Request: Equatable {
        var method: String
        var path: String
        var body: Data?
        /// Asks the engine to hand the connection over to a raw stream.
        var upgrade = false
    }

    static let version = "v1.41"

    /// The `nproc` rlimit: room for every terminal and a command of the
    /// project at its pids limit.
    static func processLimit(_ configuration: SandboxConfiguration) -> Int {
        max(4096, configuration.limits.pids * (configuration.maxTerminals + 2))
    }

    /// - Parameter terminal: a TTY and an open standard input (a shell the
    ///   user types into through `attach`).
    static func create(command: [String], projectRoot: String, projectID: String, uid: UInt32, configuration: SandboxConfiguration,
                       environment: [String: String], terminal: Bool = false) -> Request {
        var variables = ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/project", "LANG=C.UTF-8"]
        variables += environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let hostConfig: [String: Any] = [
            "Binds": ["\(projectRoot):/project:rw"],
            "Memory": configuration.limits.memoryBytes,
            "MemorySwap": configuration.limits.memoryBytes,
            "NanoCpus": Int(configuration.limits.cpus * 1_000_000_000),
            "PidsLimit": configuration.limits.pids,
            // Explicit, or runc fails on hosts whose own limits are below the
            // engine's defaults. nproc counts every process of the uid on
            // the host, so it is set well above PidsLimit (which contains a
            // fork bomb): one container's bomb must not stop the next start.
            "Ulimits": [["Name": "nofile", "Soft": configuration.limits.openFiles, "Hard": configuration.limits.openFiles],
                        ["Name": "nproc", "Soft": DockerRequests.processLimit(configuration), "Hard": DockerRequests.processLimit(configuration)]],
            // The engine's copy of the output stays small (the caller keeps maxOutputBytes).
            "LogConfig": ["Type": "", "Config": ["max-size": "8m"]],
            "NetworkMode": configuration.allowNetwork ? "bridge" : "none",
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "ReadonlyRootfs": true,
            "Tmpfs": ["/tmp": "rw,nosuid,nodev,size=256m"],
            "Init": true,
        ]
        let body: [String: Any] = [
            "Image": configuration.dockerImage, "Cmd": command, "WorkingDir": "/project", "User": "\(uid):\(uid)",
            "Env": variables, "NetworkDisabled": !configuration.allowNetwork, "AttachStdout": true, "AttachStderr": true,
            "Tty": terminal, "OpenStdin": terminal, "AttachStdin": terminal, "StdinOnce": false, "HostConfig": hostConfig,
            "Labels": ["dev.hma.project": projectID],
        ]
        let data = try! JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return Request(method: "POST", path: "/\(version)/containers/create", body: data)
    }

    static func start(_ id: String) -> Request { Request(method: "POST", path: "/\(version)/containers/\(id)/start") }
    static func wait(_ id: String) -> Request { Request(method: "POST", path: "/\(version)/containers/\(id)/wait") }
    static func kill(_ id: String) -> Request { Request(method: "POST", path: "/\(version)/containers/\(id)/kill?signal=KILL") }
    static func inspect(_ id: String) -> Request { Request(method: "GET", path: "/\(version)/containers/\(id)/json") }
    static func logs(_ id: String) -> Request { Request(method: "GET", path: "/\(version)/containers/\(id)/logs?stdout=1&stderr=1") }
    /// With its anonymous volumes (an image's VOLUME would otherwise outlive it).
    static func remove(_ id: String) -> Request { Request(method: "DELETE", path: "/\(version)/containers/\(id)?force=1&v=1") }
    static func attach(_ id: String) -> Request {
        Request(method: "POST", path: "/\(version)/containers/\(id)/attach?stream=1&stdin=1&stdout=1&stderr=1", upgrade: true)
    }
    static func resize(_ id: String, rows: UInt16, columns: UInt16) -> Request {
        Request(method: "POST", path: "/\(version)/containers/\(id)/resize?h=\(rows)&w=\(columns)")
    }

    /// The new container's id from a `create` answer, or the engine's reason.
    static func containerID(_ response: UnixHTTPClient.Response) throws -> String {
        guard response.status == 201, let id = (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["Id"] as? String else {
            throw SandboxError.launchFailed("docker create: \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        }
        return id
    }

    static func checkStarted(_ response: UnixHTTPClient.Response) throws {
        guard response.status == 204 || response.status == 304 else {
            throw SandboxError.launchFailed("docker start: \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        }
    }

    /// The logs of a container without a TTY come in frames: a byte for the
    /// stream, three zero bytes, a big-endian u32 length, then the bytes.
    static func demultiplex(_ data: Data) -> Data {
        var output = Data()
        var index = data.startIndex
        while data.endIndex - index >= 8 {
            let length = data[(index + 4)..<(index + 8)].reduce(0) { $0 << 8 | Int($1) }
            let start = index + 8
            guard data.endIndex - start >= length else { break }
            output.append(data[start..<(start + length)])
            index = start + length
        }
        return output
    }
}

/// HTTP/1.1 over a unix socket, one connection per request, on a thread of
/// its own (the Engine's `wait` blocks for as long as the command runs).
struct UnixHTTPClient: Sendable {
    let socketPath: String

    struct Response: Sendable {
        var status: Int
        var body: Data
        /// The body was longer than the caller wanted and was cut.
        var cut = false
    }

    /// An engine that stops answering fails the request after this.
    static let requestTimeout: Duration = .seconds(30)

    /// Sends `request` on a thread of its own (a `wait` blocks for as long
    /// as the command runs: pass `timeout: nil`). At most `maxBytes` of the
    /// answer are read.
    func send(_ request: DockerRequests.Request, timeout: Duration? = requestTimeout, maxBytes: Int = 64 << 20) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try self.sendBlocking(request, timeout: timeout, maxBytes: maxBytes) })
            }
        }
    }

    /// The same, on the calling thread.
    func sendBlocking(_ request: DockerRequests.Request, timeout: Duration? = requestTimeout, maxBytes: Int = 64 << 20) throws -> Response {
        let fd = try connectAndSend(request, timeout: timeout)
        defer { close(fd) }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var cut = false
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                throw SandboxError.launchFailed("the container engine did not answer \(request.method) \(request.path) within \(timeout ?? .zero)")
            }
            if count <= 0 { break }
            response.append(contentsOf: buffer[0..<count])
            if response.count >= maxBytes {
                cut = true
                break
            }
        }
        var parsed = try Self.parse(response)
        parsed.cut = cut
        return parsed
    }

    /// Sends an upgrading request (attach) and returns the connection once
    /// the engine has answered, positioned at the first byte of the stream.
    func hijack(_ request: DockerRequests.Request) throws -> Int32 {
        let fd = try connectAndSend(request, timeout: Self.requestTimeout)
        // The head is read a byte at a time so no stream byte is taken with it.
        var head = Data()
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual("\r\n\r\n".utf8) {
            let count = recv(fd, &byte, 1, 0)
            if count < 0 && errno == EINTR { continue }
            guard count == 1, head.count < 16 << 10 else {
                close(fd)
                throw SandboxError.launchFailed("docker attach: the engine closed the connection")
            }
            head.append(byte)
        }
        let status = (try? Self.parse(head))?.status ?? 0
        guard status == 101 || status == 200 else {
            close(fd)
            throw SandboxError.launchFailed("docker attach: \(String(decoding: head, as: UTF8.self).prefix(200))")
        }
        Self.setTimeout(fd, nil)  // the stream itself may stay quiet for as long as the user does
        return fd
    }

    /// Bounds (or, with nil, unbounds) each receive and send on `fd`.
    private static func setTimeout(_ fd: Int32, _ timeout: Duration?) {
        let (seconds, attoseconds) = (timeout ?? .zero).components
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    private func connectAndSend(_ request: DockerRequests.Request, timeout: Duration?) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SandboxError.launchFailed("socket: \(String(cString: strerror(errno)))") }
        Self.setTimeout(fd, timeout)
        var handedOver = false
        defer { if !handedOver { close(fd) } }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        _ = withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            socketPath.utf8CString.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(buffer.count - 1))) }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw SandboxError.unavailable(.docker, reason: "cannot connect to \(socketPath): \(String(cString: strerror(errno)))") }
        var head = "\(request.method) \(request.path) HTTP/1.1\r\nHost: docker\r\n"
        head += request.upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "Connection: close\r\n"
        if let body = request.body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" } else { head += "Content-Length: 0\r\n" }
        var message = Data((head + "\r\n").utf8)
        if let body = request.body { message.append(body) }
        try message.withUnsafeBytes { buffer in
            var sent = 0
            while sent < buffer.count {
                let count = Glibc.send(fd, buffer.baseAddress! + sent, buffer.count - sent, Int32(MSG_NOSIGNAL))
                guard count > 0 else { throw SandboxError.launchFailed("send: \(String(cString: strerror(errno)))") }
                sent += count
            }
        }
        handedOver = true
        return fd
    }

    /// Parses a complete HTTP/1.1 response (Content-Length, chunked, or to the end).
    static func parse(_ response: Data) throws -> Response {
        guard let split = response.range(of: Data("\r\n\r\n".utf8)) else { throw SandboxError.launchFailed("a malformed HTTP response") }
        let head = String(decoding: response[..<split.lowerBound], as: UTF8.self)
        var body = Data(response[split.upperBound...])
        let lines = head.components(separatedBy: "\r\n")
        guard let status = lines.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw SandboxError.launchFailed("a malformed HTTP status line")
        }
        if lines.contains(where: { $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked") }) {
            var decoded = Data()
            var index = body.startIndex
            // A truncated body (a cut read) keeps what arrived whole.
            while index < body.endIndex, let lineEnd = body[index...].range(of: Data("\r\n".utf8)) {
                let sizeField = String(decoding: body[index..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeField.trimmingCharacters(in: .whitespaces), radix: 16), size > 0 else { break }
                let start = lineEnd.upperBound
                guard body.endIndex - start >= size else {
                    decoded.append(body[start...])
                    break
                }
                decoded.append(body[start..<(start + size)])
                index = min(body.endIndex, start + size + 2)
            }
            body = decoded
        }
        return Response(status: status, body: body)
    }
}
