import Foundation
import GRDB
import Testing
@testable import Storage

@Suite struct MigrationTests {
    @Test func migratesAnEmptyFileToTheCurrentSchema() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("nested/folder/hma.sqlite")
        let store = try Store(path: path)
        #expect(try await store.schemaVersion() == Migrations.migrator.migrations.last)
        let tables = try await store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        }
        for table in ["chat_message", "chat_session", "imported_file", "project_meta", "user"] {
            #expect(tables.contains(table))
        }
        let journal = try await store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        let synchronous = try await store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 2)  // FULL
    }

    @Test func reopeningKeepsDataAndAppliesNothingTwice() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hma.sqlite")
        do {
            let store = try Store(path: path)
            let user = try await store.ensureUser(name: "ada")
            let session = try await store.createSession(userId: user.id, title: "first", id: "s-1")
            try await store.appendNumbered(3, to: session.id)
            try store.close()
        }
        let store = try Store(path: path)
        let applied = try await store.pool.read { db in try Migrations.migrator.appliedIdentifiers(db) }
        #expect(applied == Set(Migrations.migrator.migrations))
        #expect(try await store.session(id: "s-1").title == "first")
        #expect(try await store.messages(sessionId: "s-1", limit: 10).items.map(\.content) == ["message 2", "message 1", "message 0"])
        #expect(try await store.ensureUser(name: "ada").name == "ada")
    }

    @Test func anEmptyExistingFileIsTreatedAsANewDatabase() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hma.sqlite")
        FileManager.default.createFile(atPath: path, contents: Data())
        let store = try Store(path: path)
        #expect(try await store.schemaVersion() == Migrations.migrator.migrations.last)
    }
}
