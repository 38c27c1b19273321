import Foundation
import Gateway
import GatewayTesting
import MeshTesting
import ProcessTesting
import Storage
import Testing

/// `hma gateway` and `hma worker`s as processes on loopback, each with its
/// own data folder under one temporary folder, and a client signed in with
/// an API token. The gateway can be killed and started again on the same
/// ports, as an operator's restart would.
final class ProcessCluster: @unchecked Sendable {
    let folder: String
    let certs: CertificateFolder
    let httpPort: Int
    let meshPort: Int
    let environment: [String: String]
    private(set) var gateway: ChildProcess
    private(set) var token: String
    private(set) var client: ProtocolClient
    var mesh: String { "127.0.0.1:\(meshPort)" }

    private init(folder: String, certs: CertificateFolder, httpPort: Int, meshPort: Int, environment: [String: String],
                 gateway: ChildProcess, token: String, client: ProtocolClient) {
        self.folder = folder
        self.certs = certs
        self.httpPort = httpPort
        self.meshPort = meshPort
        self.environment = environment
        self.gateway = gateway
        self.token = token
        self.client = client
    }

    static func start(demoPauseMilliseconds: Int = 1, settings: [String: String] = [:]) async throws -> ProcessCluster {
        let certs = try CertificateFolder()
        let base = Int.random(in: 20_000..<40_000)
        // Copies every second: a test waits for one instead of ten.
        let environment = ProjectsOnWorkersTests.quietEnvironment.merging(
            ["HMA_DEMO_PAUSE_MS": "\(demoPauseMilliseconds)", "HMA_COPIES_INTERVAL": "1"]) { $1 }.merging(settings) { $1 }
        let gateway = try await startGateway(folder: certs.folder, certs: certs, httpPort: base, meshPort: base + 1, environment: environment)
        // A user and an API token, from the gateway's own database.
        let users = try ChildProcess(ChildProcess.executable("hma"), ["users", "add", "ada", "--data-dir", certs.folder + "/gw"])
        var token: String?
        while token == nil, let line = await users.lines.next() {
            if line.hasPrefix("token ") { token = String(line.dropFirst(6)) }
        }
        #expect(try await within(30, "hma users add") { await users.exitStatus() } == 0)
        let signedIn = try #require(token)
        let client = try await connect(port: base, token: signedIn)
        return ProcessCluster(folder: certs.folder, certs: certs, httpPort: base, meshPort: base + 1, environment: environment,
                              gateway: gateway, token: signedIn, client: client)
    }

    private static func startGateway(folder: String, certs: CertificateFolder, httpPort: Int, meshPort: Int,
                                     environment: [String: String]) async throws -> ChildProcess {
        let gateway = try ChildProcess(ChildProcess.executable("hma"), [
            "gateway", "--name", "gw", "--listen", "127.0.0.1:\(meshPort)", "--certs", try certs.directory(for: "gw"),
            "--http", "127.0.0.1:\(httpPort)", "--data-dir", folder + "/gw", "--log-level", "warning"], environment: environment)
        let ready = try await within(60, "the gateway to serve") { await gateway.lines.first { $0.contains("is running. Open http://") } }
        _ = try #require(ready, "gateway: \(gateway.standardError)")
        return gateway
    }

    static func connect(port: Int, token: String) async throws -> ProtocolClient {
        let client = try await ProtocolClient.connect(port: port, headers: ["Authorization": "Bearer \(token)"])
        #expect(try await client.request("hello", ["clientVersion": "tests"]).type == "welcome")
        return client
    }

    /// SIGKILL, then the same gateway again (same ports and data); a new client.
    func killAndRestartGateway() async throws {
        gateway.signal(SIGKILL)
        _ = await gateway.exitStatus()
        await client.close()
        gateway = try await Self.startGateway(folder: folder, certs: certs, httpPort: httpPort, meshPort: meshPort, environment: environment)
        client = try await Self.connect(port: httpPort, token: token)
    }

    func worker(_ name: String, certificates: String? = nil, expectJoin: Bool = true, logLevel: String = "error") async throws -> ChildProcess {
        let worker = try ChildProcess(ChildProcess.executable("hma"), [
            "worker", "--name", name, "--join", mesh, "--certs", try certificates ?? certs.directory(for: name),
            "--data-dir", folder + "/" + name, "--join-timeout", "5", "--log-level", logLevel], environment: environment)
        if expectJoin {
            let seen = try await within(30, "\(name) to see the gateway") { await worker.lines.first { $0 == "member gw up" } }
            #expect(seen != nil, "\(name): \(worker.standardError)")
        }
        return worker
    }

    /// The members the gateway reports, by name, with their state.
    func members() async throws -> [String: String] {
        let status = try await client.request("cluster_status")
        var members: [String: String] = [:]
        for node in status.payload["nodes"]?.arrayValue ?? [] {
            if let name = node["name"]?.stringValue { members[name] = node["state"]?.stringValue }
        }
        return members
    }

    /// Waits until the gateway sees `count` members up.
    func waitForMembers(_ count: Int) async throws {
        try await within(30, "the gateway to see \(count) members up") {
            while try await self.members().values.filter({ $0 == "up" }).count != count {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Waits until the gateway's copy of `project` holds `path` with
    /// `content` (read from its database, as a restore would).
    func waitForCopy(of project: String, toHold path: String, _ content: String) async throws {
        let store = try Store(path: folder + "/gw/hma.sqlite")
        defer { try? store.close() }
        do {
            try await within(60, "the gateway's copy of \(project) to hold \(path)") {
                while try await store.projectCopyDigests(projectId: project)[path] != CopiedFile.digest(Data(content.utf8)) {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        } catch {
            Issue.record("the copy holds \(try await store.projectCopyDigests(projectId: project)); gateway: \(gateway.standardError.suffix(3000))")
            throw error
        }
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: folder + "/" + path) }

    /// Every file of a project on `node` with its content (`.hma` left out).
    func files(of project: String, on node: String) throws -> [String: Data] {
        let root = folder + "/" + node + "/projects/" + project
        var files: [String: Data] = [:]
        for path in try FileManager.default.subpathsOfDirectory(atPath: root) where !path.hasPrefix(".hma") && !path.hasPrefix(".git") {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isFolder), !isFolder.boolValue,
               !path.contains("__pycache__") {
                files[path] = try Data(contentsOf: URL(fileURLWithPath: root + "/" + path))
            }
        }
        return files
    }

    func stop(_ processes: [ChildProcess]) async throws {
        await client.close()
        for process in processes + [gateway] {
            process.signal(SIGTERM)
            _ = try? await within(30, "a node to exit") { await process.exitStatus() }
        }
        try? FileManager.default.removeItem(atPath: folder)
    }
}
