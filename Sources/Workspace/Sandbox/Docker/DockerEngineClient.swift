import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// The Docker Engine API over its unix socket: requests through
/// AsyncHTTPClient (`http+unix://`), and the attach stream of a terminal
/// through a NIO HTTP/1 client upgrade (`Upgrade: tcp`).
struct DockerEngineClient: Sendable {
    let socketPath: String

    struct Response: Sendable {
        var status: Int
        var body: Data
        /// The body was longer than the caller wanted and was cut.
        var cut = false

        func decode<T: Decodable>(_ type: T.Type, _ what: String) throws -> T {
            guard let value = try? JSONDecoder().decode(type, from: body) else {
                throw SandboxError.launchFailed("docker \(what): an answer the backend cannot read (\(status) \(String(decoding: body.prefix(200), as: UTF8.self)))")
            }
            return value
        }
    }

    /// An engine that stops answering fails the request after this.
    static let requestTimeout: Duration = .seconds(30)

    /// Sends `request` (a `wait` lasts as long as the command: pass
    /// `timeout: nil`). At most `maxBytes` of the answer are read.
    func send(_ request: DockerRequests.Request, timeout: Duration? = requestTimeout, maxBytes: Int = 64 << 20) async throws -> Response {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: request.path) else {
            throw SandboxError.unavailable(.docker, reason: "\(socketPath) cannot be a socket address")
        }
        var http = HTTPClientRequest(url: url.absoluteString)
        http.method = HTTPMethod(rawValue: request.method)
        http.headers.add(name: "Host", value: "docker")  // Go's server (the engines') wants one; a socket has no host name
        if let body = request.body {
            http.headers.add(name: "Content-Type", value: "application/json")
            http.body = .bytes(ByteBuffer(bytes: body))
        }
        let deadline: NIODeadline = timeout.map { .now() + TimeAmount($0) } ?? .distantFuture
        do {
            let response = try await HTTPClient.shared.execute(http, deadline: deadline)
            var collected = Data()
            var cut = false
            for try await chunk in response.body {
                let room = maxBytes - collected.count
                if chunk.readableBytes > room {
                    collected.append(contentsOf: chunk.readableBytesView.prefix(room))
                    cut = true
                    break
                }
                collected.append(contentsOf: chunk.readableBytesView)
            }
            return Response(status: Int(response.status.code), body: collected, cut: cut)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw SandboxError.launchFailed("the container engine did not answer \(request.method) \(request.path) within \(timeout ?? .zero)")
        } catch let error as SandboxError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw SandboxError.unavailable(.docker, reason: "\(request.method) \(request.path) on \(socketPath): \(error)")
        }
    }

    /// `send` for a caller that may block its thread (a terminal's I/O
    /// thread, `shutdown`). The request runs on NIO's event loops, not the
    /// concurrency pool, so blocking a pool thread here cannot starve it.
    func sendBlocking(_ request: DockerRequests.Request, timeout: Duration? = requestTimeout) throws -> Response {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: request.path) else {
            throw SandboxError.unavailable(.docker, reason: "\(socketPath) cannot be a socket address")
        }
        var headers = HTTPHeaders([("Host", "docker")])
        if request.body != nil { headers.add(name: "Content-Type", value: "application/json") }
        let http = try HTTPClient.Request(url: url, method: HTTPMethod(rawValue: request.method), headers: headers,
                                          body: request.body.map { .byteBuffer(ByteBuffer(bytes: $0)) })
        let deadline: NIODeadline = timeout.map { .now() + TimeAmount($0) } ?? .distantFuture
        do {
            let response = try HTTPClient.shared.execute(request: http, deadline: deadline).wait()
            return Response(status: Int(response.status.code), body: response.body.map { Data($0.readableBytesView) } ?? Data())
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw SandboxError.launchFailed("the container engine did not answer \(request.method) \(request.path) within \(timeout ?? .zero)")
        } catch {
            throw SandboxError.unavailable(.docker, reason: "\(request.method) \(request.path) on \(socketPath): \(error)")
        }
    }

    /// Attaches to a container's TTY (the request asks for `Upgrade: tcp`)
    /// and returns a descriptor carrying its bytes both ways: one end of a
    /// socket pair whose other end NIO glues to the upgraded connection.
    /// The caller owns the descriptor; closing it ends the attach.
    func attach(_ request: DockerRequests.Request) async throws -> Int32 {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw SandboxError.launchFailed("socketpair: \(String(cString: strerror(errno)))")
        }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let inner: any Channel
        do {
            inner = try await ClientBootstrap(group: loop).withConnectedSocket(pair[1]).get()
        } catch {
            close(pair[0])  // pair[1] is NIO's once handed over, closed by it on failure
            throw SandboxError.launchFailed("docker attach: \(error)")
        }
        let upgraded = loop.makePromise(of: Void.self)
        let upgrader = RawStreamUpgrader(inner: inner, upgraded: upgraded)
        var connection: (any Channel)?
        let timeout = loop.scheduleTask(in: TimeAmount(Self.requestTimeout)) {
            upgraded.fail(SandboxError.launchFailed("docker attach: no answer within \(Self.requestTimeout)"))
        }
        defer { timeout.cancel() }
        do {
            connection = try await ClientBootstrap(group: loop)
                .channelInitializer { channel in
                    channel.pipeline.addHTTPClientHandlers(withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in })).flatMapThrowing {
                        try channel.pipeline.syncOperations.addHandler(UpgradeRefusal(upgraded: upgraded), name: UpgradeRefusal.name)
                    }
                }
                .connect(unixDomainSocketPath: socketPath).get()
            var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: request.path)
            head.headers.add(name: "Host", value: "docker")
            head.headers.add(name: "Content-Length", value: "0")
            connection?.write(HTTPClientRequestPart.head(head), promise: nil)
            connection?.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            try await upgraded.futureResult.get()
        } catch {
            upgraded.fail(error)  // no-op once completed; never left pending
            connection?.close(promise: nil)
            inner.close(promise: nil)
            close(pair[0])
            throw error as? SandboxError ?? SandboxError.unavailable(.docker, reason: "attach on \(socketPath): \(error)")
        }
        return pair[0]
    }
}

