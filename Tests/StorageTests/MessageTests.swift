import Foundation
import Testing
@testable import Storage

@Suite struct MessageTests {
    @Test func appendsOneMessageWithAllItsFields() async throws {
        let clock = ManualClock()
        let fixture = try await Fixture(clock: clock)
        let session = try await fixture.store.createSession(userId: fixture.user.id, title: "t")
        clock.advance(seconds: 2)
        let stored = try await fixture.store.appendMessage(NewMessage(
            id: "m-1", sessionId: session.id, sender: .assistant, content: "Hello 👋",
            agentId: "master", metadata: #"{"files":["a.swift"]}"#))
        #expect(stored.id == "m-1")
        #expect(stored.sender == .assistant)
        #expect(stored.content == "Hello 👋")
        #expect(stored.agentId == "master")
        #expect(stored.metadata == #"{"files":["a.swift"]}"#)
        #expect(stored.timestamp == clock.now.truncatedToMilliseconds)
        let page = try await fixture.store.messages(sessionId: session.id, limit: 10)
        #expect(page.items == [stored])
        #expect(try await fixture.store.session(id: session.id).lastModified == clock.now.truncatedToMilliseconds)
    }

    @Test func aBatchIsStoredInOrderAcrossSessions() async throws {
        let fixture = try await Fixture()
        let a = try await fixture.store.createSession(userId: fixture.user.id, title: "a")
        let b = try await fixture.store.createSession(userId: fixture.user.id, title: "b")
        let stored = try await fixture.store.appendMessages([
            NewMessage(sessionId: a.id, sender: .user, content: "a1"),
            NewMessage(sessionId: b.id, sender: .user, content: "b1"),
            NewMessage(sessionId: a.id, sender: .assistant, content: "a2"),
        ])
        #expect(stored.map(\.content) == ["a1", "b1", "a2"])
        #expect(stored.map(\.position) == stored.map(\.position).sorted())
        #expect(try await fixture.store.messages(sessionId: a.id, limit: 10).items.map(\.content) == ["a2", "a1"])
        #expect(try await fixture.store.messages(sessionId: b.id, limit: 10).items.map(\.content) == ["b1"])
    }

    @Test func aBatchWithOneBadMessageStoresNothing() async throws {
        let fixture = try await Fixture()
        let a = try await fixture.store.createSession(userId: fixture.user.id, title: "a")
        await #expect(throws: StorageError.sessionNotFound(id: "ghost")) {
            try await fixture.store.appendMessages([
                NewMessage(sessionId: a.id, sender: .user, content: "ok"),
                NewMessage(sessionId: "ghost", sender: .user, content: "lost"),
            ])
        }
        #expect(try await fixture.count("chat_message") == 0)
    }

    @Test func aRetriedAppendWithTheSameIdIsStoredOnce() async throws {
        let fixture = try await Fixture()
        let a = try await fixture.store.createSession(userId: fixture.user.id, title: "a")
        let message = NewMessage(id: "client-7", sessionId: a.id, sender: .user, content: "once")
        let first = try await fixture.store.appendMessage(message)
        let second = try await fixture.store.appendMessage(message)
        #expect(first == second)
        #expect(try await fixture.store.messageCount(sessionId: a.id) == 1)
    }

    @Test func anIdUsedInAnotherSessionIsRefused() async throws {
        let fixture = try await Fixture()
        let a = try await fixture.store.createSession(userId: fixture.user.id, title: "a")
        let b = try await fixture.store.createSession(userId: fixture.user.id, title: "b")
        try await fixture.store.appendMessage(NewMessage(id: "dup", sessionId: a.id, sender: .user, content: "x"))
        await #expect(throws: StorageError.duplicateId(kind: "message", id: "dup")) {
            try await fixture.store.appendMessage(NewMessage(id: "dup", sessionId: b.id, sender: .user, content: "y"))
        }
        #expect(try await fixture.store.messageCount(sessionId: b.id) == 0)
    }

    @Test func metadataMustBeJSON() async throws {
        let fixture = try await Fixture()
        let a = try await fixture.store.createSession(userId: fixture.user.id, title: "a")
        await #expect(throws: StorageError.invalidField(name: "message metadata", reason: "it is not valid JSON")) {
            try await fixture.store.appendMessage(NewMessage(sessionId: a.id, sender: .user, content: "x", metadata: "{nope"))
        }
    }

    @Test func aMessageInAProjectSessionCountsAsProjectActivity() async throws {
        let clock = ManualClock()
        let fixture = try await Fixture(clock: clock)
        let session = try await fixture.store.createSession(userId: fixture.user.id, title: "t")
        let project = try await fixture.store.createProject(
            ownerId: fixture.user.id, name: "p", language: "ts", projectPath: "p", sessionId: session.id)
        clock.advance(days: 3)
        try await fixture.store.appendMessage(NewMessage(sessionId: session.id, sender: .user, content: "more"))
        let after = try await fixture.store.project(id: project.id)
        #expect(after.lastActivityAt == project.lastActivityAt.addingTimeInterval(3 * 86_400))
    }
}
