import Foundation
import ProcessTesting
import Synchronization
import Testing
@testable import Workspace

/// The docker backend against a real Engine API: podman's Docker-compatible
/// service (`podman system service`, runc runtime), started by the suite on
/// a socket of its own, with the image `scripts/prepare-sandbox-image.sh`
/// builds offline (run by `make test`). Root only, like podman here.
@Suite(.serialized, .enabled(if: PodmanService.installed, "needs root and podman"))
struct DockerSandboxTests {
    func makeSandbox(_ configure: (inout SandboxConfiguration) -> Void = { _ in }) async throws -> (TemporaryProject, DockerSandbox, PodmanService) {
        let service = try await PodmanService.start()
        let project = try TemporaryProject()
        chmod(project.outer, 0o755)
        var configuration = SandboxConfiguration()
        configuration.dockerSocket = service.socket
        configuration.dockerImage = PodmanService.image
        configure(&configuration)
        let number = sandboxCounter.add(1, ordering: .relaxed).newValue
        let sandbox = try DockerSandbox(projectRoot: project.root, projectID: "d\(getpid())-\(number)", uid: 270_000 + number, configuration: configuration)
        return (project, sandbox, service)
    }

    func sh(_ script: String) -> [String] { ["/bin/sh", "-c", script] }

    @Test func runsAsTheProjectsUidInTheProjectAndReportsExitStatusAndSignals() async throws {
        let (project, sandbox, service) = try await makeSandbox()
        defer { project.remove() }
        let id = try await sandbox.run(sh("id -u; id -g; pwd; echo made > made.txt; echo to-stderr >&2"))
        #expect(id.text == "\(sandbox.uid)\n\(sandbox.uid)\n/project\nto-stderr\n" && id.exitCode == 0, "\(id)")
        var info = stat()
        stat(project.root + "/made.txt", &info)
        #expect(info.st_uid == sandbox.uid, "files it writes belong to the project's uid")
        #expect(try await sandbox.run(sh("exit 3")).exitCode == 3)
        let signaled = try await sandbox.run(sh("kill -TERM $$"))
        #expect(signaled.signal == SIGTERM && signaled.exitCode == nil, "\(signaled)")
        #expect(try await service.containers(of: sandbox).isEmpty, "every container is removed after its command")
        await service.stop()
    }

    @Test func timeoutsAndCancellationKillTheContainer() async throws {
        let (project, sandbox, service) = try await makeSandbox()
        defer { project.remove() }
        var options = RunOptions()
        options.timeout = .seconds(1)
        let start = ContinuousClock.now
        let slow = try await sandbox.run(sh("sleep 100 & sleep 100; echo never"), options: options)
        #expect(slow.timedOut && slow.signal == SIGKILL && !slow.text.contains("never"), "\(slow)")
        #expect(ContinuousClock.now - start < .seconds(60), "killed at its deadline, not after its 100 s sleeps")
        options = RunOptions()
        options.maxOutputBytes = 1000
        let loud = try await sandbox.run(sh("head -c 500000 /dev/zero | tr '\\0' x"), options: options)
        #expect(loud.output.count == 1000 && loud.truncated && loud.exitCode == 0)
        // Cancelling the task kills and removes the container.
        let task = Task { try await sandbox.run(self.sh("echo started; sleep 100")) }
        try await service.waitForARunningContainer(of: sandbox)
        task.cancel()
        let cancelled = ContinuousClock.now
        let ended = try? await task.value
        #expect(ended?.signal == SIGKILL && ContinuousClock.now - cancelled < .seconds(60), "\(String(describing: ended))")
        #expect(try await service.containers(of: sandbox).isEmpty)
        await service.stop()
    }

