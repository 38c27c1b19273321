import Agents
import Foundation
import Storage

/// A project's agent-run journal in the gateway's database: the newest
/// `RunSnapshot` as JSON in `agent_run`, replaced after every completed
/// step (one transaction each: a crash keeps the previous snapshot or the
/// new one).
public struct StoreRunJournal: RunJournal {
    let store: Store
    let projectId: String

    public init(store: Store, projectId: String) {
        self.store = store
        self.projectId = projectId
    }

    public func save(_ snapshot: RunSnapshot) async throws {
        try await store.saveAgentRun(projectId: projectId, snapshot: try JSONEncoder().encode(snapshot))
    }

    public func load() async throws -> RunSnapshot? {
        guard let data = try await store.agentRun(projectId: projectId) else { return nil }
        let snapshot = try JSONDecoder().decode(RunSnapshot.self, from: data)
        guard snapshot.version == RunSnapshot.currentVersion else {
            throw StorageError.invalidField(name: "agent run", reason: "snapshot format \(snapshot.version); this hma reads \(RunSnapshot.currentVersion)")
        }
        return snapshot
    }
}
