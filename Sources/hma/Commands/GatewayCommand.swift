import ArgumentParser
import Configuration
import Foundation
import Gateway
import Logging
import Mesh

/// `hma gateway`: a cluster's gateway node — the database, the web server
/// and a mesh node with the gateway role that workers join.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run a gateway node: database, web server, and the mesh listener workers join."
    )

    @OptionGroup var node: MeshNodeOptions

    @OptionGroup var common: CommonOptions

    @Option(help: "Other nodes to join through (HOST:PORT, comma-separated); none for the first node of a cluster.")
    var join: String?

    @Option(help: "Address and port of the web server (HOST:PORT; key http.host/http.port, default 127.0.0.1:8080).")
    var http: String?

    func run() async throws {
        var flags = common.configValues
        if let http {
            let endpoint = try Endpoint(parsing: http)
            flags["http.host"] = .init(.string(endpoint.host), isSecret: false)
            flags["http.port"] = .init(.int(endpoint.port), isSecret: false)
        }
        let settings = try await NodeSettings.load(flags: flags, configFile: common.config)
        let logger = Logs.bootstrap(level: try settings.logLevel())
        LanguageModelAnnouncement.log(environment: ProcessInfo.processInfo.environment, to: logger)
        let gateway = GatewayConfiguration(
            host: settings.string("http.host", default: "127.0.0.1"), port: try settings.int("http.port", default: 8080))
        let seeds = try join.map(MeshNodeOptions.seeds) ?? []
        try await GatewayNode.run(
            settings: settings, http: gateway, mesh: try node.meshSettings(roles: [.gateway]), seeds: seeds,
            joinTimeout: .seconds(node.joinTimeout), backupSeconds: try settings.int("backup.interval", default: 0),
            backupKeep: try settings.int("backup.keep", default: 7), logger: logger)
    }
}
