import Foundation
import Gateway
import GatewayTesting
import MeshTesting
import NIOHTTP1
import ProcessTesting
import Testing

/// The web IDE protocol against a real `hma dev` process (docs/protocol.md):
/// a real WebSocket client, the demo model, real sandboxes and git.
@Suite(.serialized) struct GatewayProtocolTests {
    @Test func aDemoRunIsObservedThroughTheProtocolThenGitTerminalAndDownloadWork() async throws {
        let gateway = try await DevGateway()
        defer { gateway.removeFolder() }
        let client = try await gateway.devClient()

        let (session, project) = try await client.buildDemo()
        let events = client.received.filter { $0.seq != nil }
        // Streamed tokens, the agent tree, files, usage and the end, in one numbered order.
        for type in ["llm_stream", "agent_update", "file_tree_update", "code_stream", "token_usage", "project_init_status", "message"] {
            #expect(events.contains { $0.type == type }, "no \(type) event")
        }
        let seqs = events.compactMap(\.seq)
        #expect(seqs == Array(1...Int64(seqs.count)), "session events are numbered 1…N without gaps")
        #expect(events.contains { $0.type == "agent_update" && $0.payload["role"]?.stringValue == "coder" })
        // The demo's recording runs clean: no agent ends in error, no action fails.
        let failures = events.filter {
            ($0.type == "agent_update" && $0.payload["status"] == "error")
                || ($0.type == "message" && ($0.payload["content"]?.stringValue ?? "").contains(" failed: "))
        }
        #expect(failures.isEmpty, "\(failures.prefix(3))")
        let written = Set(events.filter { $0.type == "file_tree_update" }.compactMap { $0.payload["filePath"]?.stringValue })
        #expect(written.contains { $0.hasSuffix(".py") }, "files: \(written)")

        // Files through the protocol.
        let file = try #require(written.sorted().first { $0.hasSuffix(".py") })
        let read = try await client.request("file_read", ["projectId": .string(project), "filePath": .string(file)])
        #expect(read.type == "file_read_result")
        #expect(read.payload["content"]?.stringValue?.isEmpty == false)
        let listing = try await client.request("dir_list", ["projectId": .string(project), "dirPath": ""])
        #expect(listing.type == "dir_list_result")
        #expect(listing.payload["items"]?.arrayValue?.isEmpty == false)

        // Git: status, stage everything, commit, log.
        _ = try await client.request("git_init", ["projectId": .string(project)])
        let status = try await client.request("git_status", ["projectId": .string(project)])
        #expect(status.type == "git_status", "\(status)")
        #expect(status.payload["files"]?.arrayValue?.isEmpty == false)
        let staged = try await client.request("git_stage", ["projectId": .string(project), "all": true])
        #expect(staged.type == "git_stage_result", "\(staged)")
        let commit = try await client.request("git_commit", ["projectId": .string(project), "message": "The demo's project"])
        #expect(commit.type == "git_commit_result", "\(commit)")
        let hash = try #require(commit.payload["commitHash"]?.stringValue)
        let log = try await client.request("git_commits", ["projectId": .string(project), "maxCount": 5])
        #expect(log.payload["commits"]?.arrayValue?.first?["hash"]?.stringValue == hash)

        // A terminal in the project's sandbox runs `ls`.
        let terminal = try await client.request("create_terminal_session", ["projectId": .string(project), "cols": 80, "rows": 24])
        #expect(terminal.type == "terminal_session", "\(terminal)")
        let terminalId = try #require(terminal.payload["sessionId"]?.stringValue)
        try await client.send("send_terminal_data", ["sessionId": .string(terminalId), "data": "ls\n"])
        // `ls` in the project's root lists the file, or the folder it is in.
        let fileName = String(file.split(separator: "/").first ?? "")
        _ = try await within(30, "ls to list \(fileName)") {
            try await client.next { frame in
                frame.type == "terminal_data" && frame.payload["sessionId"]?.stringValue == terminalId
                    && client.received.filter { $0.type == "terminal_data" }.compactMap { $0.payload["data"]?.stringValue }.joined().contains(fileName)
            }
        }
        _ = try await client.request("close_terminal", ["sessionId": .string(terminalId)])

        // The download link serves a zip holding the project's files.
        let ready = try await client.request("download_project", ["projectId": .string(project)])
        let url = try #require(ready.payload["url"]?.stringValue)
        let (code, headers, zip) = try await gateway.http(url)
        #expect(code == 200)
        #expect(headers["Content-Type"].first == "application/zip")
        let names = try ZipNames.list(zip)
        #expect(names.contains(file), "zip holds \(names)")

        // Chat history is in the database.
        let history = try await client.request("load_chat_history", ["limit": 10])
        #expect(history.payload["sessions"]?.arrayValue?.contains { $0["id"]?.stringValue == session } == true)
        let messages = try await client.request("load_chat_messages", ["sessionId": .string(session), "limit": 100])
        #expect((messages.payload["messages"]?.arrayValue?.count ?? 0) >= 2)

        #expect(client.violations.isEmpty, "frames outside the protocol: \(client.violations)")
        await client.close()
        await gateway.stop()
    }

