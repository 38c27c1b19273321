/// Where a node listens, as other nodes dial it (its advertised address,
/// which may differ from the address it binds).
public struct Endpoint: Hashable, Sendable, Codable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// The identity of a distributed actor: the node start it lives on, that
/// node's advertised endpoint, and a path unique on that node
/// (`/system/host`, `/agents/<session>/coder/<hash>`, …).
///
/// Two ids are equal when node and path are equal; the endpoint only says
/// how to reach the node.
public struct MeshActorID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let node: NodeID
    public let endpoint: Endpoint
    public let path: String

    public init(node: NodeID, endpoint: Endpoint, path: String) {
        self.node = node
        self.endpoint = endpoint
        self.path = path
    }

    public static func == (lhs: MeshActorID, rhs: MeshActorID) -> Bool {
        lhs.node == rhs.node && lhs.path == rhs.path
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(node)
        hasher.combine(path)
    }

    public var description: String { "\(node)@\(endpoint)\(path)" }
}
