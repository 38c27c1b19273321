import NIOCore
import Testing
@testable import Mesh

/// One connection's rules alone: channels, callers and handshake waiters
/// are plain strings, time is given.
@Suite struct AssociationStateTests {
    typealias State = AssociationState<String, String, String>
    let peer = HandshakeStateMachine.Peer(
        node: NodeID(name: try! NodeName("peer"), incarnation: 1), roles: .worker, capabilities: [.oneWay], maxFrameLength: 4096)
    let recipient = WireRecipient(incarnation: 1, path: "/user/a")
    let now = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func state(limit: Int = 1 << 20) -> State {
        State(expectedName: "127.0.0.1:7000", maxQueuedBytes: limit, localMaxFrameLength: 1 << 20)
    }

    func call(_ state: inout State, id: UInt64, bytes: Int = 10, timeout: TimeAmount = .seconds(5), caller: String? = "caller")
        throws(MeshError) -> (flush: Bool, sweep: NIODeadline?) {
        try state.enqueueCall(id: id, recipient: recipient, target: "t", substitutions: [], arguments: [Array(repeating: 7, count: bytes)],
                              timeout: timeout, now: now, caller: caller)
    }

    @Test func framesQueuedBeforeTheHandshakeGoOutInOneFlushWithControlFirst() throws {
        var state = state()
        let waiting = state.waitEstablished("w1")
        #expect(waiting == nil)
        let early = try call(&state, id: 1)
        #expect(early.flush == false, "no flush before the handshake")
        _ = state.enqueueControl(.heartbeat) { $0.writeInteger(UInt64(9)) }
        let beforeHandshake = state.takeWrites()
        #expect(beforeHandshake == nil)
        let established = state.established(channel: "ch", peer: peer, writable: true)
        #expect(established.flush && established.waiters == ["w1"] && !established.retire)
        #expect(state.peerName == "peer" && state.frameLimit == 4096)
        let taken = state.takeWrites()
        let writes = try #require(taken)
        #expect(writes.channel == "ch")
        #expect(writes.control?.getInteger(at: writes.control!.readerIndex + 4, as: UInt8.self) == FrameKind.heartbeat.rawValue)
        #expect((writes.bulk?.readableBytes ?? 0) > 10)
        #expect(state.queuedBytes == 0)
        // One flush ticket per burst.
        let second = try call(&state, id: 2), third = try call(&state, id: 3)
        #expect(second.flush && !third.flush)
    }

    @Test func aCallLargerThanThePeerAcceptsIsTakenBackWhole() throws {
        var state = state()
        _ = state.established(channel: "ch", peer: peer, writable: true)
        var copy = state
        do {
            _ = try call(&copy, id: 1, bytes: 5000)
            Issue.record("a 5000-byte call went out under a 4096-byte limit")
        } catch {
            #expect(copy.queuedBytes == 0 && copy.pendingCount == 0)
        }
    }

    @Test func ourCallsAreRefusedPastTheQueueLimitButAPeersRepliesCloseIt() throws {
        var state = state(limit: 200)
        _ = state.established(channel: "ch", peer: peer, writable: false)
        _ = try call(&state, id: 1, bytes: 300)
        do {
            _ = try call(&state, id: 2)
            Issue.record("a call past the queue limit was queued")
        } catch {
            #expect(error == .overloaded(node: "peer"))
        }
        let reply = state.enqueueReply(callID: 5, .value(Array(repeating: 1, count: 10)))
        #expect(reply.overflow, "a reply past the limit means the peer is not reading")
        let control = state.enqueueControl(.gossip) { $0.writeBytes([1, 2, 3]) }
        #expect(control.overflow, "control frames count too")
        let blocked = state.takeWrites()
        #expect(blocked == nil, "nothing is written while the channel is not writable")
        let resumed = state.writabilityChanged(true)
        #expect(resumed)
    }