    @Test func everyOtherMessageTypeRoundTrips() async throws {
        let gateway = try await DevGateway()
        defer { gateway.removeFolder() }
        let client = try await gateway.devClient()
        func ask(_ type: String, _ payload: [String: JSONValue] = [:], expect answer: String) async throws -> ServerFrame {
            let frame = try await client.request(type, payload)
            #expect(frame.type == answer, "\(type) → \(frame)")
            return frame
        }
        // Chat sessions.
        let chat = try await ask("new_chat", ["title": "Notes"], expect: "chat_session")
        let chatId = try #require(chat.payload["session"]?["id"]?.stringValue)
        _ = try await ask("save_chat_session", ["session": ["id": .string(chatId), "title": "Renamed",
                                                            "messages": [["content": "hello", "sender": "user"]]]], expect: "chat_save_result")
        let saved = try await ask("load_chat_messages", ["sessionId": .string(chatId), "limit": 10], expect: "chat_messages_response")
        #expect(saved.payload["messages"]?.arrayValue?.first?["content"] == "hello")
        _ = try await ask("resume", ["sessionId": .string(chatId), "lastSeq": 0], expect: "agent_hierarchy")
        _ = try await ask("leave_session", ["sessionId": .string(chatId)], expect: "ok")
        _ = try await ask("delete_chat_session", ["sessionId": .string(chatId)], expect: "chat_delete_result")
        _ = try await ask("load_chat_messages", ["sessionId": .string(chatId), "limit": 10], expect: "error")

        // A project from imported files, then every file and folder operation.
        let imported = try await ask("import_project", ["projectName": "Imported", "files": [
            ["path": "README.md", "content": "# Hi\n"], ["path": "src/main.py", "content": "print('hi')\n"],
            ["path": "data.bin", "content": "AAEC", "encoding": "base64"],
        ]], expect: "import_result")
        let project = try #require(imported.payload["projectId"]?.stringValue)
        #expect(imported.payload["files"] == .int(3))
        let id = JSONValue.string(project)
        let binary = try await ask("file_read", ["projectId": id, "filePath": "data.bin"], expect: "file_read_result")
        #expect(binary.payload["encoding"] == "base64" || binary.payload["content"] == "\u{0}\u{1}\u{2}")
        _ = try await ask("file_create", ["projectId": id, "filePath": "src/util.py", "content": "X = 1\n"], expect: "file_operation_result")
        _ = try await ask("file_create", ["projectId": id, "filePath": "src/util.py", "content": "again"], expect: "error")
        _ = try await ask("file_update", ["projectId": id, "filePath": "src/util.py", "content": "X = 2\n"], expect: "file_operation_result")
        let updated = try await ask("file_read", ["projectId": id, "filePath": "src/util.py"], expect: "file_read_result")
        #expect(updated.payload["content"] == "X = 2\n")
        _ = try await ask("dir_create", ["projectId": id, "dirPath": "docs"], expect: "dir_operation_result")
        let listing = try await ask("dir_list", ["projectId": id, "dirPath": ""], expect: "dir_list_result")
        #expect(Set(listing.payload["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []) == ["README.md", "src", "data.bin", "docs"])
        _ = try await ask("dir_delete", ["projectId": id, "dirPath": "docs"], expect: "dir_operation_result")
        _ = try await ask("file_delete", ["projectId": id, "filePath": "data.bin"], expect: "file_operation_result")
        let projects = try await ask("list_projects", expect: "project_list")
        #expect(projects.payload["projects"]?.arrayValue?.contains { $0["id"] == id } == true)

        // Git, every local operation.
        _ = try await ask("git_init", ["projectId": id], expect: "git_init_result")
        _ = try await ask("git_stage", ["projectId": id, "filePath": "README.md"], expect: "git_stage_result")
        _ = try await ask("git_unstage", ["projectId": id, "all": true], expect: "git_unstage_result")
        _ = try await ask("git_stage", ["projectId": id, "all": true], expect: "git_stage_result")
        _ = try await ask("git_commit", ["projectId": id, "message": "Start", "authorName": "Ada", "authorEmail": "ada@example.org"],
                          expect: "git_commit_result")
        _ = try await ask("git_create_branch", ["projectId": id, "branchName": "feature"], expect: "git_create_branch_result")
        _ = try await ask("git_checkout", ["projectId": id, "branchName": "feature"], expect: "git_checkout_result")
        _ = try await ask("file_update", ["projectId": id, "filePath": "README.md", "content": "# Hi there\n"], expect: "file_operation_result")
        let diff = try await ask("git_diff", ["projectId": id, "filePath": "README.md", "staged": false], expect: "git_diff")
        #expect(diff.payload["addedLines"] == .int(1))
        _ = try await ask("git_stage", ["projectId": id, "all": true], expect: "git_stage_result")
        _ = try await ask("git_commit", ["projectId": id, "message": "Greet"], expect: "git_commit_result")
        _ = try await ask("git_checkout", ["projectId": id, "branchName": "main"], expect: "git_checkout_result")
        let merged = try await ask("git_merge", ["projectId": id, "branchName": "feature"], expect: "git_merge_result")
        #expect(merged.payload["result"] == "fast_forward")
        let branches = try await ask("git_branches", ["projectId": id], expect: "git_branches_result")
        #expect(branches.payload["branches"]?.arrayValue?.count == 2)
        _ = try await ask("git_delete_branch", ["projectId": id, "branchName": "feature"], expect: "git_delete_branch_result")
        let commits = try await ask("git_commits", ["projectId": id], expect: "git_commits_result")
        #expect(commits.payload["commits"]?.arrayValue?.first?["author"] == "Ada" || commits.payload["commits"]?.arrayValue?.count == 2)
        // Remotes: a remote that does not exist is a typed git error, not a hang.
        for type in ["git_fetch", "git_pull", "git_push"] {
            let failed = try await ask(type, ["projectId": id, "remoteName": "origin"], expect: "error")
            #expect(failed.payload["code"] == "git" || failed.payload["code"] == "unavailable", "\(failed)")
        }

        // A terminal: resize, then it ends when closed.
        let terminal = try await ask("create_terminal_session", ["projectId": id, "cols": 80, "rows": 24], expect: "terminal_session")
        let terminalId = try #require(terminal.payload["sessionId"]?.stringValue)
        _ = try await ask("resize_terminal", ["sessionId": .string(terminalId), "cols": 120, "rows": 40], expect: "ok")
        _ = try await ask("send_terminal_data", ["sessionId": .string(terminalId), "data": "exit\n"], expect: "ok")
        _ = try await within(30, "the terminal to report its end") {
            try await client.next { $0.type == "terminal_session" && $0.payload["status"] == "stopped" }
        }
        _ = try await ask("resize_terminal", ["sessionId": .string(terminalId), "cols": 100, "rows": 30], expect: "error")

        // Settings and the cluster.
        let config = try await ask("llm_config", ["provider": "demo", "model": "demo", "temperature": 0.2], expect: "llm_config_update")
        #expect(config.payload["config"]?["provider"] == "demo")
        let key = try await ask("set_api_key", ["provider": "openai", "apiKey": "sk-test-1234567890"], expect: "api_key_update")
        #expect(key.payload["success"] == true)
        #expect(!key.text.contains("sk-test"), "the key is never sent back")
        let cluster = try await ask("cluster_status", expect: "cluster_status")
        #expect(cluster.payload["nodes"]?.arrayValue?.first?["roles"] == ["gateway", "worker"])

        // Stop and reject on a working run.
        let started = try await client.request("start_project_init", ["language": "python", "initialPrompt": .string(DevGateway.tempconv)])
        let session = try #require(started.payload["session"]?["id"]?.stringValue)
        _ = try await within(60, "the run to wait for approval") {
            try await client.next { $0.type == "project_status" && $0.payload["status"] == "waiting" && $0.payload["sessionId"]?.stringValue == session }
        }
        _ = try await ask("reject_phase", ["sessionId": .string(session), "phase": "understanding", "feedback": "Use Kelvin only"], expect: "ok")
        _ = try await ask("stop", ["sessionId": .string(session)], expect: "ok")
        _ = try await within(60, "the run to stop") {
            try await client.next { $0.type == "project_status" && $0.payload["status"] == "stopped" && $0.payload["sessionId"]?.stringValue == session }
        }
        #expect(client.violations.isEmpty, "frames outside the protocol: \(client.violations)")
        // The database, the key sealed: the key's text is nowhere in it.
        let database = try Data(contentsOf: URL(fileURLWithPath: gateway.folder + "/hma.sqlite"))
        let wal = (try? Data(contentsOf: URL(fileURLWithPath: gateway.folder + "/hma.sqlite-wal"))) ?? Data()
        #expect(database.range(of: Data("sk-test-1234567890".utf8)) == nil && wal.range(of: Data("sk-test-1234567890".utf8)) == nil)
        await client.close()
        await gateway.stop()
    }

