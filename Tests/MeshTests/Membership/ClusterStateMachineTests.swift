import Testing
@testable import Mesh

/// The cluster's decisions without a network or a clock: events in, actions
/// out. `Link` is a string naming the connection an event came on.
@Suite struct ClusterStateMachineTests {
    typealias Machine = ClusterStateMachine<String>
    let start = ContinuousClock.now
    let endpoint = Endpoint(host: "127.0.0.1", port: 7000)
    let me = NodeID(name: try! NodeName("a"), incarnation: 1)
    let b = NodeID(name: try! NodeName("b"), incarnation: 1)
    let c = NodeID(name: try! NodeName("c"), incarnation: 1)

    func state(_ node: NodeID, _ status: MemberStatus, version: UInt32 = 0) -> MemberState {
        MemberState(node: node, endpoint: endpoint, roles: .worker, status: status, version: version)
    }

    /// A machine that knows b and c as up, each from their own gossip.
    func machine(timing: Machine.Timing = .init()) throws -> Machine {
        var machine = Machine(local: state(me, .up), timing: timing, now: start)
        for node in [b, c] {
            _ = try machine.receivedGossip([state(node, .up)], from: node, roles: .worker, on: node.name.rawValue, now: start)
        }
        return machine
    }

    func published(_ actions: [Machine.Action]) -> [MemberState] {
        actions.flatMap { action -> [MemberState] in if case .publish(let changes) = action { changes } else { [] } }
    }

    func sends(_ actions: [Machine.Action]) -> [(Machine.Control, String)] {
        actions.compactMap { action in
            guard case .send(let control, let destination) = action else { return nil }
            switch destination {
            case .member(let member): return (control, "member:" + member.node.name.rawValue)
            case .link(let link): return (control, "link:" + link)
            }
        }
    }

    func drops(_ actions: [Machine.Action]) -> [NodeID] {
        actions.compactMap { if case .drop(let node) = $0 { node } else { nil } }
    }

    /// Ticks every 50 ms from `from` for `duration`, answering the pings of
    /// nodes in `answering`; returns every action with its time.
    func run(_ machine: inout Machine, from: Duration = .zero, for duration: Duration, answering: Set<NodeID>) -> [(Duration, Machine.Action)] {
        var log: [(Duration, Machine.Action)] = []
        var elapsed = from
        while elapsed < from + duration {
            let now = start + elapsed
            for action in machine.tick(now: now) {
                log.append((elapsed, action))
                if case .send(.heartbeat(let nonce), .member(let member)) = action, answering.contains(member.node) {
                    for reply in machine.receivedHeartbeatAck(nonce, from: member.node.name.rawValue, node: member.node, roles: .worker, now: now) {
                        log.append((elapsed, reply))
                    }
                }
            }
            elapsed += .milliseconds(50)
        }
        return log
    }

    @Test func newsIsPublishedAndAnsweredOnItsLinkStaleGossipIsNot() throws {
        var machine = Machine(local: state(me, .up), now: start)
        let first = try machine.receivedGossip([state(b, .up)], from: b, roles: .worker, on: "conn-b", now: start)
        #expect(published(first) == [state(b, .up)])
        #expect(sends(first).map(\.1) == ["link:conn-b"])
        #expect(machine.inCluster)
        let again = try machine.receivedGossip([state(b, .up)], from: b, roles: .worker, on: "conn-b", now: start)
        #expect(again.isEmpty)
    }

    /// Whether gossip of `bad` from b is refused as malformed.
    func refuses(_ machine: Machine, _ bad: MemberState) -> Bool {
        var copy = machine
        do {
            _ = try copy.receivedGossip([bad], from: b, roles: .worker, on: "b", now: start)
            return false
        } catch {
            return true
        }
    }

    @Test func anObserverHasNoSayAndImpossibleStatesAreRefused() throws {
        var machine = Machine(local: state(me, .up), now: start)
        let result1 = try machine.receivedGossip([state(b, .up)], from: b, roles: .observer, on: "o", now: start)
        #expect(result1.isEmpty)
        #expect(!machine.inCluster && machine.members.count == 1)
        var bad = state(b, .up)
        bad.endpoint = Endpoint(host: "127.0.0.1", port: 0)
        #expect(refuses(machine, bad))
        bad = state(b, .up)
        bad.labels = Dictionary(uniqueKeysWithValues: (0..<33).map { ("k\($0)", "v") })
        #expect(refuses(machine, bad))
    }

