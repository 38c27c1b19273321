import Foundation

/// The events of one chat session: numbered, kept for a while so a
/// reconnecting tab can catch up (`resume`), and fanned out to every tab
/// that joined (docs/protocol.md, "Sessions and resume"). Model tokens are
/// coalesced: at most one `llm_stream` per agent per `flushInterval`.
public actor SessionHub {
    public struct Limits: Sendable {
        /// Events kept for `resume`; older ones need a resync.
        public var keptEvents = 4096
        public var keptBytes = 16 << 20
        /// How often coalesced token deltas go out.
        public var flushInterval: Duration = .milliseconds(25)
        public init() {}
    }

    public let sessionId: String
    public private(set) var projectId: String?
    let limits: Limits

    public private(set) var seq: Int64 = 0
    private var kept: [(seq: Int64, text: String)] = []
    private var keptHead = 0
    private var keptBytes = 0
    private var subscribers: [UUID: ClientConnection] = [:]
    /// The agent tree as events described it (for join and resync).
    private var agents: [String: [String: JSONValue]] = [:]
    private var agentOrder: [String] = []
    private var projectStatus: String?
    /// The run's phase, for the snapshot (a tab that resyncs while the run
    /// waits must know which phase to approve).
    private var phase: String?
    private var pendingTokens: [(agentId: String, filePath: String?, text: String)] = []
    private var flushScheduled = false

    init(sessionId: String, projectId: String?, limits: Limits = .init()) {
        self.sessionId = sessionId
        self.projectId = projectId
        self.limits = limits
    }

    func setProject(_ id: String) { projectId = id }

    /// Numbers, keeps and fans out one event. Pending tokens go first, so
    /// every tab sees the session's events in one order.
    func publish(_ frame: ServerFrame) {
        flushTokens()
        deliver(frame)
    }

    /// Model tokens, sent at the next flush as one delta per agent.
    func publishTokens(agentId: String, filePath: String?, text: String) {
        if let last = pendingTokens.last, last.agentId == agentId {
            pendingTokens[pendingTokens.count - 1].text += text
        } else {
            pendingTokens.append((agentId, filePath, text))
        }
        guard !flushScheduled else { return }
        flushScheduled = true
        let interval = limits.flushInterval
        Task {
            try? await Task.sleep(for: interval)
            self.flushTokens()
        }
    }

    private func flushTokens() {
        flushScheduled = false
        let pending = pendingTokens
        pendingTokens = []
        for piece in pending {
            deliver(ServerFrame("llm_stream", [
                "agentId": .string(piece.agentId), "filePath": .optional(piece.filePath), "delta": .string(piece.text), "done": false,
            ]))
        }
    }

    private func deliver(_ frame: ServerFrame) {
        remember(frame)
        seq += 1
        var numbered = frame
        numbered.seq = seq
        if numbered.payload["sessionId"] == nil, ["message", "project_status", "project_init_status"].contains(frame.type) {
            numbered.payload["sessionId"] = .string(sessionId)
        }
        let text = numbered.text
        kept.append((seq, text))
        keptBytes += text.utf8.count
        while kept.count - keptHead > limits.keptEvents || keptBytes > limits.keptBytes {
            keptBytes -= kept[keptHead].text.utf8.count
            keptHead += 1
        }
        if keptHead > 1024 && keptHead * 2 > kept.count {
            kept.removeFirst(keptHead)
            keptHead = 0
        }
        for connection in subscribers.values {
            connection.sendSessionEvent(text, sessionId: sessionId)
        }
    }

    /// Keeps what a resync snapshot needs: the agent tree and the run's status.
    private func remember(_ frame: ServerFrame) {
        switch frame.type {
        case "agent_update":
            guard let id = frame.payload["agentId"]?.stringValue else { return }
            if agents[id] == nil { agentOrder.append(id) }
            var agent = frame.payload
            if agent["task"] == nil, let task = agents[id]?["task"] { agent["task"] = task }
            agents[id] = agent
        case "project_status":
            projectStatus = frame.payload["status"]?.stringValue
        case "project_init_status":
            phase = frame.payload["phase"]?.stringValue
        default:
            break
        }
    }

    var hierarchy: ServerFrame {
        ServerFrame("agent_hierarchy", [
            "rootAgentId": "master", "agents": .array(agentOrder.compactMap { agents[$0].map(JSONValue.object) }),
        ])
    }

    /// Adds a tab. It gets the agent tree, then every kept event after
    /// `lastSeq` — or, when those are gone (or `lastSeq` is from the
    /// future, e.g. before a gateway restart), one `resync_required`. They
    /// are queued here, inside the hub, so no new event can overtake them.
    func join(_ connection: ClientConnection, lastSeq: Int64, replyTo: String?) {
        subscribers[connection.id] = connection
        connection.caughtUp(sessionId: sessionId)
        let oldest = keptHead < kept.count ? kept[keptHead].seq : seq + 1
        if lastSeq > seq || (lastSeq + 1 < oldest && lastSeq < seq) {
            let reason = lastSeq > seq ? "the session is at \(seq), before \(lastSeq)" : "events after \(lastSeq) are no longer kept"
            connection.send(resyncFrame(reason: reason, replyTo: replyTo))
            return
        }
        connection.send(hierarchy.withReply(replyTo))
        for index in keptHead..<kept.count where kept[index].seq > lastSeq {
            connection.sendSessionEvent(kept[index].text, sessionId: sessionId)
        }
    }

    func isSubscribed(_ id: UUID) -> Bool { subscribers[id] != nil }

    func leave(_ id: UUID) {
        subscribers.removeValue(forKey: id)
    }

    /// The snapshot for a tab that fell behind; events after it flow to it again.
    func resync(_ connection: ClientConnection) -> String {
        connection.caughtUp(sessionId: sessionId)
        return resyncFrame(reason: "the client fell behind", replyTo: nil).text
    }

    private func resyncFrame(reason: String, replyTo: String?) -> ServerFrame {
        ServerFrame("resync_required", [
            "sessionId": .string(sessionId), "seq": .int(seq), "reason": .string(reason),
            "agents": .array(agentOrder.compactMap { agents[$0].map(JSONValue.object) }),
            "projectId": .optional(projectId), "projectStatus": .optional(projectStatus), "phase": .optional(phase),
        ], replyTo: replyTo)
    }

    public var subscriberCount: Int { subscribers.count }
}

extension ServerFrame {
    func withReply(_ replyTo: String?) -> ServerFrame {
        var frame = self
        frame.replyTo = replyTo
        return frame
    }
}
