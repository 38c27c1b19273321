import Testing
@testable import Mesh

@Suite struct MembershipTests {
    let endpoint = Endpoint(host: "127.0.0.1", port: 7000)

    func state(_ name: String, _ incarnation: UInt64, _ status: MemberStatus, version: UInt32 = 0) -> MemberState {
        MemberState(node: NodeID(name: try! NodeName(name), incarnation: incarnation), endpoint: endpoint, roles: .worker, status: status, version: version)
    }

    func view() -> Membership { Membership(local: state("self", 10, .up)) }

    /// The update as its own member's claim.
    func own(_ update: MemberState) -> Membership.Source { .member(update.node) }
    let liar = Membership.Source.member(NodeID(name: try! NodeName("liar"), incarnation: 77))

    @Test func aMemberGoesJoiningUpSuspectDownRemoved() {
        var m = view()
        #expect(m.merge(state("w", 5, .joining), from: .local) == .updated(state("w", 5, .joining)))
        #expect(m.merge(state("w", 5, .up), from: .local) != nil)
        #expect(m.merge(state("w", 5, .suspect), from: .local) != nil)
        #expect(m.merge(state("w", 5, .down), from: .local) != nil)
        #expect(m.merge(state("w", 5, .removed), from: .local) != nil)
        #expect(m.members[try! NodeName("w")]?.status == .removed)
    }

    @Test func leftAndRemovedNeverGoBackAndDownOnlyThroughTheMemberItself() {
        var m = view()
        _ = m.merge(state("w", 5, .down, version: 2), from: .local)
        for status in [MemberStatus.joining, .up, .suspect] {
            let update = state("w", 5, status, version: 2)
            #expect(m.merge(update, from: own(update)) == nil, "down → \(status) at the same version")
        }
        // The member refuted its own downing (a healed partition): it is back.
        let back = state("w", 5, .up, version: 3)
        #expect(m.merge(back, from: own(back)) == .updated(back))
        _ = m.merge(state("r", 5, .removed), from: .local)
        let revived = state("r", 5, .up, version: 99)
        #expect(m.merge(revived, from: own(revived)) == nil)
        let left = state("l", 5, .left)
        _ = m.merge(left, from: own(left))
        let returned = state("l", 5, .up, version: 3)
        #expect(m.merge(returned, from: own(returned)) == nil)
        #expect(m.merge(state("l", 5, .down), from: .local) == nil)  // left is not worse news than down... only forward by rank
        #expect(m.merge(state("l", 5, .removed), from: .local) != nil)
    }

    @Test func aSuspectIsClearedOnlyByAHigherVersionFromTheMemberItself() {
        var m = view()
        _ = m.merge(state("w", 5, .suspect, version: 2), from: .local)
        let same = state("w", 5, .up, version: 2)
        #expect(m.merge(same, from: own(same)) == nil)
        let higher = state("w", 5, .up, version: 3)
        #expect(m.merge(higher, from: liar) == nil, "a refutation relayed by another member is not believed")
        #expect(m.merge(higher, from: own(higher)) == .updated(higher))
        #expect(m.merge(state("w", 5, .suspect, version: 2), from: .local) == nil)  // older news
    }

    @Test func theLocalNodeRefutesSuspicionOfItselfWithoutWrapping() {
        var m = view()
        let change = m.merge(state("self", 10, .suspect, version: 4), from: liar)
        #expect(change == .refuted(state("self", 10, .up, version: 1)), "its own version + 1, not the claim's")
        #expect(m.members[try! NodeName("self")] == state("self", 10, .up, version: 1))
        // A down claim at the highest version cannot wrap the refutation to 0.
        var top = Membership(local: state("self", 10, .up, version: .max - 1))
        #expect(top.merge(state("self", 10, .down, version: .max), from: liar) == .refuted(state("self", 10, .up, version: .max)))
        #expect(top.merge(state("self", 10, .down, version: .max), from: liar) == .refuted(state("self", 10, .up, version: .max)))
        // Everyone else accepts the refutation over their suspicion.
        var other = Membership(local: state("other", 1, .up))
        _ = other.merge(state("self", 10, .suspect, version: 4), from: .local)
        let refutation = state("self", 10, .up, version: 5)
        #expect(other.merge(refutation, from: own(refutation)) != nil)
    }

    @Test func nobodyElseCanMakeTheLocalNodeLeaveOrRestart() {
        var m = view()
        for claim in [state("self", 10, .left), state("self", 10, .removed), state("self", 11, .up), state("self", 11, .left)] {
            #expect(m.merge(claim, from: liar) == nil, "\(claim)")
            #expect(m.merge(claim, from: .member(claim.node)) == nil, "someone claiming our name: \(claim)")
        }
        #expect(m.members[try! NodeName("self")] == state("self", 10, .up))
    }

