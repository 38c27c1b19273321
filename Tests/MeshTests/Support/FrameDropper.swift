import NIOCore
import NIOSSL
import NIOTLS
import Synchronization
@testable import Mesh

/// Fault injection for tests: which inbound frames a node loses, by kind
/// and by the peer that sent them, as if the network dropped them. Install
/// it with `MeshSettings.connectionTap = faults.tap`; production nodes run
/// no such handler, so frames pay for no check.
final class FaultRules: Sendable {
    private let dropped = Mutex<Set<String>>([])

    func drop(_ kind: FrameKind, from peer: String) {
        dropped.withLock { _ = $0.insert("\(kind.rawValue)/\(peer)") }
    }

    func isDropped(_ kind: UInt8, from peer: String) -> Bool {
        dropped.withLock { $0.contains("\(kind)/\(peer)") }
    }

    /// Adds a `FrameDropper` to each connection, between TLS and the mesh.
    var tap: @Sendable (any Channel) throws -> Void {
        { [self] channel in try channel.pipeline.syncOperations.addHandler(FrameDropper(rules: self)) }
    }
}

/// Cuts the decrypted byte stream into frames (`u32 length | u8 kind |
/// payload`) and passes on those the rules keep. The peer is known from
/// its certificate once TLS completes.
final class FrameDropper: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let rules: FaultRules
    private var peer: String?
    private var buffer = ByteBuffer()

    init(rules: FaultRules) { self.rules = rules }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event,
           let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self),
           let der = try? tls.peerCertificate?.toDERBytes() {
            peer = CertificateAuthority.identity(inCertificateDER: der)?.name
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        var kept = context.channel.allocator.buffer(capacity: buffer.readableBytes)
        while let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self), buffer.readableBytes >= 4 + Int(length) {
            var frame = buffer.readSlice(length: 4 + Int(length))!
            let kind = length > 0 ? frame.getInteger(at: frame.readerIndex + 4, as: UInt8.self) ?? 0 : 0
            if let peer, rules.isDropped(kind, from: peer) { continue }
            kept.writeBuffer(&frame)
        }
        buffer.discardReadBytes()
        if kept.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(kept)) }
    }
}
