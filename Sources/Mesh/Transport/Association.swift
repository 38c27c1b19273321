import NIOCore
import Synchronization

/// One connection to one peer node, shared by calls in both directions.
///
/// Outbound frames are encoded into a queue under a lock, in call order, and
/// handed to the channel in one write per event-loop turn (flushes are
/// coalesced). While the channel is not writable (the peer reads slower than
/// we write) the queue grows up to `maxQueuedBytes`: past that, our own
/// calls fail with `overloaded`, and a reply or control frame the peer
/// caused (it keeps asking but does not read the answers) closes the
/// association — every frame counts, so memory stays bounded. Control
/// frames (heartbeats, gossip, goodbye) have their own queue that is
/// written first once the channel is writable.
///
/// When the connection closes, every call in flight on it fails at once with
/// `nodeUnreachable`.
final class Association: Sendable {
    typealias State = AssociationState<any Channel, CheckedContinuation<ReplyOrFailure, any Error>, CheckedContinuation<HandshakeStateMachine.Peer, any Error>>

    enum ReplyOrFailure: Sendable {
        case reply(ReplyMessage)
        case failure(FailureMessage)
    }

    let eventLoop: any EventLoop
    /// The name we dialled (or, when joining through a seed's address, its
    /// endpoint) until the handshake says who answered.
    let expectedName: String
    /// Where calls received on this association run (see `MeshSettings.inboundCallsOnEventLoop`).
    let taskExecutor: EventLoopTaskExecutor
    private let state: Mutex<State>
    private let nextCallID = Atomic<UInt64>(1)

    /// Being replaced by another connection to the same peer.
    var isRetiring: Bool { state.withLock { $0.retiring } }

    /// When it was made (a dial that takes long is likely stuck).
    private let createdAt = ContinuousClock.now
    var age: Duration { .now - createdAt }

    init(eventLoop: any EventLoop, peerName: String, maxQueuedBytes: Int, localMaxFrameLength: UInt32) {
        self.eventLoop = eventLoop
        self.expectedName = peerName
        self.taskExecutor = EventLoopTaskExecutor(eventLoop: eventLoop)
        state = Mutex(State(expectedName: peerName, maxQueuedBytes: maxQueuedBytes, localMaxFrameLength: localMaxFrameLength))
    }

    /// The largest frame the peer accepts (ours until the handshake told us).
    var peerFrameLimit: Int { state.withLock { $0.frameLimit } }

    var isClosed: Bool { state.withLock { $0.isClosed } }

    var peer: HandshakeStateMachine.Peer? { state.withLock { $0.peer } }

    /// The peer's node name once known.
    var peerName: String { state.withLock { $0.peerName } }

    /// Waits until the handshake completed (or the association closed).
    func waitEstablished() async throws -> HandshakeStateMachine.Peer {
        try await withCheckedThrowingContinuation { continuation in
            if let outcome = state.withLock({ $0.waitEstablished(continuation) }) { continuation.resume(with: outcome) }
        }
    }

    /// Bytes waiting in our queues (not yet handed to the channel).
    var queuedBytes: Int { state.withLock { $0.queuedBytes } }

    /// Sends a call and waits for its reply (nil for one-way calls, which
    /// return once queued).
    func call(
        recipient: WireRecipient, target: String, substitutions: [String], arguments: [[UInt8]], timeout: Duration, oneWay: Bool
    ) async throws -> ReplyOrFailure? {
        if oneWay {
            try enqueueCall(id: 0, recipient: recipient, target: target, substitutions: substitutions, arguments: arguments, timeout: timeout, caller: nil)
            return nil
        }
        let id = nextCallID.wrappingAdd(1, ordering: .relaxed).oldValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                do {
                    try enqueueCall(id: id, recipient: recipient, target: target, substitutions: substitutions, arguments: arguments, timeout: timeout, caller: continuation)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            fail(callID: id, with: CancellationError())
        }
    }

    private func enqueueCall(
        id: UInt64, recipient: WireRecipient, target: String, substitutions: [String], arguments: [[UInt8]], timeout: Duration,
        caller: CheckedContinuation<ReplyOrFailure, any Error>?
    ) throws {
        let now = NIODeadline.now()
        let (flush, sweep) = try state.withLock { state throws(MeshError) in
            try state.enqueueCall(id: id, recipient: recipient, target: target, substitutions: substitutions, arguments: arguments,
                                  timeout: TimeAmount(timeout), now: now, caller: caller)
        }
        if let sweep { eventLoop.scheduleTask(deadline: sweep) { self.sweep() } }
        if flush { flushSoon() }
    }

