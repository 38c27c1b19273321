import NIOCore
import Testing
@testable import Mesh

@Suite struct HandshakeStateMachineTests {
    let alpha = NodeID(name: try! NodeName("alpha"), incarnation: 1)
    let beta = NodeID(name: try! NodeName("beta"), incarnation: 2)

    func hello(_ node: NodeID, major: UInt16 = WireVersion.major) -> HandshakeMessage {
        HandshakeMessage(node: node, roles: .worker, maxFrameLength: 1 << 20, versionMajor: major)
    }

    func frame(_ kind: FrameKind, _ message: HandshakeMessage) -> Frame {
        var buffer = ByteBuffer()
        message.write(to: &buffer)
        return Frame(kind: kind, payload: buffer)
    }

    @Test func bothSidesEstablishAndAgreeOnCapabilities() {
        var initiator = HandshakeStateMachine(local: hello(alpha), role: .initiator(expectedPeer: beta.name))
        var acceptorLocal = hello(beta)
        acceptorLocal.capabilities = []
        var acceptor = HandshakeStateMachine(local: acceptorLocal, role: .acceptor)
        #expect(acceptor.start() == nil)
        guard case .send(.hello, let helloMessage)? = initiator.start() else { Issue.record("no hello"); return }
        let answer = acceptor.receive(frame(.hello, helloMessage), certificate: .init(name: "alpha", roles: .member))
        guard case .send(.welcome, let welcome) = answer else { Issue.record("no welcome: \(answer)"); return }
        #expect(acceptor.establishedPeer?.node == alpha)
        #expect(acceptor.establishedPeer?.capabilities == [])
        let result = initiator.receive(frame(.welcome, welcome), certificate: .init(name: "beta", roles: .member))
        #expect(result == .established(.init(node: beta, roles: .member, capabilities: [], maxFrameLength: 1 << 20)), "roles from the certificate")
        #expect(initiator.isEstablished && acceptor.isEstablished)
    }

    @Test func rolesComeFromTheCertificateNotTheClaim() {
        // Claiming a role the certificate does not grant: rejected.
        var acceptor = HandshakeStateMachine(local: hello(beta), role: .acceptor)
        _ = acceptor.start()
        var claim = hello(alpha)
        claim.roles = [.gateway, .worker]
        let answer = acceptor.receive(frame(.hello, claim), certificate: .init(name: "alpha", roles: .worker))
        guard case .reject(.identityMismatch, let reason) = answer else { Issue.record("\(answer)"); return }
        #expect(reason.contains("gateway"))
        // Claiming fewer (an observer claims none): the certificate's roles hold.
        var modest = HandshakeStateMachine(local: hello(beta), role: .acceptor)
        _ = modest.start()
        claim.roles = []
        _ = modest.receive(frame(.hello, claim), certificate: .init(name: "alpha", roles: .observer))
        #expect(modest.establishedPeer?.roles == .observer)
    }

    @Test func aCertificateForAnotherNodeCannotClaimThisName() {
        var acceptor = HandshakeStateMachine(local: hello(beta), role: .acceptor)
        _ = acceptor.start()
        let answer = acceptor.receive(frame(.hello, hello(alpha)), certificate: .init(name: "mallory", roles: .member))
        guard case .reject(.identityMismatch, let reason) = answer else { Issue.record("\(answer)"); return }
        #expect(reason.contains("mallory") && reason.contains("alpha"))
        #expect(!acceptor.isEstablished)

        var noName = HandshakeStateMachine(local: hello(beta), role: .acceptor)
        _ = noName.start()
        guard case .reject(.identityMismatch, _) = noName.receive(frame(.hello, hello(alpha)), certificate: nil) else {
            Issue.record("accepted a peer whose certificate names no node"); return
        }
    }

    @Test func theInitiatorChecksTheWelcomeToo() {
        var initiator = HandshakeStateMachine(local: hello(alpha), role: .initiator(expectedPeer: beta.name))
        _ = initiator.start()
        guard case .reject(.identityMismatch, _) = initiator.receive(frame(.welcome, hello(beta)), certificate: .init(name: "gamma", roles: .member)) else {
            Issue.record("welcome with a foreign certificate accepted"); return
        }
        var dialler = HandshakeStateMachine(local: hello(alpha), role: .initiator(expectedPeer: beta.name))
        _ = dialler.start()
        let gamma = NodeID(name: try! NodeName("gamma"), incarnation: 3)
        guard case .reject(.unexpectedPeer, _) = dialler.receive(frame(.welcome, hello(gamma)), certificate: .init(name: "gamma", roles: .member)) else {
            Issue.record("reached the wrong node without noticing"); return
        }
    }

