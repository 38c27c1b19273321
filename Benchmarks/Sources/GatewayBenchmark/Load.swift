// The measurements: request/reply throughput, idle memory per socket,
// terminal keystroke round trip, session fan-out.
import Foundation
import NIOCore
import NIOPosix

/// How a server is spoken to.
enum Flavor: Sendable {
    /// The web IDE protocol: `hello` first, then `list_projects` requests.
    case gateway
    /// A WebSocket echo: the same request text comes back.
    case echo
    /// Engine.IO v4 / Socket.IO v5 over a raw WebSocket: `42["echo",…]`.
    case socketIO

    var path: String { self == .socketIO ? "/socket.io/?EIO=4&transport=websocket" : "/ws" }

    /// The request: the gateway's envelope; the echo servers get the same
    /// JSON (as Socket.IO's event argument for python-socketio).
    func request(_ id: Int) -> String {
        let envelope = "{\"type\":\"list_projects\",\"id\":\"\(id)\",\"payload\":{}}"
        return self == .socketIO ? "42[\"echo\",\(envelope)]" : envelope
    }
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
}

extension ByteBuffer {
    func ends(with suffix: String) -> Bool {
        let view = readableBytesView
        let tail = suffix.utf8
        return view.count >= tail.count && view.suffix(tail.count).elementsEqual(tail)
    }
    func starts(with prefix: String) -> Bool {
        let view = readableBytesView
        let head = prefix.utf8
        return view.count >= head.count && view.prefix(head.count).elementsEqual(head)
    }
}

/// The gateway writes keys sorted, so a frame's `type` is its last field.
func typeSuffix(_ type: String) -> String { "\"type\":\"\(type)\"}" }

/// Opens one socket and does the handshake of its flavour: the gateway's
/// `hello`/`welcome`, Socket.IO's open packet and namespace connect.
func openClient(_ server: ServerProcess, _ flavor: Flavor, group: any EventLoopGroup) async throws -> WebSocketConnection {
    do {
        return try await handshake(server, flavor, group: group)
    } catch {
        throw WebSocketFailure("\(server.name): \(error); its log ends: \(server.child.standardError.suffix(1500))")
    }
}

private func handshake(_ server: ServerProcess, _ flavor: Flavor, group: any EventLoopGroup) async throws -> WebSocketConnection {
    let connection = try await connectWebSocket(port: server.port, path: flavor.path, headers: server.headers, group: group)
    switch flavor {
    case .gateway:
        let welcome = try await connection.exchange("{\"type\":\"hello\",\"id\":\"h\",\"payload\":{\"clientVersion\":\"bench\"}}") {
            $0.contains("\"replyTo\":\"h\"")
        }
        guard welcome.hasSuffix(typeSuffix("welcome")) else { throw WebSocketFailure("hello answered \(welcome.prefix(300))") }
    case .socketIO:
        _ = try await connection.exchange(nil) { $0.hasPrefix("0{") }
        _ = try await connection.exchange("40") { $0.hasPrefix("40") }
    case .echo:
        break
    }
    try await connection.eventLoop.submit { connection.clearInbox() }.get()
    return connection
}

/// One request and its answer, for a socket that then stays idle.
func oneRoundTrip(_ connection: WebSocketConnection, _ flavor: Flavor) async throws {
    let answer = try await connection.exchange(flavor.request(0)) { text in
        switch flavor {
        case .gateway: return text.contains("\"replyTo\":\"0\"")
        case .echo: return true
        case .socketIO: return text.hasPrefix("42")
        }
    }
    if flavor == .gateway, !answer.hasSuffix(typeSuffix("project_list")) { throw WebSocketFailure("list_projects answered \(answer.prefix(300))") }
    // Idle from now on: answer Socket.IO's pings, keep nothing.
    try await connection.eventLoop.submit {
        connection.clearInbox()
        connection.onText = { [unowned connection] buffer in
            if flavor == .socketIO, buffer.readableBytes == 1, buffer.starts(with: "2") { connection.send("3") }
        }
    }.get()
}

// MARK: - (a, b) request/reply throughput

/// Counters of a load, touched only on the client's event loop.
final class LoadCounters: @unchecked Sendable {
    var replies = 0
    var errors = 0
    var lastError = ""
    var running = true
    var latencies: [UInt64] = []
}

struct Throughput {
    var perSecond: [Double] = []
    var p50Milliseconds: [Double] = []
    var p99Milliseconds: [Double] = []
    var serverCores: [Double] = []
    var clientCores: [Double] = []
}

