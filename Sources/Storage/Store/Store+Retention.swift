import Foundation
import GRDB

extension Store {
    /// Applies `policy` to every project at `now` (the store's clock when nil)
    /// in one transaction and returns what was done, so the caller can do the
    /// matching work on files.
    @discardableResult
    public func applyRetention(_ policy: RetentionPolicy, now: Date? = nil) async throws -> [RetentionAction] {
        let now = (now ?? self.now).truncatedToMilliseconds
        let oldest = now.addingTimeInterval(-policy.archiveAfter).milliseconds
        return try await write { db in
            // Only projects idle past the first stage can be due; the index on
            // last_activity_at keeps this cheap however many projects exist.
            let candidates = try ProjectMeta.fetchAll(
                db, sql: "SELECT * FROM project_meta WHERE last_activity_at <= ? ORDER BY last_activity_at, id",
                arguments: [oldest])
            var actions: [RetentionAction] = []
            for project in candidates {
                guard let kind = policy.decide(
                    status: project.status, lastActivity: project.lastActivityAt,
                    compressed: project.compressedAt != nil, now: now)
                else { continue }
                switch kind {
                case .archive:
                    try db.execute(sql: "UPDATE project_meta SET status = 'archived' WHERE id = ?", arguments: [project.id])
                case .compress:
                    try db.execute(
                        sql: "UPDATE project_meta SET status = 'archived', compressed_at = ? WHERE id = ?",
                        arguments: [now.milliseconds, project.id])
                case .delete:
                    try db.execute(sql: "DELETE FROM project_meta WHERE id = ?", arguments: [project.id])
                }
                actions.append(RetentionAction(projectId: project.id, projectPath: project.projectPath, kind: kind))
            }
            return actions
        }
    }
}
