import Testing
@testable import Mesh

/// A relayed ack is believed only from a helper that was asked, for the
/// target and sequence it was asked about, once, before it expires.
struct IndirectProbeRequestsTests {
    @Test func onlyTheAskedHelperForTheOutstandingTargetAndSequence() {
        let now = ContinuousClock.now
        var requests = IndirectProbeRequests()
        requests.asked("helper-1", toProbe: "b", sequence: 7, until: now + .seconds(1))
        requests.asked("helper-2", toProbe: "b", sequence: 7, until: now + .seconds(1))
        do { let believed = requests.accept(sequence: 7, target: "b", from: "liar", now: now); #expect(!believed, "a peer nobody asked") }
        do { let believed = requests.accept(sequence: 7, target: "c", from: "helper-1", now: now); #expect(!believed, "another target") }
        do { let believed = requests.accept(sequence: 8, target: "b", from: "helper-1", now: now); #expect(!believed, "another sequence") }
        do { let believed = requests.accept(sequence: 7, target: "b", from: "helper-2", now: now); #expect(believed) }
        do { let believed = requests.accept(sequence: 7, target: "b", from: "helper-1", now: now); #expect(!believed, "once: the request is closed") }
    }

    @Test func expiredRequestsAreNotAnsweredAndTheTableStaysBounded() {
        let now = ContinuousClock.now
        var requests = IndirectProbeRequests()
        requests.asked("helper", toProbe: "b", sequence: 1, until: now + .milliseconds(400))
        do { let believed = requests.accept(sequence: 1, target: "b", from: "helper", now: now + .seconds(1)); #expect(!believed, "expired") }
        requests.expire(now: now + .seconds(1))
        #expect(requests.count == 0)
        for sequence in 0..<UInt64(IndirectProbeRequests.limit * 3) {
            requests.asked("helper", toProbe: "b", sequence: sequence, until: now + .seconds(1))
        }
        #expect(requests.count == IndirectProbeRequests.limit)
    }
}
