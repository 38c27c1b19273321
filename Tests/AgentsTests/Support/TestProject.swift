import Foundation
import Synchronization
import Workspace
@testable import Agents

private let projectCounter = Atomic<UInt32>(0)

/// A project folder with real files and a real sandbox (bwrap as root; the
/// project's own uid), and a run of agents over it.
struct TestProject {
    let root: String
    let workspace: LocalWorkspace
    let sandbox: any Sandbox

    init() throws {
        let outer = NSTemporaryDirectory() + "hma-agents-\(UUID().uuidString)"
        root = outer + "/project"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        chmod(outer, 0o755)
        let number = projectCounter.add(1, ordering: .relaxed).newValue
        let uid = 270_000 + UInt32(getpid() % 1000) * 16 + number
        var configuration = SandboxConfiguration()
        configuration.cgroupParent = "hma-test"
        if getuid() != 0 { configuration.kind = SandboxKind.none }
        sandbox = try SandboxFactory.make(projectRoot: root, projectID: "a\(getpid())-\(number)", uid: uid, configuration: configuration)
        let files = try ProjectFiles(root: root, owner: getuid() == 0 ? (uid, uid) : nil)
        workspace = LocalWorkspace(files: files, sandbox: sandbox)
    }

    func run(_ model: ScriptedModel, sink: RecordingSink, journal: (any RunJournal)? = nil,
             configure: (inout RunConfiguration) -> Void = { _ in }) throws -> ProjectRun {
        var configuration = RunConfiguration()
        configuration.startPhase = .implementation
        configure(&configuration)
        return ProjectRun(configuration: configuration, model: AgentModel(provider: model, providerName: "scripted", model: "scripted-1"),
                          workspace: workspace, sink: sink, templates: try PromptTemplates.load(directory: nil), journal: journal)
    }

    func file(_ path: String) -> String? { try? String(contentsOfFile: root + "/" + path, encoding: .utf8) }

    func remove() {
        sandbox.shutdown()
        try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent)
    }
}
