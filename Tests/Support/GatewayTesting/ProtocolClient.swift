import Foundation
import Gateway
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOWebSocket
import Synchronization

/// A real WebSocket client of the web IDE protocol, for tests and
/// benchmarks: it sends requests, awaits their answers by `replyTo`, and
/// keeps every event it received (each checked against the protocol's
/// catalogue — a frame the catalogue does not allow is recorded as a
/// violation).
public final class ProtocolClient: Sendable {
    private struct State {
        var received: [ServerFrame] = []
        var violations: [String] = []
        var waiters: [(id: UUID, match: @Sendable (ServerFrame) -> Bool, continuation: CheckedContinuation<ServerFrame, any Error>)] = []
        var closed: WebSocketCloseFrame??
        var closeWaiters: [CheckedContinuation<WebSocketCloseFrame?, Never>] = []
        var nextId = 0
    }

    private let state = Mutex(State())
    private let outbound: Mutex<WebSocketOutboundWriter?> = Mutex(nil)
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)
    private let paused = Atomic<Bool>(false)

    /// Stops (or resumes) reading the socket: a client that stops reading.
    public func pauseReading(_ pause: Bool) { paused.store(pause, ordering: .relaxed) }

    public enum Failure: Error, CustomStringConvertible {
        case closed(code: String)
        case refused(String)
        public var description: String {
            switch self {
            case .closed(let code): return "the socket closed (\(code))"
            case .refused(let why): return "the upgrade was refused: \(why)"
            }
        }
    }

    /// Connects to `ws://host:port/ws` with these headers (cookie, bearer,
    /// origin); to `wss://` with `tls` (a proxy in front of the gateway).
    public static func connect(port: Int, headers: [String: String], host: String = "127.0.0.1",
                               tls: TLSConfiguration? = nil) async throws -> ProtocolClient {
        let client = ProtocolClient()
        var fields = HTTPFields()
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        let configuration = WebSocketClientConfiguration(maxFrameSize: 8 << 20, additionalHeaders: fields)
        let ready = AsyncStream<Result<Void, any Error>>.makeStream()
        let task = Task {
            do {
                let close = try await WebSocketClient.connect(
                    url: "\(tls == nil ? "ws" : "wss")://\(host):\(port)/ws", configuration: configuration, tlsConfiguration: tls,
                    logger: Logger(label: "test.ws")
                ) { inbound, outbound, _ in
                    client.outbound.withLock { $0 = outbound }
                    ready.continuation.yield(.success(()))
                    var iterator = inbound.messages(maxSize: 64 << 20).makeAsyncIterator()
                    while true {
                        while client.paused.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(10)) }
                        guard let message = try await iterator.next() else { break }
                        if case .text(let text) = message { client.receive(text) }
                    }
                }
                client.finish(close)
            } catch {
                ready.continuation.yield(.failure(error))
                client.finish(nil)
            }
        }
        client.task.withLock { $0 = task }
        for await result in ready.stream {
            switch result {
            case .success: return client
            case .failure(let error): throw Failure.refused("\(error)")
            }
        }
        throw Failure.refused("the connection ended before it opened")
    }

    private func receive(_ text: String) {
        guard let frame = ServerFrame.parse(text) else {
            state.withLock { $0.violations.append("not a server frame: \(text.prefix(200))") }
            return
        }
        let waiters = state.withLock { state in
            if let problem = ProtocolValidator.checkEvent(type: frame.type, payload: frame.payload) {
                state.violations.append(problem)
            }
            state.received.append(frame)
            return state.waiters.map { ($0.id, $0.match) }
        }
        // Matchers run outside the lock: they may read `received`.
        let matching = Set(waiters.filter { $0.1(frame) }.map(\.0))
        guard !matching.isEmpty else { return }
        let ready: [CheckedContinuation<ServerFrame, any Error>] = state.withLock { state in
            var matched: [CheckedContinuation<ServerFrame, any Error>] = []
            state.waiters.removeAll { waiter in
                guard matching.contains(waiter.id) else { return false }
                matched.append(waiter.continuation)
                return true
            }
            return matched
        }
        for continuation in ready { continuation.resume(returning: frame) }
    }

    private func finish(_ close: WebSocketCloseFrame?) {
        let (waiters, closeWaiters) = state.withLock { state in
            state.closed = .some(close)
            defer { state.waiters = []; state.closeWaiters = [] }
            return (state.waiters.map(\.continuation), state.closeWaiters)
        }
        for waiter in waiters { waiter.resume(throwing: Failure.closed(code: close.map { "\($0.closeCode)" } ?? "no close frame")) }
        for waiter in closeWaiters { waiter.resume(returning: close) }
    }

    /// Sends a raw text frame.
    public func sendRaw(_ text: String) async throws {
        guard let outbound = outbound.withLock({ $0 }) else { throw Failure.closed(code: "not open") }
        try await outbound.write(.text(text))
    }

    public func sendBinary(_ bytes: [UInt8]) async throws {
        guard let outbound = outbound.withLock({ $0 }) else { throw Failure.closed(code: "not open") }
        try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
    }

    /// Sends a message without waiting for an answer; returns its id.
    @discardableResult
    public func send(_ type: String, _ payload: [String: JSONValue] = [:], id: String? = nil) async throws -> String {
        let id = id ?? state.withLock { state in
            state.nextId += 1
            return "c-\(state.nextId)"
        }
        try await sendRaw(JSONValue.object(["type": .string(type), "id": .string(id), "payload": .object(payload)]).jsonText)
        return id
    }

    /// Sends a message and returns the answer to it (an `error` included).
    public func request(_ type: String, _ payload: [String: JSONValue] = [:]) async throws -> ServerFrame {
        let id = state.withLock { state in
            state.nextId += 1
            return "c-\(state.nextId)"
        }
        async let answer = next { $0.replyTo == id }
        try await send(type, payload, id: id)
        return try await answer
    }

    /// The first frame received (earlier or later) that matches.
    public func next(where match: @escaping @Sendable (ServerFrame) -> Bool) async throws -> ServerFrame {
        let id = UUID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // Frames are checked outside the lock (matchers may read
                // `received`); the waiter is registered only if none came meanwhile.
                while true {
                    let earlier = received
                    if let frame = earlier.first(where: match) {
                        continuation.resume(returning: frame)
                        return
                    }
                    let outcome: Result<Bool, any Error> = state.withLock { state in
                        if state.received.count != earlier.count { return .success(false) }
                        if let close = state.closed { return .failure(Failure.closed(code: close.map { "\($0.closeCode)" } ?? "no close frame")) }
                        state.waiters.append((id, match, continuation))
                        return .success(true)
                    }
                    switch outcome {
                    case .success(true): return
                    case .success(false): continue
                    case .failure(let error):
                        continuation.resume(throwing: error)
                        return
                    }
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<ServerFrame, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Every frame received so far.
    public var received: [ServerFrame] { state.withLock { $0.received } }
    /// Frames that broke the protocol's catalogue.
    public var violations: [String] { state.withLock { $0.violations } }

    /// Waits for the server to close the socket; returns its close code
    /// (1008 policy violation, 1009 too big, 1001 going away), nil without one.
    public func closeCode() async -> Int? {
        await closed().map { Int(UInt16(webSocketErrorCode: $0.closeCode)) }
    }

    func closed() async -> WebSocketCloseFrame? {
        await withCheckedContinuation { continuation in
            let done: WebSocketCloseFrame?? = state.withLock { state in
                if let closed = state.closed { return .some(closed) }
                state.closeWaiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    public func close() async {
        if let outbound = outbound.withLock({ $0 }) { try? await outbound.close(.normalClosure, reason: nil) }
        let task = task.withLock { $0 }
        task?.cancel()
        _ = await task?.value
    }
}