    @Test func aLiarSayingBLeftOnlyMakesThisNodeProbeB() throws {
        var machine = try machine()
        let actions = try machine.receivedGossip([state(b, .left)], from: c, roles: .worker, on: "c", now: start)
        // b is checked at once, not believed gone.
        #expect(published(actions).map(\.status) == [.suspect])
        #expect(sends(actions).contains { if case .heartbeat = $0.0 { $0.1 == "member:b" } else { false } })
        #expect(drops(actions).isEmpty)
        // b answers within the suspicion timeout: it is never declared down.
        let log = run(&machine, for: .seconds(5), answering: [b, c])
        #expect(!log.contains { if case .drop = $0.1 { true } else { false } })
        #expect(machine.member(b)?.status != .down && machine.member(b)?.status != .left)
    }

    @Test func aSilentMemberIsDroppedThenRemovedThenForgotten() throws {
        var timing = Machine.Timing()
        timing.reconnectTimeout = .seconds(4)
        timing.tombstoneTime = .seconds(3)
        var machine = try machine(timing: timing)
        let log = run(&machine, for: .seconds(12), answering: [c])
        let dropped = try #require(log.first { if case .drop(b) = $0.1 { true } else { false } })
        #expect(dropped.0 <= .seconds(2), "b dropped after \(dropped.0)")
        let statuses = log.flatMap { entry in published([entry.1]).filter { $0.node == b }.map { (entry.0, $0.status) } }
        #expect(statuses.map(\.1) == [.suspect, .down, .removed])
        // While down it is sent our view now and then (a healed partition converges).
        #expect(log.contains { if case .send(.gossip, .member(let member)) = $0.1 { member.node == b } else { false } })
        // Removed at reconnectTimeout, forgotten a tombstone time later.
        let removed = try #require(statuses.last).0
        #expect(removed - dropped.0 >= .seconds(4))
        #expect(machine.members.map(\.node) == [me, c])
        #expect(machine.member(c)?.status == .up)
    }

    @Test func aProbeMadeForAnotherMemberIsRelayedOnceOnItsLink() throws {
        var machine = try machine()
        let request = IndirectProbeMessage(sequence: 42, target: "b")
        let probe = machine.receivedPingRequest(request, requesterRoles: .worker, on: "conn-c", now: start)
        guard case .send(.heartbeat(let nonce), .member(let target))? = probe.first, probe.count == 1 else {
            Issue.record("expected one heartbeat, got \(probe)")
            return
        }
        #expect(target.node == b && nonce & Machine.relayNonceBit != 0)
        let relayed = machine.receivedHeartbeatAck(nonce, from: "b", now: start)
        #expect(sends(relayed).map(\.1) == ["link:conn-c"])
        #expect(sends(relayed).first?.0 == .relayedAck(request))
        let result2 = machine.receivedHeartbeatAck(nonce, from: "b", now: start)
        #expect(result2.isEmpty)
        // Observers, unknown and final targets, and this node itself are not probed.
        let result3 = machine.receivedPingRequest(request, requesterRoles: .observer, on: "o", now: start)
        #expect(result3.isEmpty)
        let result4 = machine.receivedPingRequest(IndirectProbeMessage(sequence: 1, target: "zz"), requesterRoles: .worker, on: "c", now: start)
        #expect(result4.isEmpty)
        let result5 = machine.receivedPingRequest(IndirectProbeMessage(sequence: 1, target: "a"), requesterRoles: .worker, on: "c", now: start)
        #expect(result5.isEmpty)
        // Unanswered relays expire with time.
        _ = machine.receivedPingRequest(request, requesterRoles: .worker, on: "conn-c", now: start)
        _ = machine.tick(now: start + .seconds(3))
        #expect(machine.outstandingProbes.relays == 0)
    }

