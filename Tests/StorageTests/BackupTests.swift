import Foundation
import GRDB
import Testing
@testable import Storage

@Suite struct BackupTests {
    /// Every row of every HMA table, as text, for comparing two databases.
    static func dump(_ store: Store) async throws -> [String] {
        try await store.pool.read { db in
            var lines: [String] = []
            for table in ["user", "chat_session", "chat_message", "imported_file", "project_meta", "grdb_migrations"] {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY rowid") {
                    lines.append("\(table) \(row)")
                }
            }
            return lines
        }
    }

    static func populate(_ fixture: Fixture) async throws {
        for index in 0..<5 {
            let session = try await fixture.store.createSession(userId: fixture.user.id, title: "session \(index)")
            try await fixture.store.appendNumbered(40, to: session.id)
            try await fixture.store.recordImportedFile(
                sessionId: session.id, path: "f\(index).txt", size: 3, contentHash: ImportedFile.contentHash(of: Data("abc".utf8)))
            try await fixture.store.createProject(ownerId: fixture.user.id, name: "p\(index)", language: "swift", projectPath: "p\(index)", sessionId: session.id)
        }
    }

    @Test func backupThenRestoreGivesTheSameDatabase() async throws {
        let fixture = try await Fixture()
        try await Self.populate(fixture)
        let backup = fixture.directory.file("backup.sqlite")
        try await fixture.store.backup(to: backup)
        let expected = try await Self.dump(fixture.store)

        // Changes after the backup must not be in the restored database.
        let late = try await fixture.store.createSession(userId: fixture.user.id, title: "after backup")
        try await fixture.store.appendNumbered(3, to: late.id)

        let restoredPath = fixture.directory.file("restored/hma.sqlite")
        try FileManager.default.createDirectory(atPath: fixture.directory.file("restored"), withIntermediateDirectories: true)
        try await Store.restore(from: backup, to: restoredPath)
        let restored = try Store(path: restoredPath)
        #expect(try await Self.dump(restored) == expected)
        await #expect(throws: StorageError.sessionNotFound(id: late.id)) { try await restored.session(id: late.id) }
    }

    @Test func restoreReplacesAnExistingDatabaseAndKeepsTheOldOne() async throws {
        let fixture = try await Fixture()
        try await Self.populate(fixture)
        let backup = fixture.directory.file("backup.sqlite")
        try await fixture.store.backup(to: backup)
        let expected = try await Self.dump(fixture.store)
        try await fixture.store.deleteSession(id: try await fixture.store.sessions(userId: fixture.user.id, limit: 1).items[0].id)
        try fixture.store.close()

        try await Store.restore(from: backup, to: fixture.store.path)
        let reopened = try Store(path: fixture.store.path)
        #expect(try await Self.dump(reopened) == expected)
        #expect(FileManager.default.fileExists(atPath: fixture.store.path + ".before-restore"))
    }

    @Test func backupRunsWhileAWriterKeepsWriting() async throws {
        let fixture = try await Fixture()
        let session = try await fixture.store.createSession(userId: fixture.user.id, title: "busy")
        try await fixture.store.appendNumbered(500, to: session.id)
        let writer = Task {
            for round in 0..<50 { try await fixture.store.appendNumbered(10, to: session.id, first: 10_000 + round * 10) }
        }
        let backup = fixture.directory.file("online.sqlite")
        try await fixture.store.backup(to: backup)
        try await writer.value
        let copy = try Store(path: backup)
        let count = try await copy.messageCount(sessionId: session.id)
        // A consistent snapshot: the 500 first messages and whole batches of 10 after them.
        #expect(count >= 500 && count <= 1000 && count % 10 == 0)
    }

    @Test func rotatingBackupsKeepTheNewest() async throws {
        let clock = ManualClock()
        let fixture = try await Fixture(clock: clock)
        let folder = fixture.directory.file("backups")
        var made: [String] = []
        for _ in 0..<5 {
            clock.advance(seconds: 61)
            made.append(try await fixture.store.backupRotating(into: folder, keep: 3))
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(left == made.suffix(3).map { ($0 as NSString).lastPathComponent })
    }

    @Test func refusesToBackUpOntoItselfOrRestoreGarbage() async throws {
        let fixture = try await Fixture()
        await #expect(throws: StorageError.invalidField(name: "backup destination", reason: "it is the live database itself")) {
            try await fixture.store.backup(to: fixture.store.path)
        }
        let garbage = fixture.directory.file("garbage.sqlite")
        try Data("this is not a database at all".utf8).write(to: URL(fileURLWithPath: garbage))
        let target = fixture.directory.file("target.sqlite")
        await #expect(throws: StorageError.notADatabase(path: garbage)) {
            try await Store.restore(from: garbage, to: target)
        }
        #expect(!FileManager.default.fileExists(atPath: target))
        await #expect(throws: StorageError.self) {
            try await Store.restore(from: fixture.directory.file("missing.sqlite"), to: target)
        }
    }
}
