import ArgumentParser
import Foundation
import Gateway
import Logging
import Mesh
import ServiceLifecycle
import Storage
import UnixSignals

/// Options every cluster node takes (`hma worker`, `hma gateway`).
struct MeshNodeOptions: ParsableArguments {
    @Option(help: "This node's name; its certificate must be issued for it.")
    var name: String

    @Option(help: "Address and port to listen on for other nodes (HOST:PORT; port 0 picks one).")
    var listen: String = "127.0.0.1:0"

    @Option(help: "Host other nodes dial to reach this one, when it differs from the listen address.")
    var advertise: String?

    @Option(help: "Folder with ca.pem, node.pem and node.key (from `hma certs issue`).")
    var certs: String

    @Option(help: "Labels placement can pin actors to (KEY=VALUE, comma-separated), e.g. zone=eu,gpu=yes.")
    var labels: String?

    @Option(name: .customLong("join-timeout"), help: "Seconds to keep retrying the seeds (with backoff) before giving up.")
    var joinTimeout: Int = 300

    func meshSettings(roles: NodeRoles) throws -> MeshSettings {
        let nodeName: NodeName
        do { nodeName = try NodeName(name) } catch { throw ValidationError("\(error)") }
        let bind = try Endpoint(parsing: listen)
        var settings = MeshSettings(
            name: nodeName, roles: roles, bindHost: bind.host, bindPort: bind.port,
            credentials: try NodeCredentials(directory: certs))
        settings.advertisedHost = advertise
        settings.labels = try Self.parseLabels(labels ?? "")
        return settings
    }

    static func parseLabels(_ text: String) throws -> [String: String] {
        var labels: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("Label \(pair) is not KEY=VALUE.") }
            labels[parts[0]] = parts[1]
        }
        return labels
    }

    static func seeds(_ text: String) throws -> [Endpoint] {
        let seeds = try text.split(separator: ",").map { try Endpoint(parsing: String($0)) }
        guard !seeds.isEmpty else { throw ValidationError("--join needs at least one HOST:PORT.") }
        return seeds
    }

    /// Joins through the seeds, retrying with backoff and saying so on
    /// standard error; a clear error when none answers in time.
    static func join(_ mesh: MeshActorSystem, seeds: [Endpoint], timeout: Duration, logger: Logger) async throws {
        do {
            try await mesh.cluster.join(seeds, timeout: timeout) { attempt, error, delay in
                logger.warning("no seed answered; retrying", metadata: [
                    "attempt": "\(attempt)", "retry_in": "\(delay)", "error": "\(error)",
                ])
            }
        } catch {
            try? await mesh.shutdown()
            throw error
        }
        StandardOutput.line("\(mesh.node.name) joined through \(seeds.map(\.description).joined(separator: ", ")); mesh at \(mesh.endpoint)")
    }

    /// Prints each change of another member's state on standard output.
    static func announceMembers(of mesh: MeshActorSystem) -> Task<Void, Never> {
        Task {
            var seen: Set<String> = []
            for await member in mesh.cluster.changes() where member.node != mesh.node {
                let line = "member \(member.node.name) \(member.status)"
                if seen.insert(line).inserted || member.status == .up { StandardOutput.line(line) }
            }
        }
    }
}

/// `hma worker`: run a worker node (the default), or, on the gateway's
/// machine, drain one (docs/deploy.md).
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker node (the default), or drain or undrain one in the gateway's database.",
        subcommands: [WorkerRun.self, WorkerDrain.self, WorkerUndrain.self],
        defaultSubcommand: WorkerRun.self
    )
}

