import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization
@testable import Mesh

/// A hand-driven client for bad-input tests: it connects to a node's mesh
/// port (with TLS and the credentials given, or plain TCP), writes whatever
/// bytes the test wants, and records the frames it gets back and whether the
/// node closed the connection.
final class RawPeer: Sendable {
    let channel: any Channel
    private let collector: Collector

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        struct State {
            var parser = FrameParser(maxFrameLength: 1 << 24)
            var frames: [Frame] = []
            var tlsDone = false
            var closed = false
            var waiters: [CheckedContinuation<Void, Never>] = []
        }
        let state = Mutex(State())

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            notify { state in
                state.parser.append(bytes)
                while let frame = try? state.parser.next() { state.frames.append(frame) }
            }
            bytes.clear()
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case TLSUserEvent.handshakeCompleted = event { notify { $0.tlsDone = true } }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) { notify { $0.closed = true } }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

        private func notify(_ change: (inout State) -> Void) {
            let waiters = state.withLock { state in
                change(&state)
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }

        /// Waits (event-driven) until `condition` holds; the caller bounds it with `within`.
        /// Returns early when the task is cancelled (`within` gave up), so a
        /// test that times out fails instead of hanging.
        func wait(until condition: @Sendable (State) -> Bool) async {
            while !state.withLock({ condition($0) }) && !Task.isCancelled {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let done = state.withLock { state -> Bool in
                            if condition(state) || Task.isCancelled { return true }
                            state.waiters.append(continuation)
                            return false
                        }
                        if done { continuation.resume() }
                    }
                } onCancel: {
                    notify { _ in }
                }
            }
        }
    }

    /// - Parameter receiveBuffer: a small socket receive buffer makes a peer
    ///   that stops reading push back on the node sooner.
    init(connectingTo endpoint: Endpoint, credentials: NodeCredentials?, receiveBuffer: Int? = nil) async throws {
        let collector = Collector()
        self.collector = collector
        var tls: NIOSSLContext?
        if let credentials { tls = try NIOSSLContext(configuration: credentials.tlsConfiguration(server: false)) }
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        if let receiveBuffer { bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer)) }
        channel = try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil)) }
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port).get()
    }

    /// A TLS client with no client certificate at all.
    init(withoutClientCertificateTo endpoint: Endpoint, trusting ca: String) async throws {
        let collector = Collector()
        self.collector = collector
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv13
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca.utf8)))
        let tls = try NIOSSLContext(configuration: configuration)
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port).get()
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func send(_ buffer: ByteBuffer) async throws {
        try await channel.writeAndFlush(buffer)
    }

    func sendHello(_ message: HandshakeMessage) async throws {
        var buffer = ByteBuffer()
        buffer.writeFrame(.hello) { message.write(to: &$0) }
        try await send(buffer)
    }

    func waitForTLS() async { await collector.wait { $0.tlsDone || $0.closed } }
    func waitForClose() async { await collector.wait { $0.closed } }
    func waitForFrames(_ count: Int) async { await collector.wait { $0.frames.count >= count || $0.closed } }

    /// Waits until a frame that `matches` has arrived (or the connection closed).
    func waitForFrame(where matches: @escaping @Sendable (Frame) -> Bool) async {
        await collector.wait { $0.frames.contains(where: matches) || $0.closed }
    }

    /// Sends a heartbeat and waits for its ack: the node has handled every
    /// frame sent before it (frames on one connection are handled in order).
    func roundTrip(nonce: UInt64 = .random(in: 1..<(1 << 62))) async throws {
        var buffer = ByteBuffer()
        buffer.writeFrame(.heartbeat) { $0.writeInteger(nonce) }
        try await send(buffer)
        await waitForFrame { frame in frame.kind == .heartbeatAck && frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt64.self) == nonce }
    }

    var frames: [Frame] { collector.state.withLock { $0.frames } }
    var isClosed: Bool { collector.state.withLock { $0.closed } }
    var tlsCompleted: Bool { collector.state.withLock { $0.tlsDone } }

    func close() { channel.close(promise: nil) }

    /// Stops reading from the socket (the node's answers pile up in its
    /// buffers), or starts again.
    func setReading(_ reading: Bool) async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: reading).get()
        if reading { channel.read() }
    }
}
