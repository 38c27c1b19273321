import NIOCore

/// The rules of one connection to a peer, with no lock, no channel I/O and
/// no clock: its phase, the two outbound queues and their limit, the
/// calls waiting for replies and their deadlines, when a flush is due, and
/// when a duplicate connection may retire. `Association` holds it under a
/// lock and performs what each method returns (write, flush, resume a
/// caller, close) outside the lock.
///
/// Generic over what it hands back so it is tested with plain values:
/// `Channel` (the NIO channel), `Caller` (a waiting call's continuation)
/// and `Waiter` (someone waiting for the handshake).
struct AssociationState<Channel, Caller, Waiter> {
    enum Phase {
        case connecting
        case established(Channel, HandshakeStateMachine.Peer)
        case closed(MeshError)
    }

    struct PendingCall {
        var caller: Caller
        var deadline: NIODeadline
        var timeoutSeconds: Double
    }

    /// What `established` asks the driver to do.
    struct Established {
        var flush: Bool
        /// A retiring connection with no call left: close it now.
        var retire: Bool
        var waiters: [Waiter]
    }

    /// What `close` hands back: every waiting call and handshake waiter
    /// fails; queued control frames (a goodbye) are written before the
    /// channel closes.
    struct Closed {
        var pending: [PendingCall] = []
        var channel: Channel?
        var waiters: [Waiter] = []
        var control: ByteBuffer?
    }

    /// What `enqueueReply`/`enqueueControl` ask for.
    struct Queued {
        var flush: Bool
        /// The peer caused more than the queue holds: drop it and close.
        var overflow: Bool
    }

    /// The name we dialled until the handshake says who answered.
    let expectedName: String
    /// Bytes both queues may hold together.
    let maxQueuedBytes: Int
    /// Our own frame limit, the bound until the peer announced its own.
    let localMaxFrameLength: UInt32

    private(set) var phase: Phase = .connecting
    private var bulk = ByteBuffer()
    private var control = ByteBuffer()
    private var flushScheduled = false
    private var writable = true
    private var pending: [UInt64: PendingCall] = [:]
    private var encoder = CallFrameEncoder()
    /// When the deadline sweep is due; nil while none is scheduled. One
    /// timer per association instead of one per call: calls made with the
    /// same timeout have increasing deadlines, so a new call almost never
    /// needs a new timer.
    private var sweepAt: NIODeadline?
    /// Replaced by the canonical connection: close once no call waits on it.
    private(set) var retiring = false
    private var establishWaiters: [Waiter] = []

    /// Longest error type name and message a failure reply carries.
    static var maxErrorTextBytes: Int { 512 }

    init(expectedName: String, maxQueuedBytes: Int, localMaxFrameLength: UInt32) {
        self.expectedName = expectedName
        self.maxQueuedBytes = maxQueuedBytes
        self.localMaxFrameLength = localMaxFrameLength
    }

    // MARK: - Queries

    /// The largest frame the peer accepts (ours until the handshake told us).
    var frameLimit: Int {
        if case .established(_, let peer) = phase { return Int(peer.maxFrameLength) }
        return Int(localMaxFrameLength)
    }

    var isClosed: Bool { if case .closed = phase { true } else { false } }

    var peer: HandshakeStateMachine.Peer? { if case .established(_, let peer) = phase { peer } else { nil } }

    var channel: Channel? { if case .established(let channel, _) = phase { channel } else { nil } }

    /// The peer's node name once known.
    var peerName: String { peer?.node.name.rawValue ?? expectedName }

    /// Bytes in both queues: every frame counts against `maxQueuedBytes`.
    var queuedBytes: Int { bulk.readableBytes + control.readableBytes }

    var pendingCount: Int { pending.count }

    // MARK: - Handshake

