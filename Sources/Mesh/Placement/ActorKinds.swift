import Distributed
import Synchronization

/// A kind of actor any node can create on request (remote spawn, virtual
/// activation): a name, where it may run, a factory and a passivation hook.
///
/// `make` receives the key (for a virtual actor its logical key) and must
/// create exactly one actor on the given system: the host gives it its path.
/// A virtual actor restores its state in `make` and saves it in
/// `passivate`, which runs before an idle actor is deactivated — together
/// they are the persistence hook that lets the actor move to another node.
public struct ActorKind: Sendable {
    public let name: String
    public let placement: PlacementRequirement
    let make: @Sendable (_ key: String, _ system: MeshActorSystem) async throws -> any DistributedActor
    let passivate: @Sendable (any DistributedActor) async -> Void
}

/// The kinds this node can host; register the same kinds on every node
/// that may host them.
public final class ActorKinds: Sendable {
    private let kinds = Mutex<[String: ActorKind]>([:])

    public func register<Act: DistributedActor>(
        _ name: String, as type: Act.Type = Act.self, placement: PlacementRequirement = .init(),
        make: @escaping @Sendable (_ key: String, _ system: MeshActorSystem) async throws -> Act,
        passivate: @escaping @Sendable (Act) async -> Void = { _ in }
    ) where Act.ID == MeshActorID {
        let kind = ActorKind(name: name, placement: placement, make: { key, system in try await make(key, system) },
                             passivate: { actor in if let typed = actor as? Act { await passivate(typed) } })
        kinds.withLock { $0[name] = kind }
    }

    public subscript(name: String) -> ActorKind? { kinds.withLock { $0[name] } }
}
