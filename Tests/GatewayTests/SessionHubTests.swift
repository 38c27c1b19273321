import Agents
import Foundation
@testable import Gateway
import Providers
import Storage
import Testing

/// Session hubs: numbering, resume, resync, slow tabs, token coalescing.
@Suite struct SessionHubTests {
    let user = User(id: "u1", name: "dev", createdAt: Date())

    /// Everything queued on a connection, without a socket.
    func drain(_ connection: ClientConnection) async -> [ClientConnection.Outgoing] {
        var items: [ClientConnection.Outgoing] = []
        while connection.queuedFrames > 0, let item = await connection.next() { items.append(item) }
        return items
    }

    func frames(_ items: [ClientConnection.Outgoing]) -> [ServerFrame] {
        items.compactMap { if case .frame(let text) = $0 { return ServerFrame.parse(text) } else { return nil } }
    }

    func update(_ n: Int) -> ServerFrame {
        ServerFrame("agent_update", ["agentId": .string("coder:f\(n).py"), "role": "coder", "path": .string("f\(n).py"),
                                     "status": "active", "node": "dev"])
    }

    @Test func resumeReplaysExactlyWhatWasMissed() async {
        let hub = SessionHub(sessionId: "s1", projectId: "p1")
        for n in 1...5 { await hub.publish(update(n)) }
        let tab = ClientConnection(user: user, limits: ConnectionLimits())
        await hub.join(tab, lastSeq: 3, replyTo: "c-1")
        for n in 6...7 { await hub.publish(update(n)) }
        let got = frames(await drain(tab))
        #expect(got.first?.type == "agent_hierarchy")
        #expect(got.first?.replyTo == "c-1")
        #expect(got.dropFirst().compactMap(\.seq) == [4, 5, 6, 7])
    }

    @Test func aFutureOrForgottenLastSeqGetsAResyncWithTheTree() async {
        var limits = SessionHub.Limits()
        limits.keptEvents = 3
        let hub = SessionHub(sessionId: "s1", projectId: "p1", limits: limits)
        for n in 1...8 { await hub.publish(update(n)) }
        await hub.publish(ServerFrame("project_init_status", ["projectId": "p1", "phase": "structure", "status": "active"]))
        await hub.publish(ServerFrame("project_status", ["projectId": "p1", "sessionId": "s1", "status": "waiting"]))
        let future = ClientConnection(user: user, limits: ConnectionLimits())
        await hub.join(future, lastSeq: 99, replyTo: nil)
        let resync = frames(await drain(future))
        #expect(resync.map(\.type) == ["resync_required"])
        #expect(resync.first?.payload["seq"] == .int(10))
        #expect(resync.first?.payload["agents"]?.arrayValue?.count == 8)
        // Enough to show the question the run waits on.
        #expect(resync.first?.payload["projectStatus"] == "waiting" && resync.first?.payload["phase"] == "structure")

        let old = ClientConnection(user: user, limits: ConnectionLimits())
        await hub.join(old, lastSeq: 2, replyTo: nil)
        #expect(frames(await drain(old)).map(\.type) == ["resync_required"])

        let recent = ClientConnection(user: user, limits: ConnectionLimits())
        await hub.join(recent, lastSeq: 7, replyTo: nil)
        #expect(frames(await drain(recent)).compactMap(\.seq) == [8, 9, 10])
    }

    @Test func aTabThatDoesNotReadIsToldToResyncAndTheOthersGetEverything() async {
        var small = ConnectionLimits()
        small.maxQueuedFrames = 5
        let hub = SessionHub(sessionId: "s1", projectId: "p1")
        let slow = ClientConnection(user: user, limits: small)
        let fast = ClientConnection(user: user, limits: ConnectionLimits())
        await hub.join(slow, lastSeq: 0, replyTo: nil)
        await hub.join(fast, lastSeq: 0, replyTo: nil)
        for n in 1...50 { await hub.publish(update(n)) }
        #expect(frames(await drain(fast)).compactMap(\.seq) == Array(1...50))
        let slowItems = await drain(slow)
        #expect(slowItems.contains(.resync(sessionId: "s1")))
        #expect(slowItems.count <= 7, "the slow tab's queue stays bounded: \(slowItems.count)")
        // After its resync it gets new events again, with no gap after the snapshot.
        let snapshot = await hub.resync(slow)
        #expect(ServerFrame.parse(snapshot)?.payload["seq"] == .int(50))
        await hub.publish(update(51))
        #expect(frames(await drain(slow)).compactMap(\.seq) == [51])
    }

