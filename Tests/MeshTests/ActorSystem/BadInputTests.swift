import Distributed
import Foundation
import NIOCore
import MeshTesting
import Synchronization
import Testing
@testable import Mesh

/// Hostile or broken peers: each gets its connection closed (with a reason
/// where the protocol allows one) and the node keeps serving its other peers.
@Suite struct MeshBadInputTests {
    /// A node with a greeter, and a healthy client that checks it still answers.
    struct Fixture {
        let server: MeshActorSystem
        let client: MeshActorSystem
        let greeter: Greeter
        let remote: Greeter

        init() async throws {
            server = try await startNode("target-\(UInt16.random(in: 0...UInt16.max))")
            client = try await startNode("healthy-\(UInt16.random(in: 0...UInt16.max))")
            greeter = Greeter(actorSystem: server)
            remote = try Greeter.resolve(id: greeter.id, using: client)
        }

        func stillServes() async throws {
            #expect(try await remote.add(2, 3) == 5)
        }

        func stop() async throws {
            try await client.shutdown()
            try await server.shutdown()
        }
    }

    func hello(_ name: String, major: UInt16 = WireVersion.major) -> HandshakeMessage {
        HandshakeMessage(node: NodeID(name: try! NodeName(name)), roles: .worker, maxFrameLength: 1 << 20, versionMajor: major)
    }

    /// Connects as `name` with a valid certificate and completes the handshake.
    func handshaken(_ fixture: Fixture, as name: String) async throws -> RawPeer {
        let peer = try await RawPeer(connectingTo: fixture.server.endpoint, credentials: TestCertificates.credentials(name))
        await peer.waitForTLS()
        try await peer.sendHello(hello(name))
        try await within(10, "welcome") { await peer.waitForFrames(1) }
        #expect(peer.frames.first?.kind == .welcome)
        return peer
    }

