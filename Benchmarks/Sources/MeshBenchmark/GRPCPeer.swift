// The gRPC peer the mesh is compared with: a unary "echo" RPC over HTTP/2 + TLS (mutual),
// built from grpc-swift-2 (GRPCCore) and grpc-swift-nio-transport (the NIOPosix HTTP/2
// transport), with the libraries' default configuration apart from the TLS material.
//
// Messages are raw bytes: a `MessageSerializer`/`MessageDeserializer` pair over `[UInt8]`,
// so no protobuf code generation is involved. The method is `echo.Echo/Get`.

import GRPCCore
import GRPCNIOTransportHTTP2

/// TLS material as PEM strings (a cluster CA and one node certificate+key signed by it;
/// ECDSA P-256; the node cert has SAN IP 127.0.0.1 and a URI SAN).
struct GRPCTLSMaterial: Sendable {
    var caPEM: String
    var certificatePEM: String
    var privateKeyPEM: String
}

// MARK: - Wire plumbing (private to this file)

/// `[UInt8]` in, the same bytes out: no protobuf involved.
private struct GRPCPeerBytesSerializer: MessageSerializer {
    typealias Message = [UInt8]

    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }
}

private struct GRPCPeerBytesDeserializer: MessageDeserializer {
    typealias Message = [UInt8]

    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

private enum GRPCPeerEcho {
    /// `echo.Echo/Get`
    static let method = MethodDescriptor(fullyQualifiedService: "echo.Echo", method: "Get")
}

/// The echo service: one unary method that returns the request's bytes.
private struct GRPCPeerEchoService: RegistrableRPCService {
    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: GRPCPeerEcho.method,
            deserializer: GRPCPeerBytesDeserializer(),
            serializer: GRPCPeerBytesSerializer()
        ) { streamRequest, _ in
            let request = try await ServerRequest(stream: streamRequest)
            return StreamingServerResponse(single: ServerResponse(message: request.message))
        }
    }
}

private extension GRPCTLSMaterial {
    var certificateChainSource: [TLSConfig.CertificateSource] {
        [.bytes(Array(certificatePEM.utf8), format: .pem)]
    }

    var privateKeySource: TLSConfig.PrivateKeySource {
        .bytes(Array(privateKeyPEM.utf8), format: .pem)
    }

    var trustRootsSource: TLSConfig.TrustRootsSource {
        .certificates([.bytes(Array(caPEM.utf8), format: .pem)])
    }
}

/// Waits for `task` to end, cancelling it if it has not ended within `grace`.
private func grpcPeerAwait(_ task: Task<Void, any Error>, grace: Duration) async {
    let watchdog = Task {
        try await Task.sleep(for: grace)
        task.cancel()
    }
    _ = await task.result
    watchdog.cancel()
}

// MARK: - Server

/// A gRPC unary "echo" service over HTTP/2 + TLS (mutual TLS: the server requires and
/// verifies client certs against `caPEM`), bound on 127.0.0.1 port 0.
final class GRPCEchoServer: Sendable {
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let serving: Task<Void, any Error>

    /// The TCP port the server listens on (127.0.0.1).
    let port: Int

    private init(
        server: GRPCServer<HTTP2ServerTransport.Posix>,
        serving: Task<Void, any Error>,
        port: Int
    ) {
        self.server = server
        self.serving = serving
        self.port = port
    }

    static func start(tls: GRPCTLSMaterial) async throws -> GRPCEchoServer {
        // `.mTLS` defaults: client certificate required and verified without hostname checks
        // (`.noHostnameVerification`), ALPN not required; trust roots replaced by the cluster CA.
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0),
            transportSecurity: .mTLS(
                certificateChain: tls.certificateChainSource,
                privateKey: tls.privateKeySource
            ) { config in
                config.trustRoots = tls.trustRootsSource
            },
            config: .defaults
        )
        let server = GRPCServer(transport: transport, services: [GRPCPeerEchoService()])
        let serving = Task { try await server.serve() }

        do {
            let address = try await transport.listeningAddress
            guard let ipv4 = address.ipv4 else {
                throw RPCError(
                    code: .internalError,
                    message: "gRPC echo server bound to a non-IPv4 address: \(address)"
                )
            }
            return GRPCEchoServer(server: server, serving: serving, port: ipv4.port)
        } catch {
            server.beginGracefulShutdown()
            serving.cancel()
            _ = await serving.result
            throw error
        }
    }

    /// Stops accepting connections, lets open RPCs finish, and waits for the server to end
    /// (cancelling it if connections are still open after a few seconds).
    func stop() async {
        server.beginGracefulShutdown()
        await grpcPeerAwait(serving, grace: .seconds(5))
    }
}

// MARK: - Client

/// A client with one HTTP/2 connection to the server (TLS, presenting the same cert,
/// verifying the server against `caPEM` without hostname verification).
final class GRPCEchoClient: Sendable {
    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let running: Task<Void, any Error>

    private init(client: GRPCClient<HTTP2ClientTransport.Posix>, running: Task<Void, any Error>) {
        self.client = client
        self.running = running
    }

    /// Creates the client and establishes its connection (TLS handshake included) with one
    /// empty echo, so that the first timed call doesn't pay for it and bad TLS fails here.
    static func connect(port: Int, tls: GRPCTLSMaterial) async throws -> GRPCEchoClient {
        // `.mTLS` defaults: present the certificate, full verification; here the trust roots
        // are the cluster CA and the hostname isn't verified (the target is an IP anyway).
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port),
            transportSecurity: .mTLS(
                certificateChain: tls.certificateChainSource,
                privateKey: tls.privateKeySource
            ) { config in
                config.trustRoots = tls.trustRootsSource
                config.serverCertificateVerification = .noHostnameVerification
            },
            config: .defaults
        )
        let client = GRPCClient(transport: transport)
        let running = Task { try await client.runConnections() }
        let echoClient = GRPCEchoClient(client: client, running: running)

        do {
            let echoed = try await echoClient.echo([])
            guard echoed.isEmpty else {
                throw RPCError(code: .internalError, message: "gRPC echo returned unexpected bytes")
            }
        } catch {
            await echoClient.close()
            throw error
        }
        return echoClient
    }

    /// One unary call: sends `bytes`, returns the echoed bytes.
    func echo(_ bytes: [UInt8]) async throws -> [UInt8] {
        try await client.unary(
            request: ClientRequest(message: bytes),
            descriptor: GRPCPeerEcho.method,
            serializer: GRPCPeerBytesSerializer(),
            deserializer: GRPCPeerBytesDeserializer(),
            options: .defaults
        ) { response in
            try response.message
        }
    }

    /// Closes the connection (after in-flight RPCs finish) and waits for the client to end.
    func close() async {
        client.beginGracefulShutdown()
        await grpcPeerAwait(running, grace: .seconds(5))
    }
}
