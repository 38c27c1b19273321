import Foundation
import Testing
@testable import Storage

@Suite struct PaginationTests {
    /// Reads every page of a session's messages.
    func allPages(_ store: Store, session: String, pageSize: Int, between: (@Sendable () async throws -> Void)? = nil) async throws -> [[ChatMessage]] {
        var pages: [[ChatMessage]] = []
        var cursor: String?
        repeat {
            let page = try await store.messages(sessionId: session, limit: pageSize, before: cursor)
            pages.append(page.items)
            cursor = page.nextCursor
            try await between?()
        } while cursor != nil
        return pages
    }

    @Test func messagePagesCrossBoundariesNewestFirst() async throws {
        let fixture = try await Fixture()
        let session = try await fixture.store.createSession(userId: fixture.user.id, title: "t")
        try await fixture.store.appendNumbered(120, to: session.id)
        let pages = try await allPages(fixture.store, session: session.id, pageSize: 50)
        #expect(pages.map(\.count) == [50, 50, 20])
        let contents = pages.flatMap { $0 }.map(\.content)
        #expect(contents == (0..<120).reversed().map { "message \($0)" })
    }

    @Test func anExactMultipleOfThePageSizeEndsWithoutAnEmptyPage() async throws {
        let fixture = try await Fixture()
        let session = try await fixture.store.createSession(userId: fixture.user.id, title: "t")
        try await fixture.store.appendNumbered(100, to: session.id)
        let pages = try await allPages(fixture.store, session: session.id, pageSize: 50)
        #expect(pages.map(\.count) == [50, 50])
        let empty = try await fixture.store.createSession(userId: fixture.user.id, title: "empty")
        let none = try await fixture.store.messages(sessionId: empty.id, limit: 50)
        #expect(none.items.isEmpty && none.nextCursor == nil)
    }

    @Test func messagePagesAreStableWhileAnotherWriterAppends() async throws {
        let fixture = try await Fixture()
        let session = try await fixture.store.createSession(userId: fixture.user.id, title: "t")
        let other = try await fixture.store.createSession(userId: fixture.user.id, title: "other")
        let original = try await fixture.store.appendNumbered(230, to: session.id)

        // A concurrent writer appends to the same session (and another) while pages are read.
        let writer = Task {
            for round in 0..<40 {
                try await fixture.store.appendNumbered(5, to: session.id, first: 1000 + round * 5)
                try await fixture.store.appendNumbered(1, to: other.id, first: round)
            }
        }
        let pages = try await allPages(fixture.store, session: session.id, pageSize: 25) {
            await Task.yield()
        }
        try await writer.value

        // The first page may include messages appended before it was read; after
        // it, pages continue strictly below the cursor: no repeats, no gaps.
        let read = pages.flatMap { $0 }
        let positions = read.map(\.position)
        #expect(positions == positions.sorted(by: >))
        #expect(Set(positions).count == positions.count)
        let originalIds = original.map(\.id)
        let readOriginal = read.map(\.id).filter(Set(originalIds).contains)
        #expect(readOriginal == originalIds.reversed())
        #expect(try await fixture.store.messageCount(sessionId: session.id) == 430)
    }

    @Test func sessionPagesNeverRepeatAndKeepEveryUntouchedSession() async throws {
        let clock = ManualClock()
        let fixture = try await Fixture(clock: clock)
        var ids: [String] = []
        for index in 0..<60 {
            clock.advance(seconds: 1)
            ids.append(try await fixture.store.createSession(userId: fixture.user.id, title: "s\(index)", id: "s\(index)").id)
        }
        let stranger = try await fixture.store.ensureUser(name: "someone-else")
        try await fixture.store.createSession(userId: stranger.id, title: "not yours")

        // While paging, a writer moves some sessions to the top and creates new ones.
        let touched = ["s3", "s17", "s40", "s58"]
        var seen: [String] = []
        var cursor: String?
        var page = 0
        repeat {
            let result = try await fixture.store.sessions(userId: fixture.user.id, limit: 7, before: cursor)
            seen += result.items.map(\.id)
            cursor = result.nextCursor
            if page < touched.count {
                clock.advance(seconds: 1)
                try await fixture.store.appendMessage(NewMessage(sessionId: touched[page], sender: .user, content: "bump"))
                try await fixture.store.createSession(userId: fixture.user.id, title: "new", id: "new\(page)")
            }
            page += 1
        } while cursor != nil

        #expect(Set(seen).count == seen.count, "a session appeared on two pages")
        let untouched = Set(ids).subtracting(touched)
        #expect(untouched.isSubset(of: Set(seen)), "an untouched session was skipped")
        #expect(!seen.contains("not yours"))
        // Ordered newest first by modification time at the moment each page was read.
        let fresh = try await fixture.store.sessions(userId: fixture.user.id, limit: 500)
        #expect(fresh.nextCursor == nil)
        #expect(Array(fresh.items.prefix(4).map(\.id)) == ["s58", "new3", "s40", "new2"])  // same time: id descending
    }

    @Test func badCursorsAndLimitsAreRefused() async throws {
        let fixture = try await Fixture()
        let session = try await fixture.store.createSession(userId: fixture.user.id, title: "t")
        for cursor in ["", "m1:", "m1:abc", "m1:-4", "s1:12:x", "garbage"] {
            await #expect(throws: StorageError.invalidCursor(cursor)) {
                try await fixture.store.messages(sessionId: session.id, limit: 10, before: cursor)
            }
        }
        for cursor in ["", "s1:", "s1:x:id", "s1:12:", "m1:5"] {
            await #expect(throws: StorageError.invalidCursor(cursor)) {
                try await fixture.store.sessions(userId: fixture.user.id, limit: 10, before: cursor)
            }
        }
        await #expect(throws: StorageError.invalidField(name: "limit", reason: "it must be at least 1")) {
            try await fixture.store.messages(sessionId: session.id, limit: 0)
        }
        await #expect(throws: StorageError.sessionNotFound(id: "nope")) {
            try await fixture.store.messages(sessionId: "nope", limit: 10)
        }
    }

    @Test func largePageRequestsAreClampedToTheLimit() async throws {
        var limits = StoreLimits()
        limits.maxPageSize = 10
        let fixture = try await Fixture(limits: limits)
        let session = try await fixture.store.createSession(userId: fixture.user.id, title: "t")
        try await fixture.store.appendNumbered(25, to: session.id)
        let page = try await fixture.store.messages(sessionId: session.id, limit: 1000)
        #expect(page.items.count == 10)
        #expect(page.nextCursor != nil)
    }
}
