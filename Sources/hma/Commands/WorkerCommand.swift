import ArgumentParser
import Foundation
import Logging
import Mesh
import ServiceLifecycle
import UnixSignals

/// `hma worker`: a mesh node that joins a cluster (or a `hma dev` node) and
/// hosts workspaces and agents placed on it.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker node that joins a cluster through seed nodes (for example a `hma dev` node)."
    )

    @Option(help: "This node's name; its certificate must be issued for it.")
    var name: String

    @Option(help: "Address and port to listen on for other nodes (HOST:PORT; port 0 picks one).")
    var listen: String = "127.0.0.1:0"

    @Option(help: "Host other nodes dial to reach this one, when it differs from the listen address.")
    var advertise: String?

    @Option(help: "Seed nodes to join through (HOST:PORT, comma-separated).")
    var join: String

    @Option(help: "Folder with ca.pem, node.pem and node.key (from `hma certs issue`).")
    var certs: String

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("Unknown log level \(logLevel).") }
        let logger = Logs.bootstrap(level: level)
        let nodeName: NodeName
        do { nodeName = try NodeName(name) } catch { throw ValidationError("\(error)") }
        let bind = try Endpoint(parsing: listen)
        let seeds = try join.split(separator: ",").map { try Endpoint(parsing: String($0)) }
        guard !seeds.isEmpty else { throw ValidationError("--join needs at least one HOST:PORT.") }
        var settings = MeshSettings(
            name: nodeName, roles: [.worker], bindHost: bind.host, bindPort: bind.port,
            credentials: try NodeCredentials(directory: certs))
        settings.advertisedHost = advertise
        let mesh = try await MeshActorSystem.start(settings, logger: logger)
        try await mesh.cluster.join(seeds)
        StandardOutput.line("\(nodeName) joined through \(seeds.map(\.description).joined(separator: ", ")); mesh at \(mesh.endpoint)")
        let announcer = Task {
            var seen: Set<String> = []
            for await member in mesh.cluster.changes() where member.node != mesh.node {
                let line = "member \(member.node.name) \(member.status)"
                if seen.insert(line).inserted { StandardOutput.line(line) }
            }
        }
        let group = ServiceGroup(configuration: .init(
            services: [MeshService(mesh: mesh)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        announcer.cancel()
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
        let members = try await MeshActorSystem.withCallTimeout(.seconds(10)) { try await status.members() }
        StandardOutput.line("members as seen by \(target):")
        for member in members {
            let roles = [member.roles.contains(.gateway) ? "gateway" : nil, member.roles.contains(.worker) ? "worker" : nil].compactMap { $0 }
            StandardOutput.line("  \(member.node.name)  \(member.status)  \(roles.isEmpty ? "-" : roles.joined(separator: ","))  \(member.endpoint)")
        }
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
