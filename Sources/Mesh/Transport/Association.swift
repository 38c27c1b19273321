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
    enum Phase {
        case connecting
        case established(any Channel, HandshakeStateMachine.Peer)
        case closed(MeshError)
    }

    struct PendingCall {
        var continuation: CheckedContinuation<ReplyOrFailure, any Error>
        var deadline: NIODeadline
        var timeoutSeconds: Double
    }

    enum ReplyOrFailure: Sendable {
        case reply(ReplyMessage)
        case failure(FailureMessage)
    }

    private struct State {
        var phase: Phase = .connecting
        var bulk = ByteBuffer()
        var control = ByteBuffer()
        var flushScheduled = false
        var writable = true
        var pending: [UInt64: PendingCall] = [:]
        var encoder = CallFrameEncoder()
        /// When the deadline sweep is due; nil while none is scheduled. One
        /// timer per association instead of one per call: calls made with
        /// the same timeout have increasing deadlines, so a new call almost
        /// never needs a new timer.
        var sweepAt: NIODeadline?
        /// Replaced by the canonical connection: close once no call waits on it.
        var retiring = false
        var establishWaiters: [CheckedContinuation<HandshakeStateMachine.Peer, any Error>] = []
    }

    let eventLoop: any EventLoop
    /// The name we dialled (or, when joining through a seed's address, its
    /// endpoint) until the handshake says who answered.
    let expectedName: String
    let maxQueuedBytes: Int
    /// Our own frame limit: the bound for frames we send until the peer
    /// announced its own in the handshake.
    let localMaxFrameLength: UInt32
    /// Where calls received on this association run (see `MeshSettings.inboundCallsOnEventLoop`).
    let taskExecutor: EventLoopTaskExecutor
    private let state = Mutex(State())
    private let nextCallID = Atomic<UInt64>(1)

    /// Being replaced by another connection to the same peer.
    var isRetiring: Bool { state.withLock { $0.retiring } }

    /// When it was made (a dial that takes long is likely stuck).
    private let createdAt = ContinuousClock.now
    var age: Duration { .now - createdAt }

    init(eventLoop: any EventLoop, peerName: String, maxQueuedBytes: Int, localMaxFrameLength: UInt32) {
        self.eventLoop = eventLoop
        self.expectedName = peerName
        self.maxQueuedBytes = maxQueuedBytes
        self.localMaxFrameLength = localMaxFrameLength
        self.taskExecutor = EventLoopTaskExecutor(eventLoop: eventLoop)
    }

    /// The largest frame the peer accepts (ours until the handshake told us).
    private func frameLimit(_ state: State) -> Int {
        if case .established(_, let peer) = state.phase { return Int(peer.maxFrameLength) }
        return Int(localMaxFrameLength)
    }

    /// The largest frame the peer accepts (ours until the handshake told us).
    var peerFrameLimit: Int { state.withLock { frameLimit($0) } }

    var isClosed: Bool {
        state.withLock { if case .closed = $0.phase { return true } else { return false } }
    }

    var peer: HandshakeStateMachine.Peer? {
        state.withLock { if case .established(_, let peer) = $0.phase { return peer } else { return nil } }
    }

    /// The peer's node name once known.
    var peerName: String { state.withLock { name(in: $0) } }

    /// `peerName` for code that already holds the lock.
    private func name(in state: State) -> String {
        if case .established(_, let peer) = state.phase { return peer.node.name.rawValue }
        return expectedName
    }

    /// Waits until the handshake completed (or the association closed).
    func waitEstablished() async throws -> HandshakeStateMachine.Peer {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = state.withLock { state -> Result<HandshakeStateMachine.Peer, MeshError>? in
                switch state.phase {
                case .established(_, let peer): return .success(peer)
                case .closed(let error): return .failure(error)
                case .connecting:
                    state.establishWaiters.append(continuation)
                    return nil
                }
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    /// Bytes waiting in our queues (not yet handed to the channel).
    var queuedBytes: Int { state.withLock { $0.bulk.readableBytes + $0.control.readableBytes } }

    /// Sends a call and waits for its reply (nil for one-way calls, which
    /// return once queued).
    func call(
        recipient: WireRecipient, target: String, substitutions: [String], arguments: [[UInt8]], timeout: Duration, oneWay: Bool
    ) async throws -> ReplyOrFailure? {
        if oneWay {
            try enqueueCall(id: 0, recipient: recipient, target: target, substitutions: substitutions, arguments: arguments, timeout: timeout, continuation: nil)
            return nil
        }
        let id = nextCallID.wrappingAdd(1, ordering: .relaxed).oldValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                do {
                    try enqueueCall(id: id, recipient: recipient, target: target, substitutions: substitutions, arguments: arguments, timeout: timeout, continuation: continuation)
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
        continuation: CheckedContinuation<ReplyOrFailure, any Error>?
    ) throws {
        let span = TimeAmount(timeout)
        let millis = UInt32(clamping: span.nanoseconds / 1_000_000)
        let deadline = NIODeadline.now() + span
        let (scheduleFlush, scheduleSweep) = try state.withLock { state throws -> (Bool, Bool) in
            if case .closed(let error) = state.phase { throw error }
            if queued(state) >= maxQueuedBytes { throw MeshError.overloaded(node: name(in: state)) }
            let savedEncoder = state.encoder
            let start = state.bulk.writerIndex
            state.encoder.writeCall(
                oneWay: continuation == nil, callID: id, timeoutMillis: millis, recipient: recipient, target: target,
                substitutions: substitutions, arguments: arguments, into: &state.bulk)
            let size = state.bulk.writerIndex - start - 4
            if size > frameLimit(state) {
                // Take it back whole, names it defined included: the peer never saw it.
                state.encoder = savedEncoder
                state.bulk.moveWriterIndex(to: start)
                throw MeshError.unsupported("a call of \(size) bytes exceeds \(name(in: state))'s frame limit of \(frameLimit(state)) bytes")
            }
            var scheduleSweep = false
            if let continuation {
                state.pending[id] = PendingCall(continuation: continuation, deadline: deadline, timeoutSeconds: Double(span.nanoseconds) / 1e9)
                if state.sweepAt == nil || state.sweepAt! > deadline {
                    state.sweepAt = deadline
                    scheduleSweep = true
                }
            }
            return (takeFlushTicket(&state), scheduleSweep)
        }
        if scheduleSweep { eventLoop.scheduleTask(deadline: deadline) { self.sweep() } }
        if scheduleFlush { flushSoon() }
    }

    /// Fails the calls whose deadline passed and schedules the next sweep.
    private func sweep() {
        let now = NIODeadline.now()
        let (expired, next) = state.withLock { state -> ([PendingCall], NIODeadline?) in
            var expired: [PendingCall] = []
            var next: NIODeadline?
            for (id, call) in state.pending {
                if call.deadline <= now {
                    expired.append(call)
                    state.pending.removeValue(forKey: id)
                } else if next == nil || call.deadline < next! {
                    next = call.deadline
                }
            }
            // Keep an earlier sweep another call scheduled meanwhile.
            if let scheduled = state.sweepAt, scheduled > now, next == nil || scheduled <= next! { return (expired, nil) }
            state.sweepAt = next
            return (expired, next)
        }
        for call in expired { call.continuation.resume(throwing: MeshError.timeout(seconds: call.timeoutSeconds)) }
        if let next { eventLoop.scheduleTask(deadline: next) { self.sweep() } }
    }

    /// Queues the outcome of a call we served.
    /// Longest error type name and message a failure reply carries.
    static let maxErrorTextBytes = 512

    func reply(callID: UInt64, _ outcome: CallOutcome) {
        let (scheduleFlush, overflow) = state.withLock { state -> (Bool, Bool) in
            if case .closed = state.phase { return (false, false) }
            var outcome = outcome
            if case .value(let bytes) = outcome, bytes.count + 16 > frameLimit(state) {
                outcome = .failure(code: .decodeFailed, type: "", message: "the result of \(bytes.count) bytes exceeds the caller's frame limit of \(frameLimit(state)) bytes", payload: nil)
            }
            switch outcome {
            case .value(let bytes): ReplyMessage.write(callID: callID, value: bytes, into: &state.bulk)
            case .void: ReplyMessage.write(callID: callID, value: nil, into: &state.bulk)
            case .failure(let code, let type, let message, let payload):
                // Error texts can quote what the caller sent (an unknown actor's
                // 64 KiB path): bounded, so a small call never buys a large reply.
                state.bulk.writeFrame(.failure) { buffer in
                    FailureMessage(callID: callID, code: code.rawValue, typeName: type.boundedForWire(Self.maxErrorTextBytes),
                                   message: message.boundedForWire(Self.maxErrorTextBytes),
                                   payload: payload.map { ByteBuffer(bytes: $0) }).write(to: &buffer)
                }
            }
            return (takeFlushTicket(&state), queued(state) > maxQueuedBytes)
        }
        if overflow { closeOverflowed() }
        if scheduleFlush { flushSoon() }
    }

    /// Bytes in both queues: every frame counts against `maxQueuedBytes`.
    private func queued(_ state: State) -> Int { state.bulk.readableBytes + state.control.readableBytes }

    /// The peer keeps sending but does not read what it asked for (replies,
    /// acks, gossip answers): drop what is queued and close, rather than
    /// hold its answers without bound.
    private func closeOverflowed() {
        state.withLock { state in
            state.bulk = ByteBuffer()
            state.control = ByteBuffer()
        }
        close(.overloaded(node: peerName))
    }

    /// Flushes at the end of this event-loop turn (so a burst of replies
    /// becomes one write), scheduling the turn from other threads.
    private func flushSoon() {
        eventLoop.execute { self.flush() }
    }

    /// Queues a control frame, written ahead of any queued calls.
    func sendControl(_ kind: FrameKind, _ body: (inout ByteBuffer) -> Void) {
        let (scheduleFlush, overflow) = state.withLock { state -> (Bool, Bool) in
            if case .closed = state.phase { return (false, false) }
            state.control.writeFrame(kind, body)
            return (takeFlushTicket(&state), queued(state) > maxQueuedBytes)
        }
        if overflow { closeOverflowed() }
        if scheduleFlush { flushSoon() }
    }

    /// True when the caller must schedule a flush (one per burst).
    private func takeFlushTicket(_ state: inout State) -> Bool {
        guard case .established = state.phase, !state.flushScheduled else { return false }
        state.flushScheduled = true
        return true
    }

    /// On the event loop: hands queued bytes to the channel in one write.
    func flush() {
        eventLoop.preconditionInEventLoop()
        let (channel, control, bulk) = state.withLock { state -> ((any Channel)?, ByteBuffer?, ByteBuffer?) in
            state.flushScheduled = false
            guard case .established(let channel, _) = state.phase else { return (nil, nil, nil) }
            // Both wait while the peer is not reading (written now, control
            // would only wait behind the bytes the channel already holds);
            // control goes first once it is.
            guard state.writable else { return (nil, nil, nil) }
            let control = state.control.readableBytes > 0 ? state.control : nil
            state.control.clear()
            var bulk: ByteBuffer?
            if state.bulk.readableBytes > 0 {
                bulk = state.bulk
                state.bulk = ByteBuffer()
            }
            return (channel, control, bulk)
        }
        guard let channel else { return }
        if let control { channel.write(control, promise: nil) }
        if let bulk { channel.write(bulk, promise: nil) }
        if control != nil || bulk != nil { channel.flush() }
    }

    /// The connection is up: queued frames may go.
    func established(channel: any Channel, peer: HandshakeStateMachine.Peer) {
        let (scheduleFlush, retire, waiters) = state.withLock { state -> (Bool, Bool, [CheckedContinuation<HandshakeStateMachine.Peer, any Error>]) in
            guard case .connecting = state.phase else { return (false, false, []) }
            state.phase = .established(channel, peer)
            state.writable = channel.isWritable
            defer { state.establishWaiters.removeAll() }
            return (takeFlushTicket(&state), state.retiring && state.pending.isEmpty, state.establishWaiters)
        }
        for waiter in waiters { waiter.resume(returning: peer) }
        if scheduleFlush { flushSoon() }
        if retire { closeRetired() }
    }

    func writabilityChanged(_ writable: Bool) {
        let scheduleFlush = state.withLock { state -> Bool in
            state.writable = writable
            return writable && queued(state) > 0 && takeFlushTicket(&state)
        }
        if scheduleFlush { flush() }
    }

    /// A reply or failure arrived.
    func complete(callID: UInt64, with result: ReplyOrFailure) {
        let (pending, retire) = state.withLock { state in
            (state.pending.removeValue(forKey: callID), state.retiring && state.pending.isEmpty)
        }
        pending?.continuation.resume(returning: result)
        if retire { closeRetired() }
    }

    func fail(callID: UInt64, with error: any Error) {
        let (pending, retire) = state.withLock { state in
            (state.pending.removeValue(forKey: callID), state.retiring && state.pending.isEmpty)
        }
        pending?.continuation.resume(throwing: error)
        if retire { closeRetired() }
    }

    /// Both nodes dialled each other and the other connection won: finish
    /// the calls waiting here, then close with a goodbye.
    func retireWhenIdle() {
        let idle = state.withLock { state -> Bool in
            state.retiring = true
            if case .established = state.phase { return state.pending.isEmpty }
            return false
        }
        if idle { closeRetired() }
    }

    private func closeRetired() {
        sendControl(.goodbye) { CloseMessage(code: 0, reason: "duplicate connection").write(to: &$0) }
        eventLoop.execute {
            self.flush()
            self.close(.nodeUnreachable(node: self.peerName, reason: "duplicate connection retired"))
        }
    }

    /// Completes when the connection's channel has closed (nil while none is open).
    var channelClosed: EventLoopFuture<Void>? {
        state.withLock { if case .established(let channel, _) = $0.phase { return channel.closeFuture } else { return nil } }
    }

    /// Ends the association: every pending call fails with `error` now.
    /// Control frames already queued (a goodbye) are written before the
    /// connection closes.
    func close(_ error: MeshError) {
        let (pending, channel, waiters, control) = state.withLock { state -> ([PendingCall], (any Channel)?, [CheckedContinuation<HandshakeStateMachine.Peer, any Error>], ByteBuffer?) in
            if case .closed = state.phase { return ([], nil, [], nil) }
            var channel: (any Channel)?
            if case .established(let established, _) = state.phase { channel = established }
            state.phase = .closed(error)
            let pending = Array(state.pending.values)
            state.pending.removeAll()
            let control = state.control.readableBytes > 0 ? state.control : nil
            state.bulk = ByteBuffer()
            state.control = ByteBuffer()
            defer { state.establishWaiters.removeAll() }
            return (pending, channel, state.establishWaiters, control)
        }
        for call in pending { call.continuation.resume(throwing: error) }
        for waiter in waiters { waiter.resume(throwing: error) }
        guard let channel else { return }
        if let control {
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
