import Testing
@testable import Mesh

/// The failure detector driven by a fake clock: every scenario is exact and
/// takes no real time.
@Suite struct FailureDetectorTests {
    let start = ContinuousClock.now
    let b = NodeID(name: try! NodeName("b"), incarnation: 1)
    let c = NodeID(name: try! NodeName("c"), incarnation: 1)
    let d = NodeID(name: try! NodeName("d"), incarnation: 1)

    /// Runs the detector in 10 ms steps for `duration`, answering every ping
    /// of a node for which `answers(node, time)` holds; returns what it said, with times.
    func run(
        _ detector: inout FailureDetector, from: Duration = .zero, for duration: Duration,
        answers: (NodeID, Duration) -> Bool
    ) -> [(Duration, FailureDetector.Action)] {
        var log: [(Duration, FailureDetector.Action)] = []
        var elapsed = from
        while elapsed < from + duration {
            let now = start + elapsed
            for action in detector.tick(now: now) {
                log.append((elapsed, action))
                if case .ping(let node, let sequence) = action, answers(node, elapsed) {
                    for reply in detector.ack(from: node, sequence: sequence, now: now) { log.append((elapsed, reply)) }
                }
            }
            elapsed += .milliseconds(10)
        }
        return log
    }

    func detector() -> FailureDetector {
        var detector = FailureDetector(now: start)
        for node in [b, c, d] { detector.add(node) }
        return detector
    }

    @Test func healthyMembersAreNeverSuspected() {
        var fd = detector()
        let log = run(&fd, for: .seconds(10)) { _, _ in true }
        #expect(!log.contains { if case .suspect = $0.1 { true } else { false } })
        let pings = log.filter { if case .ping = $0.1 { true } else { false } }
        #expect(pings.count == 50)  // one per 200 ms, round robin
        #expect(fd.members.values.allSatisfy { $0 == .alive })
    }

    @Test func aCrashedMemberIsDownWithinTwoSeconds() {
        var fd = detector()
        let crash = Duration.milliseconds(1234)
        let log = run(&fd, for: .seconds(5)) { node, time in node != c || time < crash }
        let down = log.first { $0.1 == .down(c) }
        let detected = try! #require(down).0 - crash
        #expect(detected <= .seconds(2), "down after \(detected)")
        #expect(fd.members[c] == .down && fd.members[b] == .alive && fd.members[d] == .alive)
        // Indirect probes went through the other members before suspicion.
        #expect(log.contains { if case .pingRequest(target: c, via: b, _) = $0.1 { true } else { false } })
        // A down member is no longer probed.
        let afterDown = log.filter { $0.0 > down!.0 }
        #expect(!afterDown.contains { if case .ping(c, _) = $0.1 { true } else { false } })
    }

    @Test func aPauseShorterThanTheThresholdIsForgiven() {
        var fd = detector()
        let pause = Duration.seconds(1)..<Duration.milliseconds(1700)
        let log = run(&fd, for: .seconds(6)) { node, time in node != c || !pause.contains(time) }
        #expect(!log.contains { $0.1 == .down(c) })
        #expect(fd.members[c] == .alive)
        // It may have been suspected meanwhile, and then cleared.
        if log.contains(where: { $0.1 == .suspect(c) }) { #expect(log.contains { $0.1 == .alive(c) }) }
    }

    @Test func aDroppedConnectionStartsSuspicionAtOnce() {
        var fd = detector()
        _ = fd.tick(now: start)
        #expect(fd.connectionLost(to: d, now: start + .milliseconds(5)) == [.suspect(d)])
        #expect(fd.tick(now: start + .milliseconds(900)).contains(.down(d)) == false)
        #expect(fd.tick(now: start + .milliseconds(1005)).contains(.down(d)))
        // A suspect that speaks again is alive.
        var other = detector()
        _ = other.connectionLost(to: b, now: start)
        #expect(other.heard(from: b, now: start + .milliseconds(300)) == [.alive(b)])
        #expect(!other.tick(now: start + .seconds(2)).contains(.down(b)))
    }

    @Test func removedMembersAreForgotten() {
        var fd = detector()
        fd.remove(c)
        let log = run(&fd, for: .seconds(2)) { _, _ in true }
        #expect(!log.contains { if case .ping(c, _) = $0.1 { true } else { false } })
        #expect(fd.members[c] == nil)
    }

    @Test func aReportThatAMemberIsDownIsASuspicionCheckedWithAPingAtOnce() throws {
        let start = ContinuousClock.now
        var detector = FailureDetector(now: start)
        let node = NodeID(name: try NodeName("w"), incarnation: 1)
        detector.add(node)
        let actions = detector.reportedDown(node, now: start)
        #expect(actions.first == .suspect(node))
        guard case .ping(node, let sequence)? = actions.last else {
            Issue.record("no immediate ping in \(actions)")
            return
        }
        // It answers: alive again, and never declared down.
        #expect(detector.ack(from: node, sequence: sequence, now: start + .milliseconds(5)) == [.alive(node)])
        #expect(!detector.tick(now: start + .milliseconds(1500)).contains(.down(node)))
        #expect(detector.reportedDown(node, now: start + .milliseconds(1501)).count == 2)
        #expect(detector.reportedDown(node, now: start + .milliseconds(1502)).isEmpty, "already suspected")
        // Reported again and silent: down one suspicion timeout after the report.
        #expect(!detector.tick(now: start + .milliseconds(2400)).contains(.down(node)))
        #expect(detector.tick(now: start + .milliseconds(2501)).contains(.down(node)))
    }
}
