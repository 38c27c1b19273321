/// The indirect probes this node has asked other members to make, so that
/// a relayed ack is believed only from a helper that was asked, for the
/// target and sequence it was asked about, once. A state machine with no
/// I/O (tested alone); `Cluster` drives it.
///
/// Without it any connected peer could send `relayedAck` for any member
/// and keep a dead member alive forever.
public struct IndirectProbeRequests: Sendable {
    private struct Request {
        var target: String
        var helpers: Set<String>
        var expires: ContinuousClock.Instant
    }
    private var requests: [UInt64: Request] = [:]
    /// Requests outstanding at most (each probe asks a few helpers; old ones expire).
    static let limit = 1024

    public init() {}

    /// This node asked `helper` to probe `target` for probe `sequence`.
    public mutating func asked(_ helper: String, toProbe target: String, sequence: UInt64, until expires: ContinuousClock.Instant) {
        if requests[sequence] == nil && requests.count >= Self.limit, let oldest = requests.min(by: { $0.value.expires < $1.value.expires }) {
            requests.removeValue(forKey: oldest.key)
        }
        requests[sequence, default: Request(target: target, helpers: [], expires: expires)].helpers.insert(helper)
    }

    /// Whether a relayed ack for `target`'s probe `sequence`, arriving from
    /// `sender`, answers a request of ours; a believed ack closes the request.
    public mutating func accept(sequence: UInt64, target: String, from sender: String, now: ContinuousClock.Instant) -> Bool {
        guard let request = requests[sequence], request.expires > now, request.target == target, request.helpers.contains(sender) else {
            return false
        }
        requests.removeValue(forKey: sequence)
        return true
    }

    /// Forgets requests past their time.
    public mutating func expire(now: ContinuousClock.Instant) {
        requests = requests.filter { $0.value.expires > now }
    }

    var count: Int { requests.count }
}
