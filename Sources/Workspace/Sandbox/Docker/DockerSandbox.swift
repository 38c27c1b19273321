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
/// through the attach API (an HTTP/1 upgrade to a raw stream). Engine
/// requests go through AsyncHTTPClient over the socket; the bodies are
/// Codable types (`DockerModels`). Containers left by a crashed server
/// (another instance's, same project) are removed when a sandbox starts.
public final class DockerSandbox: Sandbox {
    public let kind = SandboxKind.docker
    public let enforcement = LimitEnforcement(memory: .container, cpu: .container, pids: .container)
    public let projectRoot: String
    public let uid: UInt32
    let configuration: SandboxConfiguration
    let projectID: String
    private let client: DockerEngineClient
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
        client = DockerEngineClient(socketPath: configuration.dockerSocket)
        self.logger = logger
        terminals = TerminalRegistry(limit: configuration.maxTerminals, idleTimeout: configuration.terminalIdleTimeout)
        // First the containers a crashed server left (still running the
        // project's code), then the walk that gives the files to the uid.
        Self.removeLeftovers(of: projectID, client: client, logger: logger)
        try BwrapSandbox.giveFiles(at: projectRoot, to: uid)
        logger.info("docker sandbox ready", metadata: ["project": "\(projectID)", "image": "\(configuration.dockerImage)", "limits": "\(enforcement)"])
    }

    /// Removes the containers of `projectID` another server instance left
    /// (it crashed, or was killed, before removing them). Blocks for the
    /// engine's answers, which run on NIO's loops, not the caller's pool.
    private static func removeLeftovers(of projectID: String, client: DockerEngineClient, logger: Logger) {
        guard let listed = try? client.sendBlocking(DockerRequests.list(projectID: projectID)),
              let containers = try? listed.decode([DockerModels.Summary].self, "list") else { return }
        for container in containers where container.labels?[DockerRequests.instanceLabel] != DockerRequests.instance {
            let removed = try? client.sendBlocking(DockerRequests.remove(container.id))
            logger.info("removed a container a previous server left", metadata: [
                "container": "\(container.id)", "status": "\(removed.map { "\($0.status)" } ?? "no answer")"])
        }
    }

    public func run(_ command: [String], options: RunOptions = .init()) async throws -> RunResult {
        guard !command.isEmpty else { throw SandboxError.emptyCommand }
        let start = ContinuousClock.now
        let create = DockerRequests.create(command: command, projectRoot: projectRoot, projectID: projectID, uid: uid,
                                           configuration: configuration, environment: options.environment)
        let id = try DockerRequests.containerID(try await client.send(create))
        // Started, waited for and removed in a task of its own, which the
        // caller's cancellation does not cut short (that only kills the
        // container): no container outlives its run, and the result says
        // how it ended.
        let (client, logger) = (self.client, self.logger)
        let work = Task {
            let result: Result<RunResult, any Error>
            do {
                result = .success(try await self.runCreated(id, options: options, start: start))
            } catch {
                result = .failure(error)
            }
            let removed = try? await client.send(DockerRequests.remove(id))
            if removed.map({ $0.status != 204 && $0.status != 404 }) ?? true {
                logger.error("a container could not be removed", metadata: ["container": "\(id)", "status": "\(removed.map { "\($0.status)" } ?? "no answer")"])
            }
            return try result.get()
        }
        return try await withTaskCancellationHandler {
            try await work.value
        } onCancel: {
            Task { _ = try? await client.send(DockerRequests.kill(id)) }
        }
    }

    private func runCreated(_ id: String, options: RunOptions, start: ContinuousClock.Instant) async throws -> RunResult {
        try DockerRequests.checkStarted(try await client.send(DockerRequests.start(id)))
        let waiter = Task { try await client.send(DockerRequests.wait(id), timeout: nil) }  // as long as the command runs
        let deadline = Task { [client] () -> Bool in
            guard (try? await Task.sleep(for: options.timeout)) != nil else { return false }
            _ = try? await client.send(DockerRequests.kill(id))
            return true
        }
        let waited = try await waiter.value
        deadline.cancel()
        let timedOut = await deadline.value
        let status = (try? waited.decode(DockerModels.Waited.self, "wait"))?.statusCode ?? -1
        let inspect = try await client.send(DockerRequests.inspect(id))
        let outOfMemory = (try? inspect.decode(DockerModels.Inspected.self, "inspect"))?.state?.oomKilled ?? false
        // Read no more of the log than the cap needs (frame headers included).
        let logs = try await client.send(DockerRequests.logs(id), maxBytes: options.maxOutputBytes * 2 + (64 << 10))
        let output = DockerRequests.demultiplex(logs.body)
        let (exitCode, signal) = RunResult.ending(exitCode: Int32(status))
        return RunResult(exitCode: exitCode, signal: signal, output: output.prefix(options.maxOutputBytes),
                         truncated: output.count > options.maxOutputBytes || logs.cut, timedOut: timedOut, outOfMemory: outOfMemory,
                         duration: ContinuousClock.now - start)
    }

    /// Opens a shell in a new container of the project with a TTY.
    public func openTerminal(rows: UInt16, columns: UInt16) async throws -> TerminalSession {
        let (client, logger, live) = (self.client, self.logger, self.liveContainers)
        let create = DockerRequests.create(command: ["/bin/sh", "-c", "command -v bash >/dev/null && exec bash -i || exec sh -i"],
                                           projectRoot: projectRoot, projectID: projectID, uid: uid, configuration: configuration,
                                           environment: ["TERM": "xterm-256color"], terminal: true)
        return try await terminals.open { onEnd in
            let id = try DockerRequests.containerID(try await client.send(create))
            live.insert(id)
            let remove: @Sendable () -> Void = {
                let removed = try? client.sendBlocking(DockerRequests.remove(id))
                if removed.map({ $0.status == 204 || $0.status == 404 }) ?? false {
                    live.remove(id)
                } else {
                    logger.error("a terminal container could not be removed", metadata: ["container": "\(id)"])
                }
            }
            let stream: Int32
            do {
                // Attached before the start, so not a byte of the prompt is lost.
                stream = try await client.attach(DockerRequests.attach(id))
                do {
                    try DockerRequests.checkStarted(try await client.send(DockerRequests.start(id)))
                } catch {
                    Glibc.close(stream)
                    throw error
                }
                _ = try? await client.send(DockerRequests.resize(id, rows: rows, columns: columns))
            } catch {
                Thread.detachNewThread { remove() }
                throw error
            }
            return TerminalSession(
                descriptor: stream,
                resize: .elsewhere { rows, columns in
                    let response = try await client.send(DockerRequests.resize(id, rows: rows, columns: columns))
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
                    let status = waited.flatMap { try? $0.decode(DockerModels.Waited.self, "wait") }?.statusCode ?? -1
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

