import Foundation
import GRDB

extension Store {
    /// Replaces the project's agent-run snapshot (opaque bytes: the agents
    /// module's `RunSnapshot`, JSON).
    /// - Throws: `.projectNotFound`, `.messageTooLarge` past `maxRunSnapshotBytes`.
    public func saveAgentRun(projectId: String, snapshot: Data) async throws {
        guard snapshot.count <= limits.maxRunSnapshotBytes else {
            throw StorageError.messageTooLarge(bytes: snapshot.count, limit: limits.maxRunSnapshotBytes)
        }
        let updated = now.milliseconds
        try await write { db in
            try Store.requireProject(projectId, in: db)
            try Store.upsertAgentRun(projectId, snapshot, updated, in: db)
        }
    }

    static func upsertAgentRun(_ projectId: String, _ snapshot: Data, _ updated: Int64, in db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO agent_run (project_id, snapshot, updated_at) VALUES (?, ?, ?)
                ON CONFLICT(project_id) DO UPDATE SET snapshot = excluded.snapshot, updated_at = excluded.updated_at
                """,
            arguments: [projectId, snapshot, updated])
    }

    /// The project's agent-run snapshot, nil when it has none.
    public func agentRun(projectId: String) async throws -> Data? {
        try await read { db in
            try Data.fetchOne(db, sql: "SELECT snapshot FROM agent_run WHERE project_id = ?", arguments: [projectId])
        }
    }

    /// Every project that has a run snapshot, with it (a gateway resumes
    /// the unfinished ones when it starts).
    public func agentRuns() async throws -> [(projectId: String, snapshot: Data)] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT project_id, snapshot FROM agent_run ORDER BY updated_at").map {
                (projectId: $0["project_id"] as String, snapshot: $0["snapshot"] as Data)
            }
        }
    }
}
