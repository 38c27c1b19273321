import CoreMetrics
import Distributed
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A `DistributedActorSystem` whose remote calls travel over TCP + TLS 1.3
/// (mutual, cluster CA) in the binary protocol of docs/wire-protocol.md.
///
/// - Local calls go straight to the actor: no encoding, no network.
/// - Remote calls are encoded with the binary codec, sent over the one
///   association to the target node (opened on first use, reopened on the
///   next call after it drops), and await their reply until their deadline
///   (`MeshSettings.defaultCallTimeout`, or `withCallTimeout`).
/// - Calls from one sender to one recipient are executed in the order sent.
/// - Calls in flight when a connection drops fail at once with
///   `MeshError.nodeUnreachable`.
/// - Only types registered in `registry` are decoded from the wire.
public final class MeshActorSystem: DistributedActorSystem, Sendable {
    public typealias ActorID = MeshActorID
    public typealias InvocationEncoder = MeshInvocationEncoder
    public typealias InvocationDecoder = MeshInvocationDecoder
    public typealias ResultHandler = MeshResultHandler
    public typealias SerializationRequirement = any Codable

    public let node: NodeID
    /// Where other nodes reach this one (the listener's advertised address).
    public let endpoint: Endpoint
    public let settings: MeshSettings
    public let registry = TypeRegistry()
    /// Call targets allowed from the wire (the binary's distributed functions).
    let targets = DistributedTargets()
    /// Calls handed to the runtime's `executeDistributedTarget` (tests check
    /// that refused targets never are).
    let runtimeInvocations = Atomic<UInt64>(0)
    let logger: Logger
    let group: any EventLoopGroup
    let clientTLS: NIOSSLContext
    private let listener: any Channel
    private let localActors = Mutex<[String: WeakActor]>([:])
    private let associations = Mutex<[String: Association]>([:])
    /// Per peer, the one inbound connection kept besides the canonical
    /// association (both nodes dialled; the peer retires its own soon). A
    /// further one replaces it, so a peer cannot hold unlimited connections.
    private let secondaryInbound = Mutex<[String: Association]>([:])
    private let pathCounter = Atomic<UInt64>(0)
    /// Membership and failure detection (join seeds, watch members).
    public let cluster: Cluster
    /// Cluster-wide registry of actors under typed keys.
    public let receptionist: Receptionist
    /// Actors addressed by kind and key, activated where placement says.
    public let virtualActors: VirtualActors
    let watches: LifecycleWatches
    let host: ActorHost
    /// Well-known system actors, kept alive for the node's lifetime (made
    /// once the system exists: they are actors of it).
    private let systemActors = Mutex<[any DistributedActor]>([])
    /// Kinds of actors this node can spawn or activate on request.
    public let kinds = ActorKinds()
    /// Where this node placed actors lately (`choosePlacement` counts them
    /// until the nodes' loads include them).
    let recentPlacements = Mutex<[(node: NodeName, at: ContinuousClock.Instant)]>([])
    static let placementMemory: Duration = .seconds(5)
    let metrics: MeshMetrics

    /// Set by `shutdown`: no new connections are made after it.
    private let stopped = Atomic(false)

    /// Decodes values from the wire; distributed actor references in them
    /// resolve through this system.
    var binaryDecoder: BinaryDecoder {
        var decoder = BinaryDecoder()
        decoder.userInfo[.actorSystemKey] = self
        return decoder
    }

    final class WeakActor: Sendable {
        nonisolated(unsafe) weak var actor: (any DistributedActor)?
        init(_ actor: any DistributedActor) { self.actor = actor }
    }

    /// Path the next actor initialised in this task gets (well-known actors).
    @TaskLocal public static var nextActorPath: String?
    /// Deadline for calls made in this task.
    @TaskLocal public static var callTimeout: Duration?
    /// When true, void remote calls in this task are sent one-way: they
    /// return once queued and never report the outcome.
    @TaskLocal public static var oneWay = false

