import Agents
import Foundation
import Storage
import Testing
@testable import Gateway

/// A project's agent-run journal in the gateway's database.
@Suite struct StoreRunJournalTests {
    func snapshot(_ request: String, spent: Int) -> RunSnapshot {
        var budget = Budget(limitTokens: 10_000)
        budget.spend(tokens: spent, usd: 0.01)
        return RunSnapshot(request: request, phase: .implementation, budget: budget, agents: [],
                           inFlight: [AgentRef(role: .coder, path: "a.py"): ["Your task: a"]], outcome: nil)
    }

    @Test func theNewestSnapshotIsKeptPerProjectAndSurvivesReopening() async throws {
        let folder = NSTemporaryDirectory() + "hma-journal-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var store = try Store(path: folder + "/hma.sqlite")
        let user = try await store.ensureUser(name: "ada")
        let project = try await store.createProject(ownerId: user.id, name: "calc", language: "python", projectPath: folder + "/p")
        let journal = StoreRunJournal(store: store, projectId: project.id)
        #expect(try await journal.load() == nil)
        try await journal.save(snapshot("calc", spent: 100))
        try await journal.save(snapshot("calc", spent: 250))
        try store.close()
        store = try Store(path: folder + "/hma.sqlite")
        let loaded = try await StoreRunJournal(store: store, projectId: project.id).load()
        #expect(loaded == snapshot("calc", spent: 250))
        // Unknown projects and oversized snapshots are refused with a clear error.
        await #expect(throws: StorageError.projectNotFound(id: "nope")) {
            try await StoreRunJournal(store: store, projectId: "nope").save(snapshot("x", spent: 1))
        }
        var configuration = StoreConfiguration()
        configuration.limits.maxRunSnapshotBytes = 64
        try store.close()
        let small = try Store(path: folder + "/hma.sqlite", configuration: configuration)
        await #expect(throws: StorageError.self) { try await StoreRunJournal(store: small, projectId: project.id).save(snapshot("calc", spent: 1)) }
        #expect(try await StoreRunJournal(store: small, projectId: project.id).load() == snapshot("calc", spent: 250), "the refused save changed nothing")
        try small.close()
    }
}
