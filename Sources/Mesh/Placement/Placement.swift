import Crypto
import Foundation

/// Which nodes may host an actor: a role (gateway or worker) and labels a
/// node must carry (pinning: `zone=eu`, `gpu=yes`).
public struct PlacementRequirement: Sendable, Codable, Hashable, CustomStringConvertible {
    public var role: NodeRoles?
    public var labels: [String: String]

    public init(role: NodeRoles? = nil, labels: [String: String] = [:]) {
        self.role = role
        self.labels = labels
    }

    public func admits(roles: NodeRoles, labels nodeLabels: [String: String]) -> Bool {
        if let role, !roles.isSuperset(of: role) { return false }
        return labels.allSatisfy { nodeLabels[$0.key] == $0.value }
    }

    public var description: String {
        var parts: [String] = []
        if let role { parts.append("role \(role.names.joined(separator: "+"))") }
        parts += labels.sorted { $0.key < $1.key }.map { "label \($0.key)=\($0.value)" }
        return parts.isEmpty ? "any node" : parts.joined(separator: ", ")
    }
}

/// How busy a node is, as its host actor reports it.
public struct NodeLoad: Sendable, Codable, Equatable {
    /// Actors spawned or activated on it through its host.
    public var hostedActors: Int
    /// Remote calls it received per second, smoothed over the last seconds.
    public var callsPerSecond: Double
    /// Being drained (`MeshActorSystem.setDraining`): placement puts new
    /// actors elsewhere when it can; those already there stay.
    public var draining: Bool

    public init(hostedActors: Int, callsPerSecond: Double, draining: Bool = false) {
        self.hostedActors = hostedActors
        self.callsPerSecond = callsPerSecond
        self.draining = draining
    }

    enum CodingKeys: String, CodingKey { case hostedActors, callsPerSecond, draining }

    /// A node of an earlier minor version sends no `draining`: not draining.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        hostedActors = try container.decode(Int.self, forKey: .hostedActors)
        callsPerSecond = try container.decode(Double.self, forKey: .callsPerSecond)
        draining = try container.decodeIfPresent(Bool.self, forKey: .draining) ?? false
    }

    /// Whether a node could report this: counts and rates that are finite
    /// and not negative. Another node's answer is checked before use.
    public var isPlausible: Bool {
        hostedActors >= 0 && callsPerSecond.isFinite && callsPerSecond >= 0
    }

    /// One number to compare nodes by: an actor weighs as much as 50 calls
    /// per second (an agent is mostly idle between model calls).
    public var score: Double { Double(hostedActors) + callsPerSecond / 50 }
}

/// A node placement may choose.
public struct PlacementCandidate: Sendable, Equatable {
    public var name: NodeName
    public var roles: NodeRoles
    public var labels: [String: String]
    /// Nil when the node did not answer the load query in time.
    public var load: NodeLoad?

    public init(name: NodeName, roles: NodeRoles, labels: [String: String], load: NodeLoad?) {
        self.name = name
        self.roles = roles
        self.labels = labels
        self.load = load
    }
}

/// The placement policy, a pure function: among the live nodes the
/// requirement admits, the least loaded; nodes whose load is unknown only
/// when no node with a known load fits, and nodes being drained only when
/// nothing else does. Ties go to the node ranked first for this key by
/// rendezvous hashing, so equally loaded nodes share keys evenly and the
/// same key prefers the same node.
public enum Placement {
    public static func choose(for key: String, requirement: PlacementRequirement, among candidates: [PlacementCandidate]) -> NodeName? {
        let admitted = candidates.filter { requirement.admits(roles: $0.roles, labels: $0.labels) }
        let open = admitted.filter { $0.load?.draining == false }
        let unknown = admitted.filter { $0.load == nil }
        let pool = !open.isEmpty ? open : !unknown.isEmpty ? unknown : admitted
        return pool.min { a, b in
            let (sa, sb) = (a.load?.score ?? 0, b.load?.score ?? 0)
            if sa != sb { return sa < sb }
            return rank(key, a.name) > rank(key, b.name)
        }?.name
    }

    /// Rendezvous (highest random weight) hash of a key on a node.
    static func rank(_ key: String, _ node: NodeName) -> UInt64 {
        let digest = SHA256.hash(data: Data("\(key)\u{0}\(node.rawValue)".utf8))
        return digest.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }
}