    @Test func theContainerCannotReachTheHost() async throws {
        let (project, sandbox, service) = try await makeSandbox()
        defer { project.remove() }
        let marker = "hma-sandbox-escape-\(UUID().uuidString)"
        try Data("secret".utf8).write(to: URL(fileURLWithPath: project.outer + "/outside.txt"))
        let attempts = try await sandbox.run(sh("""
            cat \(project.outer)/outside.txt 2>/dev/null && echo READ-OUTSIDE
            ls /root 2>/dev/null | grep -q . && echo READ-ROOT
            cat /etc/shadow 2>/dev/null && echo READ-SHADOW
            touch /usr/\(marker) 2>/dev/null && echo WROTE-USR
            touch /\(marker) 2>/dev/null && echo WROTE-CONTAINER-ROOT
            echo x > /tmp/\(marker) && echo wrote-private-tmp
            """))
        #expect(attempts.text == "wrote-private-tmp\n", "\(attempts)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)"))

        let listener = try LoopbackListener()
        let network = try await sandbox.run(["/bin/bash", "-c", "echo hi 2>/dev/null > /dev/tcp/127.0.0.1/\(listener.port) && echo CONNECTED; tail -n +3 /proc/net/dev | cut -d: -f1"])
        #expect(!network.text.contains("CONNECTED"))
        #expect(network.text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["lo"], "only a loopback interface: \(network.text)")
        #expect(!listener.acceptedAnything)
        let capabilities = try await sandbox.run(sh("grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status"))
        #expect(capabilities.text == "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1\n", "\(capabilities.text)")
        await service.stop()
    }

    @Test func memoryAndPidsLimitsHold() async throws {
        let (project, sandbox, service) = try await makeSandbox { $0.limits.memoryBytes = 64 << 20; $0.limits.pids = 64 }
        defer { project.remove() }
        let hog = try await sandbox.run(sh("head -c 300M /dev/zero | tail > /dev/null; echo after $?"))
        #expect(hog.outOfMemory || hog.text.contains("after 137"), "the memory limit killed it: \(hog)")

        var options = RunOptions()
        options.timeout = .seconds(5)
        let bomb = try await sandbox.run(["/bin/bash", "-c", ":(){ :|:& };:"], options: options)
        #expect(bomb.timedOut || bomb.exitCode != nil)
        let limits = try await sandbox.run(sh("cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max"))
        #expect(limits.text == "64\n\(64 << 20)\n", "\(limits.text)")
        #expect(try await sandbox.run(sh("echo alive")).text == "alive\n", "contained: the engine still runs containers")
        await service.stop()
    }

    @Test func terminalsAttachEchoResizeEndAndAreLimited() async throws {
        let (project, sandbox, service) = try await makeSandbox { $0.maxTerminals = 2 }
        defer { project.remove() }
        let terminal = try await sandbox.openTerminal(rows: 24, columns: 80)
        let screen = TerminalScreen(terminal)
        try terminal.write(Data("echo hel''lo; id -u; stty size\n".utf8))
        try await screen.waitFor("hello")
        try await screen.waitFor("\(sandbox.uid)")
        try await screen.waitFor("24 80")
        try await terminal.resize(rows: 30, columns: 100)
        try terminal.write(Data("stty size; echo typed > typed.txt\n".utf8))
        try await screen.waitFor("30 100")

        let second = try await sandbox.openTerminal(rows: 24, columns: 80)
        await #expect(throws: SandboxError.tooManyTerminals(limit: 2)) { _ = try await sandbox.openTerminal(rows: 24, columns: 80) }
        try terminal.write(Data("exit 7\n".utf8))
        #expect(await terminal.exitStatus() == .init(exitCode: 7, signal: nil))
        #expect(try String(contentsOfFile: project.root + "/typed.txt", encoding: .utf8) == "typed\n")
        second.close()
        #expect(await second.exitStatus().signal == SIGKILL)
        #expect(throws: SandboxError.self) { try second.write(Data("late\n".utf8)) }
        #expect(try await service.containers(of: sandbox).isEmpty, "each terminal's container is removed before its end is reported")
        await service.stop()
    }

    @Test func anIdleTerminalIsClosed() async throws {
        let (project, sandbox, service) = try await makeSandbox { $0.terminalIdleTimeout = .seconds(1) }
        defer { project.remove() }
        let start = ContinuousClock.now  // before the session exists: its idle time counts from its start at the earliest
        let terminal = try await sandbox.openTerminal(rows: 24, columns: 80)
        #expect(await terminal.exitStatus().signal == SIGKILL)
        #expect(ContinuousClock.now - start >= .seconds(1), "not before it was idle for the timeout")
        sandbox.shutdown()
        await service.stop()
    }

