import Foundation
import MeshTesting
import NIOCore
import Testing
@testable import Mesh

/// Gossip frames with states that cannot be, and joins that claim another
/// start of an existing member: the node stays up, keeps its own identity
/// and keeps serving.
@Suite struct GossipBadInputTests {
    func peer(to system: MeshActorSystem, as node: NodeID) async throws -> RawPeer {
        let peer = try await RawPeer(connectingTo: system.endpoint, credentials: TestCertificates.credentials(node.name.rawValue))
        await peer.waitForTLS()
        try await peer.sendHello(HandshakeMessage(node: node, roles: .worker, maxFrameLength: 1 << 20))
        try await within(10, "the handshake") { await peer.waitForFrames(1) }
        return peer
    }

    func gossip(_ bytes: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeFrame(.gossip) { $0.writeBytes(bytes) }
        return buffer
    }

    func gossip(_ states: [MemberState]) throws -> ByteBuffer { gossip(try BinaryEncoder().encode(states)) }

    @Test func undecodableOrImpossibleGossipClosesTheConnectionAndTheNodeGoesOn() async throws {
        let node = try await startNode("gossip-target")
        var impossibleStatus = try BinaryEncoder().encode([node.cluster.members[0]])
        // The status byte of the only member, set to a value no status has.
        let statusIndex = try #require(impossibleStatus.lastIndex(of: MemberStatus.up.rawValue))
        impossibleStatus[statusIndex] = 9
        var unreachable = node.cluster.members[0]
        unreachable.node = NodeID(name: try NodeName("ghost"))
        unreachable.endpoint = Endpoint(host: "127.0.0.1", port: 70000)
        for frame in [gossip([0xFF, 0x00, 0x13]), gossip(impossibleStatus), try gossip([unreachable])] {
            let sender = try await peer(to: node, as: NodeID(name: try NodeName("gossip-sender")))
            try await sender.send(frame)
            try await within(10, "the node to close the connection") { await sender.waitForClose() }
        }
        #expect(node.cluster.members.map(\.node) == [node.node], "nothing from those frames was merged")
        let client = try await startNode("gossip-client")
        let probe = ProbeActor(actorSystem: node)
        #expect(try await ProbeActor.resolve(id: probe.id, using: client).add(1, 1) == 2)
        try await client.shutdown()
        try await node.shutdown()
    }

    @Test func gossipThatSaysTheNodeItselfIsDownOrRestartedDoesNotMoveIt() async throws {
        let node = try await startNode("gossip-self")
        let sender = try await peer(to: node, as: NodeID(name: try NodeName("gossip-liar")))
        var me = node.cluster.members[0]
        me.status = .down
        var usurper = node.cluster.members[0]
        usurper.node = NodeID(name: node.node.name, incarnation: node.node.incarnation + 1)
        try await sender.send(try gossip([me, usurper]))
        // It answers the news with its refutation: itself, up, at a higher version.
        try await within(10, "the refutation") { await sender.waitForFrames(2) }
        let answer = try #require(sender.frames.last)
        #expect(answer.kind == .gossip)
        let view = try BinaryDecoder().decode([MemberState].self, from: answer.payload.readableBytesView)
        let itself = try #require(view.first { $0.node.name == node.node.name })
        #expect(itself.node == node.node && itself.status == .up && itself.version == 1)
        #expect(!sender.isClosed)
        sender.close()
        try await node.shutdown()
    }

    @Test func aJoinClaimingAnExistingMembersNameWithAnotherIncarnation() async throws {
        let nodes = try await startCluster(["inc-a", "inc-b"])
        let a = nodes[0]
        let original = nodes[1].node
        // An earlier start of inc-b than the one that is a member: refused.
        let older = try await RawPeer(connectingTo: a.endpoint, credentials: TestCertificates.credentials("inc-b"))
        await older.waitForTLS()
        try await older.sendHello(HandshakeMessage(node: NodeID(name: original.name, incarnation: original.incarnation - 1), roles: .worker, maxFrameLength: 1 << 20))
        try await within(10, "the older start to be refused") { await older.waitForClose() }
        #expect(a.cluster.isAlive(original), "the member it claimed to be is still the member")
        // A later start of inc-b (a restart) replaces it: the old one is down.
        let restarted = try await startNode("inc-b")
        try await restarted.cluster.join([a.endpoint])
        try await waitForMembers(of: a, "the restart to replace inc-b") { members in
            members.contains { $0.node == restarted.node && $0.status == .up }
        }
        #expect(a.cluster.member(original) == nil, "only the newest start of a name is a member")
        #expect(!a.cluster.isAlive(original))
        await shutdownAll([a, restarted, nodes[1]])
    }
}