/// `clients` sockets, each with one request in flight (the next goes out
/// when the answer came), `runs` windows of `window` after a warm-up.
func measureThroughput(_ server: ServerProcess, _ flavor: Flavor, clients: Int, runs: Int, window: Duration, warmUp: Duration,
                       group: any EventLoopGroup) async throws -> Throughput {
    let connections = try await connectMany(clients, parallel: 20, group: group) { try await openClient(server, flavor, group: group) }
    let loop = group.next()
    let counters = LoadCounters()
    let replySuffix = typeSuffix("project_list"), errorSuffix = typeSuffix("error")
    for connection in connections {
        try await connection.eventLoop.submit {
            var sentAt: UInt64 = 0
            var next = 0
            func sendNext() {
                next += 1
                sentAt = now()
                connection.send(flavor.request(next))
            }
            connection.onText = { buffer in
                switch flavor {
                case .gateway:
                    if !buffer.ends(with: replySuffix) {
                        guard buffer.ends(with: errorSuffix) else { return }  // an event, not an answer
                        counters.errors += 1
                        counters.lastError = String(buffer: buffer)
                    }
                case .socketIO:
                    if buffer.readableBytes == 1, buffer.starts(with: "2") {
                        connection.send("3")
                        return
                    }
                    guard buffer.starts(with: "42") else { return }
                case .echo:
                    break
                }
                counters.replies += 1
                counters.latencies.append(now() - sentAt)
                if counters.running { sendNext() }
            }
            sendNext()
        }.get()
    }
    try await Task.sleep(for: warmUp)
    var result = Throughput()
    for _ in 0..<runs {
        let before = try await loop.submit { () -> Int in
            counters.latencies.removeAll(keepingCapacity: true)
            return counters.replies
        }.get()
        let serverBefore = server.cpuSeconds(), clientBefore = ProcessStats.selfCPUSeconds(), start = ContinuousClock.now
        try await Task.sleep(for: window)
        let (after, latencies) = try await loop.submit { (counters.replies, counters.latencies) }.get()
        let elapsed = seconds(ContinuousClock.now - start)
        result.perSecond.append(Double(after - before) / elapsed)
        let milliseconds = latencies.map { Double($0) / 1e6 }
        result.p50Milliseconds.append(percentile(milliseconds, 0.5))
        result.p99Milliseconds.append(percentile(milliseconds, 0.99))
        result.serverCores.append((server.cpuSeconds() - serverBefore) / elapsed)
        result.clientCores.append((ProcessStats.selfCPUSeconds() - clientBefore) / elapsed)
    }
    let (errors, lastError) = try await loop.submit {
        counters.running = false
        return (counters.errors, counters.lastError)
    }.get()
    try await Task.sleep(for: .milliseconds(300))
    let closedEarly = try await loop.submit { connections.filter(\.closed).count }.get()
    for connection in connections { await connection.close() }
    guard errors == 0 else { throw WebSocketFailure("\(server.name): \(errors) error answers, e.g. \(lastError.prefix(300))") }
    guard closedEarly == 0 else { throw WebSocketFailure("\(server.name) closed \(closedEarly) of the load's sockets") }
    return result
}

// MARK: - (c) memory per idle connection

struct IdleMemory {
    var connections: Int
    var before: Int
    var after: Int
    var bytesPerConnection: Double { Double(after - before) / Double(connections) }
}

/// RSS of a fresh server with one warm socket, then with `count` more
/// idle ones (each did its handshake and one round trip).
func measureIdleMemory(_ server: ServerProcess, _ flavor: Flavor, count: Int, group: any EventLoopGroup) async throws -> IdleMemory {
    let warm = try await openClient(server, flavor, group: group)
    try await oneRoundTrip(warm, flavor)
    try await Task.sleep(for: .seconds(2))
    let before = server.residentBytes()
    let connections = try await connectMany(count, parallel: 50, group: group) {
        let connection = try await openClient(server, flavor, group: group)
        try await oneRoundTrip(connection, flavor)
        return connection
    }
    try await Task.sleep(for: .seconds(3))
    let after = server.residentBytes()
    let loop = group.next()
    let closedEarly = try await loop.submit { connections.filter(\.closed).count }.get()
    try await loop.submit { for connection in connections + [warm] { connection.channel.close(promise: nil) } }.get()
    try await Task.sleep(for: .seconds(1))
    guard closedEarly == 0 else { throw WebSocketFailure("\(server.name) closed \(closedEarly) of \(count) idle sockets") }
    return IdleMemory(connections: count, before: before, after: after)
}

// MARK: - gateway set-up helpers

/// JSON of a string, quoted and escaped.
func quoted(_ text: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
    let array = String(decoding: data, as: UTF8.self)
    return String(array.dropFirst().dropLast())
}

func payload(_ text: String) -> [String: Any] {
    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return [:] }
    return object["payload"] as? [String: Any] ?? [:]
}

