import Foundation
import GRDB

extension Store {
    /// Throws `.projectNotFound` unless the project exists (inside a write).
    static func requireProject(_ projectId: String, in db: Database) throws {
        guard try Bool.fetchOne(db, sql: "SELECT 1 FROM project_meta WHERE id = ?", arguments: [projectId]) != nil else {
            throw StorageError.projectNotFound(id: projectId)
        }
    }

    /// Records that `node` holds the project's files from now on.
    /// - Throws: `.projectNotFound`.
    public func setProjectHost(projectId: String, node: String) async throws {
        let placed = now.milliseconds
        try await write { db in
            try Store.requireProject(projectId, in: db)
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

    /// Marks `node` as draining: placement skips it from now on.
    public func drainNode(_ node: String) async throws {
        let drained = now.milliseconds
        try await write { db in
            try db.execute(sql: "INSERT INTO drained_node (node, drained_at) VALUES (?, ?) ON CONFLICT(node) DO NOTHING",
                           arguments: [node, drained])
        }
    }

    /// Lets placement use `node` again; returns whether it was draining.
    @discardableResult
    public func undrainNode(_ node: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM drained_node WHERE node = ?", arguments: [node])
            return db.changesCount > 0
        }
    }

    /// The nodes being drained.
    public func drainedNodes() async throws -> Set<String> {
        try await read { db in Set(try String.fetchAll(db, sql: "SELECT node FROM drained_node")) }
    }
}
