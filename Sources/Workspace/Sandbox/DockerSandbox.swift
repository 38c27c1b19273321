import Foundation
import Logging
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
/// Terminals need the attach API over a hijacked connection, which this
/// backend does not have yet: `openTerminal` says so.
public final class DockerSandbox: Sandbox {
    public let kind = SandboxKind.docker
    public let enforcement = LimitEnforcement(memory: .container, cpu: .container, pids: .container)
    public let projectRoot: String
    public let uid: UInt32
    let configuration: SandboxConfiguration
    let projectID: String
    private let client: UnixHTTPClient

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
        try BwrapSandbox.giveFiles(at: projectRoot, to: uid)
        logger.info("docker sandbox ready", metadata: ["project": "\(projectID)", "image": "\(configuration.dockerImage)", "limits": "\(enforcement)"])
    }

    public func run(_ command: [String], options: RunOptions = .init()) async throws -> RunResult {
        guard !command.isEmpty else { throw SandboxError.emptyCommand }
        let start = ContinuousClock.now
        let create = DockerRequests.create(command: command, projectRoot: projectRoot, uid: uid, configuration: configuration, environment: options.environment)
        let created = try await client.send(create)
        guard created.status == 201, let id = (try? JSONSerialization.jsonObject(with: created.body) as? [String: Any])?["Id"] as? String else {
            throw SandboxError.launchFailed("docker create: \(created.status) \(String(decoding: created.body, as: UTF8.self))")
        }
        defer { Task { [client] in _ = try? await client.send(DockerRequests.remove(id)) } }
        let started = try await client.send(DockerRequests.start(id))
        guard started.status == 204 || started.status == 304 else {
            throw SandboxError.launchFailed("docker start: \(started.status) \(String(decoding: started.body, as: UTF8.self))")
        }
        let waiter = Task { try await client.send(DockerRequests.wait(id)) }
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
        let logs = try await client.send(DockerRequests.logs(id))
        let output = DockerRequests.demultiplex(logs.body)
        let (exitCode, signal) = RunResult.ending(exitCode: Int32(status))
        return RunResult(exitCode: exitCode, signal: signal, output: output.prefix(options.maxOutputBytes),
                         truncated: output.count > options.maxOutputBytes, timedOut: timedOut, outOfMemory: outOfMemory,
                         duration: ContinuousClock.now - start)
    }

    public func openTerminal(rows: UInt16, columns: UInt16) throws -> TerminalSession {
        throw SandboxError.unavailable(.docker, reason: "terminals need the Engine attach API, which the docker backend does not have yet; use bwrap")
    }

    public func shutdown() {}
}

/// The Engine API requests of the docker backend (no I/O; tested alone).
enum DockerRequests {
    struct Request: Equatable {
        var method: String
        var path: String
        var body: Data?
    }

    static let version = "v1.41"

    static func create(command: [String], projectRoot: String, uid: UInt32, configuration: SandboxConfiguration, environment: [String: String]) -> Request {
        var variables = ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/project", "LANG=C.UTF-8"]
        variables += environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let hostConfig: [String: Any] = [
            "Binds": ["\(projectRoot):/project:rw"],
            "Memory": configuration.limits.memoryBytes,
            "MemorySwap": configuration.limits.memoryBytes,
            "NanoCpus": Int(configuration.limits.cpus * 1_000_000_000),
            "PidsLimit": configuration.limits.pids,
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
            "Tty": false, "HostConfig": hostConfig,
            "Labels": ["dev.hma.project": URL(fileURLWithPath: projectRoot).lastPathComponent],
        ]
        let data = try! JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return Request(method: "POST", path: "/\(version)/containers/create", body: data)
    }

    static func start(_ id: String) -> Request { Request(method: "POST", path: "/\(version)/containers/\(id)/start") }
    static func wait(_ id: String) -> Request { Request(method: "POST", path: "/\(version)/containers/\(id)/wait") }
    static func kill(_ id: String) -> Request { Request(method: "POST", path: "/\(version)/containers/\(id)/kill?signal=KILL") }
    static func inspect(_ id: String) -> Request { Request(method: "GET", path: "/\(version)/containers/\(id)/json") }
    static func logs(_ id: String) -> Request { Request(method: "GET", path: "/\(version)/containers/\(id)/logs?stdout=1&stderr=1") }
    static func remove(_ id: String) -> Request { Request(method: "DELETE", path: "/\(version)/containers/\(id)?force=1") }

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
    }

    func send(_ request: DockerRequests.Request) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try self.blockingSend(request) })
            }
        }
    }

    private func blockingSend(_ request: DockerRequests.Request) throws -> Response {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SandboxError.launchFailed("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        _ = withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            socketPath.utf8CString.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(buffer.count - 1))) }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw SandboxError.unavailable(.docker, reason: "cannot connect to \(socketPath): \(String(cString: strerror(errno)))") }
        var head = "\(request.method) \(request.path) HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
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
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            response.append(contentsOf: buffer[0..<count])
        }
        return try Self.parse(response)
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
            while let lineEnd = body[index...].range(of: Data("\r\n".utf8)) {
                let size = Int(String(decoding: body[index..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";")[0], radix: 16) ?? 0
                if size == 0 { break }
                let start = lineEnd.upperBound
                guard body.endIndex - start >= size else { break }
                decoded.append(body[start..<(start + size)])
                index = start + size + 2
            }
            body = decoded
        }
        return Response(status: status, body: body)
    }
}
