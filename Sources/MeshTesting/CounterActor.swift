import Distributed
import Mesh

/// Where counters keep their values: a plain key-value actor that tests and
/// the test node host on a node that stays up (in HMA this role is played
/// by the gateway's SQLite store).
public distributed actor StateStoreActor {
    public typealias ActorSystem = MeshActorSystem
    public static let wellKnownPath = "/test/state"

    private var values: [String: Int] = [:]
    private var writes = 0

    public init(actorSystem: MeshActorSystem) {
        self.actorSystem = actorSystem
    }

    public distributed func get(_ key: String) -> Int? { values[key] }
    /// Stores a counter's value. Counters only grow, and concurrent
    /// increments may deliver their writes out of order: the larger wins.
    public distributed func put(_ key: String, _ value: Int) {
        values[key] = max(values[key] ?? value, value)
        writes += 1
    }
    public distributed func writeCount() -> Int { writes }
}

/// A virtual actor for tests: a counter that restores its value from the
/// state store when activated and saves it after every change (and when
/// passivated), so it survives the loss of its node.
public distributed actor CounterActor {
    public typealias ActorSystem = MeshActorSystem
    public static let kind = "counter"

    let key: String
    private var value: Int
    private let store: StateStoreActor

    init(key: String, value: Int, store: StateStoreActor, actorSystem: MeshActorSystem) {
        self.key = key
        self.value = value
        self.store = store
        self.actorSystem = actorSystem
    }

    public distributed func increment() async throws -> Int {
        value += 1
        let counted = value  // calls interleave at the await below
        try await store.put(key, counted)
        return counted
    }

    public distributed func current() -> Int { value }

    /// The node this activation runs on.
    public distributed func hostNode() -> String { actorSystem.node.name.rawValue }

    func persist() async throws { try await store.put(key, value) }

    /// Registers the counter kind on `system`: activations load their value
    /// from `store`, passivation saves it.
    public static func register(on system: MeshActorSystem, store: StateStoreActor, placement: PlacementRequirement = .init()) {
        system.kinds.register(kind, as: CounterActor.self, placement: placement, make: { key, system in
            let value = try await store.get(key) ?? 0
            return CounterActor(key: key, value: value, store: store, actorSystem: system)
        }, passivate: { counter in
            try? await counter.whenLocal { try await $0.persist() }
        })
    }
}
