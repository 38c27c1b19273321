import Foundation
import Logging
import ServiceLifecycle
import Testing
import Gateway
import Storage

@Suite struct BackupServiceTests {
    @Test func backsUpOnEveryTickKeepsTheNewestAndStopsOnShutdown() async throws {
        let folder = NSTemporaryDirectory() + "hma-backup-service-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Distinct file names need distinct times: a clock that moves a second per call.
        let tick = TickingClock()
        var configuration = StoreConfiguration()
        configuration.now = { tick.next() }
        let store = try Store(path: folder + "/hma.sqlite", configuration: configuration)
        let (backups, sink) = AsyncStream<Result<String, any Error>>.makeStream()
        let service = BackupService(
            store: store, directory: folder + "/backups", interval: .milliseconds(20), keep: 2,
            logger: Logger(label: "test"), onBackup: { sink.yield($0) })
        let group = ServiceGroup(configuration: .init(services: [service], logger: Logger(label: "test")))
        let running = Task { try await group.run() }

        var made: [String] = []
        for await result in backups {
            made.append(try result.get())
            if made.count == 4 { break }
        }
        await group.triggerGracefulShutdown()
        try await running.value
        // A backup may have finished between the fourth and the shutdown.
        sink.finish()
        for await result in backups { made.append(try result.get()) }

        let left = try FileManager.default.contentsOfDirectory(atPath: folder + "/backups").sorted()
        let expected = Array(made.map { ($0 as NSString).lastPathComponent }.sorted().suffix(2))
        #expect(left == expected)
        for file in left {
            let copy = try Store(path: folder + "/backups/" + file)
            #expect(try await copy.schemaVersion().hasPrefix("v5"))
        }
    }
}

/// A clock that moves forward one second each time it is read.
final class TickingClock: Sendable {
    private let start = Date(timeIntervalSince1970: 1_800_000_000)
    private let count = Mutex(0)
    func next() -> Date { count.withLock { $0 += 1; return start.addingTimeInterval(Double($0)) } }
}

import Synchronization
