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
        let members = actorSystem.cluster.members
        let loads = await actorSystem.loads(of: members, timeout: .seconds(1))
        return members.map { MemberReport(member: $0, load: loads[$0.node.name]) }
    }
}
