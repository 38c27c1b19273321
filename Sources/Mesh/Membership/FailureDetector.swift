/// How quickly a silent node is suspected and then declared down.
///
/// With the defaults a crashed node is suspected within one probe round
/// (≤ 400 ms after its last answer when it is the one probed, sooner when its
/// connection drops) and down one `suspicionTimeout` later: under 2 s in all.
/// A node that stops answering for less than `suspicionTimeout` (a GC pause,
/// SIGSTOP) is suspected and then cleared, never declared down.
public struct FailureDetectorSettings: Sendable, Equatable {
    /// One member is probed per interval, in turn.
    public var probeInterval: Duration = .milliseconds(200)
    /// Without a direct ack after this, ask `indirectProbes` other members to probe it.
    public var probeTimeout: Duration = .milliseconds(100)
    public var indirectProbes: Int = 2
    /// A suspect that is not heard from for this long is down.
    public var suspicionTimeout: Duration = .milliseconds(1000)

    public init() {}
}

/// SWIM-style failure detection for one node, as a state machine with no
/// I/O and no clock of its own: the caller feeds it time (`tick`), acks and
/// connection events, and performs the actions it returns (send a ping, ask
/// another member to ping, tell membership who is suspect, alive or down).
public struct FailureDetector: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public enum Status: Sendable, Equatable {
        case alive
        case suspect(since: Instant)
        case down
    }

    public enum Action: Sendable, Equatable {
        /// Send a heartbeat with this sequence number to the member.
        case ping(NodeID, sequence: UInt64)
        /// Ask `via` to heartbeat `target` and relay the ack (indirect probe).
        case pingRequest(target: NodeID, via: NodeID, sequence: UInt64)
        case suspect(NodeID)
        /// A suspect answered: it is alive after all.
        case alive(NodeID)
        case down(NodeID)
    }

    private struct Probe: Sendable {
        var target: NodeID
        var sequence: UInt64
        var sentAt: Instant
        var indirectSent = false
    }

    public let settings: FailureDetectorSettings
    public private(set) var members: [NodeID: Status] = [:]
    /// When each member was last heard from (a heartbeat or an ack).
    private var lastHeard: [NodeID: Instant] = [:]
    private var probe: Probe?
    private var nextProbeAt: Instant
    private var nextSequence: UInt64 = 1
    private var lastProbed: NodeID?

    public init(settings: FailureDetectorSettings = .init(), now: Instant) {
        self.settings = settings
        self.nextProbeAt = now
    }

    /// Starts watching `node` (it joined).
    public mutating func add(_ node: NodeID) {
        if members[node] == nil { members[node] = .alive }
    }

    /// Stops watching `node` (it left or was removed).
    public mutating func remove(_ node: NodeID) {
        members.removeValue(forKey: node)
        lastHeard.removeValue(forKey: node)
        if probe?.target == node { probe = nil }
    }

    /// Advances time: expires suspicions, escalates or fails the running
    /// probe, and starts the next one when due. Call it often (every
    /// ~probeTimeout / 2 or more often); it is cheap.
    public mutating func tick(now: Instant) -> [Action] {
        var actions: [Action] = []
        for (node, status) in members {
            if case .suspect(let since) = status, now - since >= settings.suspicionTimeout {
                members[node] = .down
                actions.append(.down(node))
                if probe?.target == node { probe = nil }
            }
        }
        if var running = probe {
            if !running.indirectSent && now - running.sentAt >= settings.probeTimeout {
                running.indirectSent = true
                let helpers = members.keys
                    .filter { $0 != running.target && members[$0] == .alive }
                    .sorted { $0.name.rawValue < $1.name.rawValue }
                    .prefix(settings.indirectProbes)
                for helper in helpers {
                    actions.append(.pingRequest(target: running.target, via: helper, sequence: running.sequence))
                }
                probe = running
            }
            if now - running.sentAt >= settings.probeInterval {
                probe = nil
                if members[running.target] == .alive {
                    members[running.target] = .suspect(since: now)
                    actions.append(.suspect(running.target))
                }
            }
        }
        if probe == nil && now >= nextProbeAt, let target = nextTarget() {
            let sequence = nextSequence
            nextSequence &+= 1
            probe = Probe(target: target, sequence: sequence, sentAt: now)
            lastProbed = target
            nextProbeAt = now + settings.probeInterval
            actions.append(.ping(target, sequence: sequence))
        }
        return actions
    }

    /// An ack arrived for `sequence`, directly or relayed by another member.
    public mutating func ack(from node: NodeID, sequence: UInt64, now: Instant) -> [Action] {
        if let running = probe, running.target == node, running.sequence == sequence { probe = nil }
        return heard(from: node, now: now)
    }

    /// Any frame from `node` proves it alive (a resumed node clears its suspicion).
    public mutating func heard(from node: NodeID, now: Instant) -> [Action] {
        if members[node] != nil { lastHeard[node] = now }
        guard case .suspect = members[node] else { return [] }
        members[node] = .alive
        return [.alive(node)]
    }

    /// The connection to `node` dropped: suspect it now rather than at its
    /// next probe (a killed process's sockets close at once).
    public mutating func connectionLost(to node: NodeID, now: Instant) -> [Action] {
        guard members[node] == .alive else { return [] }
        members[node] = .suspect(since: now)
        return [.suspect(node)]
    }

    /// Another member says `node` is down, left or restarted: only a
    /// suspicion (docs/cluster.md, "Trust"). Suspect it and ping it at once;
    /// an answer within the suspicion timeout clears it, so a lie cannot
    /// take a live member down, while a member that is really gone is down
    /// one suspicion timeout later.
    public mutating func reportedDown(_ node: NodeID, now: Instant) -> [Action] {
        guard members[node] == .alive else { return [] }
        members[node] = .suspect(since: now)
        let sequence = nextSequence
        nextSequence &+= 1
        return [.suspect(node), .ping(node, sequence: sequence)]
    }

    /// Round robin over members that are not down, in name order.
    private func nextTarget() -> NodeID? {
        let candidates = members.filter { $0.value != .down }.keys.sorted { ($0.name.rawValue, $0.incarnation) < ($1.name.rawValue, $1.incarnation) }
        guard !candidates.isEmpty else { return nil }
        guard let last = lastProbed, let index = candidates.firstIndex(where: { ($0.name.rawValue, $0.incarnation) > (last.name.rawValue, last.incarnation) }) else {
            return candidates[0]
        }
        return candidates[index]
    }
}
