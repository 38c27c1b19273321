import Foundation
import Testing
@testable import Storage

@Suite struct SessionTests {
    @Test func createsSessionsWithGeneratedOrGivenIds() async throws {
        let fixture = try await Fixture()
        let generated = try await fixture.store.createSession(userId: fixture.user.id, title: "Todo app")
        #expect(!generated.id.isEmpty)
        #expect(generated.title == "Todo app")
        #expect(generated.createdAt == generated.lastModified)
        let given = try await fixture.store.createSession(userId: fixture.user.id, title: "API", id: "chat-42")
        #expect(given.id == "chat-42")
        #expect(try await fixture.store.session(id: "chat-42") == given)
    }

    @Test func aDuplicateIdIsRefusedAndTheFirstSessionKept() async throws {
        let fixture = try await Fixture()
        try await fixture.store.createSession(userId: fixture.user.id, title: "one", id: "same")
        await #expect(throws: StorageError.duplicateId(kind: "chat session", id: "same")) {
            try await fixture.store.createSession(userId: fixture.user.id, title: "two", id: "same")
        }
        #expect(try await fixture.store.session(id: "same").title == "one")
    }

    @Test func unknownUserOrProjectIsRefused() async throws {
        let fixture = try await Fixture()
        await #expect(throws: StorageError.userNotFound(id: "nobody")) {
            try await fixture.store.createSession(userId: "nobody", title: "x")
        }
        await #expect(throws: StorageError.projectNotFound(id: "p-missing")) {
            try await fixture.store.createSession(userId: fixture.user.id, title: "x", projectId: "p-missing")
        }
        #expect(try await fixture.count("chat_session") == 0)
    }

    @Test func renameChangesTitleAndModificationTime() async throws {
        let clock = ManualClock()
        let fixture = try await Fixture(clock: clock)
        let session = try await fixture.store.createSession(userId: fixture.user.id, title: "old")
        clock.advance(seconds: 5)
        let renamed = try await fixture.store.renameSession(id: session.id, title: "new")
        #expect(renamed.title == "new")
        #expect(renamed.lastModified == session.lastModified.addingTimeInterval(5))
        await #expect(throws: StorageError.sessionNotFound(id: "missing")) {
            try await fixture.store.renameSession(id: "missing", title: "t")
        }
    }

    @Test func deleteRemovesTheSessionItsMessagesAndItsFilesTogether() async throws {
        let fixture = try await Fixture()
        let doomed = try await fixture.store.createSession(userId: fixture.user.id, title: "doomed")
        let kept = try await fixture.store.createSession(userId: fixture.user.id, title: "kept")
        try await fixture.store.appendNumbered(7, to: doomed.id)
        try await fixture.store.appendNumbered(2, to: kept.id)
        let hash = ImportedFile.contentHash(of: Data("x".utf8))
        try await fixture.store.recordImportedFile(sessionId: doomed.id, path: "a.txt", size: 1, contentHash: hash)
        try await fixture.store.recordImportedFile(sessionId: kept.id, path: "b.txt", size: 1, contentHash: hash)
        let project = try await fixture.store.createProject(
            ownerId: fixture.user.id, name: "p", language: "swift", projectPath: "p", sessionId: doomed.id)

        try await fixture.store.deleteSession(id: doomed.id)

        await #expect(throws: StorageError.sessionNotFound(id: doomed.id)) { try await fixture.store.session(id: doomed.id) }
        #expect(try await fixture.count("chat_message", where: "session_id = '\(doomed.id)'") == 0)
        #expect(try await fixture.count("imported_file", where: "session_id = '\(doomed.id)'") == 0)
        #expect(try await fixture.count("chat_message", where: "session_id = '\(kept.id)'") == 2)
        #expect(try await fixture.count("imported_file", where: "session_id = '\(kept.id)'") == 1)
        #expect(try await fixture.store.project(id: project.id).sessionId == nil)
        await #expect(throws: StorageError.sessionNotFound(id: doomed.id)) { try await fixture.store.deleteSession(id: doomed.id) }
    }

    @Test func usersAreCreatedOnceByName() async throws {
        let fixture = try await Fixture()
        let again = try await fixture.store.ensureUser(name: "dev")
        #expect(again == fixture.user)
        #expect(try await fixture.store.user(id: fixture.user.id) == fixture.user)
        await #expect(throws: StorageError.userNotFound(id: "x")) { try await fixture.store.user(id: "x") }
    }
}