    @Test func probesMadeForOthersAreBounded() throws {
        var machine = try machine()
        var probes = 0
        for sequence in 0..<UInt64(Machine.maxRelays + 500) {
            let actions = machine.receivedPingRequest(IndirectProbeMessage(sequence: sequence, target: "b"), requesterRoles: .worker, on: "c", now: start)
            probes += actions.count
        }
        #expect(probes == Machine.maxRelays, "a flood of requests makes at most \(Machine.maxRelays) probes")
        _ = machine.tick(now: start + .seconds(3))
        let later = machine.receivedPingRequest(IndirectProbeMessage(sequence: 1, target: "b"), requesterRoles: .worker, on: "c", now: start + .seconds(3))
        #expect(later.count == 1, "expired relays make room again")
    }

    @Test func aRelayedAckIsBelievedOnlyFromAHelperThatWasAsked() throws {
        var machine = try machine()
        // c stays silent; b is the helper asked to probe it.
        let log = run(&machine, for: .milliseconds(400), answering: [b])
        let asked = log.compactMap { entry -> IndirectProbeMessage? in
            if case .send(.pingRequest(let request), .member(let helper)) = entry.1, helper.node == b { request } else { nil }
        }
        let request = try #require(asked.first)
        #expect(request.target == "c")
        let now = start + .milliseconds(400)
        var unanswered = machine
        let result6 = machine.receivedRelayedAck(request, from: "c", now: now)
        #expect(result6.isEmpty, "c may not vouch for itself by relay")
        let result7 = machine.receivedRelayedAck(IndirectProbeMessage(sequence: request.sequence + 1, target: "c"), from: "b", now: now)
        #expect(result7.isEmpty)
        _ = machine.receivedRelayedAck(request, from: "b", now: now)
        let result8 = machine.receivedRelayedAck(request, from: "b", now: now)
        #expect(result8.isEmpty, "only once")
        // The believed ack answered c's probe; without it c is suspected now.
        let suspects = { (actions: [Machine.Action]) in self.published(actions).filter { $0.node == self.c }.map(\.status) }
        let answeredTick = machine.tick(now: now)
        let unansweredTick = unanswered.tick(now: now)
        #expect(suspects(answeredTick) == [])
        #expect(suspects(unansweredTick) == [.suspect])
    }

    @Test func leavingIsAnnouncedOnlyByAMemberOfTheCluster() throws {
        var loner = Machine(local: state(me, .up), now: start)
        let lonerLeft = loner.leave()
        #expect(!lonerLeft)
        var machine = try machine()
        let result9 = machine.leave()
        #expect(result9)
        #expect(machine.member(me)?.status == .left)
        let leftTwice = machine.leave()
        #expect(!leftTwice)
        machine.stop()
        let result10 = machine.tick(now: start + .seconds(1))
        #expect(result10.isEmpty)
        let result11 = machine.heard(from: b, now: start)
        #expect(result11.isEmpty)
    }

    @Test func gossipGoesToSomePeerEveryFourTicks() throws {
        var machine = try machine()
        let log = run(&machine, for: .seconds(1), answering: [b, c])
        let rounds = log.filter { if case .gossipToSomePeer = $0.1 { true } else { false } }
        #expect(rounds.count == 5)
    }

    @Test func aMemberVouchedForByOthersIsConfirmedWhenItIsHeardFromDirectly() throws {
        var machine = try machine()
        let d = NodeID(name: try! NodeName("d"), incarnation: 9)
        _ = try machine.receivedGossip([state(d, .up)], from: c, roles: .worker, on: "c", now: start)
        #expect(machine.member(d)?.status == .joining)
        #expect(machine.leader?.node == me)
        let heard = machine.heard(from: d, roles: .worker, now: start)
        #expect(published(heard).map(\.status) == [.up])
        #expect(heard.contains { if case .gossipToSomePeer = $0 { true } else { false } })
        // An observer's frames confirm nothing.
        let e = NodeID(name: try! NodeName("e"), incarnation: 9)
        _ = try machine.receivedGossip([state(e, .up)], from: c, roles: .worker, on: "c", now: start)
        let result12 = machine.heard(from: e, roles: .observer, now: start)
        #expect(result12.isEmpty)
        #expect(machine.member(e)?.status == .joining)
    }
}
