import Foundation
import Storage
import Synchronization

/// One browser tab's socket, as the rest of the gateway sees it: a user
/// and a bounded outbound queue that a writer task drains. Nothing that
/// sends to it ever waits for the browser, so one slow tab cannot hold
/// back a session's other tabs (docs/protocol.md, "Slow clients").
public final class ClientConnection: Sendable {
    public enum Outgoing: Sendable, Equatable {
        case frame(String)
        /// The client fell behind on this session: send a fresh `resync_required`.
        case resync(sessionId: String)
        /// Close the socket: 1008 (policy violation) or, when the gateway
        /// stops, 1001 (going away).
        case close(reason: String, goingAway: Bool)
    }

    public let id = UUID()
    public let user: User
    let limits: ConnectionLimits

    private struct State {
        var queue: [Outgoing] = []
        var head = 0
        var bytes = 0
        var waiter: CheckedContinuation<Outgoing?, Never>?
        /// Sessions whose events are being skipped until the client resyncs.
        var behind: Set<String> = []
        var closed = false
    }

    private let state = Mutex(State())

    init(user: User, limits: ConnectionLimits) {
        self.user = user
        self.limits = limits
    }

    /// Queues a reply or a non-session event. A client that stops reading
    /// while it keeps sending requests is closed once its queue holds twice
    /// the limit.
    public func send(_ frame: ServerFrame) {
        let text = frame.text
        enqueue { state in
            if state.bytes + text.utf8.count > 2 * limits.maxQueuedBytes || state.queue.count - state.head > 2 * limits.maxQueuedFrames {
                return .close(reason: "the client does not read what it asked for", goingAway: false)
            }
            state.bytes += text.utf8.count
            return .frame(text)
        }
    }

    /// Queues a session event; returns false when it was dropped because
    /// the client is behind on that session (it gets one `resync_required`).
    @discardableResult
    func sendSessionEvent(_ text: String, sessionId: String) -> Bool {
        var delivered = false
        enqueue { state in
            if state.behind.contains(sessionId) { return nil }
            if state.bytes + text.utf8.count > limits.maxQueuedBytes || state.queue.count - state.head >= limits.maxQueuedFrames {
                state.behind.insert(sessionId)
                return .resync(sessionId: sessionId)
            }
            state.bytes += text.utf8.count
            delivered = true
            return .frame(text)
        }
        return delivered
    }

    /// The hub calls this when it hands the client a snapshot: events after it flow again.
    func caughtUp(sessionId: String) {
        _ = state.withLock { $0.behind.remove(sessionId) }
    }

    func isBehind(sessionId: String) -> Bool { state.withLock { $0.behind.contains(sessionId) } }

    private func enqueue(_ make: (inout State) -> Outgoing?) {
        let pending: PendingResume? = state.withLock { state in
            guard !state.closed, let item = make(&state) else { return nil }
            if case .close(_, let goingAway) = item {
                state.closed = true
                // Going away keeps what is queued; a policy close drops it.
                if !goingAway { state.queue.removeAll(); state.head = 0; state.bytes = 0 }
            }
            if let waiter = state.waiter {
                state.waiter = nil
                if case .frame(let text) = item { state.bytes -= text.utf8.count }
                return waiter.withItem(item)
            }
            state.queue.append(item)
            return nil
        }
        pending?.resume()
    }

    /// The next item for the writer; nil once the connection is closed and drained.
    func next() async -> Outgoing? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Outgoing?, Never>) in
            let ready: Outgoing?? = state.withLock { state in
                if state.head < state.queue.count {
                    let item = state.queue[state.head]
                    state.head += 1
                    if case .frame(let text) = item { state.bytes -= text.utf8.count }
                    if state.head > 1024 && state.head * 2 > state.queue.count {
                        state.queue.removeFirst(state.head)
                        state.head = 0
                    }
                    return .some(item)
                }
                if state.closed { return .some(nil) }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Frames waiting to be written (metrics, tests).
    public var queuedFrames: Int { state.withLock { $0.queue.count - $0.head } }

    /// Tells the client the gateway is stopping, after what is queued.
    func goAway() {
        enqueue { _ in .close(reason: "the gateway is shutting down", goingAway: true) }
    }

    /// Ends the writer after what is queued.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Outgoing?, Never>? in
            state.closed = true
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: nil)
    }
}

private extension CheckedContinuation where T == ClientConnection.Outgoing?, E == Never {
    /// Pairs a waiting writer with its item, resumed outside the lock.
    func withItem(_ item: ClientConnection.Outgoing) -> PendingResume { PendingResume(continuation: self, item: item) }
}

private struct PendingResume {
    let continuation: CheckedContinuation<ClientConnection.Outgoing?, Never>
    let item: ClientConnection.Outgoing
    func resume() { continuation.resume(returning: item) }
}
