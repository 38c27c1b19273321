import AsyncHTTPClient
import Foundation
import Gateway
import GatewayTesting
import MeshTesting
import NIOCore
import NIOHTTP1
import NIOSSL
import ProcessTesting
import Testing

/// Debian's nginx with `cluster/nginx/hma.conf` (rendered as docs/deploy.md
/// says) and a self-signed certificate in front of a real gateway: HTTPS
/// and a WebSocket session over wss, on one origin.
@Suite struct NginxProxyTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs a program to its end; fails the test on a non-zero exit.
    static func run(_ program: String, _ arguments: [String]) async throws {
        let child = try ChildProcess(URL(fileURLWithPath: program), arguments)
        let code = try await within(60, program) { await child.exitStatus() }
        #expect(code == 0, "\(program) \(arguments): \(child.standardError)")
    }

    /// A GET over HTTPS through the proxy (its certificate is self-signed).
    static func get(_ url: String) async throws -> (Int, String) {
        var configuration = HTTPClient.Configuration()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        configuration.tlsConfiguration = tls
        configuration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { _ = client.shutdown() }
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    /// The status nginx answers a browser's WebSocket upgrade with (curl
    /// sends exactly one Origin; the connection is cut after the status).
    static func upgradeStatus(port: Int, cookie: String, origin: String) async throws -> String {
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/curl"), [
            "-sk", "--http1.1", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", "-H", "Cookie: \(cookie)", "-H", "Origin: \(origin)",
            "-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13",
            "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "https://localhost:\(port)/ws"])
        return try await within(30, "curl") { () async -> String in
            var output = ""
            while let line = await child.lines.next() { output += line }
            _ = await child.exitStatus()
            return output
        }
    }

    @Test func aSessionRunsOverWssThroughNginx() async throws {
        let gateway = try await DevGateway()
        defer { gateway.removeFolder() }
        let folder = gateway.folder + "-nginx"
        try FileManager.default.createDirectory(atPath: folder + "/frontend/assets", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // An asset only on nginx's disk: served by nginx, not the gateway.
        try "probe".write(toFile: folder + "/frontend/assets/probe-1a2b3c.js", atomically: true, encoding: .utf8)
        try await Self.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                                               "-keyout", folder + "/tls.key", "-out", folder + "/tls.crt"])

        // The template rendered with this machine's paths and free ports.
        let https = Int.random(in: 40_000..<50_000), plain = https + 1
        var conf = try String(contentsOf: Self.repository.appendingPathComponent("cluster/nginx/hma.conf"), encoding: .utf8)
        for (name, value) in ["HMA_SERVER_NAME": "localhost", "HMA_UPSTREAM": "127.0.0.1:\(gateway.port)",
                              "HMA_TLS_CERT": folder + "/tls.crt", "HMA_TLS_KEY": folder + "/tls.key", "HMA_FRONTEND": folder + "/frontend"] {
            conf = conf.replacingOccurrences(of: "${\(name)}", with: value)
        }
        conf = conf.replacingOccurrences(of: "listen 443 ssl http2;", with: "listen 127.0.0.1:\(https) ssl http2;")
            .replacingOccurrences(of: "listen 80;", with: "listen 127.0.0.1:\(plain);")
        #expect(!conf.contains("${HMA_"), "every variable of the template is rendered")
        try conf.write(toFile: folder + "/hma.conf", atomically: true, encoding: .utf8)
        try """
            pid \(folder)/nginx.pid;
            error_log \(folder)/error.log;
            # One process: nothing outlives the test's own child.
            master_process off;
            events {}
            http {
                access_log \(folder)/access.log;
                client_body_temp_path \(folder)/body;
                proxy_temp_path \(folder)/proxy;
                include \(folder)/hma.conf;
            }
            """.write(toFile: folder + "/nginx.conf", atomically: true, encoding: .utf8)
        try await Self.run("/usr/sbin/nginx", ["-t", "-q", "-c", folder + "/nginx.conf"])
        let nginx = try ChildProcess(URL(fileURLWithPath: "/usr/sbin/nginx"), ["-c", folder + "/nginx.conf", "-g", "daemon off;"])
        // SIGQUIT: the master stops its workers before it exits.
        defer { nginx.signal(SIGQUIT) }
        let base = "https://127.0.0.1:\(https)"
        let health = try await within(30, "nginx to answer") {
            while true {
                if let answer = try? await Self.get(base + "/health") { return answer }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(health.0 == 200 && health.1.contains("\"status\""), "\(health)")
        #expect(try await Self.get(base + "/assets/probe-1a2b3c.js") == (200, "probe"))
        #expect(try await Self.get("http://127.0.0.1:\(plain)/").0 == 301, "plain HTTP is sent to HTTPS")

        // A session over wss with the browser's cookie. (This client sends
        // its own `Origin: wss://…`; the browser's case is checked below.)
        let cookie = try await gateway.signIn()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        // By name: TLS sends it as the server name (an IP address cannot be).
        let client = try await ProtocolClient.connect(port: https, headers: ["Cookie": cookie], host: "localhost", tls: tls)
        #expect(try await client.request("hello", ["clientVersion": "tests"]).type == "welcome")
        let imported = try await client.request("import_project", ["files": [["path": "a.txt", "content": "through nginx"]]])
        let project = try #require(imported.payload["projectId"], "\(imported)")
        let read = try await client.request("file_read", ["projectId": project, "filePath": "a.txt"])
        #expect(read.payload["content"] == "through nginx", "\(read)")
        #expect(client.violations.isEmpty)
        await client.close()

        // A browser on the proxy's address passes the gateway's Origin check
        // (nginx forwards the Host it was asked for); a foreign page does not.
        #expect(try await Self.upgradeStatus(port: https, cookie: cookie, origin: "https://localhost:\(https)") == "101")
        #expect(try await Self.upgradeStatus(port: https, cookie: cookie, origin: "https://evil.example") == "400")
        await gateway.stop()
    }
}
