import Distributed

/// One member as `hma status` shows it: its state and, when it answered
/// within a second, its load.
public struct MemberReport: Sendable, Codable, Equatable {
    public var member: MemberState
    public var load: NodeLoad?
}

/// Answers questions about this node's view of the cluster; every node hosts
/// one at `ClusterStatusActor.path` (`hma status` asks it).
public distributed actor ClusterStatusActor {
    public typealias ActorSystem = MeshActorSystem

    public static let path = "/system/cluster"

    public init(actorSystem: MeshActorSystem) {
        self.actorSystem = actorSystem
    }

    /// Every member this node knows of, with its state.
    public distributed func members() -> [MemberState] {
        actorSystem.cluster.members
    }

    /// Every member with its load (asked of each live member's host).
    public distributed func report() async -> [MemberReport] {
        let system = actorSystem
        let members = system.cluster.members
        return await withTaskGroup(of: MemberReport.self) { group in
            for member in members {
                group.addTask {
                    guard !member.status.isFinal, let host = try? HostActor.resolve(id: HostActor.id(of: member), using: system) else {
                        return MemberReport(member: member, load: nil)
                    }
                    let load = try? await MeshActorSystem.withCallTimeout(.seconds(1)) { try await host.load() }
                    return MemberReport(member: member, load: load)
                }
            }
            return await group.reduce(into: []) { $0.append($1) }.sorted { $0.member.node.name.rawValue < $1.member.node.name.rawValue }
        }
    }
}