    /// Fails the calls whose deadline passed and schedules the next sweep.
    private func sweep() {
        let (expired, next) = state.withLock { $0.sweep(now: .now()) }
        for call in expired { call.caller.resume(throwing: MeshError.timeout(seconds: call.timeoutSeconds)) }
        if let next { eventLoop.scheduleTask(deadline: next) { self.sweep() } }
    }

    /// Queues the outcome of a call we served.
    func reply(callID: UInt64, _ outcome: CallOutcome) {
        perform(state.withLock { $0.enqueueReply(callID: callID, outcome) })
    }

    /// Queues a control frame, written ahead of any queued calls.
    func sendControl(_ kind: FrameKind, _ body: (inout ByteBuffer) -> Void) {
        perform(state.withLock { $0.enqueueControl(kind, body) })
    }

    private func perform(_ queued: State.Queued) {
        // The peer keeps sending but does not read what it asked for
        // (replies, acks, gossip answers): drop what is queued and close,
        // rather than hold its answers without bound.
        if queued.overflow {
            state.withLock { $0.dropQueued() }
            close(.overloaded(node: peerName))
        }
        if queued.flush { flushSoon() }
    }

    /// Flushes at the end of this event-loop turn (so a burst of replies
    /// becomes one write), scheduling the turn from other threads.
    private func flushSoon() {
        eventLoop.execute { self.flush() }
    }

    /// On the event loop: hands queued bytes to the channel in one write.
    func flush() {
        eventLoop.preconditionInEventLoop()
        guard let writes = state.withLock({ $0.takeWrites() }) else { return }
        if let control = writes.control { writes.channel.write(control, promise: nil) }
        if let bulk = writes.bulk { writes.channel.write(bulk, promise: nil) }
        if writes.control != nil || writes.bulk != nil { writes.channel.flush() }
    }

    /// The connection is up: queued frames may go.
    func established(channel: any Channel, peer: HandshakeStateMachine.Peer) {
        let outcome = state.withLock { $0.established(channel: channel, peer: peer, writable: channel.isWritable) }
        for waiter in outcome.waiters { waiter.resume(returning: peer) }
        if outcome.flush { flushSoon() }
        if outcome.retire { closeRetired() }
    }

    func writabilityChanged(_ writable: Bool) {
        if state.withLock({ $0.writabilityChanged(writable) }) { flush() }
    }

    /// A reply or failure arrived.
    func complete(callID: UInt64, with result: ReplyOrFailure) {
        let (caller, retire) = state.withLock { $0.finish(callID: callID) }
        caller?.resume(returning: result)
        if retire { closeRetired() }
    }

    func fail(callID: UInt64, with error: any Error) {
        let (caller, retire) = state.withLock { $0.finish(callID: callID) }
        caller?.resume(throwing: error)
        if retire { closeRetired() }
    }

    /// Both nodes dialled each other and the other connection won: finish
    /// the calls waiting here, then close with a goodbye.
    func retireWhenIdle() {
        if state.withLock({ $0.retire() }) { closeRetired() }
    }

    private func closeRetired() {
        sendControl(.goodbye) { CloseMessage(code: 0, reason: "duplicate connection").write(to: &$0) }
        eventLoop.execute {
            self.flush()
            self.close(.nodeUnreachable(node: self.peerName, reason: "duplicate connection retired"))
        }
    }

    /// Completes when the connection's channel has closed (nil while none is open).
    var channelClosed: EventLoopFuture<Void>? { state.withLock { $0.channel?.closeFuture } }

    /// Ends the association: every pending call fails with `error` now.
    /// Control frames already queued (a goodbye) are written before the
    /// connection closes.
    func close(_ error: MeshError) {
        let closed = state.withLock { $0.close(error) }
        for call in closed.pending { call.caller.resume(throwing: error) }
        for waiter in closed.waiters { waiter.resume(throwing: error) }
        guard let channel = closed.channel else { return }
        if let control = closed.control {
            channel.writeAndFlush(control).whenComplete { _ in channel.close(promise: nil) }
        } else {
            channel.close(promise: nil)
        }
    }
}

extension String {
    /// At most `limit` bytes of UTF-8, cut at a character boundary, with
    /// "…" when cut.
    func boundedForWire(_ limit: Int) -> String {
        guard utf8.count > limit else { return self }
        var result = ""
        var bytes = 0
        for character in self {
            let size = character.utf8.count
            guard bytes + size <= limit - 3 else { break }
            result.append(character)
            bytes += size
        }
        return result + "…"
    }
}
