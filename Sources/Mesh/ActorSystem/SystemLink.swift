/// How a node's services (cluster, watches, receptionist, host, virtual
/// actors) reach the system that owns them. The system makes its services
/// in its `init` — they are `let`s, there when anything can call them —
/// and binds the link at the end of that `init`, before the system is
/// returned, so no caller ever finds it unbound. The reference is
/// `unowned`: the system owns its services, never the reverse, so there is
/// no cycle; a service's timers capture the service weakly and end with it.
final class SystemLink: @unchecked Sendable {
    // Written once, in the system's init, before the system or any of its
    // services is reachable from another thread; only read afterwards.
    private unowned var bound: MeshActorSystem?

    init() {}

    func bind(_ system: MeshActorSystem) {
        precondition(bound == nil, "a link binds one system")
        bound = system
    }

    var system: MeshActorSystem {
        guard let bound else { preconditionFailure("a service was used before its system's init bound it") }
        return bound
    }
}
