import Foundation
import Synchronization

/// The gateway's terminals (docs/protocol.md, "Terminals"): which user and
/// project each belongs to, which socket shows it now, and its latest
/// output, so a tab that reloads can attach again and redraw the screen.
/// A terminal outlives its socket by `detachedLifetime`; then it is closed.
/// All output of all terminals arrives through one `TerminalOutputActor`
/// per gateway and is routed here by terminal id.
final class TerminalRouter: Sendable {
    struct Listing: Sendable, Equatable {
        var id: String
        var projectId: String
        var attached: Bool
    }

    private struct Entry {
        let ownerId: String
        let projectId: String
        var connection: ClientConnection?
        var recent: RecentOutput
        var text = UTF8Stream()
        var detachedAt: Date?
    }

    /// Output kept per terminal for a tab that attaches (about a screenful
    /// of a busy terminal, several of a quiet one).
    static let keptBytes = 64 << 10
    let detachedLifetime: TimeInterval
    private let entries = Mutex<[String: Entry]>([:])

    init(detachedLifetime: TimeInterval = 600) {
        self.detachedLifetime = detachedLifetime
    }

    func add(_ id: String, ownerId: String, projectId: String, connection: ClientConnection) {
        entries.withLock { $0[id] = Entry(ownerId: ownerId, projectId: projectId, connection: connection, recent: RecentOutput(limit: Self.keptBytes)) }
    }

    func remove(_ id: String) { entries.withLock { _ = $0.removeValue(forKey: id) } }

    /// The terminal's project, if `ownerId` owns it.
    func project(of id: String, ownerId: String) -> String? {
        entries.withLock { entries in entries[id].flatMap { $0.ownerId == ownerId ? $0.projectId : nil } }
    }

    /// The project of terminal `id`, whoever owns it (the gateway's own
    /// housekeeping; requests go through `project(of:ownerId:)`).
    func project(of id: String) -> String? {
        entries.withLock { $0[id]?.projectId }
    }

    func count(ownerId: String, projectId: String) -> Int {
        entries.withLock { $0.values.filter { $0.ownerId == ownerId && $0.projectId == projectId }.count }
    }

    func list(ownerId: String, projectId: String) -> [Listing] {
        entries.withLock { entries in
            entries.filter { $0.value.ownerId == ownerId && $0.value.projectId == projectId }
                .map { Listing(id: $0.key, projectId: $0.value.projectId, attached: $0.value.connection != nil) }
                .sorted { $0.id < $1.id }
        }
    }

    /// Shows the terminal on `connection` from now on: answers `replyTo`
    /// with `terminal_session`, then sends the output kept so far, before
    /// any newer output (all under one lock). A socket that showed it
    /// before is told it moved. False when `ownerId` has no such terminal.
    func attach(_ id: String, ownerId: String, connection: ClientConnection, replyTo: String?) -> Bool {
        entries.withLock { entries in
            guard var entry = entries[id], entry.ownerId == ownerId else { return false }
            if let previous = entry.connection, previous.id != connection.id {
                previous.send(ServerFrame("terminal_session", ["sessionId": .string(id), "projectId": .string(entry.projectId), "status": "detached"]))
            }
            entry.connection = connection
            entry.detachedAt = nil
            entries[id] = entry
            connection.send(ServerFrame("terminal_session", ["sessionId": .string(id), "projectId": .string(entry.projectId), "status": "running"],
                                        replyTo: replyTo))
            if !entry.recent.text.isEmpty {
                connection.send(ServerFrame("terminal_data", ["sessionId": .string(id), "data": .string(entry.recent.text)]))
            }
            return true
        }
    }

    /// The socket closed: its terminals keep running, shown nowhere, until
    /// a tab attaches or their time runs out. Returns them.
    func detachAll(from connection: ClientConnection, at now: Date = Date()) -> [String] {
        entries.withLock { entries in
            var detached: [String] = []
            for (id, entry) in entries where entry.connection?.id == connection.id {
                entries[id]!.connection = nil
                entries[id]!.detachedAt = now
                detached.append(id)
            }
            return detached
        }
    }

    /// Terminals detached for longer than their lifetime (to be closed).
    func expired(at now: Date = Date()) -> [String] {
        entries.withLock { entries in
            entries.filter { $0.value.detachedAt.map { now.timeIntervalSince($0) >= detachedLifetime } ?? false }.map(\.key)
        }
    }

    /// Output from the terminal: kept, and sent to the socket showing it
    /// (whole UTF-8 characters only; a split one waits for its rest).
    func output(_ id: String, _ bytes: Data) {
        entries.withLock { entries in
            guard var entry = entries[id] else { return }
            let text = entry.text.decode(bytes)
            guard !text.isEmpty else {
                entries[id] = entry
                return
            }
            entry.recent.append(text)
            entries[id] = entry
            entry.connection?.send(ServerFrame("terminal_data", ["sessionId": .string(id), "data": .string(text)]))
        }
    }

    /// The terminal's program ended.
    func ended(_ id: String, exitCode: Int?) {
        guard let entry = entries.withLock({ $0.removeValue(forKey: id) }) else { return }
        entry.connection?.send(ServerFrame("terminal_session", [
            "sessionId": .string(id), "projectId": .string(entry.projectId), "status": "stopped",
            "exitCode": exitCode.map { .int(Int64($0)) } ?? .null,
        ]))
    }
}

/// Decodes a byte stream as UTF-8 piece by piece: a character split across
/// two pieces is decoded whole when its rest arrives. Invalid bytes become
/// U+FFFD, as a terminal would show them.
struct UTF8Stream: Sendable {
    private var pending: [UInt8] = []

    mutating func decode(_ data: Data) -> String {
        var bytes = pending + data
        pending = []
        // Keep back an incomplete sequence at the end (at most 3 bytes).
        var start = bytes.count
        var back = 0
        while start > 0 && back < 4 {
            start -= 1
            back += 1
            let byte = bytes[start]
            if byte & 0xC0 != 0x80 {  // a lead byte (or ASCII): is its sequence complete?
                let length = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                if length > back {
                    pending = Array(bytes[start...])
                    bytes.removeSubrange(start...)
                }
                break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The last `limit` bytes of a terminal's output, cut at a line start when
/// it can be, so a redraw does not begin mid-escape-sequence.
struct RecentOutput: Sendable {
    let limit: Int
    private(set) var text = ""

    init(limit: Int) { self.limit = limit }

    mutating func append(_ more: String) {
        text += more
        guard text.utf8.count > limit else { return }
        var cut = text.utf8.index(text.utf8.endIndex, offsetBy: -limit)
        while cut < text.utf8.endIndex, UTF8.isContinuation(text.utf8[cut]) { cut = text.utf8.index(after: cut) }
        var kept = String(text[cut...])
        if let newline = kept.firstIndex(of: "\n"), kept.distance(from: kept.startIndex, to: newline) < 4096 {
            kept = String(kept[kept.index(after: newline)...])
        }
        text = kept
    }
}
