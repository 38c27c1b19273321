/// Limits on one browser connection (docs/protocol.md, "Limits").
public struct ConnectionLimits: Sendable {
    /// Largest text frame read; bigger ones close the socket with 1009.
    public var maxFrameBytes = 4 << 20
    /// Sustained messages per second, and the burst allowed above it.
    public var messagesPerSecond = 200.0
    public var burst = 400.0
    /// Refusals (rate limit, bad frames) within `strikeWindow` seconds that
    /// close the socket with 1008 (policy violation).
    public var maxStrikes = 200
    public var strikeWindow = 10.0
    /// Events queued for a browser that does not read; past this the
    /// session events it misses are replaced by one `resync_required`.
    public var maxQueuedFrames = 2048
    public var maxQueuedBytes = 8 << 20
    public init() {}
}

/// What a connection does with one incoming frame — the rate limit, the
/// hello rule and abuse strikes, as a state machine without I/O (tested
/// alone in ConnectionPolicyTests).
public struct ConnectionPolicy: Sendable {
    public enum Decision: Equatable, Sendable {
        /// Handle it.
        case accept
        /// Answer with this error; the socket stays open.
        case refuse(ProtocolError)
        /// Drop it silently (the client was already told it is rate limited).
        case drop
        /// Close the socket: 1008, with this reason.
        case close(reason: String)
    }

    let limits: ConnectionLimits
    private(set) var greeted = false
    private var tokens: Double
    private var lastRefill: Double
    private var strikes: [Double] = []
    private var toldRateLimited = false

    public init(limits: ConnectionLimits, now: Double) {
        self.limits = limits
        tokens = limits.burst
        lastRefill = now
    }

    /// A well-formed message of `type` arrived at `now` (seconds).
    public mutating func received(type: String, at now: Double) -> Decision {
        refill(now)
        guard tokens >= 1 else {
            if let close = strike(at: now) { return close }
            if toldRateLimited { return .drop }
            toldRateLimited = true
            return .refuse(ProtocolError(.rateLimited, "more than \(Int(limits.messagesPerSecond)) messages a second; slow down"))
        }
        tokens -= 1
        toldRateLimited = false
        if !greeted {
            guard type == "hello" else {
                if let close = strike(at: now) { return close }
                return .refuse(ProtocolError(.notHello, "send hello first"))
            }
            greeted = true
        }
        return .accept
    }

    /// A frame that failed validation arrived: it is answered, and counts
    /// as a strike.
    public mutating func invalid(_ error: ProtocolError, at now: Double) -> Decision {
        refill(now)
        tokens = max(0, tokens - 1)
        if let close = strike(at: now) { return close }
        return .refuse(error)
    }

    private mutating func refill(_ now: Double) {
        tokens = min(limits.burst, tokens + max(0, now - lastRefill) * limits.messagesPerSecond)
        lastRefill = now
    }

    private mutating func strike(at now: Double) -> Decision? {
        strikes.append(now)
        strikes.removeAll { $0 < now - limits.strikeWindow }
        if strikes.count > limits.maxStrikes {
            return .close(reason: "too many refused messages")
        }
        return nil
    }
}
