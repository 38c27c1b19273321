import Foundation
import Gateway
import GatewayTesting
import MeshTesting
import ProcessTesting
import Testing

/// The whole system across processes under faults: a gateway and two
/// workers (mutual TLS), the demo model's run, and one fault each. Every
/// scenario prints a line: what happened, how long detection and recovery
/// took, and how many files were checked.
@Suite(.serialized) struct ClusterFaultTests {
    static func report(_ scenario: String, _ facts: String) {
        print("cluster scenario \(scenario): \(facts)")
    }

    @Test func aGatewayKilledMidRunComesBackAndTheRunFinishesWithTheSameFiles() async throws {
        let cluster = try await ProcessCluster.start(demoPauseMilliseconds: 8)
        let w1 = try await cluster.worker("w1"), w2 = try await cluster.worker("w2")
        try await cluster.waitForMembers(3)

        // An undisturbed run first: the files the disturbed one must match.
        let reference: String
        do {
            reference = try await cluster.client.buildDemo().project
        } catch {
            Issue.record("the undisturbed run did not finish: \(error); gateway: \(cluster.gateway.standardError.suffix(2000)); got \(cluster.client.received.suffix(6))")
            throw error
        }
        let referenceNode = cluster.exists("w1/projects/\(reference)") ? "w1" : "w2"
        let expected = try cluster.files(of: reference, on: referenceNode)

        // The second run is killed with the gateway in its structure phase.
        let client = cluster.client
        let started = try await client.request("start_project_init", ["language": "python", "initialPrompt": .string(DevGateway.tempconv)])
        let session = try #require(started.payload["session"]?["id"]?.stringValue)
        _ = try await within(60, "the first question") {
            try await client.next { $0.type == "project_status" && $0.payload["status"] == "waiting" && $0.payload["sessionId"]?.stringValue == session }
        }
        _ = try await client.request("approve_phase", ["sessionId": .string(session), "phase": "understanding"])
        _ = try await within(60, "the structure phase's first file") {
            try await client.next { frame in
                frame.type == "file_tree_update" && frame.payload["sessionId"] == nil
                    && client.received.contains { $0.type == "project_init_status" && $0.payload["phase"] == "structure" && $0.payload["sessionId"]?.stringValue == session }
            }
        }
        let project = try #require(client.received.first { $0.type == "project_status" && $0.payload["sessionId"]?.stringValue == session && $0.payload["projectId"] != nil }?.payload["projectId"]?.stringValue)
        let node = cluster.exists("w1/projects/\(project)") ? "w1" : "w2"
        #expect(node != referenceNode, "the second project went to the other worker")
        let messagesBefore = client.received.filter { $0.type == "message" && $0.payload["sessionId"]?.stringValue == session }.count
        let killed = ContinuousClock.now
        try await cluster.killAndRestartGateway()
        let again = cluster.client

        // History intact; the workers are back as members; the run resumes.
        let messages = try await again.request("load_chat_messages", ["sessionId": .string(session), "limit": 200])
        #expect((messages.payload["messages"]?.arrayValue ?? []).count >= messagesBefore)
        try await cluster.waitForMembers(3)
        let rejoined = ContinuousClock.now - killed
        let resync = try await again.request("resume", ["sessionId": .string(session), "lastSeq": 10_000])
        #expect(resync.type == "resync_required")
        do {
            try await again.finishRun(session: session)
        } catch {
            Issue.record("the resumed run did not finish: \(error); gateway: \(cluster.gateway.standardError.suffix(2000)); got \(again.received.suffix(6))")
            throw error
        }
        let recovered = ContinuousClock.now - killed
        let seqs = again.received.filter { $0.payload["sessionId"]?.stringValue == session || $0.seq != nil }.compactMap(\.seq)
        #expect(seqs == Array(seqs.sorted()), "events after the restart arrive in order")
        #expect(Set(seqs).count == seqs.count, "no event twice")
        let produced = try cluster.files(of: project, on: node)
        #expect(produced.keys.sorted() == expected.keys.sorted(), "the same files as the undisturbed run")
        for (path, content) in expected where produced[path] != content && !path.hasPrefix("NOTES") {
            Issue.record("\(path) differs from the undisturbed run's")
        }
        Self.report("gateway SIGKILL mid-run", "workers members again after \(rejoined), run finished \(recovered) after the kill, \(produced.count) files checked against the undisturbed run")
        try await cluster.stop([w1, w2])
    }

