import Foundation
import Gateway
import GatewayTesting
import MeshTesting
import ProcessTesting
import Testing

/// `cluster/local.sh`: three processes on three loopback addresses, a demo
/// run built through the gateway onto a worker, that worker killed and
/// brought back with its project, then the cluster stopped.
@Suite struct LocalClusterScriptTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("cluster/local.sh").path

    /// Runs `local.sh ARGUMENTS` to its end; its exit code and standard output.
    static func local(_ arguments: [String], environment: [String: String]) async throws -> (Int32, [String]) {
        let child = try ChildProcess(URL(fileURLWithPath: "/bin/bash"), [script] + arguments, environment: environment)
        let (code, lines) = try await within(180, "local.sh \(arguments.joined(separator: " "))") { () async -> (Int32, [String]) in
            var lines: [String] = []
            while let line = await child.lines.next() { lines.append(line) }
            return (await child.exitStatus(), lines)
        }
        #expect(code == 0, "local.sh \(arguments.joined(separator: " ")): \(lines) \(child.standardError)")
        return (code, lines)
    }

    @Test func upRunsAProjectOnAWorkerKillAndUpBringItBackDownStops() async throws {
        let run = NSTemporaryDirectory() + "hma-local-cluster-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: run) }
        // Ports of this test alone (another test may run a cluster meanwhile).
        let base = Int.random(in: 20_000..<40_000)
        let environment = ProjectsOnWorkersTests.quietEnvironment.merging([
            "HMA_CLUSTER_DIR": run, "HMA_CLUSTER_HTTP_PORT": "\(base)", "HMA_CLUSTER_MESH_PORT": "\(base + 1)", "HMA_DEMO_PAUSE_MS": "1",
        ]) { $1 }
        defer { Task { _ = try? await Self.local(["down"], environment: environment) } }

        let (_, upLines) = try await Self.local(["up"], environment: environment)
        let urlLine = try #require(upLines.first { $0.contains("is up: open http://") }, "\(upLines)")
        let token = try #require(urlLine.components(separatedBy: "?token=").last)
        let client = try await ProtocolClient.connect(port: base, headers: ["Authorization": "Bearer \(token)"])
        #expect(try await client.request("hello", ["clientVersion": "tests"]).type == "welcome")

        // The demo run: the project (files, its tests in the sandbox) on
        // worker-1, the first worker by name; the agents' calls on both.
        let (_, project) = try await client.buildDemo()
        let folder = run + "/worker-1/projects/" + project
        let files = try FileManager.default.subpathsOfDirectory(atPath: folder)
        #expect(files.contains { $0.hasSuffix(".py") }, "\(files)")
        #expect(!FileManager.default.fileExists(atPath: run + "/gateway/projects/" + project))
        let python = try #require(files.sorted().first { $0.hasSuffix(".py") })
        let original = try String(contentsOfFile: folder + "/" + python, encoding: .utf8)

        let (_, status) = try await Self.local(["status"], environment: environment)
        #expect(status.filter { $0.hasSuffix(": running") || $0.contains(": running (pid") }.count == 3, "\(status)")
        #expect(status.filter { $0.contains(" up ") }.count == 3, "\(status)")

        // worker-1 killed: its project comes back on worker-2 from the
        // gateway's copy, unchanged; `up` brings worker-1 back.
        _ = try await Self.local(["kill", "worker-1"], environment: environment)
        let moved = run + "/worker-2/projects/" + project
        let back = try await within(30, "worker-1's project to be served from worker-2") {
            while true {
                let answer = try await client.request("file_read", ["projectId": .string(project), "filePath": .string(python)])
                if answer.type == "file_read_result" && FileManager.default.fileExists(atPath: moved) { return answer }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(back.payload["content"]?.stringValue == original)
        _ = try await Self.local(["up"], environment: environment)
        let (_, restarted) = try await Self.local(["status"], environment: environment)
        #expect(restarted.filter { $0.hasSuffix(": running") || $0.contains(": running (pid") }.count == 3, "\(restarted)")
        #expect(client.violations.isEmpty, "\(client.violations)")
        await client.close()

        let (_, downLines) = try await Self.local(["down"], environment: environment)
        #expect(downLines.filter { $0.hasPrefix("stopped ") }.count == 3, "\(downLines)")
        let (_, after) = try await Self.local(["status"], environment: environment)
        #expect(after.filter { $0.hasSuffix(": not running") }.count == 3, "\(after)")
    }
}
