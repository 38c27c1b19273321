import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Mesh
import NIOCore
import Storage

/// The gateway's HTTP server (Hummingbird 2): the web IDE, its WebSocket,
/// sign-in, downloads, health and metrics (docs/operations.md). It is a
/// `Service`: run it in a ServiceGroup, which stops it gracefully on
/// SIGTERM/SIGINT (in-flight requests finish first).
public enum GatewayServer {
    /// Builds the application.
    /// - Parameter onListening: called once with the bound host and port, when
    ///   the server accepts connections.
    public static func makeApplication(
        configuration: GatewayConfiguration,
        gateway: Gateway,
        logger: Logger,
        onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: GatewayRequestContext.self)
        router.middlewares.add(LogRequestsMiddleware(.debug))
        router.middlewares.add(SecurityHeadersMiddleware())
        router.middlewares.add(AuthenticationMiddleware(accounts: gateway.accounts))
        HealthController(store: gateway.store, mesh: gateway.mesh).register(on: router)
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: gateway.metrics.render())))
        }
        router.get("/") { request, context in try await home(request, context: context, gateway: gateway) }
        router.get("/download/{projectId}") { request, context in try await download(request, context: context, gateway: gateway) }
        if let folder = gateway.options.frontendDirectory, FileManager.default.fileExists(atPath: folder + "/index.html") {
            // Hashed build assets (`assets/`, `vendor/`) never change under
            // their name: cached for a year. Anything else (index.html,
            // config.js) is revalidated, so a new build is seen at once.
            router.middlewares.add(RevalidateUnhashedFiles())
            router.middlewares.add(FileMiddleware(folder, cacheControl: .init([(MediaType(type: .any), [.public, .maxAge(31_536_000)])]),
                                                  logger: logger))
        }

        let webSocketRouter = Router(context: GatewayRequestContext.self)
        webSocketRouter.middlewares.add(AuthenticationMiddleware(accounts: gateway.accounts))
        WebSocketEndpoint.register(on: webSocketRouter, gateway: gateway)

        let host = configuration.host
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(
                webSocketRouter: webSocketRouter,
                configuration: .init(ws: .init(maxFrameSize: gateway.options.connection.maxFrameBytes,
                                               autoPing: .enabled(timePeriod: .seconds(30))))),
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "hma/\(HMAVersion.current)"),
            onServerRunning: { channel in
                await onListening(host, channel.localAddress?.port ?? configuration.port)
            },
            logger: logger)
    }

    /// `GET /`: with `?token=`, signs in (a session cookie) and redirects to
    /// `/`; otherwise the web IDE, or a status page until it is built.
    static func home(_ request: Request, context: GatewayRequestContext, gateway: Gateway) async throws -> Response {
        if let token = request.uri.queryParameters.get("token") {
            guard let (_, login) = try await gateway.accounts.signIn(token: token) else {
                throw HTTPError(.unauthorized, message: "this sign-in link was used already or is not valid; ask for a new one (hma users token NAME)")
            }
            return Response(status: .seeOther, headers: [
                .location: "/",
                .setCookie: "\(Accounts.cookieName)=\(login); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(Accounts.loginLifetime))",
                .cacheControl: "no-store",
            ])
        }
        if let folder = gateway.options.frontendDirectory, let page = FileManager.default.contents(atPath: folder + "/index.html") {
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                            body: .init(byteBuffer: ByteBuffer(bytes: page)))
        }
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                        body: .init(byteBuffer: ByteBuffer(string: LandingPage.html(signedIn: context.user != nil))))
    }

    /// `GET /download/{projectId}`: the project as a zip, streamed from its
    /// host a megabyte at a time. Allowed for its owner's session, or with
    /// a signed link from `download_project` until it expires.
    static func download(_ request: Request, context: GatewayRequestContext, gateway: Gateway) async throws -> Response {
        let projectId = try context.parameters.require("projectId")
        let query = request.uri.queryParameters
        var userId = context.user?.id
        if let signature = query.get("sig"), let user = query.get("user"), let expires = query.get("expires").flatMap(Int.init) {
            guard expires > Int(Date().timeIntervalSince1970),
                  gateway.keys.verify(DownloadLink.message(projectId: projectId, userId: user, expires: expires), signature: signature) else {
                throw HTTPError(.forbidden, message: "this download link expired or is not valid")
            }
            userId = user
        }
        guard let userId else { throw HTTPError(.unauthorized, message: "sign in first") }
        guard let project = try? await gateway.store.project(id: projectId), project.ownerId == userId else {
            throw HTTPError(.notFound, message: "no project \(projectId)")
        }
        let host: ProjectHostActor
        do {
            host = try await gateway.open(project)
        } catch let error as ProtocolError where error.code == .unavailable {
            throw HTTPError(.serviceUnavailable, message: error.message)
        }
        let export = try await host.export(projectId: project.id)
        let filename = project.name.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) ? String($0) : "-" }.joined()
        return Response(
            status: .ok,
            headers: [.contentType: "application/zip", .contentDisposition: "attachment; filename=\"\(filename.prefix(60)).zip\"",
                      .cacheControl: "no-store"],
            body: ResponseBody { writer in
                var offset = 0
                while true {
                    let chunk = try await host.readExport(export, offset: offset, maxBytes: 1 << 20)
                    if chunk.isEmpty { break }
                    offset += chunk.count
                    try await writer.write(ByteBuffer(bytes: chunk))
                }
                try await writer.finish(nil)
            })
    }
}

/// Headers every answer carries: no framing by other sites, no sniffing,
/// and a Content-Security-Policy that lets the web IDE talk only to this
/// gateway.
/// Replaces the year-long caching of files whose names carry no hash.
struct RevalidateUnhashedFiles: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: GatewayRequestContext,
                next: (Request, GatewayRequestContext) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        let path = request.uri.path
        if !(path.hasPrefix("/assets/") || path.hasPrefix("/vendor/")) && response.headers[.cacheControl] != nil {
            response.headers[.cacheControl] = "no-cache"
        }
        return response
    }
}

struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: GatewayRequestContext,
                next: (Request, GatewayRequestContext) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] =
            "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        return response
    }
}