/// Sends a request with this id and returns its answer (which must be `type`).
func ask(_ connection: WebSocketConnection, _ type: String, id: String, _ fields: String, expect: String, seconds: Int64 = 60) async throws -> String {
    let answer = try await connection.exchange("{\"type\":\"\(type)\",\"id\":\"\(id)\",\"payload\":{\(fields)}}", seconds: seconds) {
        $0.contains("\"replyTo\":\"\(id)\"")
    }
    guard answer.hasSuffix(typeSuffix(expect)) else { throw WebSocketFailure("\(type) answered \(answer.prefix(400))") }
    return answer
}

/// `import_project` with these files: the project's id and its chat session's.
func importProject(_ connection: WebSocketConnection, name: String, files: [(String, String)]) async throws -> (project: String, session: String) {
    let list = files.map { "{\"path\":\(quoted($0.0)),\"content\":\(quoted($0.1))}" }.joined(separator: ",")
    let answer = try await ask(connection, "import_project", id: "import-\(name)", "\"projectName\":\(quoted(name)),\"files\":[\(list)]",
                               expect: "import_result")
    guard let project = payload(answer)["projectId"] as? String else { throw WebSocketFailure("import_result without projectId") }
    let chat = try await connection.exchange(nil) { $0.hasSuffix(typeSuffix("chat_session")) && $0.contains(project) }
    guard let session = (payload(chat)["session"] as? [String: Any])?["id"] as? String else { throw WebSocketFailure("chat_session without id") }
    try await connection.eventLoop.submit { connection.clearInbox() }.get()
    return (project, session)
}

// MARK: - (d) terminal keystroke round trip