    /// Nil when established (the peer) or closed (the error); otherwise
    /// `waiter` is kept until one of them happens.
    mutating func waitEstablished(_ waiter: Waiter) -> Result<HandshakeStateMachine.Peer, MeshError>? {
        switch phase {
        case .established(_, let peer): return .success(peer)
        case .closed(let error): return .failure(error)
        case .connecting:
            establishWaiters.append(waiter)
            return nil
        }
    }

    /// The connection is up: queued frames may go.
    mutating func established(channel: Channel, peer: HandshakeStateMachine.Peer, writable: Bool) -> Established {
        guard case .connecting = phase else { return Established(flush: false, retire: false, waiters: []) }
        phase = .established(channel, peer)
        self.writable = writable
        defer { establishWaiters.removeAll() }
        return Established(flush: takeFlushTicket(), retire: retiring && pending.isEmpty, waiters: establishWaiters)
    }

    // MARK: - Outbound

    /// Encodes a call into the queue (a reply is awaited when `caller` is
    /// given). Returns whether to schedule a flush and a deadline sweep.
    /// - Throws: the close error; `overloaded` past the queue limit;
    ///   `unsupported` for a frame larger than the peer accepts (taken back
    ///   whole, names it defined included: the peer never saw it).
    mutating func enqueueCall(
        id: UInt64, recipient: WireRecipient, target: String, substitutions: [String], arguments: [[UInt8]],
        timeout: TimeAmount, now: NIODeadline, caller: Caller?
    ) throws(MeshError) -> (flush: Bool, sweep: NIODeadline?) {
        if case .closed(let error) = phase { throw error }
        if queuedBytes >= maxQueuedBytes { throw MeshError.overloaded(node: peerName) }
        let millis = UInt32(clamping: timeout.nanoseconds / 1_000_000)
        let savedEncoder = encoder
        let start = bulk.writerIndex
        encoder.writeCall(
            oneWay: caller == nil, callID: id, timeoutMillis: millis, recipient: recipient, target: target,
            substitutions: substitutions, arguments: arguments, into: &bulk)
        let size = bulk.writerIndex - start - 4
        if size > frameLimit {
            encoder = savedEncoder
            bulk.moveWriterIndex(to: start)
            throw MeshError.unsupported("a call of \(size) bytes exceeds \(peerName)'s frame limit of \(frameLimit) bytes")
        }
        var sweep: NIODeadline?
        if let caller {
            let deadline = now + timeout
            pending[id] = PendingCall(caller: caller, deadline: deadline, timeoutSeconds: Double(timeout.nanoseconds) / 1e9)
            if sweepAt == nil || sweepAt! > deadline {
                sweepAt = deadline
                sweep = deadline
            }
        }
        return (takeFlushTicket(), sweep)
    }

    /// Queues the outcome of a call we served. A value larger than the
    /// caller accepts becomes a failure; error texts are bounded (they can
    /// quote what the caller sent, and a small call must not buy a large
    /// reply).
    mutating func enqueueReply(callID: UInt64, _ outcome: CallOutcome) -> Queued {
        if isClosed { return Queued(flush: false, overflow: false) }
        var outcome = outcome
        if case .value(let bytes) = outcome, bytes.count + 16 > frameLimit {
            outcome = .failure(code: .decodeFailed, type: "", message: "the result of \(bytes.count) bytes exceeds the caller's frame limit of \(frameLimit) bytes", payload: nil)
        }
        switch outcome {
        case .value(let bytes): ReplyMessage.write(callID: callID, value: bytes, into: &bulk)
        case .void: ReplyMessage.write(callID: callID, value: nil, into: &bulk)
        case .failure(let code, let type, let message, let payload):
            bulk.writeFrame(.failure) { buffer in
                FailureMessage(callID: callID, code: code.rawValue, typeName: type.boundedForWire(Self.maxErrorTextBytes),
                               message: message.boundedForWire(Self.maxErrorTextBytes),
                               payload: payload.map { ByteBuffer(bytes: $0) }).write(to: &buffer)
            }
        }
        return Queued(flush: takeFlushTicket(), overflow: queuedBytes > maxQueuedBytes)
    }

