import Foundation
import ProcessTesting
import Storage
import MeshTesting
import Testing

@Suite struct DurabilityTests {
    /// A child appends acknowledged messages in a loop and is killed with
    /// SIGKILL at a random moment; after reopening, every message it reported
    /// as acknowledged is in the database.
    @Test(arguments: 0..<3)
    func acknowledgedMessagesSurviveSIGKILL(trial: Int) async throws {
        let folder = NSTemporaryDirectory() + "hma-durability-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/hma.sqlite"
        let killAfter = Int.random(in: 20...400)
        let child = try ChildProcess(ChildProcess.executable("hma-storage-appender"), [path, "100000"])

        let sessionLine = try await within(60, "the appender to start") { await child.lines.first { $0.hasPrefix("session ") } }
        let sessionId = try #require(sessionLine).dropFirst("session ".count)
        @Sendable func acks(upTo count: Int) async -> [String] {
            var ids: [String] = []
            while ids.count < count, let line = await child.lines.next() {
                if line.hasPrefix("ack ") { ids.append(String(line.dropFirst(4))) }
            }
            return ids
        }
        var acknowledged = try await within(120, "\(killAfter) acknowledgements") { await acks(upTo: killAfter) }
        child.signal(SIGKILL)
        // Everything printed before the kill counts as acknowledged, including
        // lines still in the pipe.
        acknowledged += try await within(30, "the appender's output to close") { await acks(upTo: .max) }
        let status = await child.exitStatus()
        #expect(child.terminatedBySignal && status == SIGKILL, "the appender ended by itself (status \(status)): \(child.standardError)")

        let store = try Store(path: path)
        let stored = try await store.messages(sessionId: String(sessionId), limit: 500)
        var ids = Set(stored.items.map(\.id))
        var cursor = stored.nextCursor
        while let next = cursor {
            let page = try await store.messages(sessionId: String(sessionId), limit: 500, before: next)
            ids.formUnion(page.items.map(\.id))
            cursor = page.nextCursor
        }
        let lost = Set(acknowledged).subtracting(ids)
        print("durability trial \(trial): killed after ≥\(killAfter) acks, \(acknowledged.count) acknowledged in all, \(ids.count) stored, \(lost.count) lost")
        #expect(acknowledged.count >= killAfter)
        #expect(lost.isEmpty, "acknowledged but lost: \(lost.sorted().prefix(10))")
    }
}