    /// An upgrade request's status, without a WebSocket client.
    static func upgradeStatus(_ gateway: DevGateway, _ headers: [String: String]) async throws -> Int {
        let upgrade = ["Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                       "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="]
        return try await gateway.http("/ws", headers: upgrade.merging(headers) { $1 }).0
    }

    @Test func badInputGetsTypedErrorsAndTheGatewayKeepsServingEveryoneElse() async throws {
        let gateway = try await DevGateway()
        defer { gateway.removeFolder() }
        let cookie = try await gateway.signIn()
        let bystander = try await gateway.client(headers: ["Cookie": cookie])
        let client = try await gateway.client(headers: ["Cookie": cookie])
        func code(_ frame: ServerFrame) -> String? { frame.type == "error" ? frame.payload["code"]?.stringValue : "not an error: \(frame.type)" }

        // Upgrades without a valid token, or from a foreign page, never
        // become sockets (the upgrade machinery refuses with 400) — while
        // the same request with the cookie and a same-site Origin does.
        #expect(try await Self.upgradeStatus(gateway, [:]) == 400)
        #expect(try await Self.upgradeStatus(gateway, ["Cookie": "hma_session=forged-cookie-value-0123456789"]) == 400)
        #expect(try await Self.upgradeStatus(gateway, ["Authorization": "Bearer not-a-token-0123456789abcdef"]) == 400)
        #expect(try await Self.upgradeStatus(gateway, ["Cookie": cookie, "Origin": "https://evil.example"]) == 400)
        #expect(try await Self.upgradeStatus(gateway, ["Cookie": cookie, "Origin": "http://127.0.0.1:\(gateway.port)"]) == 101)
        await #expect(throws: (any Error).self) { _ = try await ProtocolClient.connect(port: gateway.port, headers: [:]) }
        // A used one-time token signs in no one.
        #expect(try await gateway.http("/?token=\(gateway.signInToken)").0 == 401)

        // Malformed frames: answered, the socket stays open.
        try await client.sendRaw("this is not JSON")
        #expect(code(try await client.next { $0.type == "error" }) == "bad_frame")
        try await client.sendBinary([0xde, 0xad, 0xbe, 0xef])
        _ = try await within(10, "two bad_frame errors") { try await client.next { _ in client.received.filter { $0.payload["code"] == "bad_frame" }.count >= 2 } }
        #expect(code(try await client.request("drop_database")) == "unknown_type")
        #expect(code(try await client.request("file_read", ["projectId": "p1"])) == "invalid_field")
        #expect(code(try await client.request("resume", ["sessionId": "s1", "lastSeq": "nine"])) == "invalid_field")
        #expect(code(try await client.request("new_chat", ["title": 42])) == "invalid_field")

        // `..` (and absolute paths) in every file message.
        let imported = try await client.request("import_project", ["files": [["path": "a.txt", "content": "a"]]])
        let id = try #require(imported.payload["projectId"])
        let escapes: [(String, [String: JSONValue])] = [
            ("file_read", ["filePath": "../../etc/passwd"]), ("file_create", ["filePath": "../x", "content": "x"]),
            ("file_update", ["filePath": "a/../../x", "content": "x"]), ("file_delete", ["filePath": ".."]),
            ("dir_create", ["dirPath": "../d"]), ("dir_delete", ["dirPath": "../"]), ("dir_list", ["dirPath": "/etc"]),
            ("git_diff", ["filePath": "../x", "staged": false]), ("file_create", ["filePath": ".git/hooks/pre-commit", "content": "x"]),
        ]
        for (type, payload) in escapes {
            let answer = try await client.request(type, payload.merging(["projectId": id]) { $1 })
            #expect(["invalid_path", "git"].contains(code(answer)), "\(type) \(payload) → \(answer)")
        }
        let passwd = try await client.request("import_project", ["files": [["path": "../../../tmp/owned", "content": "x"]]])
        #expect(code(passwd) == "invalid_path")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/owned"))

        // A future lastSeq: a resync, not an error.
        let chat = try await client.request("new_chat")
        let chatId = try #require(chat.payload["session"]?["id"])
        let resync = try await client.request("resume", ["sessionId": chatId, "lastSeq": 1_000_000])
        #expect(resync.type == "resync_required")

        // A 100 MB frame closes only that socket (1009).
        let big = try await gateway.client(headers: ["Cookie": cookie])
        try? await big.sendRaw(String(repeating: "x", count: 100 << 20))
        let bigClose = try await within(60, "the 100 MB frame's socket to close") { await big.closeCode() }
        #expect(bigClose == 1009)

        // 10,000 messages in a second: refused, then the socket is closed (1008).
        let flood = try await gateway.client(headers: ["Cookie": cookie])
        for n in 0..<10_000 {
            do { try await flood.send("list_projects", id: "f-\(n)") } catch { break }
        }
        let floodClose = try await within(30, "the flooding socket to close") { await flood.closeCode() }
        #expect(floodClose == 1008)
        #expect(flood.received.contains { $0.payload["code"] == "rate_limited" })

        // A client that asks and never reads is closed; it does not grow the gateway.
        let large = String(repeating: "0123456789abcdef", count: 65_536)  // 1 MiB
        _ = try await client.request("file_update", ["projectId": id, "filePath": "big.txt", "content": .string(large)])
        let deaf = try await gateway.client(headers: ["Cookie": cookie])
        deaf.pauseReading(true)
        for n in 0..<150 {
            do { try await deaf.send("file_read", ["projectId": id, "filePath": "big.txt"], id: "d-\(n)") } catch { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        deaf.pauseReading(false)
        let deafClose = try await within(60, "the deaf socket to close") { await deaf.closeCode() }
        #expect(deafClose == 1008)

        // Everyone else was served throughout, and still is.
        #expect(try await bystander.request("list_projects").type == "project_list")
        #expect(try await client.request("file_read", ["projectId": id, "filePath": "a.txt"]).payload["content"] == "a")
        #expect(client.violations.isEmpty && bystander.violations.isEmpty, "\(client.violations)")
        await client.close()
        await bystander.close()
        await gateway.stop()
    }

    @Test func theWebIDEIsServedWithContentTypesCachingAndAPolicy() async throws {
        // A stand-in build in the layout `make frontend` writes.
        let dist = NSTemporaryDirectory() + "hma-dist-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dist) }
        try FileManager.default.createDirectory(atPath: dist + "/assets", withIntermediateDirectories: true)
        try Data("<!doctype html><title>HMA</title><script src=\"/assets/app-3F2A9C.js\"></script>".utf8).write(to: URL(fileURLWithPath: dist + "/index.html"))
        try Data("window.HMA_CONFIG = {};".utf8).write(to: URL(fileURLWithPath: dist + "/config.js"))
        try Data("console.log(1)".utf8).write(to: URL(fileURLWithPath: dist + "/assets/app-3F2A9C.js"))
        let gateway = try await DevGateway(settings: ["HMA_HTTP_FRONTEND": dist])
        defer { gateway.removeFolder() }

        let cookie = try await gateway.signIn()
        let (status, headers, body) = try await gateway.http("/", headers: ["Cookie": cookie])
        #expect(status == 200 && String(decoding: body, as: UTF8.self).contains("app-3F2A9C.js"))
        #expect(headers["Content-Type"].first?.hasPrefix("text/html") == true)
        #expect(headers["Content-Security-Policy"].first?.contains("default-src 'self'") == true)
        #expect(headers["Cache-Control"].first == "no-cache")
        let (assetStatus, assetHeaders, _) = try await gateway.http("/assets/app-3F2A9C.js")
        #expect(assetStatus == 200)
        #expect(assetHeaders["Content-Type"].first?.contains("javascript") == true)
        #expect(assetHeaders["Cache-Control"].first?.contains("max-age=31536000") == true, "hashed: cached for a year")
        let (_, configHeaders, _) = try await gateway.http("/config.js")
        #expect(configHeaders["Cache-Control"].first == "no-cache", "not hashed: revalidated")
        #expect(try await gateway.http("/assets/../index.html").0 != 500)
        await gateway.stop()
    }

    @Test func aTerminalOutlivesAReloadAndModelsAreListedAndChecked() async throws {
        let gateway = try await DevGateway()
        defer { gateway.removeFolder() }
        let cookie = try await gateway.signIn()
        let first = try await gateway.client(headers: ["Cookie": cookie])
        let imported = try await first.request("import_project", ["files": [["path": "a.txt", "content": "a"]]])
        let project = try #require(imported.payload["projectId"])
        let opened = try await first.request("create_terminal_session", ["projectId": project, "cols": 80, "rows": 24])
        let terminal = try #require(opened.payload["sessionId"])
        let output: @Sendable (ProtocolClient) -> String = { client in
            client.received.filter { $0.type == "terminal_data" && $0.payload["sessionId"] == terminal }.compactMap { $0.payload["data"]?.stringValue }.joined()
        }
        try await first.send("send_terminal_data", ["sessionId": terminal, "data": "echo before-$((6*7))\n"])
        _ = try await within(30, "the first tab's output") { try await first.next { _ in output(first).contains("before-42") } }
        await first.close()  // the tab reloads

        let second = try await gateway.client(headers: ["Cookie": cookie])
        let listed = try await second.request("list_terminals", ["projectId": project])
        #expect(listed.payload["terminals"]?.arrayValue?.map { $0["sessionId"] } == [terminal])
        let attached = try await second.request("attach_terminal", ["sessionId": terminal])
        #expect(attached.type == "terminal_session" && attached.payload["status"] == "running")
        _ = try await within(30, "the replayed output") { try await second.next { _ in output(second).contains("before-42") } }
        try await second.send("send_terminal_data", ["sessionId": terminal, "data": "echo after-$((6*7))\n"])
        _ = try await within(30, "new output") { try await second.next { _ in output(second).contains("after-42") } }
        // A third tab takes it; the second is told.
        let third = try await gateway.client(headers: ["Cookie": cookie])
        _ = try await third.request("attach_terminal", ["sessionId": terminal])
        _ = try await within(30, "the second tab to be told") {
            try await second.next { $0.type == "terminal_session" && $0.payload["status"] == "detached" }
        }

        // The model catalogue and a check.
        let models = try await third.request("list_models")
        #expect(models.type == "model_catalogue")
        #expect(models.payload["models"]?.arrayValue?.contains { $0["provider"] == "openai" } == true)
        #expect(models.payload["configured"] == ["demo"], "no provider key in this test's environment")
        #expect(models.payload["current"]?["provider"] == "demo")
        let demo = try await third.request("check_model", ["provider": "demo", "model": "demo"])
        #expect(demo.type == "model_check" && demo.payload["usable"] == true)
        let unconfigured = try await third.request("check_model", ["provider": "anthropic", "model": "claude-sonnet-4-5"])
        #expect(unconfigured.payload["usable"] == false)
        #expect(unconfigured.payload["verdict"]?.stringValue?.contains("not configured") == true, "\(unconfigured)")
        for client in [second, third] { #expect(client.violations.isEmpty, "\(client.violations)") }
        await second.close()
        await third.close()
        await gateway.stop()
    }

    @Test func twoUsersSeeNothingOfEachOther() async throws {
        let gateway = try await DevGateway()
        defer { gateway.removeFolder() }
        let alice = try await gateway.client(headers: ["Authorization": "Bearer \(try await gateway.addUser("alice"))"])
        let bob = try await gateway.client(headers: ["Authorization": "Bearer \(try await gateway.addUser("bob"))"])
        let imported = try await alice.request("import_project", ["files": [["path": "secret.txt", "content": "alice's"]]])
        let project = try #require(imported.payload["projectId"])
        let session = try #require(alice.received.last { $0.type == "chat_session" }?.payload["session"]?["id"])
        let terminal = try await alice.request("create_terminal_session", ["projectId": project, "cols": 80, "rows": 24])
        let terminalId = try #require(terminal.payload["sessionId"])

        let attempts: [(String, [String: JSONValue])] = [
            ("file_read", ["projectId": project, "filePath": "secret.txt"]),
            ("file_update", ["projectId": project, "filePath": "secret.txt", "content": "bob's"]),
            ("dir_list", ["projectId": project, "dirPath": ""]),
            ("git_status", ["projectId": project]), ("git_init", ["projectId": project]),
            ("download_project", ["projectId": project]),
            ("create_terminal_session", ["projectId": project, "cols": 80, "rows": 24]),
            ("send_terminal_data", ["sessionId": terminalId, "data": "cat secret.txt\n"]),
            ("close_terminal", ["sessionId": terminalId]), ("attach_terminal", ["sessionId": terminalId]),
            ("list_terminals", ["projectId": project]),
            ("resume", ["sessionId": session, "lastSeq": 0]),
            ("load_chat_messages", ["sessionId": session, "limit": 10]),
            ("prompt", ["sessionId": session, "prompt": "delete everything"]),
            ("stop", ["sessionId": session]), ("delete_chat_session", ["sessionId": session]),
            ("save_chat_session", ["session": ["id": session, "title": "mine"]]),
        ]
        for (type, payload) in attempts {
            let answer = try await bob.request(type, payload)
            #expect(answer.type == "error" && answer.payload["code"] == "not_found", "bob's \(type) → \(answer)")
        }
        let history = try await bob.request("load_chat_history", ["limit": 50])
        #expect(history.payload["sessions"]?.arrayValue?.isEmpty == true)
        #expect(try await bob.request("list_projects").payload["projects"]?.arrayValue?.isEmpty == true)
        // Alice's download link does not open for a forged user or a changed project.
        let link = try #require(try await alice.request("download_project", ["projectId": project]).payload["url"]?.stringValue)
        #expect(try await gateway.http(link).0 == 200)
        let bobId = try #require(bob.received.first { $0.type == "welcome" }?.payload["userId"]?.stringValue)
        let aliceId = try #require(alice.received.first { $0.type == "welcome" }?.payload["userId"]?.stringValue)
        #expect(try await gateway.http(link.replacingOccurrences(of: aliceId, with: bobId)).0 == 403)
        #expect(try await gateway.http("/download/\(project.stringValue ?? "")").0 == 401)
        // Alice's things are untouched.
        #expect(try await alice.request("file_read", ["projectId": project, "filePath": "secret.txt"]).payload["content"] == "alice's")
        await alice.close()
        await bob.close()
        await gateway.stop()
    }

    @Test func aTabThatReconnectsMidRunMissesNothingAndSeesNothingTwice() async throws {
        let gateway = try await DevGateway(demoPauseMilliseconds: 4)
        defer { gateway.removeFolder() }
        let cookie = try await gateway.signIn()
        let first = try await gateway.client(headers: ["Cookie": cookie])
        let started = try await first.request("start_project_init", ["language": "python", "initialPrompt": .string(DevGateway.tempconv)])
        let session = try #require(started.payload["session"]?["id"]?.stringValue)
        let question = try await within(60, "the first question") {
            try await first.next { $0.type == "project_status" && $0.payload["status"] == "waiting" }
        }
        _ = try await first.request("approve_phase", ["sessionId": .string(session), "phase": "understanding"])
        let approvedAt = question.seq ?? 0
        _ = try await within(60, "some of the next phase's events") { try await first.next { ($0.seq ?? 0) >= approvedAt + 10 } }
        await first.close()
        let seen = first.received.compactMap(\.seq)
        let lastSeq = try #require(seen.max())
        #expect(seen == Array(1...lastSeq), "the first tab saw 1…\(lastSeq) in order")

        // The run goes on while no tab is open.
        let second = try await gateway.client(headers: ["Cookie": cookie])
        let joined = try await second.request("resume", ["sessionId": .string(session), "lastSeq": .int(lastSeq)])
        #expect(joined.type == "agent_hierarchy", "\(joined)")
        #expect(joined.payload["agents"]?.arrayValue?.isEmpty == false)
        try await second.finishRun(session: session, after: lastSeq)
        let resumed = second.received.compactMap(\.seq)
        #expect(resumed.first == lastSeq + 1, "the replay starts right after \(lastSeq)")
        #expect(resumed == Array((lastSeq + 1)...(resumed.last ?? lastSeq)), "no gap and no repeat after the reconnect")
        #expect(second.violations.isEmpty, "\(second.violations)")
        await second.close()
        await gateway.stop()
    }

    @Test func eachLimitRefusesWithATypedErrorAndSigtermClosesEverySocketWith1001() async throws {
        let gateway = try await DevGateway(settings: ["HMA_LIMITS_USER_CONNECTIONS": "2", "HMA_LIMITS_USER_RUNS": "1"])
        defer { gateway.removeFolder() }
        let cookie = try await gateway.signIn()
        let first = try await gateway.client(headers: ["Cookie": cookie])
        let second = try await gateway.client(headers: ["Cookie": cookie])
        func code(_ frame: ServerFrame) -> String? { frame.type == "error" ? frame.payload["code"]?.stringValue : "not an error: \(frame.type)" }

        // Connections per user: the third is told why, then closed (1008).
        let third = try await ProtocolClient.connect(port: gateway.port, headers: ["Cookie": cookie])
        let refusal = try await within(30, "the third connection's refusal") { try await third.next { $0.type == "error" } }
        #expect(code(refusal) == "limit_reached")
        #expect(await third.closeCode() == 1008)

        // Runs per user: the second run is refused before a project is made for it.
        let started = try await first.request("start_project_init", ["language": "python", "initialPrompt": .string(DevGateway.tempconv)])
        #expect(started.type == "chat_session", "\(started)")
        _ = try await within(60, "the run's first question") { try await first.next { $0.type == "project_status" && $0.payload["status"] == "waiting" } }
        let projectsBefore = try await second.request("list_projects").payload["projects"]?.arrayValue?.count
        #expect(code(try await second.request("start_project_init", ["language": "python", "initialPrompt": "another"])) == "limit_reached")
        #expect(try await second.request("list_projects").payload["projects"]?.arrayValue?.count == projectsBefore)

        // Terminals per project: five, then a refusal.
        let imported = try await second.request("import_project", ["files": [["path": "a.txt", "content": "a"]]])
        let project = try #require(imported.payload["projectId"])
        for n in 1...5 {
            let terminal = try await second.request("create_terminal_session", ["projectId": project, "cols": 80, "rows": 24])
            #expect(terminal.type == "terminal_session", "terminal \(n): \(terminal)")
        }
        #expect(code(try await second.request("create_terminal_session", ["projectId": project, "cols": 80, "rows": 24])) == "limit_reached")

        // SIGTERM: every socket is told the gateway is going away (1001),
        // the run reaches a saved step, and the process exits cleanly.
        gateway.child.signal(SIGTERM)
        let closes = try await within(60, "both sockets to close") { (await first.closeCode(), await second.closeCode()) }
        #expect(closes.0 == 1001 && closes.1 == 1001, "\(closes)")
        let status = try await within(60, "hma dev to exit") { await gateway.child.exitStatus() }
        #expect(status == 0, "\(gateway.child.standardError.suffix(2000))")
        #expect(first.violations.isEmpty && second.violations.isEmpty, "\(first.violations) \(second.violations)")
    }

    @Test func aGatewayKilledMidRunRestartsWithItsHistoryAndFinishesTheRun() async throws {
        let gateway = try await DevGateway(demoPauseMilliseconds: 8)
        defer { gateway.removeFolder() }
        let client = try await gateway.devClient()
        let started = try await client.request("start_project_init", ["language": "python", "initialPrompt": .string(DevGateway.tempconv)])
        let session = try #require(started.payload["session"]?["id"]?.stringValue)
        // Past the first approval, into the work.
        _ = try await within(60, "the first question") {
            try await client.next { $0.type == "project_status" && $0.payload["status"] == "waiting" }
        }
        _ = try await client.request("approve_phase", ["sessionId": .string(session), "phase": "understanding"])
        _ = try await within(60, "the structure phase's first file") {
            try await client.next { frame in
                frame.type == "file_tree_update" && client.received.contains { $0.type == "project_init_status" && $0.payload["phase"] == "structure" }
            }
        }
        let messagesBefore = client.received.filter { $0.type == "message" }.count
        await gateway.kill()

        let restarted = try await DevGateway(folder: gateway.folder, demoPauseMilliseconds: 1)
        let again = try await restarted.devClient()
        let history = try await again.request("load_chat_history", ["limit": 10])
        #expect(history.payload["sessions"]?.arrayValue?.contains { $0["id"]?.stringValue == session } == true)
        let messages = try await again.request("load_chat_messages", ["sessionId": .string(session), "limit": 200])
        let stored = messages.payload["messages"]?.arrayValue ?? []
        #expect(stored.count >= messagesBefore, "every message sent before the kill is stored (\(stored.count) of \(messagesBefore))")
        #expect(stored.contains { $0["sender"] == "user" && $0["content"]?.stringValue == DevGateway.tempconv })
        // The old numbering is gone: a resync, then the resumed run's events.
        let resync = try await again.request("resume", ["sessionId": .string(session), "lastSeq": 10_000])
        #expect(resync.type == "resync_required")
        do {
            try await again.finishRun(session: session)
        } catch {
            Issue.record("the resumed run did not finish: \(error); the gateway said: \(restarted.child.standardError.suffix(3000)); got \(again.received.suffix(10))")
        }
        #expect(again.received.contains { $0.type == "file_tree_update" })
        await again.close()
        await restarted.stop()
    }

    @Test func withOnRestartAskAKilledRunWaitsForThePersonThenContinues() async throws {
        // Slow motion, so the kill finds the structure phase working.
        let gateway = try await DevGateway(demoPauseMilliseconds: 150)
        defer { gateway.removeFolder() }
        let client = try await gateway.devClient()
        let started = try await client.request("start_project_init", ["language": "python", "initialPrompt": .string(DevGateway.tempconv)])
        let session = try #require(started.payload["session"]?["id"]?.stringValue)
        _ = try await within(60, "the first question") { try await client.next { $0.type == "project_status" && $0.payload["status"] == "waiting" } }
        _ = try await client.request("approve_phase", ["sessionId": .string(session), "phase": "understanding"])
        _ = try await within(120, "the structure phase's first file") {
            try await client.next { frame in
                frame.type == "file_tree_update" && client.received.contains { $0.type == "project_init_status" && $0.payload["phase"] == "structure" }
            }
        }
        await gateway.kill()

        let restarted = try await DevGateway(folder: gateway.folder, settings: ["HMA_RUNS_ON_RESTART": "ask"])
        let again = try await restarted.devClient()
        let snapshot = try await again.request("resume", ["sessionId": .string(session), "lastSeq": 10_000])
        #expect(snapshot.type == "resync_required")
        #expect(snapshot.payload["projectStatus"] == "waiting" && snapshot.payload["phase"] == "structure", "\(snapshot)")
        #expect(restarted.child.standardError.contains("run held until the person answers"))
        #expect(!restarted.child.standardError.contains("run resumed"), "a held run does not start by itself")
        // Answering lets it go on from its last completed step, to the end.
        try await again.finishRun(session: session)
        #expect(restarted.child.standardError.contains("held run continued"))
        #expect(again.violations.isEmpty, "\(again.violations)")
        await again.close()
        await restarted.stop()
    }
}

/// Lists a zip's entries with Python's zipfile (no zip library in this target).
enum ZipNames {
    static func list(_ data: Data) throws -> [String] {
        let path = NSTemporaryDirectory() + "hma-zip-\(UUID().uuidString).zip"
        try data.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