    @Test func tokensAreCoalescedPerAgentAndNeverOvertakeOtherEvents() async {
        var limits = SessionHub.Limits()
        limits.flushInterval = .seconds(3600)  // only an event flushes them here
        let hub = SessionHub(sessionId: "s1", projectId: "p1", limits: limits)
        let tab = ClientConnection(user: user, limits: ConnectionLimits())
        await hub.join(tab, lastSeq: 0, replyTo: nil)
        for piece in ["def ", "f():", "\n  return 1"] { await hub.publishTokens(agentId: "coder:a.py", filePath: "a.py", text: piece) }
        await hub.publishTokens(agentId: "master", filePath: nil, text: "Done")
        await hub.publish(update(1))
        let got = frames(await drain(tab)).dropFirst()  // the hierarchy
        #expect(got.map(\.type) == ["llm_stream", "llm_stream", "agent_update"])
        #expect(got.first?.payload["delta"] == "def f():\n  return 1")
        #expect(got.compactMap(\.seq) == [1, 2, 3])
    }

    @Test func agentEventsBecomeProtocolEvents() {
        var translator = EventTranslator(projectId: "p1", sessionId: "s1", node: "dev", budgetUSD: 2)
        let coder = AgentRef(role: .coder, path: "pkg/conv.py")
        #expect(EventTranslator.parentId(coder) == "manager:pkg")
        #expect(EventTranslator.parentId(AgentRef(role: .manager, path: "")) == "master")
        #expect(EventTranslator.parentId(AgentRef(role: .tester, path: "pkg/conv.py#tester-1")) == "coder:pkg/conv.py")
        let written = translator.translate(.fileWritten(coder, path: "pkg/conv.py", content: "x = 1\n"))
        #expect(written.count == 2)
        if case .frame(let frame) = written[1] {
            #expect(frame.type == "code_stream")
            #expect(frame.payload["syntax"] == "python")
        }
        let usage = translator.translate(.usage(coder, Usage(inputTokens: 10, outputTokens: 5, estimated: false),
                                                costUSD: 0.01, totalCostUSD: 0.5, totalTokens: 15))
        if case .frame(let frame)? = usage.first {
            #expect(ProtocolValidator.checkEvent(type: frame.type, payload: frame.payload) == nil)
            #expect(frame.payload["budgetUsd"] == .double(2))
        } else {
            Issue.record("usage is a frame")
        }
        let toPerson = translator.translate(.toPerson("Approve?", phase: .understanding))
        #expect(toPerson.first == .message(sender: .assistant, content: "Approve?", agentId: "master", metadata: ["phase": "understanding"]))
    }

    /// The agent tree shows each agent on the node its model calls run on
    /// (a worker, for turns on the mesh), from then on; others on the gateway.
    @Test func anAgentIsShownOnTheNodeItsCallsRunOn() {
        var translator = EventTranslator(projectId: "p1", sessionId: "s1", node: "gw", budgetUSD: nil)
        let coder = AgentRef(role: .coder, path: "a.py"), master = AgentRef(role: .master, path: "")
        func node(_ outputs: [EventTranslator.Output]) -> JSONValue? {
            guard case .frame(let frame)? = outputs.first, frame.type == "agent_update" else { return nil }
            #expect(ProtocolValidator.checkEvent(type: frame.type, payload: frame.payload) == nil)
            return frame.payload["node"]
        }
        #expect(node(translator.translate(.status(coder, .working))) == "gw")
        #expect(node(translator.translate(.ranOn(coder, node: "w2"))) == "w2")
        #expect(node(translator.translate(.status(coder, .finished))) == "w2", "later updates keep the worker")
        #expect(node(translator.translate(.status(master, .working))) == "gw")
    }
}
