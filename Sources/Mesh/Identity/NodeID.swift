import Foundation

/// One start of one node: its stable name and an incarnation chosen at
/// start. A node restarted under the same name is a new incarnation, so
/// references to actors of the old start are recognisably stale, and a later
/// start compares greater (membership lets the newest start win).
public struct NodeID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let name: NodeName
    public let incarnation: UInt64

    public init(name: NodeName, incarnation: UInt64 = NodeID.newIncarnation()) {
        self.name = name
        self.incarnation = incarnation
    }

    /// Start time in milliseconds (high 44 bits) and 20 random bits: later
    /// starts are greater, two starts in the same millisecond still differ.
    public static func newIncarnation() -> UInt64 {
        let millis = UInt64(max(0, Date().timeIntervalSince1970 * 1000)) & ((1 << 44) - 1)
        return millis << 20 | UInt64.random(in: 0..<(1 << 20)) | (millis == 0 ? 1 : 0)
    }

    public var description: String { "\(name)#\(String(incarnation, radix: 16))" }
}

/// What a node does in the cluster (docs/architecture.md, "Processes").
/// A node's roles come from its certificate (docs/cluster.md, "Roles").
public struct NodeRoles: OptionSet, Hashable, Sendable, Codable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let gateway = NodeRoles(rawValue: 1 << 0)
    public static let worker = NodeRoles(rawValue: 1 << 1)
    /// Reads cluster status (`hma status`); not a member: it cannot gossip,
    /// spawn, watch, register or call application actors.
    public static let observer = NodeRoles(rawValue: 1 << 2)

    /// The roles that make a node a cluster member.
    public static let member: NodeRoles = [.gateway, .worker]

    /// Whether a node with these roles is a member (gateway or worker).
    public var isMember: Bool { !intersection(.member).isEmpty }

    /// Each role by the name certificates and the command line use.
    public static let byName: [(String, NodeRoles)] = [("gateway", .gateway), ("worker", .worker), ("observer", .observer)]

    /// "gateway", "worker", "observer" for display and certificates.
    public var names: [String] { Self.byName.filter { contains($0.1) }.map(\.0) }
}

/// Optional protocol features a node supports; a connection uses those both
/// sides announce.
public struct MeshCapabilities: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `oneWay` frames (calls with no reply).
    public static let oneWay = MeshCapabilities(rawValue: 1 << 0)

    public static let all: MeshCapabilities = [.oneWay]
}
