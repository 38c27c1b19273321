import Foundation
import Providers
import MeshTesting
import Testing
@testable import Agents

/// The demo model's sample recordings, run end to end by real agents over a
/// real project folder and sandbox: the project they build passes its own
/// tests.
@Suite struct DemoRunTests {
    /// Runs a demo recording from the person's request to the master's last
    /// FINISH: phases approved by `autoApprove` (`hma new --yes`), or by a
    /// person answering each question, as in the web IDE.
    func build(_ request: String, in project: TestProject, sink: RecordingSink, personApproves: Bool = false) async throws -> RunOutcome {
        let demo = DemoProvider(transcripts: DemoProvider.bundled().transcripts, pause: .zero)
        var configuration = RunConfiguration()
        configuration.startPhase = .understanding
        configuration.autoApprove = !personApproves
        let run = ProjectRun(configuration: configuration, model: AgentModel(provider: demo, providerName: "demo", model: "demo"),
                             workspace: project.workspace, sink: sink, templates: try PromptTemplates.load(directory: nil))
        await run.start(request)
        for _ in 0..<5 {
            let outcome = try await within(120, "the run") { try await run.waitForOutcome() }
            guard personApproves, case .waitingForPerson = outcome else { return outcome }
            await run.respond("Approved.")
        }
        return try await run.waitForOutcome()
    }

    func expectEveryActionAndNoFailure(_ sink: RecordingSink) {
        let actions = Set(sink.events.compactMap { if case .action(_, let name, _) = $0 { name } else { nil } })
        // WAIT happens only when the reports come apart (they may come together).
        #expect(Set(ActionName.allCases).subtracting(actions).subtracting([.wait]).isEmpty, "not exercised: \(Set(ActionName.allCases).subtracting(actions))")
        #expect(sink.events.filter { if case .actionFailed = $0 { true } else { false } }.isEmpty,
                "\(sink.events.compactMap { if case .actionFailed(let agent, let message) = $0 { "\(agent): \(message)" } else { nil } })")
    }

    @Test func theJavaScriptSampleBuildsATodoAppWhoseTestsPass() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let sink = RecordingSink()
        let outcome = try await build("Make a command-line todo app in JavaScript (Node.js) with node --test tests.", in: project, sink: sink)
        #expect(outcome == .completed(summary: "The todo app is built: node src/cli.js add/list/done over todos.json. All 5 tests pass (node --test)."))
        let tests = try await project.workspace.run("node --test", timeout: .seconds(60), maxOutputBytes: 1 << 20)
        #expect(tests.exitCode == 0 && tests.output.contains("# pass 5"), "\(tests.output)")
        let cli = try await project.workspace.run("node src/cli.js add milk && node src/cli.js add bread && node src/cli.js done 1 && node src/cli.js list",
                                                 timeout: .seconds(60), maxOutputBytes: 1 << 20)
        #expect(cli.exitCode == 0 && cli.output == "2. bread\n", "the app itself works: \(cli.output)")
        #expect(project.file("TODO.txt") == nil)
        expectEveryActionAndNoFailure(sink)
    }

    @Test func eachSampleRunsCleanWithAPersonApprovingEachPhase() async throws {
        for (request, summary) in [
            ("Make a small Python package that converts temperatures between Celsius, Fahrenheit and Kelvin, with unittest tests.",
             "All 5 unittest tests pass"),
            ("Make a command-line todo app in JavaScript (Node.js) with node --test tests.", "All 5 tests pass"),
        ] {
            let project = try TestProject()
            defer { project.remove() }
            let sink = RecordingSink()
            let outcome = try await build(request, in: project, sink: sink, personApproves: true)
            guard case .completed(let said) = outcome else {
                Issue.record("\(outcome)")
                continue
            }
            #expect(said.contains(summary))
            expectEveryActionAndNoFailure(sink)
        }
    }

    @Test func thePythonSampleBuildsAPackageWhoseTestsPass() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let sink = RecordingSink()
        let outcome = try await build("Make a small Python package that converts temperatures between Celsius, Fahrenheit and Kelvin, with unittest tests.",
                                      in: project, sink: sink)
        guard case .completed(let summary) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(summary.contains("All 5 unittest tests pass"))
        let tests = try await project.workspace.run("python3 -m unittest -v", timeout: .seconds(60), maxOutputBytes: 1 << 20)
        #expect(tests.exitCode == 0 && tests.output.contains("Ran 5 tests"), "\(tests.output)")
        #expect(project.file("tempconv/convert.py")?.contains("return c + 273.15") == true, "the tester's finding was fixed")
        #expect(project.file("notes.txt") == nil)
        expectEveryActionAndNoFailure(sink)
    }
}
