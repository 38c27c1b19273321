import Foundation
import GRDB
import Testing
@testable import Storage

@Suite struct BadInputTests {
    @Test func aFileThatIsNotSQLiteIsRefusedAndLeftUntouched() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hma.sqlite")
        let content = Data("{\"this\": \"is a JSON file, not a database\"}\n".utf8)
        try content.write(to: URL(fileURLWithPath: path))
        #expect(throws: StorageError.notADatabase(path: path)) { try Store(path: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == content)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func aDatabaseFromANewerVersionIsRefusedAndLeftUntouched() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hma.sqlite")
        do {
            let store = try Store(path: path)
            let user = try await store.ensureUser(name: "dev")
            try await store.createSession(userId: user.id, title: "precious", id: "keep-me")
            try await store.pool.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
            }
            try store.close()
        }
        #expect(throws: StorageError.schemaTooNew(path: path, unknownMigrations: ["v99: from the future"])) {
            try Store(path: path)
        }
        // Still readable by the newer version: nothing was dropped or rewritten.
        let queue = try DatabaseQueue(path: path)
        #expect(try await queue.read { try String.fetchOne($0, sql: "SELECT title FROM chat_session WHERE id = 'keep-me'") } == "precious")
    }

    @Test func overLongTitlesAndMessagesAreRefusedWithTheirLimits() async throws {
        var limits = StoreLimits()
        limits.maxTitleLength = 10
        limits.maxMessageBytes = 100
        let fixture = try await Fixture(limits: limits)
        let session = try await fixture.store.createSession(userId: fixture.user.id, title: "ten chars!")
        await #expect(throws: StorageError.titleTooLong(length: 11, limit: 10)) {
            try await fixture.store.createSession(userId: fixture.user.id, title: "eleven char")
        }
        await #expect(throws: StorageError.titleTooLong(length: 11, limit: 10)) {
            try await fixture.store.renameSession(id: session.id, title: "eleven char")
        }
        await #expect(throws: StorageError.messageTooLarge(bytes: 101, limit: 100)) {
            try await fixture.store.appendMessage(NewMessage(sessionId: session.id, sender: .user, content: String(repeating: "x", count: 101)))
        }
        // Limits count UTF-8 bytes: 26 four-byte emoji are 104 bytes.
        await #expect(throws: StorageError.messageTooLarge(bytes: 104, limit: 100)) {
            try await fixture.store.appendMessage(NewMessage(sessionId: session.id, sender: .user, content: String(repeating: "🦀", count: 26)))
        }
        #expect(try await fixture.store.session(id: session.id).title == "ten chars!")
        #expect(try await fixture.store.messageCount(sessionId: session.id) == 0)
    }

    @Test func badIdsAreRefused() async throws {
        let fixture = try await Fixture()
        await #expect(throws: StorageError.invalidField(name: "session id", reason: "it is empty")) {
            try await fixture.store.createSession(userId: fixture.user.id, title: "t", id: "")
        }
        await #expect(throws: StorageError.invalidField(name: "session id", reason: "it is longer than 128 bytes")) {
            try await fixture.store.createSession(userId: fixture.user.id, title: "t", id: String(repeating: "a", count: 129))
        }
        await #expect(throws: StorageError.invalidField(name: "session id", reason: "it contains control characters")) {
            try await fixture.store.createSession(userId: fixture.user.id, title: "t", id: "a\u{0}b")
        }
    }

    @Test func operationsOnAMissingSessionSayWhichSession() async throws {
        let fixture = try await Fixture()
        for operation: @Sendable () async throws -> Void in [
            { _ = try await fixture.store.session(id: "s-404") },
            { try await fixture.store.renameSession(id: "s-404", title: "x") },
            { try await fixture.store.deleteSession(id: "s-404") },
            { try await fixture.store.appendMessage(NewMessage(sessionId: "s-404", sender: .user, content: "x")) },
            { _ = try await fixture.store.messages(sessionId: "s-404", limit: 5) },
            { _ = try await fixture.store.importedFiles(sessionId: "s-404") },
        ] {
            await #expect(throws: StorageError.sessionNotFound(id: "s-404")) { try await operation() }
        }
        #expect(StorageError.sessionNotFound(id: "s-404").description == "No chat session with id s-404.")
    }

    @Test(.enabled(if: Tmpfs.available, "mounting a tmpfs needs root"))
    func aReadOnlyDiskIsReportedAndItsDataKept() async throws {
        let disk = try Tmpfs(sizeKiB: 4096)
        let path = disk.file("hma.sqlite")
        do {
            let store = try Store(path: path)
            let user = try await store.ensureUser(name: "dev")
            try await store.createSession(userId: user.id, title: "kept", id: "kept")
            try store.close()
        }
        try disk.remount(readOnly: true)
        #expect(throws: StorageError.readOnly(path: path)) { try Store(path: path) }
        #expect(throws: StorageError.readOnly(path: disk.file("new/hma.sqlite"))) { try Store(path: disk.file("new/hma.sqlite")) }
        try disk.remount(readOnly: false)
        let store = try Store(path: path)
        #expect(try await store.session(id: "kept").title == "kept")
    }

    @Test(.enabled(if: Tmpfs.available, "mounting a tmpfs needs root"))
    func aFullDiskFailsTheWriteKeepsEarlierDataAndRecovers() async throws {
        let disk = try Tmpfs(sizeKiB: 1024)
        // Filler the test frees later to make room again.
        let filler = disk.file("filler")
        try Data(count: 256 * 1024).write(to: URL(fileURLWithPath: filler))
        let store = try Store(path: disk.file("hma.sqlite"))
        let user = try await store.ensureUser(name: "dev")
        let session = try await store.createSession(userId: user.id, title: "t")
        let chunk = String(repeating: "z", count: 32 * 1024)
        var acknowledged: [String] = []
        var failure: (any Error)?
        for index in 0..<200 {
            do {
                acknowledged.append(try await store.appendMessage(NewMessage(sessionId: session.id, sender: .user, content: "\(index) \(chunk)")).id)
            } catch {
                failure = error
                break
            }
        }
        #expect(failure as? StorageError == .diskFull(path: store.path), "got \(String(describing: failure))")
        #expect(acknowledged.count > 3)
        // Reads keep working and every acknowledged message is there.
        let stored = try await store.messages(sessionId: session.id, limit: 500).items.map(\.id)
        #expect(Set(stored) == Set(acknowledged))

        try FileManager.default.removeItem(atPath: filler)
        try await store.appendMessage(NewMessage(sessionId: session.id, sender: .user, content: "after space was freed"))
        #expect(try await store.messageCount(sessionId: session.id) == acknowledged.count + 1)
    }
}