    /// Starts a node: binds the mesh listener and returns once it accepts
    /// connections.
    /// - Throws: when the certificate is not for `settings.name`, or the
    ///   address cannot be bound.
    public static func start(_ settings: MeshSettings, logger: Logger = Logger(label: "hma.mesh")) async throws -> MeshActorSystem {
        guard let certified = settings.credentials.identity else {
            throw MeshError.handshakeRejected("the node certificate names no node (is it from `hma certs issue`?)")
        }
        guard certified.name == settings.name.rawValue else {
            throw MeshError.handshakeRejected("the certificate is for node \(certified.name), not \(settings.name)")
        }
        guard certified.roles.isSuperset(of: settings.roles) else {
            throw MeshError.handshakeRejected(
                "node \(settings.name) runs as \(settings.roles.names.joined(separator: ", ")) but its certificate grants \(certified.roles.isEmpty ? "no role (issued before roles; reissue it)" : certified.roles.names.joined(separator: ", ")) — `hma certs issue \(settings.name) --role …`")
        }
        guard DistributedTargets.isAvailable else {
            throw MeshError.unsupported("this Swift runtime has no swift_findAccessibleFunction: call targets cannot be checked before the runtime demangles them")
        }
        let group = settings.eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        let serverTLS = try NIOSSLContext(configuration: settings.credentials.tlsConfiguration(server: true))
        let clientTLS = try NIOSSLContext(configuration: settings.credentials.tlsConfiguration(server: false))
        let node = NodeID(name: settings.name)
        let box = SystemBox()
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 << 10, high: 1 << 20))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let system = box.system else { throw MeshError.nodeUnreachable(node: "self", reason: "starting") }
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: serverTLS))
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: TimeAmount(settings.idleTimeout)))
                    try settings.connectionTap?(channel)
                    try channel.pipeline.syncOperations.addHandler(
                        MeshConnectionHandler(system: system, role: .acceptor, association: nil))
                }
            }
            .bind(host: settings.bindHost, port: settings.bindPort).get()
        let port = listener.localAddress?.port ?? settings.bindPort
        let system = MeshActorSystem(
            node: node, endpoint: Endpoint(host: settings.advertisedHost ?? settings.bindHost, port: port),
            settings: settings, logger: logger, group: group, clientTLS: clientTLS, listener: listener)
        // Only now may accepted connections reach the system: a frame
        // handled before the system actors exist would find none.
        system.startServices()
        box.system = system
        logger.info("mesh listening", metadata: ["node": "\(node)", "endpoint": "\(system.endpoint)"])
        return system
    }

    private init(node: NodeID, endpoint: Endpoint, settings: MeshSettings, logger: Logger, group: any EventLoopGroup,
                 clientTLS: NIOSSLContext, listener: any Channel) {
        self.node = node
        self.endpoint = endpoint
        self.settings = settings
        self.logger = logger
        self.group = group
        self.clientTLS = clientTLS
        self.listener = listener
        self.metrics = MeshMetrics(factory: settings.metricsFactory ?? MetricsSystem.factory, node: node.name)
        // The services are made here, before the system exists, and reach
        // it through the link bound below (SystemLink: owned, no cycle).
        let link = SystemLink()
        cluster = Cluster(link: link, node: node, endpoint: endpoint, settings: settings)
        watches = LifecycleWatches(link: link)
        receptionist = Receptionist(link: link)
        host = ActorHost(link: link)
        virtualActors = VirtualActors(link: link)
        link.bind(self)
    }

    /// Makes the well-known system actors (they are actors of this
    /// system, so they come after it) and starts the services' timers.
    private func startServices() {
        registry.register(ReceptionistSnapshot.self)
        registry.register(VirtualKey.self)
        registry.register(VirtualActivation.self)
        registry.register(NodeLoad.self)
        registry.register(MemberReport.self)
        registry.registerError(PlacementError.self, name: "hma.PlacementError")
        func make<A: DistributedActor>(_ path: String, _ body: () -> A) -> A {
            MeshActorSystem.$nextActorPath.withValue(path, operation: body)
        }
        let systemActors: [any DistributedActor] = [
            make(ClusterStatusActor.path) { ClusterStatusActor(actorSystem: self) },
            make(LifecycleActor.path) { LifecycleActor(actorSystem: self) },
            make(ReceptionistActor.path) { ReceptionistActor(actorSystem: self) },
            make(HostActor.path) { HostActor(actorSystem: self) },
            make(DirectoryActor.path) { DirectoryActor(actorSystem: self) },
        ]
        self.systemActors.withLock { $0 = systemActors }
        let (cluster, watches, receptionist, virtualActors) = (self.cluster, self.watches, self.receptionist, self.virtualActors)
        let metrics = self.metrics
        // Weak: the cluster keeps its listeners.
        cluster.addListener { [weak cluster] member in
            watches.memberChanged(member)
            receptionist.memberChanged(member)
            virtualActors.memberChanged(member)
            metrics.recordMembers(cluster?.members ?? [])
        }
        metrics.recordMembers(cluster.members)
        cluster.start()
        receptionist.start()
        host.start()
    }

    /// Drains this node, or stops draining it: while draining, its load
    /// says so and placement anywhere in the cluster puts new actors (and
    /// virtual actors' activations) on other nodes when any fits; actors
    /// already here stay (docs/cluster.md, "Remote spawn and placement").
    public func setDraining(_ draining: Bool) {
        host.draining.store(draining, ordering: .relaxed)
    }

    /// Whether this node is being drained.
    public var isDraining: Bool { host.draining.load(ordering: .relaxed) }

    /// Whether a live local actor has this path.
    func isLocalActorAlive(path: String) -> Bool {
        localActors.withLock { $0[path]?.actor != nil }
    }

    /// Records the outbound queue of every association (called every second).
    func recordQueueDepths() {
        let queues = associations.withLock { $0.map { ($0.key, $0.value) } }
        for (peer, association) in queues { metrics.recordQueueDepth(peer: peer, bytes: association.queuedBytes) }
    }

    /// Stops listening and closes every connection; calls in flight fail
    /// with `nodeUnreachable`.
    /// Members are told this node left (they see `left`, not `down`).
    public func shutdown() async throws {
        stopped.store(true, ordering: .relaxed)
        cluster.stop()
        receptionist.stop()
        host.stop()
        try? await listener.close()
        let all = associations.withLock { associations in
            defer { associations.removeAll() }
            return Array(associations.values)
        } + secondaryInbound.withLock { secondary in
            defer { secondary.removeAll() }
            return Array(secondary.values)
        }
        cluster.leave(over: all)
        let closed = all.compactMap(\.channelClosed)
        for association in all {
            association.sendControl(.goodbye) { CloseMessage(code: 0, reason: "node shutting down").write(to: &$0) }
            association.close(.nodeUnreachable(node: association.peerName, reason: "local node shut down"))
        }
        // Return once the goodbyes (and the `left` gossip before them) are
        // written, so a process that exits right after does not cut them off;
        // a peer that does not read gets a second.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for future in closed { try? await future.get() } }
            group.addTask { try? await Task.sleep(for: .seconds(1)) }
            await group.next()
            group.cancelAll()
        }
    }

    var handshakeMessage: HandshakeMessage {
        HandshakeMessage(node: node, roles: settings.roles, maxFrameLength: settings.maxFrameLength)
    }

    // MARK: - Identity

    public func assignID<Act>(_ actorType: Act.Type) -> MeshActorID where Act: DistributedActor, MeshActorID == Act.ID {
        let path = Self.nextActorPath ?? "/user/\(Act.self)-\(pathCounter.wrappingAdd(1, ordering: .relaxed).newValue)"
        return MeshActorID(node: node, endpoint: endpoint, path: path)
    }

    public func actorReady<Act>(_ actor: Act) where Act: DistributedActor, MeshActorID == Act.ID {
        localActors.withLock { $0[actor.id.path] = WeakActor(actor) }
    }

    public func resignID(_ id: MeshActorID) {
        localActors.withLock { actors in
            if actors[id.path]?.actor == nil || actors[id.path]?.actor.map({ ($0.id as? MeshActorID) == id }) == true {
                actors.removeValue(forKey: id.path)
            }
        }
        watches.resigned(id)
        receptionist.resigned(id)
    }

    public func resolve<Act>(id: MeshActorID, as actorType: Act.Type) throws -> Act? where Act: DistributedActor, MeshActorID == Act.ID {
        guard id.node == node else { return nil }  // a remote reference
        guard let actor = localActors.withLock({ $0[id.path]?.actor }) else {
            throw MeshError.actorNotFound(id.description)
        }
        guard let typed = actor as? Act else {
            throw MeshError.actorNotFound("\(id) is a \(type(of: actor)), not a \(Act.self)")
        }
        return typed
    }

    // MARK: - Outbound calls

    public func makeInvocationEncoder() -> MeshInvocationEncoder { MeshInvocationEncoder() }

    public func remoteCall<Act, Err, Res>(
        on actor: Act, target: RemoteCallTarget, invocation: inout MeshInvocationEncoder,
        throwing: Err.Type, returning: Res.Type
    ) async throws -> Res where Act: DistributedActor, Act.ID == MeshActorID, Err: Error, Res: Codable {
        guard registry.isAllowed(Res.self) else { throw MeshError.typeNotAllowed(String(reflecting: Res.self)) }
        let outcome = try await send(to: actor.id, target: target.identifier, invocation: invocation, oneWay: false)
        guard case .reply(let reply)? = outcome, let value = reply.value else {
            throw MeshError.decodeFailed("the remote function returned no value; expected \(Res.self)")
        }
        do {
            return try binaryDecoder.decode(Res.self, from: value.readableBytesView)
        } catch {
            throw MeshError.decodeFailed("reply as \(Res.self): \(error)")
        }
    }

    public func remoteCallVoid<Act, Err>(
        on actor: Act, target: RemoteCallTarget, invocation: inout MeshInvocationEncoder, throwing: Err.Type
    ) async throws where Act: DistributedActor, Act.ID == MeshActorID, Err: Error {
        _ = try await send(to: actor.id, target: target.identifier, invocation: invocation, oneWay: Self.oneWay)
    }

    private func send(
        to id: MeshActorID, target: String, invocation: MeshInvocationEncoder, oneWay: Bool
    ) async throws -> Association.ReplyOrFailure? {
        metrics.callsSent.increment()
        do {
            let association = try self.association(to: id)
            let timeout = Self.callTimeout ?? settings.defaultCallTimeout
            let outcome = try await association.call(
                recipient: WireRecipient(incarnation: id.node.incarnation, path: id.path), target: target,
                substitutions: invocation.genericSubstitutions, arguments: invocation.arguments, timeout: timeout, oneWay: oneWay)
            if case .failure(let failure)? = outcome { throw self.error(from: failure, id: id) }
            return outcome
        } catch {
            metrics.callFailures.increment()
            throw error
        }
    }

    private func error(from failure: FailureMessage, id: MeshActorID) -> any Error {
        switch WireErrorCode(rawValue: failure.code) {
        case .actorNotFound?: return MeshError.actorNotFound(id.description)
        case .timeout?: return MeshError.timeout(seconds: 0)
        case .overloaded?: return MeshError.overloaded(node: id.node.name.rawValue)
        case .decodeFailed?: return MeshError.decodeFailed(failure.message)
        case .typeNotAllowed?: return MeshError.typeNotAllowed(failure.typeName)
        case .unknownTarget?: return MeshError.unknownTarget(failure.typeName)
        case .refused?: return MeshError.refused(failure.message)
        case .remote?:
            if let payload = failure.payload,
               let error = registry.decodeError(named: failure.typeName, from: Array(payload.readableBytesView), using: binaryDecoder) {
                return error
            }
            return MeshError.remote(type: failure.typeName, message: failure.message)
        case nil:
            return MeshError.remote(type: "unknown failure code \(failure.code)", message: failure.message)
        }
    }

    /// The association to `id`'s node, dialling it when there is none.
    private func association(to id: MeshActorID) throws -> Association {
        let name = id.node.name.rawValue
        if stopped.load(ordering: .relaxed) {
            throw MeshError.nodeUnreachable(node: name, reason: "the local node has shut down")
        }
        // Hot path: a plain lookup, with the association's own state checked
        // outside the map's lock (every caller takes this lock).
        if let existing = associations.withLock({ $0[name] }), !existing.isClosed { return existing }
        let (association, dial) = associations.withLock { associations -> (Association, Bool) in
            if let existing = associations[name], !existing.isClosed { return (existing, false) }
            let fresh = Association(eventLoop: group.next(), peerName: name, maxQueuedBytes: settings.maxOutboundQueueBytes, localMaxFrameLength: settings.maxFrameLength)
            associations[name] = fresh
            return (fresh, true)
        }
        if dial { connect(association, to: id.endpoint, expecting: id.node.name) }
        return association
    }

    private func connect(_ association: Association, to endpoint: Endpoint, expecting name: NodeName?) {
        let tls = clientTLS
        let connectTimeout = settings.connectTimeout
        ClientBootstrap(group: association.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: 256 << 10, high: 1 << 20))
            .connectTimeout(TimeAmount(connectTimeout))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: TimeAmount(self.settings.idleTimeout)))
                    try self.settings.connectionTap?(channel)
                    try channel.pipeline.syncOperations.addHandler(
                        MeshConnectionHandler(system: self, role: .initiator(expectedPeer: name), association: association))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .whenFailure { [self] error in
                association.close(.nodeUnreachable(node: name?.rawValue ?? "\(endpoint)", reason: "cannot connect to \(endpoint): \(error)"))
                forget(association)
            }
    }

    /// Dials `endpoint` without knowing which node answers (joining through
    /// a seed's address); the association is registered under the name the
    /// handshake proved, unless one to that node is already open.
    func dial(_ endpoint: Endpoint) async throws -> Association {
        if stopped.load(ordering: .relaxed) {
            throw MeshError.nodeUnreachable(node: "\(endpoint)", reason: "the local node has shut down")
        }
        let association = Association(eventLoop: group.next(), peerName: endpoint.description, maxQueuedBytes: settings.maxOutboundQueueBytes, localMaxFrameLength: settings.maxFrameLength)
        connect(association, to: endpoint, expecting: nil)
        let peer = try await association.waitEstablished()
        let registered = associations.withLock { associations -> Association in
            if let existing = associations[peer.node.name.rawValue], !existing.isClosed { return existing }
            associations[peer.node.name.rawValue] = association
            return association
        }
        if registered !== association { association.retireWhenIdle() }
        return registered
    }

    /// Connects to the node listening at `endpoint` and returns which node it
    /// is (the handshake proves it). `hma status` uses it to reach a node
    /// known only by address.
    public func node(at endpoint: Endpoint) async throws -> NodeID {
        guard let peer = try await dial(endpoint).peer else {
            throw MeshError.nodeUnreachable(node: "\(endpoint)", reason: "the connection closed during the handshake")
        }
        return peer.node
    }

    /// The association the cluster uses to reach `member` (dialled when needed).
    func associationForCluster(to member: MemberState) -> Association? {
        guard member.node != node else { return nil }
        return try? association(to: MeshActorID(node: member.node, endpoint: member.endpoint, path: "/system/cluster"))
    }

    /// Closes the association to a node declared down.
    func dropAssociation(to down: NodeID) {
        let association = associations.withLock { associations -> Association? in
            guard let existing = associations[down.name.rawValue],
                  existing.peer.map({ $0.node == down }) ?? true else { return nil }
            associations.removeValue(forKey: down.name.rawValue)
            return existing
        }
        association?.close(.nodeUnreachable(node: down.name.rawValue, reason: "declared down"))
    }

    /// An inbound connection completed its handshake: it becomes the
    /// association to that node unless one is already open. When both nodes
    /// dialled each other, the connection opened by the node with the lower
    /// name is kept on both sides; the other finishes its calls and closes.
    func adoptInbound(channel: any Channel, peer: HandshakeStateMachine.Peer) -> Association {
        let association = Association(eventLoop: channel.eventLoop, peerName: peer.node.name.rawValue, maxQueuedBytes: settings.maxOutboundQueueBytes, localMaxFrameLength: settings.maxFrameLength)
        association.established(channel: channel, peer: peer)
        let (restarted, duplicate) = associations.withLock { associations -> (Association?, Association?) in
            let key = peer.node.name.rawValue
            let existing = associations[key].flatMap { $0.isClosed ? nil : $0 }
            let choice = ConnectionChoice.decide(
                existing: existing.map { ConnectionChoice.Existing(peer: $0.peer?.node, age: $0.age) }, incoming: peer.node,
                local: node.name, connectTimeout: settings.connectTimeout)
            switch choice {
            case .adopt:
                associations[key] = association
                return (nil, nil)
            case .replaceRestarted:
                associations[key] = association
                return (existing, nil)
            case .refuseEarlierStart:
                return (nil, association)
            case .adoptAndRetireExisting:
                associations[key] = association
                return (nil, existing)
            case .keepExisting:
                return (nil, nil)  // this one serves the peer's calls until it retires it
            }
        }
        if restarted == nil, duplicate == nil, !isCurrent(association) {
            let replaced = secondaryInbound.withLock { $0.updateValue(association, forKey: peer.node.name.rawValue) }
            replaced?.close(.nodeUnreachable(node: peer.node.name.rawValue, reason: "replaced by a newer connection from the same node"))
        }
        restarted?.close(.nodeUnreachable(node: peer.node.name.rawValue, reason: "the node restarted"))
        if duplicate === association {
            association.close(.nodeUnreachable(node: peer.node.name.rawValue, reason: "a later start of this node is connected"))
        } else {
            duplicate?.retireWhenIdle()
        }
        return association
    }

    /// Whether `association` is the one calls to its peer use (not a
    /// duplicate being retired, not one already replaced).
    func isCurrent(_ association: Association) -> Bool {
        !association.isRetiring && associations.withLock { $0[association.peerName] === association }
    }

    /// Drops a closed association so the next call dials again.
    func forget(_ association: Association?) {
        guard let association else { return }
        associations.withLock { associations in
            if associations[association.peerName] === association { associations.removeValue(forKey: association.peerName) }
        }
        secondaryInbound.withLock { secondary in
            if secondary[association.peerName] === association { secondary.removeValue(forKey: association.peerName) }
        }
    }

    // MARK: - Inbound calls

    /// Executes a received request/reply call on its local actor, in
    /// arrival order per actor: enqueued on the actor before this returns,
    /// or behind the one-way calls from this connection still being run
    /// for that actor (`InboundQueues`).
    func deliver(_ call: CallMessage, replyingOn association: Association, queues: InboundQueues) {
        guard let prepared = prepare(call, oneWay: false, replyingOn: association) else { return }
        if queues.addIfDraining(.call(prepared), for: call.recipient.path) { return }
        start(prepared, path: call.recipient.path, replyingOn: association)
    }

    /// One-way calls that arrived in one read: one task per recipient runs
    /// them one after another, in arrival order (a task per message cost
    /// more than the call). A one-way call thus starts after the previous
    /// one to the same actor from the same connection has returned.
    func deliverOneWay(_ calls: [CallMessage], replyingOn association: Association, queues: InboundQueues) {
        var groups: [(path: String, items: [InboundQueues.Item])] = []
        var index: [String: Int] = [:]
        for call in calls {
            guard let prepared = prepare(call, oneWay: true, replyingOn: association) else { continue }
            if let at = index[call.recipient.path] {
                groups[at].items.append(.oneWay(prepared))
            } else {
                index[call.recipient.path] = groups.count
                groups.append((call.recipient.path, [.oneWay(prepared)]))
            }
        }
        for group in groups where queues.add(group.items, for: group.path) {
            drain(group.path, queues: queues, replyingOn: association)
        }
    }

    /// Where received calls run (see `MeshSettings.inboundCallsOnEventLoop`).
    private func inboundExecutor(_ association: Association) -> (any TaskExecutor)? {
        settings.inboundCallsOnEventLoop ? association.taskExecutor : nil
    }

    /// Starts one call in its own task. Immediate: it runs on this thread up
    /// to the hop onto the actor, so calls reach the actor in arrival order.
    private func start(_ prepared: PreparedCall, path: String, replyingOn association: Association) {
        let inbound = association.peer.map { InboundCall(caller: $0.node, roles: $0.roles, recipientPath: path) }
        Task.immediate(executorPreference: inboundExecutor(association)) {
            await Self.$inboundCall.withValue(inbound) { await self.execute(prepared) }
        }
    }

    /// Runs `path`'s queue until it is empty: one-way calls in turn,
    /// request/reply calls started when their turn comes.
    private func drain(_ path: String, queues: InboundQueues, replyingOn association: Association) {
        let inbound = association.peer.map { InboundCall(caller: $0.node, roles: $0.roles, recipientPath: path) }
        Task.immediate(executorPreference: inboundExecutor(association)) {
            await Self.$inboundCall.withValue(inbound) {
                while let items = queues.take(path) {
                    for item in items {
                        switch item {
                        case .oneWay(let prepared): await self.execute(prepared)
                        case .call(let prepared): self.start(prepared, path: path, replyingOn: association)
                        }
                    }
                }
            }
        }
    }

    /// Checks a received call (recipient alive, caller's role, target
    /// allowed), answering a refusal itself; nil when refused.
    private func prepare(_ call: CallMessage, oneWay: Bool, replyingOn association: Association) -> PreparedCall? {
        let callID = call.head.callID
        metrics.callsReceived.increment()
        host.received(path: call.recipient.path)
        guard call.recipient.incarnation == node.incarnation,
              let actor = localActors.withLock({ $0[call.recipient.path]?.actor })
        else {
            if !oneWay {
                let id = MeshActorID(node: NodeID(name: node.name, incarnation: call.recipient.incarnation), endpoint: endpoint, path: call.recipient.path)
                association.reply(callID: callID, .failure(code: .actorNotFound, type: "", message: id.description, payload: nil))
            }
            return nil
        }
        // An observer (`hma status`) may read cluster status and nothing else.
        if let peer = association.peer, !peer.roles.isMember, call.recipient.path != ClusterStatusActor.path {
            if !oneWay {
                association.reply(callID: callID, CallOutcome(MeshError.refused("\(peer.node.name) is an observer: it may only read cluster status")))
            }
            return nil
        }
        guard targets.allows(call.target) else {
            if !oneWay { association.reply(callID: callID, CallOutcome(MeshError.unknownTarget(call.target))) }
            return nil
        }
        runtimeInvocations.wrappingAdd(1, ordering: .relaxed)
        let replied = ReplyOnce()
        let handler = MeshResultHandler(reply: { outcome in
            if !oneWay && replied.claim() { association.reply(callID: callID, outcome) }
        }, registry: registry)
        let decoder = MeshInvocationDecoder(
            arguments: call.arguments, substitutions: call.substitutions, registry: registry, decoder: binaryDecoder)
        return PreparedCall(actor: actor, decoder: decoder, handler: handler, target: RemoteCallTarget(call.target), name: call.target)
    }

    /// Runs a prepared call to its end; errors go to its result handler.
    private func execute(_ prepared: PreparedCall) async {
        var decoder = prepared.decoder
        do {
            try await executeDistributedTarget(on: prepared.actor, target: prepared.target, invocationDecoder: &decoder, handler: prepared.handler)
        } catch let error as MeshError {
            try? await prepared.handler.onThrow(error: error)
        } catch is ExecuteDistributedTargetError {
            try? await prepared.handler.onThrow(error: MeshError.unknownTarget(prepared.name))
        } catch {
            try? await prepared.handler.onThrow(error: error)
        }
    }

    /// Runs `body` with calls in it bounded by `timeout`.
    public static func withCallTimeout<T>(_ timeout: Duration, _ body: () async throws -> T) async rethrows -> T {
        try await $callTimeout.withValue(timeout, operation: body)
    }

    /// Runs `body` with its void remote calls sent one-way.
    public static func withOneWayDelivery<T>(_ body: () async throws -> T) async rethrows -> T {
        try await $oneWay.withValue(true, operation: body)
    }

    /// Open associations (for tests and metrics).
    public var associationCount: Int { associations.withLock { $0.count } }

    /// Queued outbound bytes towards `node` (for tests and metrics).
    public func queuedBytes(to node: NodeName) -> Int {
        associations.withLock { $0[node.rawValue]?.queuedBytes ?? 0 }
    }
}

/// Set once the system exists, for connections accepted while it starts.
private final class SystemBox: Sendable {
    private let value = Mutex<MeshActorSystem?>(nil)
    var system: MeshActorSystem? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// Guards against answering one call twice.
final class ReplyOnce: Sendable {
    private let done = Atomic(false)
    func claim() -> Bool { done.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged }
}
