import Foundation
import Testing
@testable import Storage

@Suite struct TimeOrderedIDTests {
    @Test func isAVersion7UUIDThatSortsByTime() throws {
        let early = TimeOrderedID.make(now: Date(timeIntervalSince1970: 1_700_000_000))
        let late = TimeOrderedID.make(now: Date(timeIntervalSince1970: 1_700_000_000.002))
        #expect(early < late)
        let parsed = try #require(UUID(uuidString: early))
        #expect(parsed.uuidString.lowercased() == early)
        let characters = Array(early)
        #expect(characters[14] == "7")                       // version
        #expect("89ab".contains(characters[19]))              // RFC 9562 variant
        #expect(early.hasPrefix("018bcfe5-6800"))             // 1_700_000_000_000 ms = 0x018bcfe56800
    }

    @Test func idsMadeInTheSameMillisecondDiffer() {
        let now = Date()
        let ids = (0..<1000).map { _ in TimeOrderedID.make(now: now) }
        #expect(Set(ids).count == 1000)
    }
}