/// Takes the connection over once the engine answers `101 UPGRADED`: from
/// then on its bytes and the socket pair's inner end are forwarded to each
/// other, and either closing closes the other.
private struct RawStreamUpgrader: NIOHTTPClientProtocolUpgrader, Sendable {
    let inner: any Channel
    let upgraded: EventLoopPromise<Void>
    let supportedProtocol = "tcp"
    let requiredUpgradeHeaders: [String] = []

    func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {}
    func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool { true }

    func upgrade(context: ChannelHandlerContext, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<Void> {
        let connection = context.channel
        let inner = self.inner
        // From here on the connection carries raw bytes: the HTTP refusal
        // check goes, the forwarding comes (the upgrade handler buffers
        // whatever arrives meanwhile).
        return connection.pipeline.removeHandler(name: UpgradeRefusal.name).flatMapThrowing {
            try connection.pipeline.syncOperations.addHandler(ForwardBytes(to: inner))
        }.flatMap {
            inner.eventLoop.submit { try inner.pipeline.syncOperations.addHandler(ForwardBytes(to: connection)) }
        }.always { [upgraded] result in
            switch result {
            case .success: upgraded.succeed(())
            case .failure(let error): upgraded.fail(error)
            }
        }
    }
}

/// The engine answered the attach without upgrading (say 404 for a gone
/// container): the attach fails with its status.
private final class UpgradeRefusal: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    static let name = "hma-docker-upgrade-refusal"
    let upgraded: EventLoopPromise<Void>
    init(upgraded: EventLoopPromise<Void>) { self.upgraded = upgraded }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            upgraded.fail(SandboxError.launchFailed("docker attach: \(head.status.code) \(head.status.reasonPhrase)"))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upgraded.fail(SandboxError.launchFailed("docker attach: the engine closed the connection"))
        context.fireChannelInactive()
    }
}

/// Writes what one channel reads to another; closes the other when it ends.
private final class ForwardBytes: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let target: any Channel
    init(to target: any Channel) { self.target = target }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        target.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        target.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