    @Test func failureRepliesNeverEchoAnAttackerSizedText() throws {
        var state = state()
        _ = state.established(channel: "ch", peer: peer, writable: true)
        let huge = String(repeating: "x", count: 60_000)
        _ = state.enqueueReply(callID: 1, .failure(code: .actorNotFound, type: huge, message: huge, payload: nil))
        #expect(state.queuedBytes < 2 * State.maxErrorTextBytes + 64)
        // A value the caller could not accept becomes a failure.
        _ = state.takeWrites()
        _ = state.enqueueReply(callID: 2, .value(Array(repeating: 0, count: 10_000)))
        #expect(state.queuedBytes < 1000)
    }

    @Test func deadlinesUseOneSweepAndExpireInOrder() throws {
        var state = state()
        _ = state.established(channel: "ch", peer: peer, writable: true)
        let first = try call(&state, id: 1, timeout: .seconds(5), caller: "a")
        #expect(first.sweep == now + .seconds(5))
        let second = try call(&state, id: 2, timeout: .seconds(9), caller: "b")
        let third = try call(&state, id: 3, timeout: .seconds(1), caller: "c")
        #expect(second.sweep == nil, "a later deadline needs no new timer")
        #expect(third.sweep == now + .seconds(1))
        let early = state.sweep(now: now + .seconds(1))
        #expect(early.expired.map(\.caller) == ["c"])
        #expect(early.next == now + .seconds(5), "the next sweep is for the next deadline")
        let later = state.sweep(now: now + .seconds(5))
        #expect(later.expired.map(\.caller) == ["a"] && later.next == now + .seconds(9))
        let answered = state.finish(callID: 2), again = state.finish(callID: 2)
        #expect(answered.caller == "b")
        #expect(again.caller == nil, "a reply after the caller went is dropped")
    }

    @Test func aRetiredConnectionClosesWhenItsLastCallIsAnswered() throws {
        var state = state()
        _ = state.established(channel: "ch", peer: peer, writable: true)
        _ = try call(&state, id: 1)
        let busy = state.retire()
        #expect(busy == false, "a call is still waiting")
        let last = state.finish(callID: 1)
        #expect(last.retire)
        var connecting = self.state()
        let early = connecting.retire()
        #expect(early == false)
        let up = connecting.established(channel: "ch", peer: peer, writable: true)
        #expect(up.retire, "retired before its handshake: closes once up")
    }

    @Test func closingFailsEveryoneOnceAndKeepsTheGoodbye() throws {
        var state = state()
        let waiting = state.waitEstablished("w")
        #expect(waiting == nil)
        var dialled = self.state()
        _ = dialled.established(channel: "ch", peer: peer, writable: true)
        _ = try call(&dialled, id: 1, caller: "a")
        _ = try call(&dialled, id: 2, caller: "b")
        _ = dialled.takeWrites()
        _ = dialled.enqueueControl(.goodbye) { $0.writeInteger(UInt16(0)) }
        let closed = dialled.close(.nodeUnreachable(node: "peer", reason: "test"))
        #expect(Set(closed.pending.map(\.caller)) == ["a", "b"] && closed.channel == "ch" && closed.control != nil)
        let twice = dialled.close(.nodeUnreachable(node: "peer", reason: "again"))
        #expect(twice.pending.isEmpty)
        do {
            _ = try call(&dialled, id: 3)
            Issue.record("a call on a closed association was queued")
        } catch {
            #expect(error == .nodeUnreachable(node: "peer", reason: "test"))
        }
        let lateReply = dialled.enqueueReply(callID: 1, .void)
        #expect(lateReply.flush == false)
        let never = state.close(.nodeUnreachable(node: "x", reason: "refused"))
        #expect(never.waiters == ["w"] && never.channel == nil)
        let late = state.waitEstablished("late")
        #expect(late == .failure(.nodeUnreachable(node: "x", reason: "refused")))
    }
}
