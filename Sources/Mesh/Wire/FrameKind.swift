/// The kind byte that follows every frame's length (docs/wire-protocol.md §3).
public enum FrameKind: UInt8, Sendable, CaseIterable {
    case hello = 0x01
    case welcome = 0x02
    case reject = 0x03
    case call = 0x10
    case reply = 0x11
    case failure = 0x12
    case oneWay = 0x13
    case heartbeat = 0x20
    case heartbeatAck = 0x21
    case pingRequest = 0x22
    case relayedAck = 0x23
    case gossip = 0x30
    case goodbye = 0x40
}
