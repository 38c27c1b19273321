// make bench-storage
//
// Inserts 1,000,000 messages across 1,000 sessions through the Store (batches
// of 1,000), then measures loading one 50-message page from the middle of a
// large session and listing sessions. In the same run, the same work through
// the raw SQLite C API with the same schema and settings (WAL, synchronous =
// FULL, prepared statements, one transaction per 1,000 rows) is the ceiling
// the store is compared with. Writes the report into docs/benchmarks.md.
import BenchmarkReport
import Foundation
import GRDBSQLite
import Storage

let messageCount = Int(ProcessInfo.processInfo.environment["BENCH_MESSAGES"] ?? "") ?? 1_000_000
let sessionCount = 1_000
let batchSize = 1_000
let bigShare = 10  // one message in 10 goes to the large session
let samples = 2_000
let pageSize = 50

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func content(_ i: Int) -> String {
    "Message \(i): the coder for src/api/user.ts finished its change and reports the tests pass."
}

/// Session of message i. A batch is what one session's hub flushes at once, so
/// a batch belongs to one session; every `bigShare`-th batch goes to session 0,
/// the large one, the others take turns.
func sessionIndex(_ i: Int) -> Int {
    let batch = i / batchSize
    return batch % bigShare == 0 ? 0 : 1 + (batch % (sessionCount - 1))
}

struct Figures {
    var insertsPerSecond: Double
    var pageP50: Double, pageP99: Double
    var listP50: Double, listP99: Double
}

let clock = ContinuousClock()
let folder = NSTemporaryDirectory() + "hma-bench-storage-\(UUID().uuidString)"
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }

// MARK: - Through the Store

func benchStore() async throws -> Figures {
    let store = try Store(path: folder + "/store.sqlite")
    let user = try await store.ensureUser(name: "bench")
    var sessions: [String] = []
    for s in 0..<sessionCount {
        sessions.append(try await store.createSession(userId: user.id, title: "session \(s)").id)
    }
    let insertStart = clock.now
    var next = 0
    while next < messageCount {
        let batch = (next..<min(next + batchSize, messageCount)).map {
            NewMessage(sessionId: sessions[sessionIndex($0)], sender: $0 % 2 == 0 ? .user : .assistant, content: content($0))
        }
        try await store.appendMessages(batch)
        next += batch.count
    }
    let insertSeconds = seconds(clock.now - insertStart)

    // Cursors from the middle half of the large session.
    var cursors: [String] = []
    var cursor: String? = nil
    var pages = 0
    repeat {
        let page = try await store.messages(sessionId: sessions[0], limit: 500, before: cursor)
        cursor = page.nextCursor
        if let cursor { cursors.append(cursor) }
        pages += 1
    } while cursor != nil
    let middle = Array(cursors[cursors.count / 4..<max(cursors.count / 4 + 1, cursors.count * 3 / 4)])

    var pageTimes: [Double] = []
    for i in 0..<samples {
        let start = clock.now
        let page = try await store.messages(sessionId: sessions[0], limit: pageSize, before: middle[i % middle.count])
        pageTimes.append(seconds(clock.now - start) * 1000)
        precondition(page.items.count == pageSize)
    }
    var listTimes: [Double] = []
    let listCursors = [nil] + (try await store.sessions(userId: user.id, limit: 500).nextCursor).map { [$0] }!
    for i in 0..<samples {
        let start = clock.now
        let page = try await store.sessions(userId: user.id, limit: pageSize, before: listCursors[i % 2])
        listTimes.append(seconds(clock.now - start) * 1000)
        precondition(page.items.count == pageSize)
    }
    try store.close()
    return Figures(
        insertsPerSecond: Double(messageCount) / insertSeconds,
        pageP50: percentile(pageTimes, 0.5), pageP99: percentile(pageTimes, 0.99),
        listP50: percentile(listTimes, 0.5), listP99: percentile(listTimes, 0.99))
}

// MARK: - Raw SQLite, same schema and settings

struct SQLiteFailure: Error { let message: String }

final class RawDatabase {
    var db: OpaquePointer?
    init(path: String) throws {
        guard sqlite3_open(path, &db) == SQLITE_OK else { throw SQLiteFailure(message: "open") }
        try exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536")
    }
    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw SQLiteFailure(message: String(cString: sqlite3_errmsg(db)))
        }
    }
    func prepare(_ sql: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK, let statement else {
            throw SQLiteFailure(message: String(cString: sqlite3_errmsg(db)))
        }
        return statement
    }
    deinit { sqlite3_close_v2(db) }
}

nonisolated(unsafe) let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