    @Test func randomBytesToTheMeshPort() async throws {
        let fixture = try await Fixture()
        let peer = try await RawPeer(connectingTo: fixture.server.endpoint, credentials: nil)
        var generator = SystemRandomNumberGenerator()
        try await peer.send((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try await within(15, "the node to close the connection") { await peer.waitForClose() }
        try await fixture.stillServes()
        try await fixture.stop()
    }

    @Test func aTLSClientWithoutACertificate() async throws {
        let fixture = try await Fixture()
        let peer = try await RawPeer(withoutClientCertificateTo: fixture.server.endpoint, trusting: TestCertificates.ca.certificatePEM)
        try? await peer.send([0, 0, 0, 1, 0x20])
        try await within(15, "the node to close the connection") { await peer.waitForClose() }
        #expect(peer.frames.isEmpty)
        try await fixture.stillServes()
        try await fixture.stop()
    }

    @Test func aCertificateFromAnotherCA() async throws {
        let fixture = try await Fixture()
        let foreign = TestCertificates.credentials("intruder", ca: TestCertificates.otherCA)
        let peer = try await RawPeer(connectingTo: fixture.server.endpoint, credentials: foreign)
        try? await peer.sendHello(hello("intruder"))
        try await within(15, "the node to close the connection") { await peer.waitForClose() }
        #expect(!peer.frames.contains { $0.kind == .welcome })
        // And a node of another cluster cannot be reached from this one.
        let stranger = try await MeshActorSystem.start(
            MeshSettings(name: try NodeName("stranger"), credentials: TestCertificates.credentials("stranger", ca: TestCertificates.otherCA)))
        let ghost = try Greeter.resolve(id: MeshActorID(node: stranger.node, endpoint: stranger.endpoint, path: "/x"), using: fixture.client)
        await #expect(throws: MeshError.self) { try await ghost.greet("?") }
        try await stranger.shutdown()
        try await fixture.stillServes()
        try await fixture.stop()
    }

    @Test func aValidCertificateClaimingAnotherNodesName() async throws {
        let fixture = try await Fixture()
        let peer = try await RawPeer(connectingTo: fixture.server.endpoint, credentials: TestCertificates.credentials("mallory"))
        await peer.waitForTLS()
        try await peer.sendHello(hello(fixture.client.node.name.rawValue))
        try await within(10, "the reject") { await peer.waitForClose() }
        let reject = try #require(peer.frames.first)
        #expect(reject.kind == .reject)
        var payload = reject.payload
        let message = try CloseMessage.read(from: &payload, kind: .reject)
        #expect(message.code == HandshakeRejection.identityMismatch.rawValue)
        #expect(message.reason.contains("mallory"))
        try await fixture.stillServes()
        try await fixture.stop()
    }

    @Test func aWrongProtocolVersion() async throws {
        let fixture = try await Fixture()
        let peer = try await RawPeer(connectingTo: fixture.server.endpoint, credentials: TestCertificates.credentials("future"))
        await peer.waitForTLS()
        try await peer.sendHello(hello("future", major: WireVersion.major + 1))
        try await within(10, "the reject") { await peer.waitForClose() }
        var payload = try #require(peer.frames.first).payload
        #expect(try CloseMessage.read(from: &payload, kind: .reject).code == HandshakeRejection.versionMismatch.rawValue)
        try await fixture.stillServes()
        try await fixture.stop()
    }

    @Test func aTruncatedFrameThenSilenceIsClosedByTheHandshakeTimer() async throws {
        let server = try await startNode("patient") { $0.handshakeTimeout = .seconds(2) }
        let peer = try await RawPeer(connectingTo: server.endpoint, credentials: TestCertificates.credentials("slowpoke"))
        await peer.waitForTLS()
        // Promises 50 bytes, sends 4. (On a very busy machine the timer may
        // already have closed the connection: the send then fails, and the
        // connection is closed all the same.)
        try? await peer.send([0, 0, 0, 50, 0x01, 1, 2, 3])
        try await within(10, "the handshake timer to close it") { await peer.waitForClose() }
        try await server.shutdown()
    }

    @Test func aFrameDeclaringFourGibibytes() async throws {
        let fixture = try await Fixture()
        let peer = try await handshaken(fixture, as: "greedy")
        try await peer.send([0xFF, 0xFF, 0xFF, 0xFF, 0x10])
        try await within(10, "the goodbye") { await peer.waitForClose() }
        let goodbye = try #require(peer.frames.last)
        #expect(goodbye.kind == .goodbye)
        var payload = goodbye.payload
        #expect(try CloseMessage.read(from: &payload, kind: .goodbye).reason.contains("exceeds the limit"))
        try await fixture.stillServes()
        try await fixture.stop()
    }

    @Test func aReplyForAnUnknownCallIdIsIgnored() async throws {
        let fixture = try await Fixture()
        let peer = try await handshaken(fixture, as: "confused")
        var frames = ByteBuffer()
        ReplyMessage.write(callID: 987_654, value: [1, 2, 3], into: &frames)
        frames.writeFrame(.heartbeat) { $0.writeInteger(UInt64(77)) }
        try await peer.send(frames)
        // The heartbeat after it is still answered: the connection lives on.
        try await within(10, "the heartbeat ack") { await peer.waitForFrames(2) }
        let ack = try #require(peer.frames.last)
        #expect(ack.kind == .heartbeatAck)
        #expect(ack.payload.getInteger(at: ack.payload.readerIndex, as: UInt64.self) == 77)
        #expect(!peer.isClosed)
        try await fixture.stillServes()
        peer.close()
        try await fixture.stop()
    }

    @Test func aCallForAnUnknownActorIsNotAnsweredWithItsOwnHugePath() async throws {
        let fixture = try await Fixture()
        let peer = try await handshaken(fixture, as: "amplifier")
        var encoder = CallFrameEncoder()
        var buffer = ByteBuffer()
        let path = "/" + String(repeating: "x", count: 60_000)
        encoder.writeCall(oneWay: false, callID: 1, timeoutMillis: 0, recipient: WireRecipient(incarnation: fixture.server.node.incarnation, path: path),
                          target: "x", arguments: [], into: &buffer)
        let sent = buffer.readableBytes
        try await peer.send(buffer)
        try await within(10, "the failure reply") { await peer.waitForFrames(2) }
        let reply = try #require(peer.frames.last)
        #expect(reply.kind == .failure)
        #expect(reply.payload.readableBytes <= Association.State.maxErrorTextBytes * 2 + 64, "a \(reply.payload.readableBytes)-byte reply to a \(sent)-byte call")
        var payload = reply.payload
        let failure = try FailureMessage.read(from: &payload)
        #expect(failure.code == WireErrorCode.actorNotFound.rawValue && failure.message.hasSuffix("…"))
        peer.close()
        try await fixture.stop()
    }

    @Test func targetsThatAreNoDistributedFunctionNeverReachTheRuntime() async throws {
        let fixture = try await Fixture()
        try await fixture.stillServes()  // a real target: allowed, handed to the runtime
        #expect(fixture.server.runtimeInvocations.load(ordering: .relaxed) == 1)
        let peer = try await handshaken(fixture, as: "demangler")
        // Deeply nested generic types and a long made-up name: what the
        // runtime would have demangled and instantiated.
        let nested = "$s" + String(repeating: "Say", count: 2000) + "SiG" + String(repeating: "G", count: 1999) + "TE"
        let bogus = [nested, "$s4Mesh7GreeterC3addyS2i_SitFTE_", "", String(repeating: "x", count: 60_000)]
        var encoder = CallFrameEncoder()
        for (index, target) in bogus.enumerated() {
            var buffer = ByteBuffer()
            encoder.writeCall(oneWay: false, callID: UInt64(index + 1), timeoutMillis: 0,
                              recipient: WireRecipient(incarnation: fixture.server.node.incarnation, path: fixture.greeter.id.path),
                              target: target, arguments: [], into: &buffer)
            try await peer.send(buffer)
        }
        try await within(10, "four failures") { await peer.waitForFrames(1 + bogus.count) }
        for frame in peer.frames.dropFirst() {
            var payload = frame.payload
            #expect(try FailureMessage.read(from: &payload).code == WireErrorCode.unknownTarget.rawValue)
        }
        #expect(fixture.server.runtimeInvocations.load(ordering: .relaxed) == 1, "none of them reached executeDistributedTarget")
        try await fixture.stillServes()
        #expect(fixture.server.runtimeInvocations.load(ordering: .relaxed) == 2)
        peer.close()
        try await fixture.stop()
    }

    @Test func aPartialFrameAfterTheHandshakeIsClosedAtTheFrameDeadline() async throws {
        let node = try await startNode("frame-deadline") { $0.frameTimeout = .milliseconds(300) }
        let peer = try await RawPeer(connectingTo: node.endpoint, credentials: TestCertificates.credentials("trickle"))
        await peer.waitForTLS()
        try await peer.sendHello(hello("trickle"))
        try await within(10, "welcome") { await peer.waitForFrames(1) }
        // A frame of 1 MiB announced, 100 bytes of it sent, then nothing.
        var partial = ByteBuffer()
        partial.writeInteger(UInt32(1 << 20))
        partial.writeInteger(FrameKind.gossip.rawValue)
        partial.writeBytes([UInt8](repeating: 0, count: 100))
        try await peer.send(partial)
        let start = ContinuousClock.now
        try await within(10, "the node to close the connection") { await peer.waitForClose() }
        print("partial frame: closed after \(ContinuousClock.now - start)")
        try await node.shutdown()
    }

    @Test func aSilentConnectionIsClosedAtTheIdleDeadline() async throws {
        let node = try await startNode("idle-deadline") { $0.idleTimeout = .milliseconds(400) }
        let peer = try await RawPeer(connectingTo: node.endpoint, credentials: TestCertificates.credentials("silent"))
        await peer.waitForTLS()
        try await peer.sendHello(hello("silent"))
        try await within(10, "welcome") { await peer.waitForFrames(1) }
        try await within(10, "the node to close the idle connection") { await peer.waitForClose() }
        #expect(peer.frames.contains { $0.kind == .goodbye }, "it said why")
        try await node.shutdown()
    }

    @Test func framesRightBehindTheHelloInTheSameReadAreNotLost() async throws {
        let fixture = try await Fixture()
        let peer = try await RawPeer(connectingTo: fixture.server.endpoint, credentials: TestCertificates.credentials("hasty"))
        await peer.waitForTLS()
        var buffer = ByteBuffer()
        buffer.writeFrame(.hello) { hello("hasty").write(to: &$0) }
        buffer.writeFrame(.heartbeat) { $0.writeInteger(UInt64(4242)) }
        try await peer.send(buffer)  // one write: most likely one read on the other side
        try await within(10, "the welcome and the heartbeat's ack") { await peer.waitForFrames(2) }
        #expect(peer.frames.first?.kind == .welcome)
        let ack = peer.frames.dropFirst().first { $0.kind == .heartbeatAck }
        #expect(ack?.payload.getInteger(at: ack!.payload.readerIndex, as: UInt64.self) == 4242)
        peer.close()
        try await fixture.stop()
    }

    @Test func aCallBeforeTheHandshake() async throws {
        let fixture = try await Fixture()
        let peer = try await RawPeer(connectingTo: fixture.server.endpoint, credentials: TestCertificates.credentials("eager"))
        await peer.waitForTLS()
        var encoder = CallFrameEncoder()
        var buffer = ByteBuffer()
        encoder.writeCall(oneWay: false, callID: 1, timeoutMillis: 0, recipient: WireRecipient(incarnation: fixture.server.node.incarnation, path: fixture.greeter.id.path), target: "x", arguments: [], into: &buffer)
        try await peer.send(buffer)
        try await within(10, "the reject") { await peer.waitForClose() }
        #expect(peer.frames.first?.kind == .reject)
        try await fixture.stillServes()
        try await fixture.stop()
    }

    /// Connects as `name` with a small receive buffer, stops reading, and
    /// sends `frame` until `bytes` went out or the node hung up; then reads
    /// again and waits for the node to close the connection.
    func floodWithoutReading(_ node: MeshActorSystem, as name: String, bytes: Int, frame: (Int) -> ByteBuffer) async throws -> Int {
        let peer = try await RawPeer(connectingTo: node.endpoint, credentials: TestCertificates.credentials(name), receiveBuffer: 16 << 10)
        await peer.waitForTLS()
        try await peer.sendHello(hello(name))
        try await within(10, "welcome") { await peer.waitForFrames(1) }
        try await peer.setReading(false)
        var sent = 0
        var index = 0
        while sent < bytes {
            var burst = ByteBuffer()
            for _ in 0..<64 {
                var next = frame(index)
                burst.writeBuffer(&next)
                index += 1
            }
            sent += burst.readableBytes
            do { try await peer.send(burst) } catch { break }  // the node hung up
        }
        try? await peer.setReading(true)  // fails when the connection is already closed
        try await within(30, "the node to close the connection of a peer that does not read") { await peer.waitForClose() }
        return sent
    }

    @Test func aPeerThatDoesNotReadItsRepliesIsDisconnected() async throws {
        let node = try await startNode("flooded-calls") { $0.maxOutboundQueueBytes = 256 << 10 }
        let path = "/" + String(repeating: "p", count: 600)
        // Calls for an actor that does not exist: each answered by a failure
        // reply (bounded text, still ~560 bytes) the peer never reads.
        let sent = try await floodWithoutReading(node, as: "call-flooder", bytes: 24 << 20) { index in
            var encoder = CallFrameEncoder()
            var buffer = ByteBuffer()
            encoder.writeCall(oneWay: false, callID: UInt64(index + 1), timeoutMillis: 0,
                              recipient: WireRecipient(incarnation: node.node.incarnation, path: path), target: "x", arguments: [], into: &buffer)
            return buffer
        }
        print("call flood: the node hung up after \(sent) bytes of calls")
        let client = try await startNode("flooded-calls-client")
        let probe = ProbeActor(actorSystem: node)
        #expect(try await ProbeActor.resolve(id: probe.id, using: client).add(1, 1) == 2, "the node still serves others")
        try await client.shutdown()
        try await node.shutdown()
    }

    @Test func aPeerThatDoesNotReadGossipAnswersIsDisconnected() async throws {
        let node = try await startNode("flooded-gossip") { $0.maxOutboundQueueBytes = 256 << 10 }
        // Each frame introduces one more member: news, so the node answers
        // with its whole (growing) view — control frames, not calls.
        let sent = try await floodWithoutReading(node, as: "gossip-flooder", bytes: 4 << 20) { index in
            let member = MemberState(node: NodeID(name: try! NodeName("m-\(index % 1000)")), endpoint: Endpoint(host: "127.0.0.1", port: 9),
                                     roles: .worker, status: .up)
            let bytes = try! BinaryEncoder().encode([member])
            var buffer = ByteBuffer()
            buffer.writeFrame(.gossip) { $0.writeBytes(bytes) }
            return buffer
        }
        print("gossip flood: the node hung up after \(sent) bytes of gossip")
        #expect(node.queuedBytes(to: try NodeName("gossip-flooder")) == 0)
        try await node.shutdown()
    }

    @Test func aSlowReaderDoesNotGrowTheSendersMemory() async throws {
        // The "reader" is a node whose peer never reads: we play that peer and
        // never read from the socket, while the node sends it one-way calls.
        let sender = try await startNode("sender") { $0.maxOutboundQueueBytes = 1 << 20 }
        let sink = try await RawPeer(connectingTo: sender.endpoint, credentials: TestCertificates.credentials("sink"))
        await sink.waitForTLS()
        try await sink.sendHello(hello("sink"))
        try await within(10, "welcome") { await sink.waitForFrames(1) }
        sink.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        // The node now has an association to "sink" (adopted from our connection).
        let id = MeshActorID(node: NodeID(name: try NodeName("sink"), incarnation: 1), endpoint: Endpoint(host: "127.0.0.1", port: 1), path: "/x")
        let target = try Greeter.resolve(id: id, using: sender)
        let payload = Data(repeating: 7, count: 64 << 10)
        var overloaded = 0
        var maxQueued = 0
        try await MeshActorSystem.withOneWayDelivery {
            for _ in 0..<400 {  // 25 MiB offered
                do { try await target.store(payload) } catch MeshError.overloaded { overloaded += 1 }
                maxQueued = max(maxQueued, sender.queuedBytes(to: try NodeName("sink")))
            }
        }
        print("slow reader: max queued \(maxQueued) bytes, \(overloaded) calls refused as overloaded")
        #expect(overloaded > 0)
        #expect(maxQueued <= (1 << 20) + (70 << 10))
        sink.close()
        try await sender.shutdown()
    }
}

/// A peer that opens connection after connection under one identity.
@Suite struct ConnectionCountTests {
    @Test func aPeerKeepsAtMostOneConnectionBesidesItsAssociation() async throws {
        let node = try await startNode("conn-target")
        // "zz-…" sorts after the node's name: its later connections are the
        // kind that used to be kept without limit.
        let identity = NodeID(name: try NodeName("zz-many"))
        var peers: [RawPeer] = []
        for _ in 0..<5 {
            let peer = try await RawPeer(connectingTo: node.endpoint, credentials: TestCertificates.credentials("zz-many"))
            await peer.waitForTLS()
            try await peer.sendHello(HandshakeMessage(node: identity, roles: .worker, maxFrameLength: 1 << 20))
            try await within(10, "welcome") { await peer.waitForFrames(1) }
            peers.append(peer)
        }
        // The first is the association; each later one replaced the one before.
        for (index, peer) in peers.enumerated() where (1...3).contains(index) {
            try await within(10, "connection \(index) to be closed") { await peer.waitForClose() }
        }
        try await peers[0].roundTrip()
        try await peers[4].roundTrip()
        #expect(!peers[0].isClosed && !peers[4].isClosed)
        for peer in peers { peer.close() }
        try await node.shutdown()
    }
}
