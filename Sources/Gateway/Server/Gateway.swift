import Foundation
import Logging
import Mesh
import Storage
import Providers
import ServiceLifecycle
import Synchronization
import Workspace

/// Everything the gateway's connections share: the database, accounts,
/// session hubs, runs and the project host (docs/architecture.md, "Gateway").
public final class Gateway: Sendable {
    public struct Options: Sendable {
        public var connection = ConnectionLimits()
        public var maxConnectionsPerUser = 50
        public var maxRunsPerUser = 3
        /// What a restart does with runs that were working.
        public var onRestart = RunManager.RestartPolicy.resume
        /// Allowed `Origin`s besides the gateway's own address (a proxy's public name).
        public var allowedOrigins: [String] = []
        /// How long a terminal outlives the socket that showed it (a tab
        /// that reloads attaches again meanwhile).
        public var detachedTerminalLifetime: TimeInterval = 600
        /// How long a `download_project` link works.
        public var downloadLinkLifetime: TimeInterval = 300
        /// Where the built web IDE is (served at `/`).
        public var frontendDirectory: String?
        public init() {}
    }

    public let store: Store
    public let mesh: MeshActorSystem
    public let accounts: Accounts
    let keys: GatewayKeys
    public let hubs: SessionHubs
    public let runs: RunManager
    /// Where each project is held, and how to reach its host.
    public let hosts: ProjectHosts
    public let options: Options
    public let metrics: GatewayMetrics
    let environment: [String: String]
    let logger: Logger
    let connectionCounts = ConnectionCounter()
    /// Every terminal's owner, socket and recent output.
    let terminals: TerminalRouter
    /// The gateway's end of all terminals' output (project hosts call it).
    let terminalOutput: TerminalOutputActor
    let live = LiveConnections()
    let draining = DrainFlag()

    public init(store: Store, mesh: MeshActorSystem, keys: GatewayKeys, hosts: ProjectHosts, options: Options = .init(),
                metrics: GatewayMetrics = GatewayMetrics(), environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) {
        self.store = store
        self.mesh = mesh
        self.keys = keys
        self.hosts = hosts
        self.options = options
        self.logger = logger
        self.environment = environment
        accounts = Accounts(store: store)
        hubs = SessionHubs()
        self.metrics = metrics
        runs = RunManager(store: store, hubs: hubs, hosts: hosts, node: mesh.node.name.rawValue, metrics: metrics,
                          environment: environment, maxRunsPerUser: options.maxRunsPerUser, onRestart: options.onRestart, logger: logger)
        ProjectHostActor.registerTypes(on: mesh)
        let terminals = TerminalRouter(detachedLifetime: options.detachedTerminalLifetime)
        self.terminals = terminals
        terminalOutput = TerminalOutputActor(actorSystem: mesh) { id, data in
            terminals.output(id, data)
        } onEnd: { id, code in
            terminals.ended(id, exitCode: code)
        }
    }

    /// Closes, once their time is up, the terminals no tab has attached.
    func closeDetachedTerminals(after lifetime: TimeInterval) {
        Task { [terminals, hosts] in
            try? await Task.sleep(for: .seconds(lifetime))
            for id in terminals.expired() {
                let projectId = terminals.project(of: id)
                terminals.remove(id)
                if let projectId { try? await hosts.host(for: projectId).closeTerminal(terminalId: id) }
            }
        }
    }

    /// Whether the demo model is what runs use (no provider configured).
    var usesDemoModel: Bool {
        let configured = try? ProviderConfiguration.fromEnvironment(environment)
        return configured?.preferred.kind ?? .demo == .demo
    }

    /// Graceful shutdown: refuse new work, tell every client, let runs
    /// reach a persisted step.
    public func shutdown() async {
        draining.set()
        let sockets = live.all
        logger.info("draining: telling every socket the gateway is going away", metadata: ["sockets": "\(sockets.count)"])
        for connection in sockets { connection.goAway() }
        await runs.shutdown()
        logger.info("draining: runs saved")
        try? await hosts.local?.closeAll()
        logger.info("draining: projects closed", metadata: ["sockets still open": "\(live.all.count)"])
    }
}

/// Connections per user, for the per-user limit.
final class ConnectionCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    func add(_ userId: String, limit: Int) -> Bool {
        counts.withLock { counts in
            let current = counts[userId, default: 0]
            guard current < limit else { return false }
            counts[userId] = current + 1
            return true
        }
    }

    func remove(_ userId: String) {
        counts.withLock { counts in
            counts[userId, default: 1] -= 1
            if counts[userId] == 0 { counts.removeValue(forKey: userId) }
        }
    }
}

final class DrainFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

/// Open sockets, to tell them when the gateway stops.
final class LiveConnections: Sendable {
    private let connections = Mutex<[UUID: ClientConnection]>([:])
    func add(_ connection: ClientConnection) { connections.withLock { $0[connection.id] = connection } }
    func remove(_ connection: ClientConnection) { _ = connections.withLock { $0.removeValue(forKey: connection.id) } }
    var all: [ClientConnection] { connections.withLock { Array($0.values) } }
}

/// Runs until the service group shuts down, then drains the gateway
/// before the HTTP server stops (services stop in reverse order: list it
/// after the server).
public struct GatewayDrainService: Service {
    let gateway: Gateway
    public init(gateway: Gateway) { self.gateway = gateway }

    public func run() async throws {
        try? await gracefulShutdown()
        await gateway.shutdown()
    }
}

/// Where the built web IDE is looked for (key http.frontend).
public enum FrontendFiles {
    public static let defaultDirectory = "frontend/dist"
}