func benchRaw() throws -> Figures {
    // The schema the store's first migration creates, copied from a store.
    let schemaSource = try Store(path: folder + "/schema.sqlite")
    try schemaSource.close()
    let schemaDb = try RawDatabase(path: folder + "/schema.sqlite")
    let schemaStatement = try schemaDb.prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'grdb_%' AND name NOT LIKE 'sqlite_%'")
    var schema: [String] = []
    while sqlite3_step(schemaStatement) == SQLITE_ROW { schema.append(String(cString: sqlite3_column_text(schemaStatement, 0))) }
    sqlite3_finalize(schemaStatement)

    let raw = try RawDatabase(path: folder + "/raw.sqlite")
    try raw.exec(schema.joined(separator: ";\n"))
    try raw.exec("INSERT INTO user (id, name, created_at) VALUES ('u', 'bench', 0)")
    try raw.exec("BEGIN")
    for s in 0..<sessionCount {
        try raw.exec("INSERT INTO chat_session (id, user_id, title, created_at, last_modified) VALUES ('s\(s)', 'u', 'session \(s)', 0, 0)")
    }
    try raw.exec("COMMIT")
    let insert = try raw.prepare("INSERT INTO chat_message (id, session_id, type, content, timestamp) VALUES (?, ?, ?, ?, ?)")
    let touch = try raw.prepare("UPDATE chat_session SET last_modified = max(last_modified, ?) WHERE id = ?")
    let insertStart = clock.now
    var next = 0
    while next < messageCount {
        try raw.exec("BEGIN IMMEDIATE")
        let end = min(next + batchSize, messageCount)
        var touched = Set<Int>()
        for i in next..<end {
            let session = sessionIndex(i)
            touched.insert(session)
            sqlite3_bind_text(insert, 1, TimeOrderedID.make(), -1, transient)
            sqlite3_bind_text(insert, 2, "s\(session)", -1, transient)
            sqlite3_bind_text(insert, 3, i % 2 == 0 ? "user" : "assistant", -1, transient)
            sqlite3_bind_text(insert, 4, content(i), -1, transient)
            sqlite3_bind_int64(insert, 5, Int64(i))
            guard sqlite3_step(insert) == SQLITE_DONE else { throw SQLiteFailure(message: String(cString: sqlite3_errmsg(raw.db))) }
            sqlite3_reset(insert)
        }
        for session in touched {
            sqlite3_bind_int64(touch, 1, Int64(end))
            sqlite3_bind_text(touch, 2, "s\(session)", -1, transient)
            _ = sqlite3_step(touch)
            sqlite3_reset(touch)
        }
        try raw.exec("COMMIT")
        next = end
    }
    let insertSeconds = seconds(clock.now - insertStart)

    // Page loads from the middle of the large session, same query shape as the store.
    let positions = try raw.prepare("SELECT position FROM chat_message WHERE session_id = 's0' ORDER BY position")
    var all: [Int64] = []
    while sqlite3_step(positions) == SQLITE_ROW { all.append(sqlite3_column_int64(positions, 0)) }
    sqlite3_finalize(positions)
    let middle = Array(all[all.count / 4..<all.count * 3 / 4])
    let page = try raw.prepare("SELECT * FROM chat_message WHERE session_id = ? AND position < ? ORDER BY position DESC LIMIT ?")
    var pageTimes: [Double] = []
    for i in 0..<samples {
        let start = clock.now
        sqlite3_bind_text(page, 1, "s0", -1, transient)
        sqlite3_bind_int64(page, 2, middle[(i * 7919) % middle.count])
        sqlite3_bind_int(page, 3, Int32(pageSize + 1))
        var rows = 0
        while sqlite3_step(page) == SQLITE_ROW {
            for column in 0..<sqlite3_column_count(page) { _ = sqlite3_column_text(page, column) }
            rows += 1
        }
        sqlite3_reset(page)
        pageTimes.append(seconds(clock.now - start) * 1000)
        precondition(rows == pageSize + 1)
    }
    let list = try raw.prepare("SELECT * FROM chat_session WHERE user_id = 'u' ORDER BY last_modified DESC, id DESC LIMIT ?")
    var listTimes: [Double] = []
    for _ in 0..<samples {
        let start = clock.now
        sqlite3_bind_int(list, 1, Int32(pageSize + 1))
        while sqlite3_step(list) == SQLITE_ROW {
            for column in 0..<sqlite3_column_count(list) { _ = sqlite3_column_text(list, column) }
        }
        sqlite3_reset(list)
        listTimes.append(seconds(clock.now - start) * 1000)
    }
    for statement in [insert, touch, page, list] { sqlite3_finalize(statement) }
    return Figures(
        insertsPerSecond: Double(messageCount) / insertSeconds,
        pageP50: percentile(pageTimes, 0.5), pageP99: percentile(pageTimes, 0.99),
        listP50: percentile(listTimes, 0.5), listP99: percentile(listTimes, 0.99))
}

// MARK: - Report

print("storage benchmark: \(messageCount) messages, \(sessionCount) sessions, batches of \(batchSize), \(samples) samples per query")
let store = try await benchStore()
let raw = try benchRaw()

func f(_ value: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", value) }
let rows = [
    "| what | Store | raw SQLite (ceiling) | Store / raw |",
    "|---|---:|---:|---:|",
    "| inserts/s (batches of \(batchSize)) | \(Int(store.insertsPerSecond)) | \(Int(raw.insertsPerSecond)) | \(f(store.insertsPerSecond / raw.insertsPerSecond, 2)) |",
    "| 50-message page, middle of a \(messageCount / bigShare)-message session: p50 ms | \(f(store.pageP50)) | \(f(raw.pageP50)) | \(f(store.pageP50 / raw.pageP50, 2)) |",
    "| same: p99 ms | \(f(store.pageP99)) | \(f(raw.pageP99)) | \(f(store.pageP99 / raw.pageP99, 2)) |",
    "| list 50 sessions: p50 ms | \(f(store.listP50)) | \(f(raw.listP50)) | \(f(store.listP50 / raw.listP50, 2)) |",
    "| same: p99 ms | \(f(store.listP99)) | \(f(raw.listP99)) | \(f(store.listP99 / raw.listP99, 2)) |",
]
let summary = "storage: \(Int(store.insertsPerSecond)) inserts/s, page p99 \(f(store.pageP99, 2)) ms"
for row in rows { print(row) }
print(summary)

try writeBenchmarkSection(name: "storage", command: "make bench-storage", detail: "", summary: [summary], table: rows)
