// Feeds arbitrary bytes to everything that decodes what a peer sends:
// the frame parser (cut at an input-chosen chunk size), the handshake state
// machine, call/reply/failure/close/indirect-probe payloads, gossip member
// lists and the binary value decoder.
// Any crash, hang, leak or sanitizer report is a bug.
import Foundation
import Mesh
import NIOCore

struct FuzzValue: Codable {
    enum Kind: Codable { case a(Int8), b(String, [UInt16]), c }
    var name: String
    var numbers: [Int64]
    var nested: [String: [Double?]]
    var blob: Data
    var kind: Kind?
    var children: [FuzzValue]
}

let local = HandshakeMessage(node: NodeID(name: try! NodeName("fuzz-target"), incarnation: 1), roles: .worker, maxFrameLength: 1 << 16)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }

    // Frames, delivered in chunks of 1...32 bytes.
    var parser = FrameParser(maxFrameLength: 1 << 16)
    var handshake = HandshakeStateMachine(local: local, role: first & 1 == 0 ? .acceptor : .initiator(expectedPeer: nil))
    _ = handshake.start()
    var calls = CallFrameDecoder()
    let chunk = Int(first % 32) + 1
    var offset = 1
    loop: while offset < bytes.count {
        let end = min(offset + chunk, bytes.count)
        parser.append(ByteBuffer(bytes: bytes[offset..<end]))
        offset = end
        while true {
            let frame: Frame?
            do { frame = try parser.next() } catch { break loop }
            guard let frame else { break }
            if !handshake.isEstablished {
                _ = handshake.receive(frame, certificate: .init(name: "peer", roles: .member))
                continue
            }
            var payload = frame.payload
            switch frame.kind {
            case .call, .oneWay: _ = try? calls.read(frame)
            case .reply: _ = try? ReplyMessage.read(from: frame)
            case .failure: _ = try? FailureMessage.read(from: &payload)
            case .goodbye, .reject: _ = try? CloseMessage.read(from: &payload, kind: frame.kind)
            case .hello, .welcome: _ = try? HandshakeMessage.read(from: &payload, kind: frame.kind)
            case .pingRequest, .relayedAck: _ = try? IndirectProbeMessage.read(from: &payload, kind: frame.kind)
            case .gossip: _ = try? BinaryDecoder().decode([MemberState].self, from: payload.readableBytesView)
            case .heartbeat, .heartbeatAck: break
            }
        }
    }

    // Values.
    _ = try? BinaryDecoder().decode(FuzzValue.self, from: bytes)
    _ = try? BinaryDecoder().decode([String: Int].self, from: bytes)
    _ = try? BinaryDecoder().decode(Data.self, from: bytes)
    return 0
}