    /// The coders of `project` whose model calls each worker ran, from the
    /// workers' logs ("agent turns activated here", one per agent and node).
    static func coders(of project: String, on workers: [String: ChildProcess]) -> [String: Set<String>] {
        workers.mapValues { worker in
            Set(worker.standardError.split(separator: "\n").compactMap { line -> String? in
                guard line.contains("agent turns activated here"), let range = line.range(of: "agent=\(project)/coder ") else { return nil }
                return String(line[range.upperBound...].prefix { $0 != " " })
            })
        }
    }

    /// Which worker a scenario kills mid-run.
    enum Victim: String, CustomTestStringConvertible, CaseIterable {
        /// The one running most coders' calls (the project's own on a tie).
        case mostCoders = "the worker running most coders"
        /// The one holding the project's files: they come back from the copy.
        case projectHost = "the worker holding the project"
        var testDescription: String { rawValue }
    }

    /// The exit codes of the project's test runs (`python3 -m unittest`)
    /// the session's chat shows, in order.
    static func testExits(_ client: ProtocolClient, session: String) -> [Int64?] {
        client.received.filter { frame in
            frame.type == "message" && frame.payload["sessionId"]?.stringValue == session
                && frame.payload["metadata"]?["kind"] == "command"
                && (frame.payload["metadata"]?["command"]?.stringValue ?? "").contains("unittest")
        }.map { $0.payload["metadata"]?["exitCode"]?.intValue }
    }

