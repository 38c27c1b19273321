import Foundation
import Providers
import Testing
@testable import Agents

/// The demo model's sample recordings, run end to end by real agents over a
/// real project folder and sandbox: the project they build passes its own
/// tests.
@Suite struct DemoRunTests {
    @Test func thePythonSampleBuildsAPackageWhoseTestsPass() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let demo = DemoProvider(transcripts: DemoProvider.bundled().transcripts, pause: .zero)
        let sink = RecordingSink()
        var configuration = RunConfiguration()
        configuration.startPhase = .understanding
        configuration.autoApprove = true
        let run = ProjectRun(configuration: configuration, model: AgentModel(provider: demo, providerName: "demo", model: "demo"),
                             workspace: project.workspace, sink: sink, templates: try PromptTemplates.load(directory: nil))
        await run.start("Make a small Python package that converts temperatures between Celsius, Fahrenheit and Kelvin, with unittest tests.")
        let outcome = try await within(120) { try await run.waitForOutcome() }
        guard case .completed(let summary) = outcome else {
            Issue.record("\(outcome); failures: \(sink.events.compactMap { if case .actionFailed(let agent, let message) = $0 { "\(agent): \(message)" } else { nil } })")
            return
        }
        #expect(summary.contains("All 5 unittest tests pass"))
        let tests = try await project.workspace.run("python3 -m unittest -v", timeout: .seconds(60), maxOutputBytes: 1 << 20)
        #expect(tests.exitCode == 0 && tests.output.contains("Ran 5 tests"), "\(tests.output)")
        #expect(project.file("tempconv/convert.py")?.contains("return c + 273.15") == true, "the tester's finding was fixed")
        #expect(project.file("notes.txt") == nil)
        let actions = Set(sink.events.compactMap { if case .action(_, let name, _) = $0 { name } else { nil } })
        // WAIT happens only when the reports come apart (they may come together).
        #expect(Set(ActionName.allCases).subtracting(actions).subtracting([.wait]).isEmpty, "not exercised: \(Set(ActionName.allCases).subtracting(actions))")
        #expect(sink.events.filter { if case .actionFailed = $0 { true } else { false } }.isEmpty)
    }
}
