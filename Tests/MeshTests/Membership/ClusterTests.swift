import Foundation
import MeshTesting
import Testing
@testable import Mesh

/// In-process nodes forming a cluster over real TLS connections.
@Suite struct ClusterTests {
    func upCount(_ members: [MemberState]) -> Int { members.filter { $0.status == .up }.count }

    @Test func threeNodesFormAClusterThroughOneSeed() async throws {
        let a = try await startNode("seed-a"), b = try await startNode("join-b"), c = try await startNode("join-c")
        try await b.cluster.join([a.endpoint])
        try await c.cluster.join([a.endpoint])
        for system in [a, b, c] {
            try await waitForMembers(of: system, "\(system.node.name) to see 3 members up") { self.upCount($0) == 3 }
        }
        // Gossip spread c to b although neither dialled the other.
        #expect(b.cluster.members.map(\.node.name.rawValue) == ["join-b", "join-c", "seed-a"])
        for system in [a, b, c] { try await system.shutdown() }
    }

    @Test func aNodeThatShutsDownHasLeftEverywhereAtOnce() async throws {
        let a = try await startNode("fd-a"), b = try await startNode("fd-b"), c = try await startNode("fd-c")
        try await b.cluster.join([a.endpoint])
        try await c.cluster.join([a.endpoint])
        for system in [a, b, c] { try await waitForMembers(of: system, "formation") { self.upCount($0) == 3 } }
        let gone = c.node
        let start = ContinuousClock.now
        try await c.shutdown()
        for system in [a, b] {
            try await waitForMembers(of: system, "\(system.node.name) to see fd-c leave") { members in
                members.contains { $0.node == gone && $0.status == .left }
            }
        }
        let elapsed = ContinuousClock.now - start
        print("cluster: a node shutting down had left on both other members after \(elapsed)")
        // It left: every member says `left`, which only the node's own
        // goodbye can make (the failure detector would say `down`). The
        // time is printed above, not asserted: on a loaded 2-core machine
        // it is no measure of the protocol.
        #expect(elapsed < .seconds(10), "not a hang")
        try await a.shutdown()
        try await b.shutdown()
    }

    @Test func joiningThroughAnUnreachableSeedFails() async throws {
        let a = try await startNode("lonely")
        let closedPort = try await startNode("closing")
        let endpoint = closedPort.endpoint
        try await closedPort.shutdown()
        await #expect(throws: MeshError.self) { try await a.cluster.join([endpoint]) }
        #expect(a.cluster.members.count == 1)
        try await a.shutdown()
    }

    @Test func indirectProbesKeepAMemberThatOnlyOneNodeCannotHear() async throws {
        let faults = FaultRules()
        let a = try await startNode("ind-a") { $0.connectionTap = faults.tap }
        let b = try await startNode("ind-b"), c = try await startNode("ind-c")
        try await b.cluster.join([a.endpoint])
        try await c.cluster.join([a.endpoint])
        for system in [a, b, c] { try await waitForMembers(of: system, "formation") { self.upCount($0) == 3 } }
        let target = c.node

        // a stops hearing c's acks; b still hears c and relays for a.
        faults.drop(.heartbeatAck, from: "ind-c")
        faults.drop(.heartbeat, from: "ind-c")
        try await Task.sleep(for: .milliseconds(2500))  // the window in which, without relays, c would be declared down
        #expect(a.cluster.members.first { $0.node == target }?.status != .down)

        // Without the relayed acks too, a declares c down.
        faults.drop(.relayedAck, from: "ind-b")
        try await waitForMembers(of: a, "ind-c down on ind-a") { $0.contains { $0.node == target && $0.status == .down } }
        for system in [a, b, c] { try await system.shutdown() }
    }
}