    /// Queues a control frame, written ahead of any queued calls.
    mutating func enqueueControl(_ kind: FrameKind, _ body: (inout ByteBuffer) -> Void) -> Queued {
        if isClosed { return Queued(flush: false, overflow: false) }
        control.writeFrame(kind, body)
        return Queued(flush: takeFlushTicket(), overflow: queuedBytes > maxQueuedBytes)
    }

    /// Drops everything queued (the peer overflowed its queue).
    mutating func dropQueued() {
        bulk = ByteBuffer()
        control = ByteBuffer()
    }

    /// True when the caller must schedule a flush (one per burst).
    private mutating func takeFlushTicket() -> Bool {
        guard case .established = phase, !flushScheduled else { return false }
        flushScheduled = true
        return true
    }

    /// The flush ran: what to write, control first. Nothing while the peer
    /// is not reading (written now, control would only wait behind the
    /// bytes the channel already holds).
    mutating func takeWrites() -> (channel: Channel, control: ByteBuffer?, bulk: ByteBuffer?)? {
        flushScheduled = false
        guard case .established(let channel, _) = phase, writable else { return nil }
        let control = control.readableBytes > 0 ? control : nil
        self.control.clear()
        var bulk: ByteBuffer?
        if self.bulk.readableBytes > 0 {
            bulk = self.bulk
            self.bulk = ByteBuffer()
        }
        return (channel, control, bulk)
    }

    /// Returns whether to flush now (it became writable with bytes queued).
    mutating func writabilityChanged(_ writable: Bool) -> Bool {
        self.writable = writable
        return writable && queuedBytes > 0 && takeFlushTicket()
    }

    // MARK: - Replies, deadlines, retirement

    /// A reply, failure or cancellation for `callID`: its caller (if still
    /// waiting) and whether the connection may now retire.
    mutating func finish(callID: UInt64) -> (caller: Caller?, retire: Bool) {
        let call = pending.removeValue(forKey: callID)
        return (call?.caller, retiring && pending.isEmpty)
    }

    /// The calls whose deadline passed, and when the next sweep is due (nil
    /// when none is needed or an earlier one is already scheduled).
    mutating func sweep(now: NIODeadline) -> (expired: [PendingCall], next: NIODeadline?) {
        var expired: [PendingCall] = []
        var next: NIODeadline?
        for (id, call) in pending {
            if call.deadline <= now {
                expired.append(call)
                pending.removeValue(forKey: id)
            } else if next == nil || call.deadline < next! {
                next = call.deadline
            }
        }
        // Keep an earlier sweep another call scheduled meanwhile.
        if let scheduled = sweepAt, scheduled > now, next == nil || scheduled <= next! { return (expired, nil) }
        sweepAt = next
        return (expired, next)
    }

    /// Both nodes dialled each other and the other connection won: returns
    /// whether it is idle and may close now (else the last reply closes it).
    mutating func retire() -> Bool {
        retiring = true
        if case .established = phase { return pending.isEmpty }
        return false
    }

    /// Ends the association (once; later calls return nothing).
    mutating func close(_ error: MeshError) -> Closed {
        if isClosed { return Closed() }
        let closed = Closed(pending: Array(pending.values), channel: channel, waiters: establishWaiters,
                            control: control.readableBytes > 0 ? control : nil)
        phase = .closed(error)
        pending.removeAll()
        establishWaiters.removeAll()
        dropQueued()
        return closed
    }
}

extension AssociationState: Sendable where Channel: Sendable, Caller: Sendable, Waiter: Sendable {}
extension AssociationState.Phase: Sendable where Channel: Sendable {}
extension AssociationState.PendingCall: Sendable where Caller: Sendable {}
extension AssociationState.Closed: Sendable where Channel: Sendable, Caller: Sendable, Waiter: Sendable {}
extension AssociationState.Established: Sendable where Waiter: Sendable {}
