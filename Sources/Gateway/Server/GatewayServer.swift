import Hummingbird
import Logging
import Mesh
import NIOCore
import Storage

/// The gateway's HTTP server (Hummingbird 2): the routes browsers and
/// operators use. It is a `Service`: run it in a ServiceGroup, which stops it
/// gracefully on SIGTERM/SIGINT (in-flight requests finish first).
public enum GatewayServer {
    /// Builds the application.
    /// - Parameter onListening: called once with the bound host and port, when
    ///   the server accepts connections.
    public static func makeApplication(
        configuration: GatewayConfiguration,
        store: Store,
        mesh: MeshActorSystem? = nil,
        logger: Logger,
        onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.middlewares.add(LogRequestsMiddleware(.debug))
        HealthController(store: store, mesh: mesh).register(on: router)
        router.get("/") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: LandingPage.html)))
        }
        let host = configuration.host
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "hma/\(HMAVersion.current)"),
            onServerRunning: { channel in
                await onListening(host, channel.localAddress?.port ?? configuration.port)
            },
            logger: logger)
    }
}
