import Testing
@testable import Mesh

@Suite struct MembershipTests {
    let endpoint = Endpoint(host: "127.0.0.1", port: 7000)

    func state(_ name: String, _ incarnation: UInt64, _ status: MemberStatus, version: UInt32 = 0) -> MemberState {
        MemberState(node: NodeID(name: try! NodeName(name), incarnation: incarnation), endpoint: endpoint, roles: .worker, status: status, version: version)
    }

    func view() -> Membership { Membership(local: state("self", 10, .up)) }

    @Test func aMemberGoesJoiningUpSuspectDownRemoved() {
        var m = view()
        #expect(m.merge(state("w", 5, .joining)) == .updated(state("w", 5, .joining)))
        #expect(m.merge(state("w", 5, .up)) != nil)
        #expect(m.merge(state("w", 5, .suspect)) != nil)
        #expect(m.merge(state("w", 5, .down)) != nil)
        #expect(m.merge(state("w", 5, .removed)) != nil)
        #expect(m.members[try! NodeName("w")]?.status == .removed)
    }

    @Test func leftAndRemovedNeverGoBackAndDownOnlyThroughTheMemberItself() {
        var m = view()
        _ = m.merge(state("w", 5, .down, version: 2))
        for status in [MemberStatus.joining, .up, .suspect] {
            #expect(m.merge(state("w", 5, status, version: 2)) == nil, "down → \(status) at the same version")
        }
        // The member refuted its own downing (a healed partition): it is back.
        #expect(m.merge(state("w", 5, .up, version: 3)) == .updated(state("w", 5, .up, version: 3)))
        _ = m.merge(state("r", 5, .removed))
        #expect(m.merge(state("r", 5, .up, version: 99)) == nil)
        _ = m.merge(state("l", 5, .left))
        #expect(m.merge(state("l", 5, .up, version: 3)) == nil)
        #expect(m.merge(state("l", 5, .down)) == nil)  // left is not worse news than down... only forward by rank
        #expect(m.merge(state("l", 5, .removed)) != nil)
    }

    @Test func aSuspectIsClearedOnlyByAHigherVersion() {
        var m = view()
        _ = m.merge(state("w", 5, .suspect, version: 2))
        #expect(m.merge(state("w", 5, .up, version: 2)) == nil)
        #expect(m.merge(state("w", 5, .up, version: 3)) == .updated(state("w", 5, .up, version: 3)))
        #expect(m.merge(state("w", 5, .suspect, version: 2)) == nil)  // older news
    }

    @Test func theLocalNodeRefutesSuspicionOfItself() {
        var m = view()
        let change = m.merge(state("self", 10, .suspect, version: 4))
        #expect(change == .refuted(state("self", 10, .up, version: 5)))
        #expect(m.members[try! NodeName("self")] == state("self", 10, .up, version: 5))
        // Everyone else accepts the refutation over the suspicion.
        var other = Membership(local: state("other", 1, .up))
        _ = other.merge(state("self", 10, .suspect, version: 4))
        #expect(other.merge(state("self", 10, .up, version: 5)) != nil)
    }

    @Test func aRestartedNodeReplacesItsOldIncarnation() {
        var m = view()
        _ = m.merge(state("w", 5, .up))
        #expect(m.merge(state("w", 9, .joining)) == .replaced(old: state("w", 5, .up), new: state("w", 9, .joining)))
        #expect(m.merge(state("w", 5, .up, version: 50)) == nil, "news of the old start is stale")
        // Nobody can take over the local node's name by claiming a newer start.
        #expect(m.merge(state("self", 11, .up)) == nil)
    }

    @Test func viewsConvergeWhateverTheOrder() {
        let updates = [state("a", 1, .joining), state("a", 1, .up), state("a", 1, .suspect, version: 0), state("a", 1, .up, version: 1),
                       state("b", 2, .up), state("b", 2, .down), state("b", 3, .joining), state("c", 4, .up), state("c", 4, .left),
                       state("d", 5, .suspect, version: 2), state("d", 5, .down, version: 2), state("d", 5, .up, version: 3)]
        var reference = view()
        for update in updates { _ = reference.merge(update) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var m = view()
            for update in updates.shuffled(using: &generator) { _ = m.merge(update) }
            #expect(m.members == reference.members)
        }
        #expect(reference.members[try! NodeName("a")]?.status == .up)
        #expect(reference.members[try! NodeName("b")]?.node.incarnation == 3)
        #expect(reference.members[try! NodeName("c")]?.status == .left)
        #expect(reference.members[try! NodeName("d")] == state("d", 5, .up, version: 3), "revived after a heal")
    }

    @Test func incarnationsOfLaterStartsCompareGreater() async throws {
        let first = NodeID.newIncarnation()
        try await Task.sleep(for: .milliseconds(2))
        #expect(NodeID.newIncarnation() > first)
    }
}
