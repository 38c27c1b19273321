/// One start of one node: its stable name and a random incarnation chosen at
/// start. A node restarted under the same name is a new incarnation, so
/// references to actors of the old start are recognisably stale.
public struct NodeID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let name: NodeName
    public let incarnation: UInt64

    public init(name: NodeName, incarnation: UInt64 = .random(in: 1...UInt64.max)) {
        self.name = name
        self.incarnation = incarnation
    }

    public var description: String { "\(name)#\(String(incarnation, radix: 16))" }
}

/// What a node does in the cluster (DESIGN.md §1).
public struct NodeRoles: OptionSet, Hashable, Sendable, Codable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let gateway = NodeRoles(rawValue: 1 << 0)
    public static let worker = NodeRoles(rawValue: 1 << 1)
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
