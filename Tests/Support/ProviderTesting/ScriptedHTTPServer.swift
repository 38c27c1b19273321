import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP/1.1 server on 127.0.0.1 that plays a script for each request
/// (status and headers, body chunks, pauses, an abrupt close, or never
/// answering) and records what it received, so a test can check the exact
/// request a client sent. It speaks whatever wire format the script writes.
public final class ScriptedHTTPServer: Sendable {
    /// A request as received.
    public struct Received: Sendable {
        public var method: String
        public var uri: String
        /// Header names lowercased; repeated headers joined with ", ".
        public var headers: [String: String]
        public var body: Data

        public var path: String { String(uri.split(separator: "?", maxSplits: 1).first ?? "") }
        public var query: String? { uri.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) }
        /// The body as a JSON object (nil if it is not one).
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    }

    public enum Step: Sendable {
        /// The status line and headers (chunked transfer unless a
        /// Content-Length is given).
        case head(status: Int, headers: [(String, String)] = [])
        case body(Data)
        /// Body bytes made at the moment they are written (timestamps).
        case bodyNow(@Sendable () -> Data)
        case pause(Duration)
        /// The end of the response.
        case end
        /// Closes the connection where the script is (a cut stream).
        case close
        /// Keeps the connection open and sends nothing more.
        case hang

        public static func text(_ text: String) -> Step { .body(Data(text.utf8)) }
    }

    public typealias Script = @Sendable (_ request: Received, _ number: Int) -> [Step]

    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    private let channel: any Channel
    private let log: NIOLockedValueBox<[Received]>
    let counters = Counters()

    /// Requests received so far, in order.
    public var requests: [Received] { log.withLockedValue { $0 } }
    /// The most requests that were being answered at one time.
    public var maxConcurrentRequests: Int { counters.state.withLockedValue { $0.maxActive } }

    /// Returns once `count` client connections have closed (from either side).
    public func waitForClosedConnections(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = counters.state.withLockedValue { state -> Bool in
                if state.closed >= count { return true }
                state.waiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    final class Counters: Sendable {
        struct State {
            var active = 0, maxActive = 0, closed = 0
            var waiters: [(Int, CheckedContinuation<Void, Never>)] = []
        }
        let state = NIOLockedValueBox(State())

        func began() { state.withLockedValue { $0.active += 1; $0.maxActive = max($0.maxActive, $0.active) } }
        func ended() { state.withLockedValue { $0.active -= 1 } }
        func connectionClosed() {
            let ready = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
                state.closed += 1
                let closed = state.closed
                let ready = state.waiters.filter { $0.0 <= closed }.map(\.1)
                state.waiters.removeAll { $0.0 <= closed }
                return ready
            }
            for waiter in ready { waiter.resume() }
        }
    }

    public init(script: @escaping Script) async throws {
        let log = NIOLockedValueBox<[Received]>([])
        self.log = log
        let counters = self.counters
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(ScriptHandler(script: script, log: log, counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    public func shutdown() async {
        try? await channel.close()
    }

    /// Server-sent events as the wire carries them: each `data:` (with an
    /// optional `event:`) followed by an empty line.
    public static func sse(_ events: [(event: String?, data: String)]) -> Data {
        var text = ""
        for (event, data) in events {
            if let event { text += "event: \(event)\n" }
            text += "data: \(data)\n\n"
        }
        return Data(text.utf8)
    }
}

private final class ScriptHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let script: ScriptedHTTPServer.Script
    let log: NIOLockedValueBox<[ScriptedHTTPServer.Received]>
    let counters: ScriptedHTTPServer.Counters
    var current: ScriptedHTTPServer.Received?
    var answering = false

    init(script: @escaping ScriptedHTTPServer.Script, log: NIOLockedValueBox<[ScriptedHTTPServer.Received]>, counters: ScriptedHTTPServer.Counters) {
        self.script = script
        self.log = log
        self.counters = counters
    }

    func channelInactive(context: ChannelHandlerContext) {
        finishAnswer()
        counters.connectionClosed()
        context.fireChannelInactive()
    }

    private func finishAnswer() {
        if answering { counters.ended() }
        answering = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            var headers: [String: String] = [:]
            for (name, value) in head.headers {
                let key = name.lowercased()
                headers[key] = headers[key].map { $0 + ", " + value } ?? value
            }
            current = .init(method: head.method.rawValue, uri: head.uri, headers: headers, body: Data())
        case .body(let buffer):
            current?.body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let request = current else { return }
            current = nil
            let number = log.withLockedValue { log in
                log.append(request)
                return log.count - 1
            }
            answering = true
            counters.began()
            play(script(request, number)[...], context: context)
        }
    }

    /// Plays the steps in order on the channel's event loop.
    private func play(_ steps: ArraySlice<ScriptedHTTPServer.Step>, context: ChannelHandlerContext) {
        var steps = steps
        while let step = steps.popFirst() {
            switch step {
            case .head(let status, let extra):
                var headers = HTTPHeaders(extra)
                if !headers.contains(name: "content-length") { headers.replaceOrAdd(name: "transfer-encoding", value: "chunked") }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers))), promise: nil)
            case .body(let data):
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: data)))), promise: nil)
            case .bodyNow(let make):
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: make())))), promise: nil)
            case .pause(let duration):
                context.flush()
                let rest = steps
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: TimeAmount(duration)) {
                    bound.value.0.play(rest, context: bound.value.1)
                }
                return
            case .end:
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                finishAnswer()
            case .close:
                context.flush()
                context.close(promise: nil)
                return
            case .hang:
                context.flush()
                return
            }
        }
    }
}
