import CoreMetrics
import NIOCore

/// How a `MeshActorSystem` runs. Every limit has a default fit for a LAN
/// cluster; see docs/wire-protocol.md §8 for what each bounds.
public struct MeshSettings: Sendable {
    public var name: NodeName
    public var roles: NodeRoles
    /// Address and port to bind; port 0 picks a free one.
    public var bindHost: String
    public var bindPort: Int
    /// The host other nodes dial (put in actor ids); defaults to `bindHost`.
    /// Keep it apart from the bind address behind NAT or when binding 0.0.0.0.
    public var advertisedHost: String?
    public var credentials: NodeCredentials
    /// Deadline of a call without its own (`withCallTimeout`).
    public var defaultCallTimeout: Duration = .seconds(30)
    /// Largest frame accepted from a peer; a larger declared length closes the connection.
    public var maxFrameLength: UInt32 = 16 << 20
    /// Bytes queued towards one peer before callers get `overloaded`.
    public var maxOutboundQueueBytes: Int = 8 << 20
    /// A connection that has not completed both handshakes by then is closed.
    public var handshakeTimeout: Duration = .seconds(10)
    public var connectTimeout: Duration = .seconds(5)
    /// A connection that reads nothing for this long is closed (members
    /// probe each other far more often; a silent peer holds resources).
    public var idleTimeout: Duration = .seconds(120)
    /// A frame must arrive whole within this long of its first bytes (a
    /// peer may not hold a 16 MiB partial frame open).
    public var frameTimeout: Duration = .seconds(30)
    /// Run received calls on the event loop of the connection that carried
    /// them (a default actor executes there; the reply is written without a
    /// thread hop). Turn off when actors do long CPU-bound work in their
    /// distributed functions: it would delay other traffic on that loop.
    public var inboundCallsOnEventLoop = true
    /// When a silent member is suspected and declared down.
    public var failureDetector = FailureDetectorSettings()
    /// How often a down member is sent our view, in case it was only cut
    /// off (a partition); a live one answers and comes back.
    public var reconnectInterval: Duration = .seconds(1)
    /// How long a down member is retried before it is removed for good.
    public var reconnectTimeout: Duration = .seconds(3600)
    /// How long a member that left or was removed is remembered (so stale
    /// gossip cannot bring it back) before it is forgotten.
    public var tombstoneTime: Duration = .seconds(600)
    /// Operator-given labels (`zone=eu`) placement can pin actors to.
    public var labels: [String: String] = [:]
    /// How long placement waits for a node's load before leaving it out.
    public var placementLoadTimeout: Duration = .seconds(2)
    /// A virtual actor with no calls for this long is deactivated (its
    /// kind's passivation hook runs first).
    public var virtualActorIdleTimeout: Duration = .seconds(300)
    /// Most local actors one node (all its starts together) may watch here.
    public var maxRemoteWatchesPerNode = 65_536
    /// Most actors one node may have spawned here (`spawn` past it is refused).
    public var maxSpawnsPerCaller = 10_000
    /// Where metrics go; the process-wide `MetricsSystem.factory` when nil.
    public var metricsFactory: (any MetricsFactory)?
    /// The event loops to run on; the process-wide singleton when nil.
    public var eventLoopGroup: (any EventLoopGroup)?
    /// For tests: called once for each connection, after TLS and before the
    /// mesh handler, to add a handler of their own (fault injection such as
    /// dropped frames). Nil in production: frames pay for no check.
    public var connectionTap: (@Sendable (any Channel) throws -> Void)?

    public init(name: NodeName, roles: NodeRoles = [.gateway, .worker], bindHost: String = "127.0.0.1", bindPort: Int = 0,
                credentials: NodeCredentials) {
        self.name = name
        self.roles = roles
        self.bindHost = bindHost
        self.bindPort = bindPort
        self.credentials = credentials
    }
}
