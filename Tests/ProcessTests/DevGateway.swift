import AsyncHTTPClient
import Foundation
import Gateway
import GatewayTesting
import MeshTesting
import NIOCore
import NIOHTTP1
import ProcessTesting
import Testing

/// A real `hma dev` process on free ports, and ways to sign in to it.
final class DevGateway: Sendable {
    let child: ChildProcess
    let port: Int
    let folder: String
    /// The dev user's one-time sign-in token, from the printed URL.
    let signInToken: String

    static let tempconv = "Make a small Python package that converts temperatures between Celsius, Fahrenheit and Kelvin, with unittest tests."

    init(folder: String? = nil, demoPauseMilliseconds: Int = 1, settings: [String: String] = [:]) async throws {
        let folder = folder ?? NSTemporaryDirectory() + "hma-gw-\(UUID().uuidString)"
        self.folder = folder
        var environment = settings.merging(["HMA_DEMO_PAUSE_MS": "\(demoPauseMilliseconds)"]) { $1 }
        for key in ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENROUTER_API_KEY", "OLLAMA_HOST"] {
            environment[key] = ""
        }
        child = try ChildProcess(
            ChildProcess.executable("hma"), ["dev", "--data-dir", folder, "--port", "0", "--mesh-port", "0"], environment: environment)
        let line = try await within(60, "hma dev to print its URL") { [child] in
            await child.lines.first { $0.contains("http://") }
        }
        let text = try #require(line, "hma dev exited early: \(child.standardError)")
        let url = try #require(URLComponents(string: String(text[text.range(of: "http://")!.lowerBound...])))
        port = try #require(url.port)
        signInToken = try #require(url.queryItems?.first { $0.name == "token" }?.value)
    }

    /// Opens `/?token=` like a browser and returns the session cookie it sets.
    func signIn(token: String? = nil) async throws -> String {
        let (status, headers, _) = try await http("/?token=\(token ?? signInToken)")
        #expect(status == 303)
        let cookie = try #require(headers["Set-Cookie"].first, "no cookie; status \(status)")
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        return String(cookie.split(separator: ";")[0])
    }

    /// A signed-in dev client (its session cookie, like a browser tab).
    func devClient() async throws -> ProtocolClient {
        let cookie = try await signIn()
        return try await client(headers: ["Cookie": cookie])
    }

    func client(headers: [String: String]) async throws -> ProtocolClient {
        let client = try await ProtocolClient.connect(port: port, headers: headers)
        let welcome = try await client.request("hello", ["clientVersion": "tests"])
        #expect(welcome.type == "welcome")
        return client
    }

    /// `hma users add NAME`: a new user's API token.
    func addUser(_ name: String) async throws -> String {
        let add = try ChildProcess(ChildProcess.executable("hma"), ["users", "add", name, "--data-dir", folder])
        let status = await add.exitStatus()
        #expect(status == 0, "hma users add: \(add.standardError)")
        var token: String?
        while token == nil, let line = await add.lines.next() {
            if line.hasPrefix("token ") { token = String(line.dropFirst(6)) }
        }
        return try #require(token)
    }

    /// A GET without following redirects: status, headers, body.
    func http(_ path: String, headers: [String: String] = [:]) async throws -> (Int, HTTPHeaders, Data) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let response = try await client.execute(request, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 256 << 20)
            try await client.shutdown()
            return (Int(response.status.code), response.headers, Data(body.readableBytesView))
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func stop() async {
        child.signal(SIGTERM)
        _ = try? await within(30, "hma dev to stop") { [child] in await child.exitStatus() }
    }

    func kill() async {
        child.signal(SIGKILL)
        _ = await child.exitStatus()
    }

    func removeFolder() { try? FileManager.default.removeItem(atPath: folder) }
}

extension ProtocolClient {
    /// Drives a demo run from start to completion, approving each phase
    /// when the run waits for it. Returns the session and project ids.
    func buildDemo(_ request: String = DevGateway.tempconv, language: String = "python") async throws -> (session: String, project: String) {
        let started = try await self.request("start_project_init", ["language": .string(language), "initialPrompt": .string(request)])
        #expect(started.type == "chat_session", "\(started)")
        let session = try #require(started.payload["session"]?["id"]?.stringValue)
        try await finishRun(session: session)
        let project = try #require(received.first { $0.type == "project_status" && $0.payload["projectId"] != nil }?.payload["projectId"]?.stringValue)
        return (session, project)
    }

    /// Approves phases until the session's run completes.
    func finishRun(session: String, after seq: Int64 = 0) async throws {
        var handled = Set<Int64>()
        // Joined by a snapshot while the run waits (e.g. after a restart):
        // that question is answered first.
        if let snapshot = received.last(where: { $0.type == "resync_required" && $0.payload["sessionId"]?.stringValue == session }),
           snapshot.payload["projectStatus"] == "waiting",
           !received.contains(where: { $0.type == "project_status" && ($0.seq ?? 0) > (snapshot.payload["seq"]?.intValue ?? 0) }) {
            let phase = try #require(snapshot.payload["phase"]?.stringValue, "a waiting snapshot names its phase")
            let answer = try await request("approve_phase", ["sessionId": .string(session), "phase": .string(phase)])
            #expect(answer.type == "ok", "\(answer)")
        }
        while true {
            let done = handled
            let status = try await within(240, "the run's next status") {
                try await self.next { frame in
                    frame.type == "project_status" && frame.payload["sessionId"]?.stringValue == session
                        && ["waiting", "completed", "error", "stopped"].contains(frame.payload["status"]?.stringValue ?? "")
                        && (frame.seq ?? 0) > seq && !done.contains(frame.seq ?? -1)
                }
            }
            handled.insert(status.seq ?? -1)
            switch status.payload["status"]?.stringValue {
            case "completed": return
            case "waiting":
                let phase = received.last { $0.type == "project_init_status" }?.payload["phase"]?.stringValue ?? "understanding"
                let answer = try await request("approve_phase", ["sessionId": .string(session), "phase": .string(phase)])
                #expect(answer.type == "ok", "\(answer)")
            default:
                Issue.record("the run ended with \(status)")
                return
            }
        }
    }
}
