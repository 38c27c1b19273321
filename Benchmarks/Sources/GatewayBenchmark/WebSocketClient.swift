// The load client: a minimal WebSocket client on raw SwiftNIO (the
// client upgrader of NIOWebSocket), every connection on one event loop of
// one thread. Handlers run on that loop and answer in place, so a reply's
// next request goes out without a hop to Swift concurrency.
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

struct WebSocketFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One client socket. Everything but `eventLoop`/`channel` is touched only
/// on the channel's event loop (hence `@unchecked Sendable`).
final class WebSocketConnection: @unchecked Sendable {
    let channel: any Channel
    var eventLoop: any EventLoop { channel.eventLoop }

    /// Called with each text message no waiter took (on the event loop).
    /// When nil, such messages are kept in `inbox` for `next(matching:)`.
    var onText: ((ByteBuffer) -> Void)?
    private(set) var inbox: [String] = []
    private(set) var closed = false
    private var waiters: [(match: @Sendable (String) -> Bool, promise: EventLoopPromise<String>)] = []

    init(channel: any Channel) { self.channel = channel }

    /// Sends a text message (on the event loop).
    func send(_ text: String) {
        eventLoop.assertInEventLoop()
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: channel.allocator.buffer(string: text))
        channel.writeAndFlush(frame, promise: nil)
    }

    /// The first text message, kept or still to come, that matches.
    func next(matching match: @escaping @Sendable (String) -> Bool) -> EventLoopFuture<String> {
        eventLoop.assertInEventLoop()
        if let index = inbox.firstIndex(where: match) {
            return eventLoop.makeSucceededFuture(inbox.remove(at: index))
        }
        if closed { return eventLoop.makeFailedFuture(WebSocketFailure("the socket closed")) }
        let promise = eventLoop.makePromise(of: String.self)
        waiters.append((match, promise))
        return promise.futureResult
    }

    /// Sends `text` (if any) and waits for the first message that matches.
    func exchange(_ text: String?, seconds: Int64 = 30, until match: @escaping @Sendable (String) -> Bool) async throws -> String {
        let loop = eventLoop
        let future = loop.flatSubmit { () -> EventLoopFuture<String> in
            let answer = self.next(matching: match)
            if let text { self.send(text) }
            let timeout = loop.scheduleTask(in: .seconds(seconds)) {
                self.fail(answerTo: text ?? "a wait", after: seconds)
            }
            answer.whenComplete { _ in timeout.cancel() }
            return answer
        }
        return try await future.get()
    }

    private func fail(answerTo what: String, after seconds: Int64) {
        let pending = waiters
        waiters = []
        for waiter in pending {
            waiter.promise.fail(WebSocketFailure("no answer within \(seconds) s to \(what.prefix(120)); kept: \(inbox.suffix(3))"))
        }
    }

    /// Drops kept messages (after a setup step).
    func clearInbox() { inbox.removeAll() }

    fileprivate func received(_ buffer: ByteBuffer) {
        if !waiters.isEmpty {
            let text = String(buffer: buffer)
            if let index = waiters.firstIndex(where: { $0.match(text) }) {
                waiters.remove(at: index).promise.succeed(text)
                return
            }
            if let onText { onText(buffer) } else { inbox.append(text) }
            return
        }
        if let onText { onText(buffer) } else { inbox.append(String(buffer: buffer)) }
    }

    fileprivate func didClose() {
        closed = true
        let pending = waiters
        waiters = []
        for waiter in pending { waiter.promise.fail(WebSocketFailure("the socket closed")) }
    }

    func close() async {
        try? await channel.close()
    }
}

/// Reassembles messages, answers pings, hands text to the connection.
private final class FrameHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    let connection: WebSocketConnection
    var partial: ByteBuffer?

    init(_ connection: WebSocketConnection) { self.connection = connection }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            if frame.fin { connection.received(frame.data) } else { partial = frame.data }
        case .continuation:
            guard var buffer = partial else { return }
            var data = frame.data
            buffer.writeBuffer(&data)
            if frame.fin {
                partial = nil
                connection.received(buffer)
            } else {
                partial = buffer
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.data)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.didClose()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

private enum UpgradeResult: Sendable {
    case upgraded(WebSocketConnection)
    case refused
}

/// Opens `ws://host:port/path` with these extra request headers.
func connectWebSocket(host: String = "127.0.0.1", port: Int, path: String, headers: [(String, String)] = [],
                      group: any EventLoopGroup) async throws -> WebSocketConnection {
    let upgrade: EventLoopFuture<UpgradeResult> = try await ClientBootstrap(group: group)
        .channelOption(.socketOption(.tcp_nodelay), value: 1)
        .connectTimeout(.seconds(20))
        .connect(to: try SocketAddress(ipAddress: host, port: port)) { channel in
            channel.eventLoop.makeCompletedFuture {
                let upgrader = NIOTypedWebSocketClientUpgrader<UpgradeResult>(maxFrameSize: 1 << 24) { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        let connection = WebSocketConnection(channel: channel)
                        try channel.pipeline.syncOperations.addHandler(FrameHandler(connection))
                        return .upgraded(connection)
                    }
                }
                var fields = HTTPHeaders()
                fields.add(name: "Host", value: "\(host):\(port)")
                for (name, value) in headers { fields.add(name: name, value: value) }
                let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: fields)
                let configuration = NIOTypedHTTPClientUpgradeConfiguration<UpgradeResult>(
                    upgradeRequestHead: head, upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in
                        channel.close(promise: nil)
                        return channel.eventLoop.makeSucceededFuture(.refused)
                    })
                // A server may send its first frame right behind the 101
                // (Engine.IO's open packet): keep those bytes.
                var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
                pipeline.leftOverBytesStrategy = .forwardBytes
                return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
            }
        }
    switch try await upgrade.get() {
    case .upgraded(let connection): return connection
    case .refused: throw WebSocketFailure("the server refused the WebSocket upgrade of \(path)")
    }
}

/// Opens `count` sockets, `parallel` at a time, each through `prepare`
/// (a handshake) before it counts.
func connectMany(_ count: Int, parallel: Int = 64, group: any EventLoopGroup,
                 open: @escaping @Sendable () async throws -> WebSocketConnection) async throws -> [WebSocketConnection] {
    var connections: [WebSocketConnection] = []
    connections.reserveCapacity(count)
    try await withThrowingTaskGroup(of: WebSocketConnection.self) { tasks in
        var started = 0
        while started < min(parallel, count) {
            tasks.addTask { try await open() }
            started += 1
        }
        while let connection = try await tasks.next() {
            connections.append(connection)
            if started < count {
                tasks.addTask { try await open() }
                started += 1
            }
        }
    }
    return connections
}

/// A plain HTTP/1.1 GET over a blocking socket, no redirect followed:
/// the status line and headers (the gateway's sign-in answers 303).
func httpGet(port: Int, path: String) throws -> (status: Int, headers: [(String, String)]) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw WebSocketFailure("socket() failed") }
    defer { Glibc.close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw WebSocketFailure("connect to port \(port) failed") }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    var response = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        response += chunk[0..<n]
        if let text = String(bytes: response, encoding: .utf8), text.contains("\r\n\r\n") { break }
    }
    let text = String(decoding: response, as: UTF8.self)
    let head = text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
    let statusLine = head.first?.split(separator: " ") ?? []
    guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw WebSocketFailure("not an HTTP answer: \(text.prefix(200))") }
    let headers = head.dropFirst().compactMap { line -> (String, String)? in
        guard let colon = line.firstIndex(of: ":") else { return nil }
        return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }
    return (status, headers)
}
