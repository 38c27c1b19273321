import Foundation
import GRDB

extension Store {
    /// The copy's files by path, with their SHA-256 (what a host compares
    /// its files with to send only what changed).
    public func projectCopyDigests(projectId: String) async throws -> [String: String] {
        try await read { db in
            var digests: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT path, sha256 FROM project_copy_file WHERE project_id = ?", arguments: [projectId]) {
                digests[row["path"]] = row["sha256"]
            }
            return digests
        }
    }

    /// Brings the project's copy up to date with `changes`, in one
    /// transaction.
    /// - Throws: `.projectNotFound`; `.messageTooLarge` when the copy would
    ///   hold more than `maxProjectCopyBytes` (nothing is changed then).
    public func updateProjectCopy(projectId: String, _ changes: ProjectCopyChanges) async throws {
        guard !changes.isEmpty else { return }
        try await write { db in
            try Store.requireProject(projectId, in: db)
            try self.apply(changes, to: projectId, in: db)
        }
    }

    /// Replaces the run's snapshot and brings the copy up to date in the
    /// same transaction: the copy's files are always those of the saved
    /// step (or later), never older.
    /// - Throws: as `saveAgentRun(projectId:snapshot:)` and `updateProjectCopy`.
    public func saveAgentRun(projectId: String, snapshot: Data, copy changes: ProjectCopyChanges) async throws {
        guard snapshot.count <= limits.maxRunSnapshotBytes else {
            throw StorageError.messageTooLarge(bytes: snapshot.count, limit: limits.maxRunSnapshotBytes)
        }
        let updated = now.milliseconds
        try await write { db in
            try Store.requireProject(projectId, in: db)
            try self.apply(changes, to: projectId, in: db)
            try Store.upsertAgentRun(projectId, snapshot, updated, in: db)
        }
    }

    /// Removes the project's copy (one that cannot be kept up to date: a
    /// stale copy must not be restored).
    public func dropProjectCopy(projectId: String) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM project_copy_file WHERE project_id = ?", arguments: [projectId])
        }
    }

    /// Up to `limit` files of the copy in path order, after `after` (a
    /// restore reads it a page at a time).
    public func projectCopyFiles(projectId: String, after: String?, limit: Int) async throws -> [CopiedFile] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT path, content FROM project_copy_file WHERE project_id = ? AND path > ? ORDER BY path LIMIT ?
                """, arguments: [projectId, after ?? "", max(1, limit)]).map {
                CopiedFile(path: $0["path"], content: $0["content"])
            }
        }
    }

    /// The copy's size: files and bytes.
    public func projectCopySize(projectId: String) async throws -> (files: Int, bytes: Int) {
        try await read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(content)), 0) AS bytes FROM project_copy_file WHERE project_id = ?
                """, arguments: [projectId])
            return (row?["n"] ?? 0, row?["bytes"] ?? 0)
        }
    }

    private func apply(_ changes: ProjectCopyChanges, to projectId: String, in db: Database) throws {
        for path in changes.removed {
            try db.execute(sql: "DELETE FROM project_copy_file WHERE project_id = ? AND path = ?", arguments: [projectId, path])
        }
        for file in changes.written {
            // Paths come from a worker: kept as text, confined again by the
            // host a copy is restored to.
            guard !file.path.isEmpty, file.path.utf8.count <= 4096 else {
                throw StorageError.invalidField(name: "path", reason: "a copied file's path must be 1…4096 bytes")
            }
            try db.execute(
                sql: """
                    INSERT INTO project_copy_file (project_id, path, sha256, content) VALUES (?, ?, ?, ?)
                    ON CONFLICT(project_id, path) DO UPDATE SET sha256 = excluded.sha256, content = excluded.content
                    """,
                arguments: [projectId, file.path, CopiedFile.digest(file.content), file.content])
        }
        let bytes = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(content)), 0) FROM project_copy_file WHERE project_id = ?",
                                     arguments: [projectId]) ?? 0
        // Thrown inside the transaction: it rolls back whole.
        guard bytes <= limits.maxProjectCopyBytes else {
            throw StorageError.messageTooLarge(bytes: bytes, limit: limits.maxProjectCopyBytes)
        }
    }
}
