import Mesh
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The ceiling: a bare SwiftNIO + NIOSSL (TLS 1.3, mutual) length-prefixed
/// echo with no actors and no serialization. The server echoes each frame
/// and flushes once per read burst; the client keeps `concurrency` requests
/// in flight on one connection (pipelining), also flushing once per burst.
enum Ceiling {
    /// Echoes every `u32 length | payload` frame it reads.
    final class EchoServerHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var buffer = ByteBuffer()
        private var pending = false

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            buffer.writeBuffer(&incoming)
            while let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
                  buffer.readableBytes >= 4 + Int(length) {
                let frame = buffer.readSlice(length: 4 + Int(length))!
                context.write(wrapOutboundOut(frame), promise: nil)
                pending = true
            }
            buffer.discardReadBytes()
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            if pending { context.flush(); pending = false }
        }
    }

    /// Pipelines requests and measures each one's latency.
    final class ClientHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let concurrency: Int
        let payload: ByteBuffer
        let recorder: Recorder
        private var buffer = ByteBuffer()
        private var sentAt: [ContinuousClock.Instant] = []
        private var head = 0
        private var started = false

        init(concurrency: Int, payloadSize: Int, recorder: Recorder) {
            self.concurrency = concurrency
            var payload = ByteBuffer()
            payload.writeInteger(UInt32(payloadSize))
            payload.writeRepeatingByte(7, count: payloadSize)
            self.payload = payload
            self.recorder = recorder
        }

        func channelActive(context: ChannelHandlerContext) {
            // TLS buffers writes until its handshake completes; the burst is bounded (concurrency frames).
            for _ in 0..<concurrency { send(context) }
            context.flush()
            context.fireChannelActive()
        }

        private func send(_ context: ChannelHandlerContext) {
            sentAt.append(.now)
            context.write(wrapOutboundOut(payload), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            buffer.writeBuffer(&incoming)
            let now = ContinuousClock.now
            var wrote = false
            while let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
                  buffer.readableBytes >= 4 + Int(length) {
                buffer.moveReaderIndex(forwardBy: 4 + Int(length))
                recorder.record(now - sentAt[head])
                head += 1
                if recorder.running {
                    send(context)
                    wrote = true
                }
            }
            if head > 4096 { sentAt.removeFirst(head); head = 0 }
            buffer.discardReadBytes()
            if wrote { context.flush() }
        }
    }

    static func startServer(credentials: NodeCredentials) async throws -> any Channel {
        let tls = try NIOSSLContext(configuration: credentials.tlsConfiguration(server: true))
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    try channel.pipeline.syncOperations.addHandler(EchoServerHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// Runs one point: `seconds` of pipelined echo at `concurrency`.
    static func run(port: Int, credentials: NodeCredentials, concurrency: Int, payloadSize: Int, warmup: Double, seconds: Double) async throws -> Point {
        let tls = try NIOSSLContext(configuration: credentials.tlsConfiguration(server: false))
        let recorder = Recorder()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(ClientHandler(concurrency: concurrency, payloadSize: payloadSize, recorder: recorder))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await Task.sleep(for: .seconds(warmup))
        recorder.reset()
        try await Task.sleep(for: .seconds(seconds))
        let point = recorder.point(seconds: seconds)
        recorder.stop()
        try await channel.close()
        return point
    }
}

/// Counts completions and samples latencies, from any thread.
final class Recorder: Sendable {
    private struct State {
        var count = 0
        var samples: [Duration] = []
        var running = true
    }
    private let state = Mutex(State())

    var running: Bool { state.withLock { $0.running } }

    func record(_ latency: Duration) {
        state.withLock { state in
            state.count += 1
            // Keep every 8th sample: enough for p99 without unbounded memory.
            if state.count & 7 == 0 && state.samples.count < 2_000_000 { state.samples.append(latency) }
        }
    }

    func reset() { state.withLock { $0.count = 0; $0.samples.removeAll(keepingCapacity: true) } }
    func stop() { state.withLock { $0.running = false } }

    func point(seconds: Double) -> Point {
        state.withLock { state in
            let sorted = state.samples.sorted()
            func percentile(_ p: Double) -> Double {
                guard !sorted.isEmpty else { return .nan }
                let d = sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
                return Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
            }
            return Point(perSecond: Double(state.count) / seconds, p50Micros: percentile(0.5), p99Micros: percentile(0.99))
        }
    }
}

struct Point: Sendable {
    var perSecond: Double
    var p50Micros: Double
    var p99Micros: Double
}
