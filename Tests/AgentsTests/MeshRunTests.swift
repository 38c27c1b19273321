import Foundation
import Logging
import Mesh
import MeshTesting
import Providers
import Synchronization
import Testing
@testable import Agents

/// Agents on the mesh: a gateway node runs the project and holds its
/// workspace; the agents' model calls are virtual actors placed on two
/// workers. Losing a worker loses no file and no finished work.
@Suite struct MeshRunTests {
    static let ca = try! CertificateAuthority.makeCA(commonName: "agents test CA")

    static func node(_ name: String, roles: NodeRoles) async throws -> MeshActorSystem {
        let issued = try CertificateAuthority.issueNode(try NodeName(name), roles: .member, addresses: ["127.0.0.1"],
                                                        caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM)
        var settings = MeshSettings(name: try NodeName(name), roles: roles, credentials: NodeCredentials(
            caCertificatePEM: ca.certificatePEM, certificatePEM: issued.certificatePEM, privateKeyPEM: issued.privateKeyPEM))
        settings.defaultCallTimeout = .seconds(60)
        // Placement prefers up members: a worker suspected because the
        // machine is busy with other tests must not drop out of it. (The
        // worker the test loses leaves gracefully: no detector needed.)
        settings.failureDetector.probeInterval = .seconds(5)
        settings.failureDetector.probeTimeout = .seconds(2)
        settings.failureDetector.suspicionTimeout = .seconds(30)
        settings.placementLoadTimeout = .seconds(10)
        var logger = Logger(label: "test.\(name)")
        logger.logLevel = .critical
        return try await MeshActorSystem.start(settings, logger: logger)
    }

    /// Closed until opened; then everyone waiting (and arriving) goes on.
    final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
        func wait() async {
            await withCheckedContinuation { continuation in
                let open = state.withLock { state -> Bool in
                    if !state.open { state.waiters.append(continuation) }
                    return state.open
                }
                if open { continuation.resume() }
            }
        }
        func open() {
            for waiter in state.withLock({ state -> [CheckedContinuation<Void, Never>] in
                state.open = true
                defer { state.waiters = [] }
                return state.waiters
            }) { waiter.resume() }
        }
    }

    @Test func codersSpreadOverTwoWorkersAndLosingOneLosesNoFile() async throws {
        let project = try TestProject()
        defer { project.remove() }
        let gateway = try await Self.node("agents-gw", roles: [.gateway])
        let workers = [try await Self.node("agents-w1", roles: [.worker]), try await Self.node("agents-w2", roles: [.worker])]
        for worker in workers { try await worker.cluster.join([gateway.endpoint]) }
        for node in [gateway] + workers {
            try await waitForMembers(of: node, "three members up") { $0.filter { $0.status == .up }.count == 3 }
        }
        let files = ["a.py", "b.py", "c.py", "d.py"]
        let gate = Gate()
        let master: ScriptedModel.Script = { _, turn in
            turn == 0 ? .text(#"DELEGATE PROMPT="four files""#) : .text(#"FINISH PROMPT="four files written""#)
        }
        let manager: ScriptedModel.Script = { request, turn in
            switch turn {
                case 0: return .text("CREATE " + files.map { "file \"\($0)\"" }.joined(separator: ", "))
                case 1: return .text("DELEGATE " + files.map { "file \"\($0)\" PROMPT=\"write \($0)\"" }.joined(separator: ", "))
                default: return request.messages[0].text.contains("Nobody is working for you now") ? .text(#"FINISH PROMPT="all four""#) : .text("WAIT")
                }
        }
        let model = ScriptedModel(["master": master, "manager": manager].merging(files.map { file in ("coder \(file)", ScriptedModel.sequence([.text("CHANGE CONTENT=\"\(file.prefix(1)) = 1\\n\""), .text(#"FINISH PROMPT="written""#)])) }) { $1 },
        onRequest: { agent, turn in if agent.hasPrefix("coder") && turn == 1 { await gate.wait() } })
        for node in [gateway] + workers { AgentTurnActor.register(on: node, model: model) }

        let sink = RecordingSink()
        let workspace = WorkspaceActor(workspace: project.workspace, actorSystem: gateway)
        let events = RunEventsActor(sink: sink, actorSystem: gateway)
        var configuration = RunConfiguration()
        configuration.startPhase = .implementation
        let run = ProjectRun(configuration: configuration, model: AgentModel(provider: model, providerName: "scripted", model: "s"),
                             workspace: RemoteWorkspace(workspace), sink: sink, templates: try PromptTemplates.load(directory: nil),
                             turns: MeshTurns(system: gateway, project: "p1", events: events))
        await run.start("four files")
        // Every coder has written its file and is in its second call.
        do {
            try await within(60, "the run") { while !files.allSatisfy({ model.prompts(of: "coder \($0)").count == 2 }) { try Task.checkCancellation(); await Task.yield() } }
        } catch {
            Issue.record("the coders did not reach their second call: \(sink.events.filter { if case .actionFailed = $0 { true } else { false } })")
            throw error
        }
        let hosted = workers.map { worker in worker.virtualActors.localActivations.filter { $0.key.key.hasPrefix("p1/coder") }.count }
        #expect(hosted.allSatisfy { $0 > 0 } && hosted.reduce(0, +) == 4, "coders on both workers: \(hosted)")
        #expect(gateway.virtualActors.localActivations.isEmpty, "no agent runs on the gateway")
        let lost = hosted[0] >= hosted[1] ? 0 : 1
        try await workers[lost].shutdown()
        gate.open()

        #expect(try await within(90, "the run") { try await run.waitForOutcome() } == .completed(summary: "four files written"))
        for file in files { #expect(project.file(file) == "\(file.prefix(1)) = 1\n", "\(file)") }
        let survivor = workers[1 - lost]
        #expect(survivor.virtualActors.localActivations.filter { $0.key.key.hasPrefix("p1/coder") }.count == 4, "the lost coders moved")
        #expect(sink.events.contains { if case .token(let agent, _) = $0 { agent.role == .coder } else { false } }, "tokens came back from the workers")
        await shutdownAll([gateway, survivor])
    }
}

func shutdownAll(_ systems: [MeshActorSystem]) async {
    for system in systems { try? await system.shutdown() }
}
