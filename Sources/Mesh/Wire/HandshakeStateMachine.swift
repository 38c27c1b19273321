import NIOCore

/// Why a handshake was refused; sent in a `reject` frame and surfaced to the
/// dialling side as `MeshError.handshakeRejected`.
public enum HandshakeRejection: UInt16, Sendable, CaseIterable {
    case versionMismatch = 1
    /// The node name claimed in the handshake is not the one in the peer's certificate.
    case identityMismatch = 2
    /// The dialled node answered with another name.
    case unexpectedPeer = 3
    case protocolViolation = 4
    /// A node dialled itself (same name and incarnation).
    case selfConnection = 5
}

/// The connection handshake (docs/wire-protocol.md §4) as a state machine
/// with no I/O: the channel handler feeds it frames and the name from the
/// peer's verified TLS certificate, and performs the actions it returns.
///
/// The initiator sends `hello`; the acceptor checks it and answers `welcome`
/// or `reject`; the initiator checks the `welcome`. Each side checks that the
/// peer's protocol major version equals its own and that the node name the
/// peer claims equals the name in its certificate — a valid certificate for
/// node A cannot speak as node B — and that it claims no role its
/// certificate does not grant. The peer's roles are the certificate's.
public struct HandshakeStateMachine: Sendable {
    public enum Role: Sendable, Equatable {
        /// Dialling side; `expectedPeer` is the name we meant to reach, when known.
        case initiator(expectedPeer: NodeName?)
        case acceptor
    }

    /// What we know of the peer once the handshake succeeded.
    public struct Peer: Sendable, Equatable {
        public var node: NodeID
        public var roles: NodeRoles
        /// Capabilities both sides support.
        public var capabilities: MeshCapabilities
        /// The largest frame the peer accepts: never send a larger one.
        public var maxFrameLength: UInt32
    }

    public enum Action: Sendable, Equatable {
        /// Write this handshake frame.
        case send(FrameKind, HandshakeMessage)
        /// Write a `reject` frame with this reason, then close.
        case reject(HandshakeRejection, String)
        /// The connection is ready for calls.
        case established(Peer)
        /// Close without writing (the peer rejected us, or broke the protocol
        /// after we had answered).
        case fail(String)
    }

    private enum State: Sendable {
        case idle
        case awaitingWelcome
        case awaitingHello
        case established(Peer)
        case failed
    }

    public let local: HandshakeMessage
    public let role: Role
    private var state: State = .idle

    public init(local: HandshakeMessage, role: Role) {
        self.local = local
        self.role = role
    }

    public var isEstablished: Bool { peer != nil }

    /// The peer, once the handshake has completed.
    public var peer: Peer? {
        if case .established(let peer) = state { return peer }
        return nil
    }

    /// Call when the (TLS) connection is up.
    public mutating func start() -> Action? {
        guard case .idle = state else { return nil }
        switch role {
        case .initiator:
            state = .awaitingWelcome
            return .send(.hello, local)
        case .acceptor:
            state = .awaitingHello
            return nil
        }
    }

    /// Call with each frame received before the handshake completes.
    /// - Parameter certificate: the node name and roles in the peer's
    ///   verified certificate, nil if it names no node.
    public mutating func receive(_ frame: Frame, certificate: CertificateAuthority.Identity?) -> Action {
        switch (state, frame.kind) {
        case (.awaitingHello, .hello):
            var payload = frame.payload
            let hello: HandshakeMessage
            do { hello = try HandshakeMessage.read(from: &payload, kind: .hello) } catch {
                return reject(.protocolViolation, "\(error)")
            }
            if let problem = check(hello, certificate: certificate) { return reject(problem.0, problem.1) }
            let peer = agree(with: hello, roles: certificate!.roles)
            state = .established(peer)
            return .send(.welcome, local)
        case (.awaitingWelcome, .welcome):
            var payload = frame.payload
            let welcome: HandshakeMessage
            do { welcome = try HandshakeMessage.read(from: &payload, kind: .welcome) } catch {
                return reject(.protocolViolation, "\(error)")
            }
            if let problem = check(welcome, certificate: certificate) { return reject(problem.0, problem.1) }
            if case .initiator(let expected?) = role, expected != welcome.node.name {
                return reject(.unexpectedPeer, "dialled \(expected) but \(welcome.node.name) answered")
            }
            let peer = agree(with: welcome, roles: certificate!.roles)
            state = .established(peer)
            return .established(peer)
        case (.awaitingWelcome, .reject):
            state = .failed
            var payload = frame.payload
            let reason = (try? CloseMessage.read(from: &payload, kind: .reject))
            let code = reason.flatMap { HandshakeRejection(rawValue: $0.code) }.map { "\($0)" } ?? "unknown"
            return .fail("rejected by peer (\(code)): \(reason?.reason ?? "no reason given")")
        case (.failed, _):
            return .fail("handshake already failed")
        default:
            return reject(.protocolViolation, "\(frame.kind) frame before the handshake completed")
        }
    }

    /// For the acceptor: the peer, once `welcome` has been sent.
    public var establishedPeer: Peer? {
        if case .established(let peer) = state { return peer }
        return nil
    }

    private mutating func reject(_ code: HandshakeRejection, _ reason: String) -> Action {
        state = .failed
        return .reject(code, reason)
    }

    private func check(_ message: HandshakeMessage, certificate: CertificateAuthority.Identity?) -> (HandshakeRejection, String)? {
        guard message.versionMajor == local.versionMajor else {
            return (.versionMismatch, "protocol version \(message.versionMajor).\(message.versionMinor) is not compatible with \(local.versionMajor).\(local.versionMinor)")
        }
        guard let certificate else {
            return (.identityMismatch, "the peer's certificate names no node")
        }
        guard certificate.name == message.node.name.rawValue else {
            return (.identityMismatch, "certificate is for node \(certificate.name) but the handshake claims \(message.node.name)")
        }
        guard certificate.roles.isSuperset(of: message.roles) else {
            return (.identityMismatch, "\(message.node.name) claims the roles \(message.roles.names) but its certificate grants \(certificate.roles.names)")
        }
        if message.node == local.node {
            return (.selfConnection, "a node cannot connect to itself")
        }
        return nil
    }

    /// The peer as agreed: its roles are the certificate's, never its claim.
    private func agree(with message: HandshakeMessage, roles: NodeRoles) -> Peer {
        Peer(node: message.node, roles: roles,
             capabilities: local.capabilities.intersection(message.capabilities),
             maxFrameLength: message.maxFrameLength)
    }
}