    @Test(arguments: Victim.allCases)
    func aWorkerKilledMidRunLosesNothingAndTheRunFinishesWithTheSameFiles(_ choice: Victim) async throws {
        let cluster = try await ProcessCluster.start(demoPauseMilliseconds: 8)
        let w1 = try await cluster.worker("w1", logLevel: "notice"), w2 = try await cluster.worker("w2", logLevel: "notice")
        let workers = ["w1": w1, "w2": w2]
        try await cluster.waitForMembers(3)

        // An undisturbed run: its coders' calls spread over both workers,
        // and its files are what the disturbed run must end with.
        let reference: String
        do {
            let built = try await cluster.client.buildDemo()
            reference = built.project
            let exits = Self.testExits(cluster.client, session: built.session)
            #expect(exits.last == 0, "the undisturbed run's tests pass in the end: exits \(exits)")
        } catch {
            Issue.record("the undisturbed run did not finish: \(error); gateway: \(cluster.gateway.standardError.suffix(2000))")
            throw error
        }
        let spread = Self.coders(of: reference, on: workers)
        #expect(spread.values.allSatisfy { !$0.isEmpty }, "coders per worker: \(spread)")
        // The IDE's agent tree shows the same: coders on both workers.
        let shown = Set(cluster.client.received.filter { $0.type == "agent_update" && $0.payload["role"] == "coder" }
            .compactMap { $0.payload["node"]?.stringValue })
        #expect(shown.isSuperset(of: ["w1", "w2"]), "nodes the agent tree showed coders on: \(shown.sorted())")
        let expected = try cluster.files(of: reference, on: cluster.exists("w1/projects/\(reference)") ? "w1" : "w2")
        #expect(expected.keys.contains { $0.hasSuffix(".py") }, "the reference run wrote code: \(expected.keys.sorted())")

        // The second run: once coders work, the worker running most of them
        // (the project's own on a tie) is killed.
        let client = cluster.client
        let started = try await client.request("start_project_init", ["language": "python", "initialPrompt": .string(DevGateway.tempconv)])
        let session = try #require(started.payload["session"]?["id"]?.stringValue)
        let driver = Task { try await client.finishRun(session: session) }
        let project = try await within(60, "the project to be made") {
            while true {
                if let id = client.received.first(where: { $0.type == "project_status" && $0.payload["sessionId"]?.stringValue == session && $0.payload["projectId"] != nil })?.payload["projectId"]?.stringValue {
                    return id
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let host = cluster.exists("w1/projects/\(project)") ? "w1" : "w2"
        let working = try await within(180, "two coders to start") {
            while true {
                let coders = Self.coders(of: project, on: workers)
                if coders.values.map(\.count).reduce(0, +) >= 2 { return coders }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let victim = choice == .projectHost ? host : working.max { a, b in
            (a.value.count, a.key == host ? 1 : 0) < (b.value.count, b.key == host ? 1 : 0)
        }!.key
        let survivor = victim == "w1" ? "w2" : "w1"
        workers[victim]!.signal(SIGKILL)
        let killed = ContinuousClock.now
        _ = await workers[victim]!.exitStatus()
        try await within(30, "the gateway to declare \(victim) down") {
            while true {
                let state = try await cluster.members()[victim]
                if state != "up" && state != "suspect" { return }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let detected = ContinuousClock.now - killed
        do {
            try await within(300, "the disturbed run to finish") { try await driver.value }
        } catch {
            Issue.record("the disturbed run did not finish: \(error); gateway: \(cluster.gateway.standardError.suffix(2000)); got \(client.received.suffix(6))")
            throw error
        }
        let recovered = ContinuousClock.now - killed
        let exits = Self.testExits(client, session: session)
        #expect(exits.last == 0, "the disturbed run's tests pass in the end: exits \(exits)")
        let produced = try cluster.files(of: project, on: survivor)
        #expect(produced.keys.sorted() == expected.keys.sorted(), "the same files as the undisturbed run")
        for (path, content) in expected where produced[path] != content && !path.hasPrefix("NOTES") {
            Issue.record("\(path) differs from the undisturbed run's")
        }
        Self.report("worker SIGKILL mid-run (\(choice.rawValue))", "killed \(victim) (coders \(working.mapValues { $0.count }), project on \(host)\(host == victim ? ", restored onto \(survivor) from its copy" : "")); down after \(detected), run finished \(recovered) after the kill, \(produced.count) files checked against the undisturbed run")
        try await cluster.stop([workers[survivor]!])
    }

    /// The whole cluster went down and one worker never came back: the
    /// restarted gateway has not seen that worker since it started, so after
    /// `workers.lostAfter` its project moves to the other worker, restored
    /// from the copy made when the import was acknowledged.
    @Test func aWorkerThatNeverComesBackAfterAGatewayRestartLosesItsProjectsToAnother() async throws {
        let cluster = try await ProcessCluster.start(settings: ["HMA_WORKERS_LOSTAFTER": "3"])
        let w1 = try await cluster.worker("w1"), w2 = try await cluster.worker("w2")
        try await cluster.waitForMembers(3)
        let imported = try await cluster.client.request("import_project", ["files": [["path": "src/a.py", "content": "a = 1\n"]]])
        let project = try #require(imported.payload["projectId"]?.stringValue, "\(imported)")
        #expect(cluster.exists("w1/projects/\(project)/src/a.py"))

        w1.signal(SIGKILL)
        _ = await w1.exitStatus()
        try await cluster.killAndRestartGateway()
        let restarted = ContinuousClock.now
        try await cluster.waitForMembers(2)
        let early = try await cluster.client.request("file_read", ["projectId": .string(project), "filePath": "src/a.py"])
        #expect(early.type == "error" && early.payload["code"] == "unavailable", "w1 might still come back: \(early)")
        let back: ServerFrame
        do {
            back = try await within(60, "the project to move to w2") {
                while true {
                    let answer = try await cluster.client.request("file_read", ["projectId": .string(project), "filePath": "src/a.py"])
                    if answer.type == "file_read_result" { return answer }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        } catch {
            let last = try? await cluster.client.request("file_read", ["projectId": .string(project), "filePath": "src/a.py"])
            Issue.record("members \((try? await cluster.members()) ?? [:]); last answer \(String(describing: last)); gateway: \(cluster.gateway.standardError.suffix(3000))")
            throw error
        }
        #expect(back.payload["content"] == "a = 1\n", "\(back)")
        #expect(cluster.exists("w2/projects/\(project)/src/a.py"))
        Self.report("whole cluster down, one worker gone for good", "its project served from w2 \(ContinuousClock.now - restarted) after the gateway restarted (workers.lostAfter 3 s); 1 file checked")
        try await cluster.stop([w2])
    }

    @Test func aWorkerPausedShorterThanTheFailureThresholdLosesNothing() async throws {
        let cluster = try await ProcessCluster.start()
        let w1 = try await cluster.worker("w1"), w2 = try await cluster.worker("w2")
        try await cluster.waitForMembers(3)
        let imported = try await cluster.client.request("import_project", ["files": [["path": "keep.txt", "content": "kept"]]])
        let project = try #require(imported.payload["projectId"]?.stringValue)
        let node = cluster.exists("w1/projects/\(project)") ? w1 : w2

        // SIGSTOP for 500 ms: the failure detector suspects it, no more.
        node.signal(SIGSTOP)
        let paused = ContinuousClock.now
        var seen: Set<String> = []
        while ContinuousClock.now - paused < .milliseconds(500) {
            seen.formUnion(try await cluster.members().values)
            try await Task.sleep(for: .milliseconds(50))
        }
        node.signal(SIGCONT)
        try await cluster.waitForMembers(3)
        let back = ContinuousClock.now - paused
        #expect(!seen.contains("down") && !seen.contains("removed"), "states seen while paused: \(seen)")
        let read = try await cluster.client.request("file_read", ["projectId": .string(project), "filePath": "keep.txt"])
        #expect(read.payload["content"] == "kept", "\(read)")
        let next = try await cluster.client.request("import_project", ["files": [["path": "n.txt", "content": "n"]]])
        #expect(next.type == "import_result", "\(next)")
        Self.report("worker SIGSTOP 500 ms", "states seen \(seen.sorted()), all up again \(back) after the pause, 1 file checked, nothing re-placed")
        try await cluster.stop([w1, w2])
    }

    @Test func aNodeFromAnotherCAAndAClientWithoutATokenAreRefused() async throws {
        let cluster = try await ProcessCluster.start()
        let w1 = try await cluster.worker("w1")
        try await cluster.waitForMembers(2)
        let stranger = try CertificateFolder()
        defer { try? FileManager.default.removeItem(atPath: stranger.folder) }
        let started = ContinuousClock.now
        let intruder = try await cluster.worker("w9", certificates: try stranger.directory(for: "w9"), expectJoin: false)
        let code = try await within(60, "the foreign worker to give up") { await intruder.exitStatus() }
        #expect(code != 0, "a node with another CA's certificate joined")
        #expect(try await cluster.members()["w9"] == nil, "the gateway never lists it")
        await #expect(throws: (any Error).self) {
            _ = try await ProtocolClient.connect(port: cluster.httpPort, headers: [:])
        }
        await #expect(throws: (any Error).self) {
            _ = try await ProtocolClient.connect(port: cluster.httpPort, headers: ["Authorization": "Bearer not-a-token"])
        }
        Self.report("foreign CA and no token", "foreign worker refused (exit \(code) after \(ContinuousClock.now - started)); sockets without or with a forged token refused")
        try await cluster.stop([w1])
    }
}
