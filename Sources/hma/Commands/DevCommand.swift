import ArgumentParser
import Configuration
import Foundation
import Gateway
import Logging
import Mesh
import ServiceLifecycle
import UnixSignals
import Storage
import Workspace

/// `hma dev`: the whole system in one process on this machine, bound to
/// 127.0.0.1, with no configuration needed.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run HMA on this machine: one process, gateway and worker roles, bound to 127.0.0.1."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Address to listen on (key http.host, default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on; 0 picks a free one (key http.port, default 8080).")
    var port: Int?

    @Option(name: .customLong("mesh-port"), help: "Port of the mesh listener (mutual TLS; workers join here); 0 picks a free one (key mesh.port, default 7420).")
    var meshPort: Int?

    @Option(name: .customLong("backup-interval"), help: "Back the database up every N seconds; 0 turns it off (key backup.interval, default 0).")
    var backupInterval: Int?

    @Option(name: .customLong("backup-keep"), help: "How many periodic backups to keep (key backup.keep, default 7).")
    var backupKeep: Int?

    func run() async throws {
        var flags = common.configValues
        if let host { flags["http.host"] = .init(.string(host), isSecret: false) }
        if let port { flags["http.port"] = .init(.int(port), isSecret: false) }
        if let backupInterval { flags["backup.interval"] = .init(.int(backupInterval), isSecret: false) }
        if let backupKeep { flags["backup.keep"] = .init(.int(backupKeep), isSecret: false) }
        if let meshPort { flags["mesh.port"] = .init(.int(meshPort), isSecret: false) }
        let settings = try await NodeSettings.load(flags: flags, configFile: common.config)
        let logger = Logs.bootstrap(level: try settings.logLevel())
        LanguageModelAnnouncement.log(environment: ProcessInfo.processInfo.environment, to: logger)

        let gateway = GatewayConfiguration(
            host: settings.string("http.host", default: "127.0.0.1"),
            port: try settings.int("http.port", default: 8080))
        guard (0...65535).contains(gateway.port) else {
            throw ValidationError("The port must be between 0 and 65535 (got \(gateway.port)).")
        }
        let backupSeconds = try settings.int("backup.interval", default: 0)
        let backupKeep = try settings.int("backup.keep", default: 7)
        guard backupSeconds >= 0, backupKeep >= 1 else {
            throw ValidationError("backup.interval must be ≥ 0 and backup.keep ≥ 1.")
        }

        let meshPort = try settings.int("mesh.port", default: 7420)
        guard (0...65535).contains(meshPort) else {
            throw ValidationError("The mesh port must be between 0 and 65535 (got \(meshPort)).")
        }
        // The mesh: a dev CA and this node's certificate live under the data
        // dir, created on first start; workers join with certificates from it.
        let nodeName = try NodeName("dev")
        let certificates = (settings.dataDirectory as NSString).appendingPathComponent("certs")
        var meshSettings = MeshSettings(
            name: nodeName, roles: [.gateway, .worker], bindHost: settings.string("mesh.host", default: "127.0.0.1"),
            bindPort: meshPort, credentials: try NodeCredentials.loadOrCreateDev(directory: certificates, name: nodeName))
        meshSettings.advertisedHost = settings.string("mesh.advertise", default: meshSettings.bindHost)
        try await GatewayNode.run(
            settings: settings, http: gateway, mesh: meshSettings, seeds: [], joinTimeout: .zero,
            backupSeconds: backupSeconds, backupKeep: backupKeep, devUser: true, logger: logger)
    }
}

