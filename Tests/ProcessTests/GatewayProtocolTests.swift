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
