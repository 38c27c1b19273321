import Foundation
import Providers
import MeshTesting
import Synchronization
import Testing
@testable import Agents

/// Whole runs with a scripted model over a real project folder and sandbox.
@Suite struct ProjectRunTests {
    /// Holds each listed agent's first reply until all of them have asked:
    /// proves their model calls were in flight at the same time.
    final class Rendezvous: Sendable {
        private let state = Mutex<(arrived: Set<String>, waiters: [CheckedContinuation<Void, Never>])>(([], []))
        let expected: Set<String>
        init(_ expected: Set<String>) { self.expected = expected }

        func arrive(_ agent: String) async {
            guard expected.contains(agent) else { return }
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                    state.arrived.insert(agent)
                    state.waiters.append(continuation)
                    guard state.arrived == expected else { return [] }
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in ready { waiter.resume() }
            }
        }
    }

    static let calc = "def add(a, b):\n    return a + b\n"
    static let test = "import unittest\nfrom calc import add\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n\nif __name__ == \"__main__\":\n    unittest.main()\n"

    @Test func aManagerBuildsTwoFilesInParallelAndTheMasterChecksTheTests() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let rendezvous = Rendezvous(["coder calc.py", "coder test_calc.py"])
        let model = ScriptedModel([
            "master": ScriptedModel.sequence([
                .text(#"DELEGATE PROMPT="Build calc.py with add(a, b) and test_calc.py, its unittest.""#),
                .text(#"RUN "python3 test_calc.py""#),
                .text(#"FINISH PROMPT="calc.py adds; its test passes.""#),
            ]),
            "manager": { request, turn in
                switch turn {
                case 0: .text(#"CREATE file "calc.py", file "test_calc.py""#)
                case 1: .text(#"DELEGATE file "calc.py" PROMPT="add(a, b)", file "test_calc.py" PROMPT="a unittest of add""#)
                default:
                    // One report or both: wait for the other, then finish.
                    request.messages[0].text.contains("[coder calc.py") && request.messages[0].text.contains("[coder test_calc.py")
                        || turn > 2 ? .text(#"FINISH PROMPT="Both files are written.""#) : .text("WAIT")
                }
            },
            "coder calc.py": ScriptedModel.sequence([.text("CHANGE CONTENT=\"\"\"\n\(Self.calc)\"\"\""), .text(#"FINISH PROMPT="add() done""#)]),
            "coder test_calc.py": ScriptedModel.sequence([.text("CHANGE CONTENT=\"\"\"\n\(Self.test)\"\"\""), .text(#"FINISH PROMPT="test done""#)]),
        ], onRequest: { agent, _ in await rendezvous.arrive(agent) })
        let sink = RecordingSink()
        let run = try project.run(model, sink: sink)
        await run.start("a calculator")
        let outcome = try await within(60, "the run") { try await run.waitForOutcome() }
        #expect(outcome == .completed(summary: "calc.py adds; its test passes."))
        #expect(project.file("calc.py") == Self.calc && project.file("test_calc.py") == Self.test)
        let output = sink.events.compactMap { if case .commandOutput(_, _, let output, let code) = $0 { (output, code) } else { nil } }
        #expect(output.count == 1 && output[0].1 == 0 && output[0].0.contains("OK"), "\(output)")
        // The master's second prompt carried the root manager's report.
        #expect(model.prompts(of: "master")[1].contains("[manager (Task: Build calc.py") && model.prompts(of: "master")[1].contains("Both files are written."))
        // Tokens streamed, usage counted, every agent finished.
        #expect(sink.events.contains { if case .token = $0 { true } else { false } })
        #expect(await run.budget.spentTokens > 0)
        #expect(Set(await run.agentStates().map(\.status)) == [.finished])
    }

    @Test func repliesThatAreNotOneValidCommandGoBackToTheAgent() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let model = ScriptedModel([
            "master": ScriptedModel.sequence([.text(#"DELEGATE PROMPT="make a.py""#), .text(#"FINISH PROMPT="ok""#)]),
            // Never three failures in a row (that would go to the parent).
            "manager": ScriptedModel.sequence([
                .text("WAIT"),  // nothing active
                .text(#"CREATE file "a.py""#),
                .text(#"CREATE file "../outside.py""#),  // out of scope
                .text(#"DELEGATE file "missing.py" PROMPT="x""#),  // not created
                .text(#"DELEGATE file "a.py" PROMPT="write a""#),
                .text(#"FINISH PROMPT="done""#),
            ]),
            "coder a.py": ScriptedModel.sequence([
                .text("I will write the file now."),  // prose
                .text("READ \"a.py\"\nCHANGE CONTENT=\"x\""),  // two commands
                .text("CHANGE CONTENT=\"a = 1\\nb = 1\\n\""),
                .text("CHANGE CONTENT=\"\"\"\na = 1\nb = "),  // cut off by the length limit
                .text(#"REPLACE FROM=" = 1" TO=" = 2""#),  // two matches
                .text(#"REPLACE FROM="b = 1" TO="b = 2""#),
                .text(#"FINISH PROMPT="a.py written""#),
            ]),
        ])
        let sink = RecordingSink()
        let run = try project.run(model, sink: sink)
        await run.start("a")
        #expect(try await within(60, "the run") { try await run.waitForOutcome() } == .completed(summary: "ok"))
        let manager = sink.failures(of: "manager")
        #expect(manager.count == 3)
        #expect(manager[0].contains("nothing is active"))
        #expect(manager[1].contains("leaves its folder"))
        #expect(manager[2].contains("does not exist: CREATE it first"))
        let coder = sink.failures(of: "coder a.py")
        #expect(coder.count == 4, "\(coder)")
        #expect(coder[0].contains("PARSING FAILED") && coder[0].contains("Expected a command"))
        #expect(coder[1].contains("One command per reply"))
        #expect(coder[2].contains("never ends"))
        #expect(coder[3].contains("occurs 2 times"))
        #expect(project.file("a.py") == "a = 1\nb = 2\n")
        #expect(!FileManager.default.fileExists(atPath: (project.root as NSString).deletingLastPathComponent + "/outside.py"))
        // The agent saw each error as its next prompt.
        #expect(model.prompts(of: "coder a.py")[1].contains("PARSING FAILED"))
    }

    @Test func threeFailedRepliesInARowGoToTheParent() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let model = ScriptedModel([
            "master": ScriptedModel.sequence([.text(#"DELEGATE PROMPT="make a.py""#), .text(#"FINISH PROMPT="gave up on a.py""#)]),
            "manager": ScriptedModel.sequence([.text(#"CREATE file "a.py""#), .text(#"DELEGATE file "a.py" PROMPT="write a""#), .text(#"FINISH PROMPT="a.py is stuck""#)]),
            "coder a.py": ScriptedModel.sequence([.text("Let me think about this.")]),
        ])
        let sink = RecordingSink()
        let run = try project.run(model, sink: sink)
        await run.start("a")
        #expect(try await within(60, "the run") { try await run.waitForOutcome() } == .completed(summary: "gave up on a.py"))
        #expect(sink.failures(of: "coder a.py").count == 3)
        #expect(sink.statuses(of: "coder a.py").contains(.stuck))
        let escalation = try #require(model.prompts(of: "manager").last)
        #expect(escalation.contains("[coder a.py (Task: write a)] stopped and needs you: 3 replies in a row failed"))
    }

    @Test func theSameActionWithTheSameResultIsALoop() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let model = ScriptedModel([
            "master": ScriptedModel.sequence([.text(#"DELEGATE PROMPT="make a.py""#), .text(#"FINISH PROMPT="stopped a loop""#)]),
            "manager": ScriptedModel.sequence([.text(#"CREATE file "a.py""#), .text(#"DELEGATE file "a.py" PROMPT="write a""#), .text(#"FINISH PROMPT="loop""#)]),
            "coder a.py": ScriptedModel.sequence([.text(#"READ "a.py""#)]),
        ])
        let sink = RecordingSink()
        let run = try project.run(model, sink: sink)
        await run.start("a")
        #expect(try await within(60, "the run") { try await run.waitForOutcome() } == .completed(summary: "stopped a loop"))
        #expect(model.prompts(of: "coder a.py").count == 3)
        #expect(model.prompts(of: "manager").last?.contains("repeated the same action with the same result 3 times") == true)
    }

    @Test func theBudgetStopsTheRunBeforeACallCouldExceedIt() async throws {
        let project = try TestProject()
        defer { project.remove() }
        // A different command each turn: not a loop, just spending.
        let model = ScriptedModel(["master": { _, turn in .text("RUN \"echo \(turn)\"") }])
        let sink = RecordingSink()
        let run = try project.run(model, sink: sink) { $0.budget = Budget(limitTokens: 6_000) }
        await run.start("spin")
        let outcome = try await within(60, "the run") { try await run.waitForOutcome() }
        guard case .budgetExhausted(let report) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(report.contains("does not allow the next model call") && report.contains("Left: master"))
        #expect(await run.budget.spentTokens <= 6_000)
        #expect(model.requests.count >= 2, "it spent before it stopped")
    }

    @Test func stopEndsEveryAgentAtOnce() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let model = ScriptedModel([
            "master": ScriptedModel.sequence([.text(#"DELEGATE PROMPT="x""#)]),
            "manager": ScriptedModel.sequence([.text(#"CREATE file "a.py", file "b.py""#), .text(#"DELEGATE file "a.py" PROMPT="a", file "b.py" PROMPT="b""#)]),
            "coder a.py": ScriptedModel.sequence([.hang]),
            "coder b.py": ScriptedModel.sequence([.hang]),
        ], onRequest: { _, _ in })
        let sink = RecordingSink()
        let run = try project.run(model, sink: sink)
        await run.start("x")
        try await within(30, "the run") { while model.prompts(of: "coder a.py").isEmpty || model.prompts(of: "coder b.py").isEmpty { try Task.checkCancellation(); await Task.yield() } }
        let started = ContinuousClock.now
        await run.stop()
        #expect(try await within(5, "the run") { try await run.waitForOutcome() } == .stopped)
        try await within(5, "the run") { while model.cancelledCalls < 2 { try Task.checkCancellation(); await Task.yield() } }
        // The calls would hang for an hour: they were cancelled, not waited for.
        // (About a millisecond here; the bound is for a loaded machine.)
        let took = ContinuousClock.now - started
        print("stop: every model call cancelled after \(took)")
        #expect(took < .seconds(10), "the model calls were cancelled, not waited for")
        #expect(sink.statuses(of: "coder a.py").last == .stopped)
    }

    @Test func theMasterAsksThePersonBetweenPhases() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let model = ScriptedModel([
            "master": ScriptedModel.sequence([
                .text(#"UPDATE_DOCUMENTATION CONTENT="A calculator for two numbers.""#),
                .text(#"FINISH PROMPT="Which operations besides add?""#),
                .text(#"FINISH PROMPT="Noted: add only. Approve?""#),
                .text(#"FINISH PROMPT="Structure ready.""#),
            ]),
        ])
        let sink = RecordingSink()
        let run = try project.run(model, sink: sink) { $0.startPhase = .understanding }
        await run.start("a calculator")
        #expect(try await within(30, "the run") { try await run.waitForOutcome() } == .waitingForPerson(question: "Which operations besides add?"))
        #expect(project.file("documentation.md") == "A calculator for two numbers.")
        await run.respond("Only add.")
        #expect(try await within(30, "the run") { try await run.waitForOutcome() } == .waitingForPerson(question: "Noted: add only. Approve?"))
        #expect(await run.phase == .understanding)
        await run.respond("Approved")
        #expect(try await within(30, "the run") { try await run.waitForOutcome() } == .waitingForPerson(question: "Structure ready."))
        #expect(await run.phase == .structure)
        #expect(model.prompts(of: "master")[2].contains("The person answers: Only add."))
        // In the understanding phase DELEGATE was not even offered.
        #expect(model.requests.first?.request.system?.contains("You may use: FINISH, READ, RUN, UPDATE_DOCUMENTATION.") == true)
    }

    @Test func nativeToolCallsWork() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let model = ScriptedModel(["master": ScriptedModel.sequence([
            .tool("update_documentation", #"{"content":"docs"}"#), .tool("finish", #"{"message":"done"}"#),
        ])])
        let sink = RecordingSink()
        var configuration = RunConfiguration()
        configuration.startPhase = .implementation
        let run = ProjectRun(configuration: configuration,
                             model: AgentModel(provider: model, providerName: "scripted", model: "s", nativeTools: true),
                             workspace: project.workspace, sink: sink, templates: try PromptTemplates.load(directory: nil))
        await run.start("docs")
        #expect(try await within(30, "the run") { try await run.waitForOutcome() } == .completed(summary: "done"))
        #expect(project.file("documentation.md") == "docs")
        #expect(model.requests.first?.request.tools.map(\.name).contains("delegate") == true)
    }
}

/// RUN through the real sandbox: its limits, and what the agent hears.
@Suite struct RunCommandTests {
    @Test func aCommandThatNeverEndsIsStoppedAndOneThatFloodsIsCut() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let model = ScriptedModel(["master": ScriptedModel.sequence([
            .text(#"RUN "python3 -c 'import time; time.sleep(60)'""#),
            .text(#"RUN "python3 -c 'import sys; sys.stdout.write(\"x\" * 50000000)'""#),
            .text(#"FINISH PROMPT="checked""#),
        ])])
        let sink = RecordingSink()
        let run = try project.run(model, sink: sink) {
            $0.runTimeout = .seconds(1)
            $0.runOutputCharacters = 1_000
        }
        let started = ContinuousClock.now
        await run.start("x")
        #expect(try await within(60, "the run") { try await run.waitForOutcome() } == .completed(summary: "checked"))
        #expect(ContinuousClock.now - started < .seconds(30))
        let prompts = model.prompts(of: "master")
        #expect(prompts[1].contains("timed out after 1.0 seconds and was stopped"), "\(prompts[1].suffix(300))")
        #expect(prompts[2].contains("(output cut)") && prompts[2].count < 20_000, "the agent saw a clipped output")
    }

    @Test func aProviderThatRefusesEndsTheRunWithItsReason() async throws {
        let project = try TestProject()
        defer { project.remove() }
        for error in [ProviderError.invalidKey(provider: "openai", reason: "revoked"), .quotaExhausted(provider: "openai", message: "no credit"),
                      .contextOverflow(provider: "openai", message: "too long")] {
            let model = ScriptedModel(["master": ScriptedModel.sequence([.failure(error)])])
            let run = try project.run(model, sink: RecordingSink())
            await run.start("x")
            let outcome = try await within(30, "the run") { try await run.waitForOutcome() }
            guard case .failed(let reason) = outcome else {
                Issue.record("\(error): \(outcome)")
                continue
            }
            #expect(reason.contains("\(error)"))
        }
    }

    @Test func aStreamThatBreaksMidReplyIsRetriedByTheAgent() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let model = ScriptedModel(["master": ScriptedModel.sequence([
            .failure(.streamInterrupted(after: "FINISH PROMPT=\"ha")), .text(#"FINISH PROMPT="second try""#),
        ])])
        let sink = RecordingSink()
        let run = try project.run(model, sink: sink)
        await run.start("x")
        #expect(try await within(30, "the run") { try await run.waitForOutcome() } == .completed(summary: "second try"))
        #expect(sink.failures(of: "master").first?.contains("model call failed") == true)
    }
}

/// A run continues from its journal after the process died.
@Suite struct RunRecoveryTests {
    @Test func anAnswerIsSavedAtOnceAndAWaitingRunCanBeStopped() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let journal = FileRunJournal(path: project.root + "/.hma/run.json")
        let model = ScriptedModel([
            "master": ScriptedModel.sequence([.text(#"FINISH PROMPT="Approve the documentation?""#), .hang]),
        ])
        let sink = RecordingSink()
        let run = try project.run(model, sink: sink, journal: journal) { $0.startPhase = .understanding }
        await run.start("a calculator")
        #expect(try await within(30, "the run") { try await run.waitForOutcome() } == .waitingForPerson(question: "Approve the documentation?"))
        // The approval is in the journal before any step after it completes
        // (the master's next call never returns).
        await run.respond("Approved")
        await run.waitUntilSaved()
        let saved = try #require(try await journal.load())
        #expect(saved.phase == .structure && saved.outcome == nil)
        #expect(saved.inFlight[AgentRef(role: .master, path: "")]?.first?.contains("The person approved") == true
                || saved.agents.first { $0.ref.role == .master }?.queue.contains { $0.contains("The person approved") } == true)

        // Waiting again, then stopped: it ends as stopped, and says so.
        await run.stop()
        #expect(try await within(30, "the run") { try await run.waitForOutcome() } == .stopped)
        let waitingRun = try project.run(ScriptedModel(["master": ScriptedModel.sequence([.text(#"FINISH PROMPT="Ready?""#)])]),
                                         sink: sink) { $0.startPhase = .understanding }
        await waitingRun.start("again")
        #expect(try await within(30, "the run") { try await waitingRun.waitForOutcome() } == .waitingForPerson(question: "Ready?"))
        await waitingRun.stop()
        #expect(try await within(30, "the run") { try await waitingRun.waitForOutcome() } == .stopped)
    }

    /// Its workspace lost with a worker, a run is dropped: unlike `stop`,
    /// nothing more is saved or announced, so its journal still says where
    /// to continue — with the cancelled turn in flight.
    @Test func anAbandonedRunSavesAndAnnouncesNothingMore() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let path = project.root + "/.hma/run.json"
        let journal = FileRunJournal(path: path)
        let model = ScriptedModel([
            "master": ScriptedModel.sequence([.text(#"DELEGATE PROMPT="x""#)]),
            "manager": ScriptedModel.sequence([.text(#"CREATE file "a.py""#), .text(#"DELEGATE file "a.py" PROMPT="a""#)]),
            "coder a.py": ScriptedModel.sequence([.hang]),
        ], onRequest: { _, _ in })
        let sink = RecordingSink()
        let run = try project.run(model, sink: sink, journal: journal)
        await run.start("x")
        try await within(30, "the coder's call") { while model.prompts(of: "coder a.py").isEmpty { try Task.checkCancellation(); await Task.yield() } }
        await run.waitUntilSaved()
        let saved = try Data(contentsOf: URL(fileURLWithPath: path))
        let eventsBefore = sink.events.count

        await run.abandon()
        try await within(5, "the coder's call to be cancelled") { while model.cancelledCalls < 1 { try Task.checkCancellation(); await Task.yield() } }
        await run.waitUntilSaved()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == saved, "nothing saved after abandon")
        let later = sink.events.dropFirst(eventsBefore)
        #expect(!later.contains { if case .ended = $0 { true } else { false } }, "no end announced: \(Array(later))")
        let snapshot = try #require(try await journal.load())
        #expect(snapshot.outcome == nil)
        #expect(snapshot.inFlight[AgentRef(role: .coder, path: "a.py")] != nil, "the interrupted turn runs again on resume")
    }

    @Test func aRunResumesFromItsLastCompletedStep() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let journal = FileRunJournal(path: project.root + "/.hma/run.json")
        let first = ScriptedModel([
            "master": ScriptedModel.sequence([.text(#"DELEGATE PROMPT="a.py and b.py""#)]),
            "manager": ScriptedModel.sequence([.text(#"CREATE file "a.py", file "b.py""#), .text(#"DELEGATE file "a.py" PROMPT="a", file "b.py" PROMPT="b""#), .text("WAIT")]),
            "coder a.py": ScriptedModel.sequence([.text(#"CHANGE CONTENT="a = 1\n""#), .text(#"FINISH PROMPT="a done""#)]),
            "coder b.py": ScriptedModel.sequence([.hang]),  // the process dies during this call
        ])
        let run = try project.run(first, sink: RecordingSink(), journal: journal)
        await run.start("two files")
        // Until a.py's coder has finished and the manager has taken its report.
        try await within(30, "the run") {
            while await !(run.agentStates().contains { $0.ref.path == "a.py" && $0.status == .finished }
                          && first.prompts(of: "manager").count == 3) { try Task.checkCancellation(); await Task.yield() }
        }
        await run.waitUntilSaved()
        let saved = try #require(try await journal.load())
        await run.stop()  // (the process is gone; its snapshot stays as it was)

        #expect(saved.inFlight[AgentRef(role: .coder, path: "b.py")]?.first?.contains("Your task: b") == true)
        let second = ScriptedModel([
            "master": ScriptedModel.sequence([.text(#"FINISH PROMPT="both written""#)]),
            "manager": ScriptedModel.sequence([.text(#"FINISH PROMPT="a and b""#)]),
            "coder b.py": ScriptedModel.sequence([.text(#"CHANGE CONTENT="b = 2\n""#), .text(#"FINISH PROMPT="b done""#)]),
        ])
        let resumed = try project.run(second, sink: RecordingSink(), journal: journal)
        await resumed.resume(from: saved)
        #expect(try await within(60, "the run") { try await resumed.waitForOutcome() } == .completed(summary: "both written"))
        #expect(project.file("a.py") == "a = 1\n" && project.file("b.py") == "b = 2\n")
        #expect(second.prompts(of: "coder a.py").isEmpty, "finished work is not redone")
        #expect(second.prompts(of: "coder b.py").first?.contains("Your task: b") == true, "the interrupted turn runs again")
        #expect(await resumed.budget.spentTokens > saved.budget.spentTokens, "usage goes on from the saved total")
        await resumed.waitUntilSaved()
        #expect(try await journal.load()?.outcome == .completed(summary: "both written"))
        // The journal is the run's own: agents neither see nor read it.
        #expect(try await project.workspace.tree().allSatisfy { !$0.hasPrefix(".hma") })
    }
}