/// A gateway: the database, the HTTP server and a mesh node (`hma dev`
/// and `hma gateway`).
enum GatewayNode {
    static func run(
        settings: NodeSettings, http gateway: GatewayConfiguration, mesh meshSettings: MeshSettings, seeds: [Endpoint],
        joinTimeout: Duration, backupSeconds: Int, backupKeep: Int, devUser: Bool = false, logger: Logger
    ) async throws {
        let store: Store
        do {
            store = try Store(path: settings.databasePath, configuration: try settings.storeConfiguration())
        } catch {
            throw StorageFailure(error: error)
        }
        let schema = try await store.schemaVersion()
        logger.info("database open", metadata: ["path": "\(store.path)", "schema": "\(schema)"])
        let hosting = meshSettings.roles.contains(.worker) ? try ProjectHosting(settings: settings) : nil
        let metrics = GatewayMetrics()
        var meshSettings = meshSettings
        meshSettings.metricsFactory = metrics.factory
        let mesh = try await MeshActorSystem.start(meshSettings, logger: logger)
        AgentTurns.register(on: mesh, logger: logger)
        if !seeds.isEmpty { try await MeshNodeOptions.join(mesh, seeds: seeds, timeout: joinTimeout, logger: logger) }

        // A node with the worker role holds projects itself (`hma dev`);
        // a gateway alone places them on the workers that join it
        // (docs/architecture.md, "Projects on workers").
        let local = hosting.map { $0.start(on: mesh, logger: logger) }
        // A worker gone this long (not declared down) is lost: its projects
        // move (docs/architecture.md, "Project copies").
        let lostAfter = try settings.int("workers.lostAfter", default: 120)
        guard lostAfter > 0 else { throw ValidationError("workers.lostAfter must be positive (seconds)") }
        let hosts = ProjectHosts(store: store, mesh: mesh, local: local, absenceLimit: .seconds(lostAfter), logger: logger)
        var options = Gateway.Options()
        options.frontendDirectory = settings.string("http.frontend", default: FrontendFiles.defaultDirectory)
        // Limits (docs/operations.md, "Limits").
        options.maxConnectionsPerUser = try settings.int("limits.userConnections", default: options.maxConnectionsPerUser)
        options.maxRunsPerUser = try settings.int("limits.userRuns", default: options.maxRunsPerUser)
        options.connection.messagesPerSecond = try settings.double("limits.messagesPerSecond", default: options.connection.messagesPerSecond)
        options.connection.burst = max(options.connection.burst, options.connection.messagesPerSecond * 2)
        guard options.maxConnectionsPerUser > 0, options.maxRunsPerUser > 0, options.connection.messagesPerSecond > 0 else {
            throw ValidationError("limits.userConnections, limits.userRuns and limits.messagesPerSecond must be positive")
        }
        let restart = settings.string("runs.onRestart", default: "resume")
        guard let onRestart = RunManager.RestartPolicy(rawValue: restart) else {
            throw ValidationError("runs.onRestart is resume or ask (got \"\(restart)\")")
        }
        options.onRestart = onRestart
        let keys = try GatewayKeys.loadOrCreate(directory: settings.dataDirectory)
        let gatewayCore = Gateway(store: store, mesh: mesh, keys: keys, hosts: hosts, options: options, metrics: metrics, logger: logger)
        // Dev mode: one user, and a one-time sign-in link (like Jupyter's).
        var signInQuery = ""
        if devUser {
            let user = try await store.ensureUser(name: "dev")
            signInQuery = "?token=" + (try await gatewayCore.accounts.issue(.once, userId: user.id, label: "hma dev", lifetime: 86_400))
        }
        let signIn = signInQuery
        await gatewayCore.runs.resumeUnfinished()
        await gatewayCore.runs.watchWorkers()

        let app = GatewayServer.makeApplication(configuration: gateway, gateway: gatewayCore, logger: logger) { host, port in
            // Standard output, flushed: scripts and tests wait for this line.
            StandardOutput.line("HMA \(HMAVersion.current) is running. Open http://\(host):\(port)/\(signIn)")
        }
        // Listed after the server, so it stops first: clients are told and
        // runs reach a saved step before the server closes.
        var services: [any Service] = [app, GatewayDrainService(gateway: gatewayCore)]
        // Worker upkeep: projects' copies (docs/architecture.md, "Project
        // copies") and drains.
        let copySeconds = try settings.int("copies.interval", default: 10)
        guard copySeconds > 0 else { throw ValidationError("copies.interval must be positive (seconds)") }
        services.append(WorkerUpkeep(hosts: hosts, interval: .seconds(copySeconds)))
        // Retention (docs/operations.md, "Retention"): hourly by default.
        let retentionSeconds = try settings.int("retention.interval", default: 3600)
        if retentionSeconds > 0 {
            let policy = try RetentionPolicy(
                archiveAfterDays: try settings.double("retention.archiveDays", default: 30),
                compressAfterDays: try settings.double("retention.compressDays", default: 90),
                deleteAfterDays: try settings.double("retention.deleteDays", default: 180))
            services.append(RetentionService(store: store, hosts: hosts, policy: policy, interval: .seconds(retentionSeconds),
                                             runs: gatewayCore.runs, logger: logger))
        }
        if backupSeconds > 0 {
            let directory = (settings.dataDirectory as NSString).appendingPathComponent("backups")
            services.append(BackupService(
                store: store, directory: directory, interval: .seconds(backupSeconds), keep: backupKeep, logger: logger))
        }
        var lifecycle = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A shutdown is bounded: what has not drained after 20 s (a socket
        // whose peer never closes, a stuck call) is cancelled.
        lifecycle.maximumGracefulShutdownDuration = .seconds(20)
        let group = ServiceGroup(configuration: lifecycle)
        try await group.run()
        try await mesh.shutdown()
        try store.close()
        logger.info("stopped")
    }
}
