import Foundation
import Gateway
import GatewayTesting
import MeshTesting
import ProcessTesting
import Testing

/// `hma gateway` with two `hma worker`s, each its own process: projects are
/// placed on the workers, not the gateway, and everything about them —
/// files, terminals — goes through the gateway to the worker that holds
/// them (docs/architecture.md, "Projects on workers").
@Suite struct ProjectsOnWorkersTests {
    static let quietEnvironment: [String: String] = Dictionary(uniqueKeysWithValues:
        ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENROUTER_API_KEY", "OLLAMA_HOST"].map { ($0, "") })

    @Test func projectsArePlacedOnWorkersAndServedThroughTheGateway() async throws {
        let cluster = try await ProcessCluster.start()
        let client = cluster.client

        // No worker yet: a new project is refused with a reason, and nothing is made.
        let refused = try await client.request("import_project", ["files": [["path": "a.txt", "content": "a"]]])
        #expect(refused.type == "error" && refused.payload["code"] == "unavailable", "\(refused)")
        #expect(try await client.request("list_projects").payload["projects"]?.arrayValue?.isEmpty ?? true)

        let w1 = try await cluster.worker("w1"), w2 = try await cluster.worker("w2")
        try await cluster.waitForMembers(3)

        // Two projects: one on each worker (the one holding fewer, by name on a tie).
        var ids: [String] = []
        for name in ["first", "second"] {
            let imported = try await client.request("import_project", ["projectName": .string(name), "files": [["path": "hello.txt", "content": .string("hi from \(name)\n")]]])
            ids.append(try #require(imported.payload["projectId"]?.stringValue, "\(imported)"))
        }
        let projects = ids
        #expect(cluster.exists("w1/projects/\(ids[0])/hello.txt"))
        #expect(cluster.exists("w2/projects/\(ids[1])/hello.txt"))
        #expect(!cluster.exists("gw/projects/\(ids[0])") && !cluster.exists("gw/projects/\(ids[1])"), "the gateway holds no project")

        // Files through the gateway, from the worker that holds them.
        let read = try await client.request("file_read", ["projectId": .string(ids[1]), "filePath": "hello.txt"])
        #expect(read.payload["content"] == "hi from second\n", "\(read)")
        let written = try await client.request("file_create", ["projectId": .string(ids[0]), "filePath": "src/main.py", "content": "print(1)\n"])
        #expect(written.type == "file_operation_result", "\(written)")
        #expect(cluster.exists("w1/projects/\(ids[0])/src/main.py"))

        // w1 drained: a new project goes to w2 although w1 would win the tie;
        // w1's project is still served. Undrained, w1 takes projects again.
        let drain = try ChildProcess(ChildProcess.executable("hma"), ["worker", "drain", "w1", "--data-dir", cluster.folder + "/gw"])
        #expect(try await within(30, "hma worker drain") { await drain.exitStatus() } == 0, "\(drain.standardError)")
        let third = try await client.request("import_project", ["projectName": "third", "files": [["path": "t.txt", "content": "t"]]])
        let thirdId = try #require(third.payload["projectId"]?.stringValue, "\(third)")
        #expect(cluster.exists("w2/projects/\(thirdId)/t.txt") && !cluster.exists("w1/projects/\(thirdId)"))
        #expect(try await client.request("file_read", ["projectId": .string(ids[0]), "filePath": "hello.txt"]).type == "file_read_result")
        let undrain = try ChildProcess(ChildProcess.executable("hma"), ["worker", "undrain", "w1", "--data-dir", cluster.folder + "/gw"])
        #expect(try await within(30, "hma worker undrain") { await undrain.exitStatus() } == 0, "\(undrain.standardError)")
        let fourth = try await client.request("import_project", ["projectName": "fourth", "files": [["path": "f.txt", "content": "f"]]])
        let fourthId = try #require(fourth.payload["projectId"]?.stringValue, "\(fourth)")
        #expect(cluster.exists("w1/projects/\(fourthId)/f.txt"), "w1 holds fewer projects and takes the next")

        // A terminal of the project on worker 2, through the gateway.
        let terminal = try await client.request("create_terminal_session", ["projectId": .string(ids[1]), "cols": 80, "rows": 24])
        let terminalId = try #require(terminal.payload["sessionId"]?.stringValue, "\(terminal)")
        _ = try await client.request("send_terminal_data", ["sessionId": .string(terminalId), "data": "echo $((6*7)); cat hello.txt\n"])
        // Everything the terminal printed so far, in order.
        let printed = { @Sendable in
            client.received.filter { $0.type == "terminal_data" && $0.payload["sessionId"]?.stringValue == terminalId }
                .map { $0.payload["data"]?.stringValue ?? "" }.joined()
        }
        _ = try await within(30, "the worker's shell to answer") {
            try await client.next { _ in printed().contains("42") && printed().contains("hi from second") }
        }

        // Worker 2 is killed. Until the gateway declares it down its project
        // answers `unavailable` (typed) or what the worker still had time
        // to say; then the project comes back on worker 1 from its copy —
        // the edit made after the import included — and worker 1's own
        // project is served throughout.
        let edited = try await client.request("file_update", ["projectId": .string(projects[1]), "filePath": "hello.txt", "content": "edited\n"])
        #expect(edited.type == "file_operation_result", "\(edited)")
        try await cluster.waitForCopy(of: projects[1], toHold: "hello.txt", "edited\n")
        w2.signal(SIGKILL)
        _ = try await w2.exitStatus()
        let killed = ContinuousClock.now
        let (back, answers) = try await within(30, "worker 2's project to come back on worker 1") {
            var answers: Set<String> = []
            while true {
                let answer = try await client.request("file_read", ["projectId": .string(projects[1]), "filePath": "hello.txt"])
                if answer.type == "file_read_result" && cluster.exists("w1/projects/\(projects[1])/hello.txt") { return (answer, answers) }
                answers.insert(answer.type == "error" ? answer.payload["code"]?.stringValue ?? "?" : answer.type)
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(back.payload["content"] == "edited\n", "\(back)")
        #expect(answers.isSubset(of: ["unavailable", "file_read_result"]), "answers while it moved: \(answers)")
        print("cluster scenario worker SIGKILL with projects: its project was served again from worker 1 \(ContinuousClock.now - killed) after the kill")
        let still = try await client.request("file_read", ["projectId": .string(ids[0]), "filePath": "src/main.py"])
        #expect(still.payload["content"] == "print(1)\n", "\(still)")
        #expect(client.violations.isEmpty, "frames outside the protocol: \(client.violations)")
        try await cluster.stop([w1])
    }

    /// `hma worker drain` reaches the worker (the gateway's upkeep tells
    /// it): a demo run started after it places no agent there, while the
    /// drained worker still serves the project it holds.
    @Test func aDrainedWorkerGetsNoNewAgents() async throws {
        let cluster = try await ProcessCluster.start()
        let w1 = try await cluster.worker("w1", logLevel: "notice"), w2 = try await cluster.worker("w2", logLevel: "notice")
        try await cluster.waitForMembers(3)
        let kept = try await cluster.client.request("import_project", ["files": [["path": "k.txt", "content": "k"]]])
        let keptId = try #require(kept.payload["projectId"]?.stringValue, "\(kept)")
        #expect(cluster.exists("w1/projects/\(keptId)/k.txt"), "w1 wins the tie")

        let drain = try ChildProcess(ChildProcess.executable("hma"), ["worker", "drain", "w1", "--data-dir", cluster.folder + "/gw"])
        #expect(try await within(30, "hma worker drain") { await drain.exitStatus() } == 0, "\(drain.standardError)")
        try await within(30, "w1 to be told it is drained") {
            while !w1.standardError.contains("this worker is drained") { try await Task.sleep(for: .milliseconds(50)) }
        }
        let (_, project) = try await cluster.client.buildDemo()
        let agents = { (worker: ChildProcess) in
            worker.standardError.split(separator: "\n").filter { $0.contains("agent turns activated here") && $0.contains("agent=\(project)/") }.count
        }
        #expect(agents(w1) == 0, "agents placed on the drained worker: \(agents(w1))")
        #expect(agents(w2) > 0, "the run's agents ran on w2")
        #expect(cluster.exists("w2/projects/\(project)"), "the new project went to w2")
        let read = try await cluster.client.request("file_read", ["projectId": .string(keptId), "filePath": "k.txt"])
        #expect(read.payload["content"] == "k", "the drained worker still serves its project: \(read)")
        try await cluster.stop([w1, w2])
    }
}
