import Agents
import Foundation
import Storage

/// A project's agent-run journal in the gateway's database: the newest
/// `RunSnapshot` as JSON in `agent_run`, replaced after every completed
/// step (one transaction each: a crash keeps the previous snapshot or the
/// new one).
///
/// With `hosts`, a worker-held project's durable copy is brought up to date
/// in the same transaction, from what changed on its host since — taken
/// after the snapshot, so the copy holds at least the saved step's files
/// (docs/architecture.md, "Project copies"). A host that cannot answer
/// fails the save: the journal never moves past the copy. A project whose
/// copy cannot be kept (past its limits) loses its copy rather than its
/// journal: its steps are saved, and it is not restored elsewhere.
public struct StoreRunJournal: RunJournal {
    let store: Store
    let projectId: String
    let hosts: ProjectHosts?

    public init(store: Store, projectId: String, copyingFrom hosts: ProjectHosts? = nil) {
        self.store = store
        self.projectId = projectId
        self.hosts = hosts
    }

    public func save(_ snapshot: RunSnapshot) async throws {
        let encoded = try JSONEncoder().encode(snapshot)
        guard let hosts, try await hosts.keepsCopy(of: projectId) else {
            try await store.saveAgentRun(projectId: projectId, snapshot: encoded)
            return
        }
        let host = try await hosts.currentHost(for: projectId)
        let (store, projectId, copies) = (self.store, self.projectId, hosts.copies)
        try await copies.exclusively(projectId) {
            do {
                let changes = try await copies.changes(of: projectId, on: host)
                try await store.saveAgentRun(projectId: projectId, snapshot: encoded, copy: changes)
            } catch let error as ProtocolError where error.code == .limitReached {
                await hosts.dropCopy(of: projectId, because: error.message)
                try await store.saveAgentRun(projectId: projectId, snapshot: encoded)
            } catch StorageError.messageTooLarge(let bytes, let limit) where encoded.count <= limit {
                await hosts.dropCopy(of: projectId, because: "\(bytes) bytes, over \(limit)")
                try await store.saveAgentRun(projectId: projectId, snapshot: encoded)
            }
        }
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
