import Foundation
import GRDB

extension Store {
    /// Records that `node` holds the project's files from now on.
    /// - Throws: `.projectNotFound`.
    public func setProjectHost(projectId: String, node: String) async throws {
        let placed = now.milliseconds
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM project_meta WHERE id = ?", arguments: [projectId]) != nil else {
                throw StorageError.projectNotFound(id: projectId)
            }
            try db.execute(
                sql: """
                    INSERT INTO project_host (project_id, node, placed_at) VALUES (?, ?, ?)
                    ON CONFLICT(project_id) DO UPDATE SET node = excluded.node, placed_at = excluded.placed_at
                    """,
                arguments: [projectId, node, placed])
        }
    }

    /// The node that holds the project's files; nil when it was never
    /// placed (it is on the gateway's own host).
    public func projectHost(projectId: String) async throws -> String? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT node FROM project_host WHERE project_id = ?", arguments: [projectId])
        }
    }

    /// How many projects each node holds (placement balances by it).
    public func projectCountsByHost() async throws -> [String: Int] {
        try await read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT node, COUNT(*) AS n FROM project_host GROUP BY node") {
                counts[row["node"]] = row["n"]
            }
            return counts
        }
    }
}
