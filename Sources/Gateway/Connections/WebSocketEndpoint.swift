import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Storage

/// The request context of the gateway's routes: who is asking, once the
/// authentication middleware has looked.
public struct GatewayRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    public var user: User?

    public init(source: Source) {
        coreContext = .init(source: source)
        webSocket = .init()
    }
}

/// Reads the session cookie or bearer token into the context.
struct AuthenticationMiddleware: RouterMiddleware {
    let accounts: Accounts

    func handle(_ request: Request, context: GatewayRequestContext,
                next: (Request, GatewayRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        context.user = try await accounts.user(
            cookie: Accounts.cookie(Accounts.cookieName, in: request.headers[.cookie]),
            bearer: Accounts.bearer(in: request.headers[.authorization]))
        return try await next(request, context)
    }
}

/// `GET /ws`: the protocol of docs/protocol.md over one WebSocket.
enum WebSocketEndpoint {
    static func register(on router: Router<GatewayRequestContext>, gateway: Gateway) {
        router.ws("/ws") { request, context in
            // Refused before the upgrade: no socket for a stranger or a
            // foreign page. (The upgrade machinery answers any refusal with
            // 400; the log says which it was.)
            func refuse(_ status: HTTPResponse.Status, _ why: String) -> HTTPError {
                gateway.logger.notice("WebSocket upgrade refused", metadata: ["why": "\(why)", "origin": "\(request.headers[.origin] ?? "-")"])
                return HTTPError(status, message: why)
            }
            guard Accounts.originAllowed(request.headers[.origin], host: request.head.authority,
                                         allowed: gateway.options.allowedOrigins) else {
                throw refuse(.forbidden, "this Origin may not open the gateway's socket")
            }
            guard context.user != nil else { throw refuse(.unauthorized, "no valid session cookie or bearer token") }
            guard !gateway.draining.isSet else { throw refuse(.serviceUnavailable, "the gateway is shutting down") }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            guard let user = context.requestContext.user else { return }
            guard gateway.connectionCounts.add(user.id, limit: gateway.options.maxConnectionsPerUser) else {
                // Said as an error first, so the page can show why.
                let limit = gateway.options.maxConnectionsPerUser
                let error = ProtocolError(.limitReached, "you already have \(limit) connections open; close a tab or another client")
                try await outbound.write(.text(ServerFrame.error(error, replyTo: nil).text))
                try await outbound.close(.policyViolation, reason: "too many connections for this user")
                return
            }
            defer { gateway.connectionCounts.remove(user.id) }
            gateway.metrics.connectionOpened()
            defer { gateway.metrics.connectionClosed() }
            try await serve(user: user, inbound: inbound, outbound: outbound, gateway: gateway)
        }
    }

    private static func serve(user: User, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, gateway: Gateway) async throws {
        let limits = gateway.options.connection
        let connection = ClientConnection(user: user, limits: limits)
        let session = ClientSession(gateway: gateway, connection: connection)
        gateway.live.add(connection)
        defer { gateway.live.remove(connection) }
        // A socket upgraded while the drain began may have missed its
        // goAway (the drain sets the flag, then tells every live socket):
        // it is told here, or it would hold the shutdown open.
        if gateway.draining.isSet { connection.goAway() }
        let clock = ContinuousClock()
        let start = clock.now
        func seconds() -> Double {
            let elapsed = clock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        var policy = ConnectionPolicy(limits: limits, now: seconds())
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The writer: the only task that writes to the socket.
            group.addTask {
                while let item = await connection.next() {
                    switch item {
                    case .frame(let text):
                        try await outbound.write(.text(text))
                        gateway.metrics.sent()
                    case .resync(let sessionId):
                        if let text = await session.resyncFrame(sessionId: sessionId) { try await outbound.write(.text(text)) }
                    case .close(let reason, let goingAway):
                        try await outbound.close(goingAway ? .goingAway : .policyViolation, reason: reason)
                        return
                    }
                }
            }
            // The reader: one message at a time, in order.
            defer { connection.finish() }
            for try await message in inbound.messages(maxSize: limits.maxFrameBytes) {
                let decision: ConnectionPolicy.Decision
                var accepted: IncomingMessage?
                switch message {
                case .binary:
                    decision = policy.invalid(ProtocolError(.badFrame, "binary frames are not part of the protocol; send JSON text"), at: seconds())
                case .text(let text):
                    switch ProtocolValidator.decode(text) {
                    case .failure(let failure):
                        let verdict = policy.invalid(failure.error, at: seconds())
                        if case .refuse(let error) = verdict {
                            connection.send(.error(error, replyTo: failure.replyTo))
                            continue
                        }
                        decision = verdict
                    case .success(let incoming):
                        decision = policy.received(type: incoming.type, at: seconds())
                        accepted = incoming
                    }
                }
                switch decision {
                case .accept:
                    if let accepted { await session.handle(accepted) }
                case .refuse(let error):
                    gateway.metrics.refusedOne()
                    connection.send(.error(error, replyTo: accepted?.id))
                case .drop:
                    gateway.metrics.refusedOne()
                case .close(let reason):
                    gateway.logger.notice("closing an abusive connection", metadata: ["user": "\(user.name)", "reason": "\(reason)"])
                    connection.send(.error(ProtocolError(.rateLimited, reason), replyTo: nil))
                    try? await outbound.close(.policyViolation, reason: reason)
                    group.cancelAll()
                    await session.closed()
                    return
                }
            }
            connection.finish()
            try? await group.next()
            await session.closed()
        }
    }
}