    @Test func containersACrashedServerLeftAreRemovedWhenASandboxStarts() async throws {
        let (project, sandbox, service) = try await makeSandbox()
        defer { project.remove() }
        // A container of this project made by another server instance (one that crashed).
        var configuration = SandboxConfiguration()
        configuration.dockerImage = PodmanService.image
        var request = DockerRequests.create(command: ["sleep", "1000"], projectRoot: project.root, projectID: sandbox.projectID, uid: sandbox.uid,
                                            configuration: configuration, environment: [:])
        var body = try JSONDecoder().decode(DockerModels.ContainerConfig.self, from: request.body!)
        body.labels[DockerRequests.instanceLabel] = "a-server-that-crashed"
        request.body = try JSONEncoder().encode(body)
        let client = DockerEngineClient(socketPath: service.socket)
        let leftover = try DockerRequests.containerID(try await client.send(request))
        #expect(try await service.containers(of: sandbox) == [leftover])
        // This server's own container, made after the leftover: it stays.
        let own = try DockerRequests.containerID(try await client.send(DockerRequests.create(
            command: ["true"], projectRoot: project.root, projectID: sandbox.projectID, uid: sandbox.uid, configuration: configuration, environment: [:])))

        var next = SandboxConfiguration()
        next.dockerSocket = service.socket
        next.dockerImage = PodmanService.image
        _ = try DockerSandbox(projectRoot: project.root, projectID: sandbox.projectID, uid: sandbox.uid, configuration: next)
        #expect(try await service.containers(of: sandbox) == [own], "the crashed server's container is gone, this server's stays")
        _ = try await client.send(DockerRequests.remove(own))
        await service.stop()
    }

    @Test func anEngineErrorIsReportedNotHidden() async throws {
        let (project, sandbox, service) = try await makeSandbox { $0.dockerImage = "localhost/hma-no-such-image:never" }
        defer { project.remove() }
        let error = await #expect(throws: SandboxError.self) { _ = try await sandbox.run(["true"]) }
        #expect("\(String(describing: error))".contains("hma-no-such-image"), "the engine's reason is kept: \(String(describing: error))")
        await service.stop()
    }
}

/// `podman system service` on a socket in a temporary folder, with the runc
/// runtime (crun fails on this kernel setup).
final class PodmanService: Sendable {
    static let image = "localhost/hma-sandbox:bookworm"
    static var installed: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/podman") }

    let daemon: Daemon
    let folder: String
    var socket: String { folder + "/podman.sock" }

    private init(daemon: Daemon, folder: String) {
        self.daemon = daemon
        self.folder = folder
    }

    static func start() async throws -> PodmanService {
        let folder = NSTemporaryDirectory() + "hma-podman-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let socket = folder + "/podman.sock"
        let daemon = try Daemon(["/usr/bin/podman", "--runtime", "runc", "system", "service", "--time=0", "unix://" + socket], directory: folder, readySocket: socket)
        guard await daemon.waitForLine(containing: ["hma-daemon-ready"]) != nil else {
            throw PodmanUnavailable(reason: "podman system service did not start: \(daemon.process.standardError)")
        }
        let service = PodmanService(daemon: daemon, folder: folder)
        let images = try await DockerEngineClient(socketPath: socket).send(.init(method: "GET", path: "/v1.41/images/\(image)/json"))
        guard images.status == 200 else {
            throw PodmanUnavailable(reason: "no image \(image) (\(images.status) \(String(decoding: images.body.prefix(300), as: UTF8.self))): run scripts/prepare-sandbox-image.sh (make test does)")
        }
        return service
    }

    /// The ids of the containers the backend left behind (it labels them).
    func containers(of sandbox: DockerSandbox, status: String? = nil) async throws -> [String] {
        let label = "\(DockerRequests.projectLabel)=\(sandbox.projectID)"
        let filter = (status.map { #"{"label":["\#(label)"],"status":["\#($0)"]}"# } ?? #"{"label":["\#(label)"]}"#).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let response = try await DockerEngineClient(socketPath: socket).send(.init(method: "GET", path: "/v1.41/containers/json?all=1&filters=\(filter)"))
        let list = try JSONSerialization.jsonObject(with: response.body) as? [[String: Any]] ?? []
        return list.compactMap { $0["Id"] as? String }
    }

    /// Returns once a container of the backend is running. The engine's
    /// events stream would miss a start that happened before subscribing,
    /// so this asks for the list of running containers until one is there.
    func waitForARunningContainer(of sandbox: DockerSandbox) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await containers(of: sandbox, status: "running").isEmpty {
            guard ContinuousClock.now < deadline else { throw PodmanUnavailable(reason: "no container started within 20 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func stop() async {
        await daemon.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// A test that threw before `stop` still leaves nothing behind (the
    /// daemon itself stops when its supervisor's input closes).
    deinit { try? FileManager.default.removeItem(atPath: folder) }
}

struct PodmanUnavailable: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