/// `hma worker`: a mesh node that joins a cluster (or a `hma dev` node) and
/// holds the projects its gateway places on it — their folders under
/// `<data dir>/projects`, sandboxes, git and terminals — serving them to
/// gateways only (docs/architecture.md, "Projects on workers").
struct WorkerRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a worker node that joins a cluster through seed nodes (for example a `hma dev` node). The default."
    )

    @OptionGroup var node: MeshNodeOptions

    @Option(help: "Seed nodes to join through (HOST:PORT, comma-separated).")
    var join: String

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let settings = try await NodeSettings.load(flags: common.configValues, configFile: common.config)
        let logger = Logs.bootstrap(level: try settings.logLevel())
        LanguageModelAnnouncement.log(environment: ProcessInfo.processInfo.environment, to: logger)
        let seeds = try MeshNodeOptions.seeds(join)
        let hosting = try ProjectHosting(settings: settings)
        let mesh = try await MeshActorSystem.start(try node.meshSettings(roles: [.worker]), logger: logger)
        // Ready before joining: the gateway may place a project here as
        // soon as it sees this node up.
        let host = hosting.start(on: mesh, logger: logger)
        AgentTurns.register(on: mesh, logger: logger)
        try await MeshNodeOptions.join(mesh, seeds: seeds, timeout: .seconds(node.joinTimeout), logger: logger)
        let announcer = MeshNodeOptions.announceMembers(of: mesh)
        let group = ServiceGroup(configuration: .init(
            services: [MeshService(mesh: mesh)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        announcer.cancel()
        // The sandboxes' processes end with the node.
        try? await host.closeAll()
    }
}

/// `hma worker drain NODE`: no new project is placed on NODE, and no new
/// agent once the gateway has told it (its upkeep pass); the projects and
/// agents it holds stay where they are and are served until it stops (run
/// on the gateway's machine, like `hma users`: it writes the gateway's
/// database, which the gateway reads at each placement and upkeep pass).
struct WorkerDrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain", abstract: "Stop placing new projects and agents on a worker (what it holds stays served).")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The worker's node name.") var node: String

    func run() async throws {
        guard (try? NodeName(node)) != nil else { throw ValidationError("\(node) is not a node name.") }
        let store = try await UsersCommand.openStore(common)
        try await store.drainNode(node)
        let held = try await store.projectCountsByHost()[node] ?? 0
        print("draining \(node): no new projects go there, and new agents go to other workers once the gateway tells it (within copies.interval); it holds \(held) project(s), served until it stops")
        print("draining now: \(try await store.drainedNodes().sorted().joined(separator: ", "))")
    }
}

/// `hma worker undrain NODE`: placement may use NODE again.
struct WorkerUndrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "undrain", abstract: "Let placement use a drained worker again.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The worker's node name.") var node: String

    func run() async throws {
        let store = try await UsersCommand.openStore(common)
        guard try await store.undrainNode(node) else { throw ValidationError("\(node) is not being drained.") }
        print("\(node) takes new projects (and agents) again")
    }
}

/// `hma status`: asks a node for its view of the cluster and prints it.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print the members of the cluster as a node sees them (name, state, roles, address)."
    )

    @Option(help: "The node to ask (HOST:PORT of its mesh listener).")
    var node: String

    @Option(help: "Folder with a certificate from the cluster CA (from `hma certs issue`), used as a client certificate.")
    var certs: String

    func run() async throws {
        var logger = Logger(label: "hma.status")
        logger.logLevel = .error
        let credentials = try NodeCredentials(directory: certs)
        guard let name = credentials.nodeName.flatMap({ try? NodeName($0) }) else {
            throw ValidationError("The certificate in \(certs) names no node; issue one with `hma certs issue`.")
        }
        let endpoint = try Endpoint(parsing: node)
        let mesh = try await MeshActorSystem.start(MeshSettings(name: name, roles: [], credentials: credentials), logger: logger)
        let target = try await mesh.node(at: endpoint)
        let status = try ClusterStatusActor.resolve(id: MeshActorID(node: target, endpoint: endpoint, path: ClusterStatusActor.path), using: mesh)
        let members = try await MeshActorSystem.withCallTimeout(.seconds(10)) { try await status.report() }
        StandardOutput.line("members as seen by \(target):")
        StandardOutput.line(StatusTable.render(members))
        try await mesh.shutdown()
    }
}

/// Keeps a mesh node running until graceful shutdown, then leaves the cluster.
struct MeshService: Service {
    let mesh: MeshActorSystem

    func run() async throws {
        try? await gracefulShutdown()
        try await mesh.shutdown()
    }
}

extension Endpoint {
    /// Parses "HOST:PORT" (IPv6 hosts in brackets: "[::1]:7420").
    init(parsing text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("\(text) is not HOST:PORT.")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("\(text) has no host.") }
        self.init(host: host, port: port)
    }
}

/// The member table `hma status` prints.
enum StatusTable {
    static func render(_ reports: [MemberReport]) -> String {
        let header = ["NAME", "STATE", "ROLES", "ADDRESS", "ACTORS", "CALLS/S", "LABELS"]
        let rows = reports.map { report -> [String] in
            let member = report.member
            return [
                member.node.name.rawValue, "\(member.status)", member.roles.names.isEmpty ? "-" : member.roles.names.joined(separator: ","),
                member.endpoint.description, report.load.map { "\($0.hostedActors)" } ?? "-",
                report.load.map { String(format: "%.1f", $0.callsPerSecond) } ?? "-",
                member.labels.isEmpty ? "-" : member.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.map { "  " + $0 }.joined(separator: "\n")
    }
}
