import Foundation
import GRDB

extension Store {
    /// Creates an `active` project owned by `ownerId`, linked both ways to
    /// `sessionId` when given.
    /// - Throws: `.userNotFound`, `.sessionNotFound`, `.duplicateId`, `.invalidField`.
    @discardableResult
    public func createProject(
        ownerId: String, name: String, language: String, projectPath: String,
        sessionId: String? = nil, id: String? = nil
    ) async throws -> ProjectMeta {
        let id = id ?? Self.newId()
        try validateId(id, field: "project id")
        try validateId(name, field: "project name")
        try validateId(language, field: "language")
        try validateId(projectPath, field: "project path")
        let created = now.milliseconds
        return try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM user WHERE id = ?", arguments: [ownerId]) != nil else {
                throw StorageError.userNotFound(id: ownerId)
            }
            if let sessionId { _ = try Self.fetchSession(db, id: sessionId) }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM project_meta WHERE id = ?", arguments: [id]) != nil {
                throw StorageError.duplicateId(kind: "project", id: id)
            }
            try db.execute(
                sql: """
                    INSERT INTO project_meta
                        (id, owner_id, session_id, name, project_path, language, status, created_at, last_activity_at)
                    VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)
                    """,
                arguments: [id, ownerId, sessionId, name, projectPath, language, created, created])
            if let sessionId {
                try db.execute(sql: "UPDATE chat_session SET project_id = ? WHERE id = ?", arguments: [id, sessionId])
            }
            return try Self.fetchProject(db, id: id)
        }
    }

    /// The project with this id.
    /// - Throws: `.projectNotFound`.
    public func project(id: String) async throws -> ProjectMeta {
        try await read { db in try Self.fetchProject(db, id: id) }
    }

    /// A user's projects, most recently active first.
    public func projects(ownerId: String) async throws -> [ProjectMeta] {
        try await read { db in
            try ProjectMeta.fetchAll(
                db, sql: "SELECT * FROM project_meta WHERE owner_id = ? ORDER BY last_activity_at DESC, id DESC",
                arguments: [ownerId])
        }
    }

    /// Moves a project to `status` if `ProjectStatus.canTransition` allows it.
    /// Bringing a project back to `active` counts as activity; setting the
    /// status it already has changes nothing.
    /// - Throws: `.projectNotFound`, `.invalidStatusTransition`.
    @discardableResult
    public func setProjectStatus(id: String, to status: ProjectStatus) async throws -> ProjectMeta {
        let at = now.milliseconds
        return try await write { db in
            let project = try Self.fetchProject(db, id: id)
            if project.status == status { return project }
            guard project.status.canTransition(to: status) else {
                throw StorageError.invalidStatusTransition(from: project.status, to: status)
            }
            if status == .active {
                try db.execute(
                    sql: "UPDATE project_meta SET status = ?, compressed_at = NULL, last_activity_at = max(last_activity_at, ?) WHERE id = ?",
                    arguments: [status.rawValue, at, id])
            } else {
                try db.execute(sql: "UPDATE project_meta SET status = ? WHERE id = ?", arguments: [status.rawValue, id])
            }
            return try Self.fetchProject(db, id: id)
        }
    }

    /// Records activity in a project (a file write, a run) so retention does
    /// not archive it.
    /// - Throws: `.projectNotFound`.
    public func touchProject(id: String) async throws {
        let at = now.milliseconds
        try await write { db in
            try db.execute(
                sql: "UPDATE project_meta SET last_activity_at = max(last_activity_at, ?) WHERE id = ?",
                arguments: [at, id])
            guard db.changesCount > 0 else { throw StorageError.projectNotFound(id: id) }
        }
    }

    static func fetchProject(_ db: Database, id: String) throws -> ProjectMeta {
        guard let project = try ProjectMeta.fetchOne(db, sql: "SELECT * FROM project_meta WHERE id = ?", arguments: [id]) else {
            throw StorageError.projectNotFound(id: id)
        }
        return project
    }
}
