/// What the gateway's HTTP side needs to start.
public struct GatewayConfiguration: Sendable {
    /// Address to bind; `127.0.0.1` in dev mode so nothing outside the machine can connect.
    public var host: String
    /// Port to bind; 0 picks a free one (the bound port is reported through `onListening`).
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int = 8080) {
        self.host = host
        self.port = port
    }
}
