import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// The one channel handler of a mesh connection, after TLS: cuts bytes into
/// frames (`FrameParser`), runs the handshake (`HandshakeStateMachine`), then
/// routes frames to the association (replies) and the actor system (calls).
///
/// Confined to its channel's event loop. Any protocol violation closes this
/// connection only — after a `goodbye` or `reject` frame naming it — and
/// never affects other connections.
final class MeshConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let system: MeshActorSystem
    private var handshake: HandshakeStateMachine
    private var parser: FrameParser
    private var calls = CallFrameDecoder()
    /// One-way calls read in the current `channelRead`, handed over together
    /// after it; and the calls queued behind them (`InboundQueues`).
    private var oneWayBatch: [CallMessage] = []
    private let queues = InboundQueues()
    private var association: Association?
    private var peerIdentity: CertificateAuthority.Identity?
    private var handshakeTimer: Scheduled<Void>?
    /// Runs while part of a frame is buffered (`MeshSettings.frameTimeout`).
    private var frameTimer: Scheduled<Void>?
    private let logger: Logger

    init(system: MeshActorSystem, role: HandshakeStateMachine.Role, association: Association?) {
        self.system = system
        self.handshake = HandshakeStateMachine(local: system.handshakeMessage, role: role)
        self.parser = FrameParser(maxFrameLength: system.settings.maxFrameLength)
        self.association = association
        self.logger = system.logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let limit = system.settings.handshakeTimeout
        handshakeTimer = context.eventLoop.scheduleTask(in: TimeAmount(limit)) {
            channel.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Before the handshake completes its own timer bounds the connection.
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read, handshake.isEstablished {
            // The peer may not be reading either: say why, but do not wait for it.
            logger.info("closing idle mesh connection", metadata: ["peer": "\(association?.peerName ?? "?")"])
            var buffer = context.channel.allocator.buffer(capacity: 64)
            buffer.writeFrame(.goodbye) { CloseMessage(code: 0, reason: "idle for \(system.settings.idleTimeout)").write(to: &$0) }
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            context.close(promise: nil)
            return
        }
        if case TLSUserEvent.handshakeCompleted = event {
            // The TLS handshake verified the chain against the cluster CA; the
            // node name in the certificate is what the mesh handshake checks.
            if let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self),
               let certificate = tls.peerCertificate, let der = try? certificate.toDERBytes() {
                peerIdentity = CertificateAuthority.identity(inCertificateDER: der)
            }
            if let action = handshake.start() { perform(action, context: context) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        parser.append(unwrapInboundIn(data))
        do {
            defer { deliverOneWayBatch() }
            while let frame = try parser.next() {
                frameTimer?.cancel()
                frameTimer = nil
                if handshake.isEstablished {
                    try route(frame, context: context)
                } else {
                    perform(handshake.receive(frame, certificate: peerIdentity), context: context)
                }
                if !context.channel.isActive { return }
            }
            if parser.bufferedBytes > 0 && frameTimer == nil {
                let limit = system.settings.frameTimeout
                let (channel, logger) = (context.channel, logger)
                frameTimer = context.eventLoop.scheduleTask(in: TimeAmount(limit)) {
                    logger.warning("closing mesh connection", metadata: ["reason": "a frame did not arrive whole within \(limit)"])
                    channel.close(promise: nil)
                }
            }
        } catch let error as WireError {
            goodbye(context: context, code: 1, reason: error.description)
        } catch {
            goodbye(context: context, code: 1, reason: "\(error)")
        }
    }

    /// Hands the one-way calls of this read to the system in one batch.
    private func deliverOneWayBatch() {
        guard !oneWayBatch.isEmpty, let association else { return }
        let batch = oneWayBatch
        oneWayBatch.removeAll(keepingCapacity: true)
        system.deliverOneWay(batch, replyingOn: association, queues: queues)
    }

    private func route(_ frame: Frame, context: ChannelHandlerContext) throws {
        guard let association else { return }
        switch frame.kind {
        case .oneWay:
            oneWayBatch.append(try calls.read(frame))
        case .call:
            let call = try calls.read(frame)
            // One-way calls read before it go first: calls from one sender
            // to one recipient start in the order sent.
            deliverOneWayBatch()
            system.deliver(call, replyingOn: association, queues: queues)
        case .reply:
            let reply = try ReplyMessage.read(from: frame)
            association.complete(callID: reply.callID, with: .reply(reply))
        case .failure:
            var payload = frame.payload
            let failure = try FailureMessage.read(from: &payload)
            association.complete(callID: failure.callID, with: .failure(failure))
        case .heartbeat:
            var payload = frame.payload
            guard let nonce = payload.readInteger(as: UInt64.self), payload.readableBytes == 0 else {
                throw WireError.malformed(kind: .heartbeat, reason: "expected a u64 nonce")
            }
            association.sendControl(.heartbeatAck) { $0.writeInteger(nonce) }
            if let peer = handshake.peer { system.cluster.heard(from: peer.node, roles: peer.roles) }
        case .heartbeatAck:
            var payload = frame.payload
            guard let nonce = payload.readInteger(as: UInt64.self), payload.readableBytes == 0 else {
                throw WireError.malformed(kind: .heartbeatAck, reason: "expected a u64 nonce")
            }
            system.cluster.receivedHeartbeatAck(nonce, from: association.peerName, node: handshake.peer?.node, roles: handshake.peer?.roles ?? [])
        case .pingRequest:
            var payload = frame.payload
            let request = try IndirectProbeMessage.read(from: &payload, kind: .pingRequest)
            system.cluster.receivedPingRequest(request, from: association)
        case .relayedAck:
            var payload = frame.payload
            let ack = try IndirectProbeMessage.read(from: &payload, kind: .relayedAck)
            system.cluster.receivedRelayedAck(ack, from: association.peerName)
        case .gossip:
            try system.cluster.receivedGossip(frame.payload, on: association)
        case .goodbye:
            var payload = frame.payload
            let message = try? CloseMessage.read(from: &payload, kind: .goodbye)
            association.close(.nodeUnreachable(node: association.peerName, reason: "peer said goodbye: \(message?.reason ?? "")"))
            context.close(promise: nil)
        case .hello, .welcome, .reject:
            throw WireError.unexpected(kind: frame.kind, state: "connected")
        }
    }

    private func perform(_ action: HandshakeStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .send(let kind, let message):
            var buffer = context.channel.allocator.buffer(capacity: 64)
            buffer.writeFrame(kind) { message.write(to: &$0) }
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            if kind == .welcome, let peer = handshake.establishedPeer { becomeEstablished(peer, context: context) }
        case .established(let peer):
            becomeEstablished(peer, context: context)
        case .reject(let code, let reason):
            logger.warning("mesh handshake rejected", metadata: ["peer": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")", "reason": "\(reason)"])
            var buffer = context.channel.allocator.buffer(capacity: 64)
            buffer.writeFrame(.reject) { CloseMessage(code: code.rawValue, reason: reason).write(to: &$0) }
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
            association?.close(.handshakeRejected(reason))
        case .fail(let reason):
            association?.close(.handshakeRejected(reason))
            context.close(promise: nil)
        }
    }

    private func becomeEstablished(_ peer: HandshakeStateMachine.Peer, context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
        handshakeTimer = nil
        // The parser carries on: frames the peer sent right behind its hello,
        // in the same read, are already in it.
        if let association {
            association.established(channel: context.channel, peer: peer)
        } else {
            let adopted = system.adoptInbound(channel: context.channel, peer: peer)
            association = adopted
        }
        logger.debug("mesh connection established", metadata: ["peer": "\(peer.node)"])
    }

    private func goodbye(context: ChannelHandlerContext, code: UInt16, reason: String) {
        logger.warning("closing mesh connection", metadata: ["reason": "\(reason)"])
        var buffer = context.channel.allocator.buffer(capacity: 64)
        buffer.writeFrame(.goodbye) { CloseMessage(code: code, reason: reason).write(to: &$0) }
        let channel = context.channel
        let association = self.association
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in
            association?.close(.nodeUnreachable(node: association?.peerName ?? "?", reason: "protocol violation: \(reason)"))
            channel.close(promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        association?.writabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
        frameTimer?.cancel()
        // The handshake's record of the peer: the association may already be
        // closed (a reset arrives as an error before the channel goes inactive).
        // Only the peer's current connection going away is news about the
        // peer: a duplicate retired on purpose is not.
        if let peer = handshake.peer?.node, let association, system.isCurrent(association) {
            system.cluster.connectionLost(to: peer)
        }
        association?.close(.nodeUnreachable(node: association?.peerName ?? "?", reason: "connection closed"))
        system.forget(association)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("mesh connection error", metadata: ["error": "\(error)"])
        association?.close(.nodeUnreachable(node: association?.peerName ?? "?", reason: "\(error)"))
        context.close(promise: nil)
    }
}