    /// A rolling upgrade: a node one minor version ahead, offering a
    /// capability the older node does not know, still connects both ways;
    /// they use only what both have.
    @Test func aNewerMinorVersionWithUnknownCapabilitiesConnectsBothWays() {
        var newer = hello(alpha)
        newer.versionMinor = WireVersion.minor + 1
        newer.capabilities = MeshCapabilities(rawValue: MeshCapabilities.all.rawValue | 1 << 30)
        for (initiatorHello, acceptorHello, acceptorName, initiatorName) in [(newer, hello(beta), "alpha", "beta"), (hello(beta), newer, "beta", "alpha")] {
            let expected = initiatorHello.node == alpha ? beta : alpha
            var initiator = HandshakeStateMachine(local: initiatorHello, role: .initiator(expectedPeer: expected.name))
            var acceptor = HandshakeStateMachine(local: acceptorHello, role: .acceptor)
            _ = acceptor.start()
            guard case .send(.hello, let helloMessage)? = initiator.start() else { Issue.record("no hello"); return }
            let answer = acceptor.receive(frame(.hello, helloMessage), certificate: .init(name: acceptorName, roles: .member))
            guard case .send(.welcome, let welcome) = answer else { Issue.record("a newer minor version was refused: \(answer)"); return }
            _ = initiator.receive(frame(.welcome, welcome), certificate: .init(name: initiatorName, roles: .member))
            #expect(initiator.isEstablished && acceptor.isEstablished)
            #expect(acceptor.establishedPeer?.capabilities == .all, "only the capabilities both know")
        }
    }

    @Test func anotherMajorVersionIsRejected() {
        var acceptor = HandshakeStateMachine(local: hello(beta), role: .acceptor)
        _ = acceptor.start()
        guard case .reject(.versionMismatch, let reason) = acceptor.receive(frame(.hello, hello(alpha, major: 2)), certificate: .init(name: "alpha", roles: .member)) else {
            Issue.record("version 2 accepted"); return
        }
        #expect(reason.contains("2.0"))
    }

    @Test func framesBeforeTheHandshakeAndGarbageAreProtocolViolations() {
        var acceptor = HandshakeStateMachine(local: hello(beta), role: .acceptor)
        _ = acceptor.start()
        guard case .reject(.protocolViolation, _) = acceptor.receive(Frame(kind: .call, payload: ByteBuffer()), certificate: .init(name: "alpha", roles: .member)) else {
            Issue.record("call accepted before the handshake"); return
        }
        var truncated = HandshakeStateMachine(local: hello(beta), role: .acceptor)
        _ = truncated.start()
        guard case .reject(.protocolViolation, _) = truncated.receive(Frame(kind: .hello, payload: ByteBuffer(bytes: [0x48, 0x4D])), certificate: .init(name: "alpha", roles: .member)) else {
            Issue.record("truncated hello accepted"); return
        }
        var badMagic = HandshakeStateMachine(local: hello(beta), role: .acceptor)
        _ = badMagic.start()
        var payload = ByteBuffer()
        hello(alpha).write(to: &payload)
        payload.setInteger(UInt32(0xDEAD_BEEF), at: payload.readerIndex)
        guard case .reject(.protocolViolation, _) = badMagic.receive(Frame(kind: .hello, payload: payload), certificate: .init(name: "alpha", roles: .member)) else {
            Issue.record("bad magic accepted"); return
        }
    }

    @Test func aRejectEndsTheInitiatorsHandshake() {
        var initiator = HandshakeStateMachine(local: hello(alpha), role: .initiator(expectedPeer: nil))
        _ = initiator.start()
        var payload = ByteBuffer()
        CloseMessage(code: HandshakeRejection.identityMismatch.rawValue, reason: "no").write(to: &payload)
        let result = initiator.receive(Frame(kind: .reject, payload: payload), certificate: .init(name: "beta", roles: .member))
        guard case .fail(let reason) = result else { Issue.record("\(result)"); return }
        #expect(reason.contains("identityMismatch"))
    }

    @Test func aNodeCannotTalkToItself() {
        var acceptor = HandshakeStateMachine(local: hello(alpha), role: .acceptor)
        _ = acceptor.start()
        guard case .reject(.selfConnection, _) = acceptor.receive(frame(.hello, hello(alpha)), certificate: .init(name: "alpha", roles: .member)) else {
            Issue.record("self connection accepted"); return
        }
    }
}
