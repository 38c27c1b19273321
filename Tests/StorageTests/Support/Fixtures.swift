import Foundation
import GRDB
@testable import Storage

/// A store in a temporary folder with one user, for tests.
struct Fixture {
    let directory: TemporaryDirectory
    let store: Store
    let user: User

    init(clock: ManualClock? = nil, limits: StoreLimits = StoreLimits()) async throws {
        directory = try TemporaryDirectory()
        var configuration = StoreConfiguration()
        configuration.limits = limits
        if let clock { configuration.now = { clock.now } }
        store = try Store(path: directory.file("hma.sqlite"), configuration: configuration)
        user = try await store.ensureUser(name: "dev")
    }

    /// Raw row count of a table, bypassing the store's API.
    func count(_ table: String, where condition: String = "1") async throws -> Int {
        try await store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE \(condition)") ?? 0
        }
    }
}

extension Store {
    /// Appends `count` user messages numbered from `first`.
    @discardableResult
    func appendNumbered(_ count: Int, to sessionId: String, first: Int = 0) async throws -> [ChatMessage] {
        try await appendMessages((first..<(first + count)).map {
            NewMessage(sessionId: sessionId, sender: .user, content: "message \($0)")
        })
    }
}
