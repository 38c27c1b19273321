import Distributed

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
}