/// Opens a terminal in the project's sandbox, waits for the shell's
/// prompt, then types `count` letters one at a time, each timed from its
/// `send_terminal_data` until the shell's echo of it arrives as
/// `terminal_data` (Ctrl-U every 50 keys keeps the line short).
func measureKeystrokes(_ connection: WebSocketConnection, project: String, count: Int) async throws -> [Double] {
    let opened = try await ask(connection, "create_terminal_session", id: "term", "\"projectId\":\(quoted(project)),\"cols\":80,\"rows\":24",
                               expect: "terminal_session")
    guard let terminal = payload(opened)["sessionId"] as? String else { throw WebSocketFailure("terminal_session without sessionId") }
    let dataSuffix = typeSuffix("terminal_data")
    let loop = connection.eventLoop
    let state = KeystrokeState()
    let future = try await loop.submit { () -> EventLoopFuture<[Double]> in
        let promise = loop.makePromise(of: [Double].self)
        func key(_ index: Int) -> String { String(UnicodeScalar(UInt8(97 + index % 26))) }
        func type(_ data: String) {
            connection.send("{\"type\":\"send_terminal_data\",\"payload\":{\"sessionId\":\"\(terminal)\",\"data\":\"\(data)\"}}")
        }
        func sendKey() {
            if state.index % 50 == 49 { type("\\u0015") }
            state.sentAt = now()
            type(key(state.index))
        }
        func received(_ data: String) {
            state.pending += data
            if !state.prompted {
                guard state.pending.contains("$ ") || state.pending.contains("# ") else { return }
                state.prompted = true
                state.pending = ""
                sendKey()
                return
            }
            guard state.pending.contains(key(state.index)) else { return }
            state.results.append(Double(now() - state.sentAt) / 1e6)
            state.pending = ""
            state.index += 1
            if state.index == count {
                connection.onText = nil
                promise.succeed(state.results)
            } else {
                sendKey()
            }
        }
        // Output that came with or before the answer was kept.
        for text in connection.inbox where text.hasSuffix(dataSuffix) {
            state.pending += payload(text)["data"] as? String ?? ""
        }
        connection.clearInbox()
        connection.onText = { buffer in
            guard buffer.ends(with: dataSuffix), let data = payload(String(buffer: buffer))["data"] as? String else { return }
            received(data)
        }
        received("")
        let deadline = loop.scheduleTask(in: .seconds(60 + Int64(count) / 10)) {
            promise.fail(WebSocketFailure(
                "keystrokes: \(state.results.count) of \(count) echoed; prompt seen: \(state.prompted); output: \(state.pending.suffix(200))"))
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        return promise.futureResult
    }.get()
    let results = try await future.get()
    _ = try? await ask(connection, "close_terminal", id: "term-close", "\"sessionId\":\(quoted(terminal))", expect: "ok")
    return results
}

/// The keystroke loop's state (on the event loop only).
final class KeystrokeState: @unchecked Sendable {
    var prompted = false
    var pending = ""
    var index = 0
    var sentAt: UInt64 = 0
    var results: [Double] = []
}

// MARK: - (e) session fan-out

struct FanOut {
    var publishedPerSecond: [Double] = []
    var deliveredPerSecond: [Double] = []
    var serverCores: [Double] = []
    var clientCores: [Double] = []
    var published = 0
    var delivered = 0
    var resyncs = 0
    var tabs = 0
}

final class FanOutCounters: @unchecked Sendable {
    var published = 0
    var delivered = 0
    var resyncs = 0
    var errors = 0
    var lastError = ""
    var running = true
}

/// One imported project's chat session with `tabs` sockets on it (the
/// importing one, joined by the import, and the others by `resume`).
/// `publishers` other sockets, not on the session, each keep one
/// `file_update` of their own file in flight; every update is published by
/// the session's hub as a `file_tree_update` to each tab.
func measureFanOut(_ server: ServerProcess, tabs: Int, publishers: Int, runs: Int, window: Duration, warmUp: Duration,
                   group: any EventLoopGroup) async throws -> FanOut {
    let first = try await openClient(server, .gateway, group: group)
    let files = (0..<publishers).map { ("notes/file\($0).txt", "0") }
    let (project, session) = try await importProject(first, name: "fan-out", files: files)
    let others = try await connectMany(tabs - 1, parallel: 10, group: group) {
        let tab = try await openClient(server, .gateway, group: group)
        _ = try await ask(tab, "resume", id: "r", "\"sessionId\":\(quoted(session)),\"lastSeq\":0", expect: "agent_hierarchy")
        return tab
    }
    let tabSockets = [first] + others
    let writers = try await connectMany(publishers, parallel: publishers, group: group) { try await openClient(server, .gateway, group: group) }
    // Let the resumed tabs' catch-up events arrive before counting.
    try await Task.sleep(for: .milliseconds(500))
    let counters = FanOutCounters()
    let updateSuffix = typeSuffix("file_tree_update"), resyncSuffix = typeSuffix("resync_required")
    let resultSuffix = typeSuffix("file_operation_result"), errorSuffix = typeSuffix("error")
    for tab in tabSockets {
        try await tab.eventLoop.submit {
            tab.clearInbox()
            tab.onText = { buffer in
                if buffer.ends(with: updateSuffix) {
                    counters.delivered += 1
                } else if buffer.ends(with: resyncSuffix) {
                    counters.resyncs += 1
                }
            }
        }.get()
    }
    for (index, writer) in writers.enumerated() {
        try await writer.eventLoop.submit {
            var next = 0
            func update() {
                next += 1
                writer.send("{\"type\":\"file_update\",\"id\":\"u\(next)\",\"payload\":{\"projectId\":\"\(project)\","
                    + "\"filePath\":\"notes/file\(index).txt\",\"content\":\"\(next)\"}}")
            }
            writer.onText = { buffer in
                if buffer.ends(with: resultSuffix) {
                    counters.published += 1
                } else if buffer.ends(with: errorSuffix) {
                    counters.errors += 1
                    counters.lastError = String(buffer: buffer)
                } else {
                    return
                }
                if counters.running { update() }
            }
            update()
        }.get()
    }
    let loop = group.next()
    try await Task.sleep(for: warmUp)
    var result = FanOut()
    result.tabs = tabSockets.count
    for _ in 0..<runs {
        let (published0, delivered0) = try await loop.submit { (counters.published, counters.delivered) }.get()
        let serverBefore = server.cpuSeconds(), clientBefore = ProcessStats.selfCPUSeconds(), start = ContinuousClock.now
        try await Task.sleep(for: window)
        let (published1, delivered1) = try await loop.submit { (counters.published, counters.delivered) }.get()
        let elapsed = seconds(ContinuousClock.now - start)
        result.publishedPerSecond.append(Double(published1 - published0) / elapsed)
        result.deliveredPerSecond.append(Double(delivered1 - delivered0) / elapsed)
        result.serverCores.append((server.cpuSeconds() - serverBefore) / elapsed)
        result.clientCores.append((ProcessStats.selfCPUSeconds() - clientBefore) / elapsed)
    }
    try await loop.submit { counters.running = false }.get()
    // Everything published reaches every tab: wait until the counts settle.
    var lastDelivered = -1
    for _ in 0..<50 {
        try await Task.sleep(for: .milliseconds(200))
        let delivered = try await loop.submit { counters.delivered }.get()
        if delivered == lastDelivered { break }
        lastDelivered = delivered
    }
    let snapshot = try await loop.submit { (counters.published, counters.delivered, counters.resyncs, counters.errors, counters.lastError) }.get()
    result.published = snapshot.0
    result.delivered = snapshot.1
    result.resyncs = snapshot.2
    for connection in tabSockets + writers { await connection.close() }
    guard snapshot.3 == 0 else { throw WebSocketFailure("fan-out: \(snapshot.3) error answers, e.g. \(snapshot.4.prefix(300))") }
    return result
}
