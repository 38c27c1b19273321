import Synchronization
import Testing
@testable import Gateway

/// Updates of one project's copy run one at a time, in order; other
/// projects' go on meanwhile.
@Suite struct CopyLocksTests {
    final class Trace: Sendable {
        let events = Mutex<[String]>([])
        func add(_ event: String) { events.withLock { $0.append(event) } }
    }

    @Test func updatesOfOneProjectNeverOverlapAndOtherProjectsAreNotHeld() async throws {
        let locks = CopyLocks()
        let trace = Trace()
        let (entered, enteredContinuation) = AsyncStream<Void>.makeStream()
        let (release, releaseContinuation) = AsyncStream<Void>.makeStream()
        let first = Task {
            try await locks.exclusively("p") {
                trace.add("first in")
                enteredContinuation.yield()
                for await _ in release { break }
                trace.add("first out")
            }
        }
        for await _ in entered { break }
        let second = Task { try await locks.exclusively("p") { trace.add("second in") } }
        // Another project is not held by the first one's update.
        try await locks.exclusively("q") { trace.add("other project") }
        #expect(trace.events.withLock { $0 } == ["first in", "other project"])
        releaseContinuation.yield()
        try await first.value
        try await second.value
        #expect(trace.events.withLock { $0 } == ["first in", "other project", "first out", "second in"])
        // A failed update frees the key too.
        await #expect(throws: CancellationError.self) { try await locks.exclusively("p") { throw CancellationError() } }
        try await locks.exclusively("p") { trace.add("after failure") }
        #expect(trace.events.withLock { $0 }.last == "after failure")
    }
}
