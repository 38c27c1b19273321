import Foundation
import MeshTesting
import NIOCore
import Testing
import Synchronization
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

/// What one member may claim about others (docs/cluster.md, "Trust"): a
/// connected peer's lies about other members are suspicions the node checks
/// itself, never evictions.
@Suite struct GossipTrustTests {
    func liar(to system: MeshActorSystem, maxFrameLength: UInt32 = 1 << 20) async throws -> RawPeer {
        let peer = try await RawPeer(connectingTo: system.endpoint, credentials: TestCertificates.credentials("liar"))
        await peer.waitForTLS()
        try await peer.sendHello(HandshakeMessage(node: NodeID(name: try NodeName("liar")), roles: .worker, maxFrameLength: maxFrameLength))
        try await within(10, "the handshake") { await peer.waitForFrames(1) }
        return peer
    }

    func gossip(_ states: [MemberState]) throws -> ByteBuffer {
        let bytes = try BinaryEncoder().encode(states)
        var buffer = ByteBuffer()
        buffer.writeFrame(.gossip) { $0.writeBytes(bytes) }
        return buffer
    }

    func with(_ member: MemberState, _ change: (inout MemberState) -> Void) -> MemberState {
        var copy = member
        change(&copy)
        return copy
    }

    @Test func claimsThatAnotherMemberLeftDiedOrRestartedDoNotEvictIt() async throws {
        let nodes = try await startCluster(["trust-a", "trust-b"])
        let (a, b) = (nodes[0], nodes[1])
        let bState = try #require(a.cluster.member(b.node))
        let seen = Mutex<[MemberStatus]>([])
        let watcher = Task {
            for await change in a.cluster.changes() where change.node == b.node { seen.withLock { $0.append(change.status) } }
        }
        let peer = try await liar(to: a)
        try await peer.send(try gossip([
            with(bState) { $0.status = .left },
            with(bState) { $0.status = .down; $0.version = .max },
            with(bState) { $0.node = NodeID(name: b.node.name, incarnation: b.node.incarnation + 1) },
        ]))
        try await peer.roundTrip()
        // The lie made trust-a suspect trust-b and check it; trust-b
        // answered and refuted: up again, at a version trust-b raised itself.
        try await waitForMembers(of: a, "trust-b refuted the suspicion") { members in
            members.contains { $0.node == b.node && $0.status == .up && $0.version >= 1 }
        }
        watcher.cancel()
        #expect(!seen.withLock { $0 }.contains { $0.isFinal }, "trust-b was never down, left or replaced on trust-a: \(seen.withLock { $0 })")
        #expect(a.cluster.member(b.node)?.version != 0 && a.cluster.member(b.node)!.version < .max, "the version did not wrap or jump")
        peer.close()
        await shutdownAll(nodes)
    }

    @Test func aMemberToldThatItLeftOrRestartedStaysAsItIs() async throws {
        let node = try await startNode("trust-self")
        let me = node.cluster.members[0]
        let peer = try await liar(to: node)
        try await peer.send(try gossip([with(me) { $0.status = .left }, with(me) { $0.status = .removed },
                                       with(me) { $0.node = NodeID(name: me.node.name, incarnation: me.node.incarnation + 1); $0.status = .left }]))
        try await peer.roundTrip()
        #expect(node.cluster.members == [me])
        peer.close()
        try await node.shutdown()
    }

    @Test func aMadeUpMemberNeverLeadsAndIsTakenDownWhenNobodyAnswers() async throws {
        let nodes = try await startCluster(["trust-lead-a", "trust-lead-b"])
        let a = nodes[0]
        let peer = try await liar(to: a)
        // "0" sorts before every real name: believed, it would lead.
        let phantom = MemberState(node: NodeID(name: try NodeName("0")), endpoint: Endpoint(host: "127.0.0.1", port: 9), roles: [.gateway, .worker], status: .up, version: 7)
        try await peer.send(try gossip([phantom]))
        try await peer.roundTrip()
        // Joining (introduced, not confirmed) until the detector declares it
        // down — never up or suspect, which would count as confirmed.
        let introduced = try #require(a.cluster.member(phantom.node))
        #expect(introduced.status == .joining || introduced.status == .down)
        #expect(introduced.version == 0)
        #expect(a.cluster.leader?.node == a.node)
        try await waitForMembers(of: a, "the phantom to be declared down") { members in
            let status = members.first { $0.node == phantom.node }?.status
            #expect(status != .up && status != .suspect, "the phantom never looks confirmed")
            return status == .down
        }
        #expect(a.cluster.leader?.node == a.node)
        peer.close()
        await shutdownAll(nodes)
    }

    @Test func gossipIsSplitToFitThePeersFrameLimit() async throws {
        let node = try await startNode("trust-split")
        let limit: UInt32 = 240
        let peer = try await liar(to: node, maxFrameLength: limit)
        let introduced = try (0..<12).map { index in
            MemberState(node: NodeID(name: try NodeName("member-\(index)")), endpoint: Endpoint(host: "127.0.0.1", port: 9),
                        roles: .worker, status: .up)
        }
        // Sent in small frames too: this node's limit is the liar's to keep.
        for pair in stride(from: 0, to: introduced.count, by: 2) { try await peer.send(try gossip(Array(introduced[pair..<pair + 2]))) }
        try await peer.roundTrip()
        let expected = Set(introduced.map(\.node.name) + [node.node.name])
        try await within(10, "the node's view of all 13 members") {
            while true {
                let names = Set(peer.frames.filter { $0.kind == .gossip }.flatMap { frame in
                    (try? BinaryDecoder().decode([MemberState].self, from: frame.payload.readableBytesView))?.map(\.node.name) ?? []
                })
                if names.isSuperset(of: expected) { return }
                await peer.waitForFrames(peer.frames.count + 1)
                if peer.isClosed { return }
            }
        }
        let gossip = peer.frames.filter { $0.kind == .gossip }
        #expect(!peer.isClosed)
        #expect(gossip.allSatisfy { $0.payload.readableBytes + 1 <= Int(limit) }, "sizes: \(gossip.map { $0.payload.readableBytes + 1 })")
        peer.close()
        try await node.shutdown()
    }

    @Test func membersThatLeftAreForgottenAfterTheTombstoneTime() async throws {
        let nodes = try await startCluster(["trust-tomb-a", "trust-tomb-b"]) { name, settings in
            if name == "trust-tomb-a" { settings.tombstoneTime = .milliseconds(300) }
        }
        let (a, b) = (nodes[0], nodes[1])
        let gone = b.node
        let changes = a.cluster.changes()
        try await b.shutdown()
        try await within(10, "trust-tomb-b to have left") {
            for await change in changes where change.node == gone && change.status == .left { return }
        }
        try await within(10, "trust-tomb-b to be forgotten") {
            while a.cluster.members.contains(where: { $0.node == gone }) { try await Task.sleep(for: .milliseconds(50)) }
        }
        try await a.shutdown()
    }
}