    @Test func claimsAboutAnotherMemberAreOnlySuspicion() {
        var m = view()
        let w = state("w", 5, .up, version: 3)
        _ = m.merge(w, from: own(w))
        for claim in [state("w", 5, .left, version: 3), state("w", 5, .down, version: 9), state("w", 5, .removed, version: 3),
                      state("w", 5, .suspect, version: 3), state("w", 6, .up), state("w", 6, .left)] {
            #expect(m.merge(claim, from: liar) == .suspected(w.node), "\(claim)")
            #expect(m.members[try! NodeName("w")] == w, "\(claim) changed nothing")
        }
        #expect(m.merge(state("w", 5, .down, version: 2), from: liar) == nil, "stale news")
        #expect(m.merge(state("w", 5, .up, version: 9), from: liar) == nil, "good news is not the liar's to give")
        #expect(m.merge(state("w", 4, .down, version: 9), from: liar) == nil, "an older start")
    }

    @Test func aMemberIntroducedByAnotherIsJoiningUntilItSpeaksForItself() {
        var m = view()
        let claimed = state("n", .max, .up, version: .max)
        #expect(m.merge(claimed, from: liar) == .updated(state("n", .max, .joining)), "joining, at version 0")
        #expect(m.merge(state("gone", 3, .left), from: liar) == nil, "nobody introduces a member that has already left")
        // The member's own claim wins whatever start the introducer named.
        let real = state("n", 4, .up)
        #expect(m.merge(real, from: own(real)) == .replaced(old: state("n", .max, .joining), new: real))
        let older = state("n", 3, .up)
        #expect(m.merge(older, from: own(older)) == nil, "an older start over a confirmed member")
        // After it was down, another start may be introduced (unconfirmed again).
        _ = m.merge(state("n", 4, .down), from: .local)
        #expect(m.merge(state("n", 8, .up), from: liar) == .replaced(old: state("n", 4, .down), new: state("n", 8, .joining)))
    }

    @Test func introductionsStopAtTheMemberLimit() {
        var m = Membership(local: state("self", 10, .up), maxMembers: 3)
        for name in ["a", "b", "c", "d"] { _ = m.merge(state(name, 1, .up), from: liar) }
        #expect(m.members.count == 3)
        let own = state("e", 1, .up)
        #expect(m.merge(own, from: self.own(own)) != nil, "a member speaking for itself is not an introduction")
    }

    @Test func onlyMembersThatLeftOrWereRemovedAreForgotten() {
        var m = view()
        for (name, status) in [("u", MemberStatus.up), ("d", .down), ("l", .left), ("r", .removed)] {
            _ = m.merge(state(name, 1, status), from: .local)
            m.forget(try! NodeName(name))
        }
        m.forget(try! NodeName("self"))
        #expect(Set(m.members.keys.map(\.rawValue)) == ["self", "u", "d"])
    }

    @Test func aRestartedNodeReplacesItsOldIncarnation() {
        var m = view()
        let first = state("w", 5, .up)
        _ = m.merge(first, from: own(first))
        let restart = state("w", 9, .joining)
        #expect(m.merge(restart, from: own(restart)) == .replaced(old: first, new: restart))
        let stale = state("w", 5, .up, version: 50)
        #expect(m.merge(stale, from: own(stale)) == nil, "news of the old start is stale")
    }

    @Test func viewsConvergeWhateverTheOrder() {
        let updates: [(MemberState, Membership.Source)] = [
            (state("a", 1, .joining), .local), (state("a", 1, .up), .local), (state("a", 1, .suspect, version: 0), .local),
            (state("a", 1, .up, version: 1), .member(state("a", 1, .up).node)),
            (state("b", 2, .up), .local), (state("b", 2, .down), .local), (state("b", 3, .joining), .member(state("b", 3, .up).node)),
            (state("c", 4, .up), .local), (state("c", 4, .left), .member(state("c", 4, .up).node)),
            (state("d", 5, .suspect, version: 2), .local), (state("d", 5, .down, version: 2), .local),
            (state("d", 5, .up, version: 3), .member(state("d", 5, .up).node)),
            (state("a", 1, .left), liar), (state("d", 5, .down, version: 9), liar), (state("e", 6, .up, version: 7), liar),
        ]
        var reference = view()
        for (update, source) in updates { _ = reference.merge(update, from: source) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var m = view()
            for (update, source) in updates.shuffled(using: &generator) { _ = m.merge(update, from: source) }
            #expect(m.members == reference.members)
        }
        #expect(reference.members[try! NodeName("a")]?.status == .up, "a liar's leave is not believed")
        #expect(reference.members[try! NodeName("b")]?.node.incarnation == 3)
        #expect(reference.members[try! NodeName("c")]?.status == .left)
        #expect(reference.members[try! NodeName("d")] == state("d", 5, .up, version: 3), "revived after a heal")
        #expect(reference.members[try! NodeName("e")] == state("e", 6, .joining), "introduced, unconfirmed")
    }

    @Test func incarnationsOfLaterStartsCompareGreater() async throws {
        let first = NodeID.newIncarnation()
        try await Task.sleep(for: .milliseconds(2))
        #expect(NodeID.newIncarnation() > first)
    }
}
