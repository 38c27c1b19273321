/// Who made the call being served: the node authenticated by the
/// connection it arrived on (its certificate's name, the incarnation from
/// its handshake), and which local actor it addressed.
///
/// System actors take identities from here, never from their arguments: a
/// member may speak for itself only (docs/cluster.md, "Trust"). The
/// recipient is part of it because task-locals flow into everything the
/// call does: when a served call makes a local call to another actor, that
/// nested call is this node's own doing, not the remote caller's.
struct InboundCall: Sendable {
    let caller: NodeID
    /// What the caller's certificate grants.
    let roles: NodeRoles
    let recipientPath: String
}

extension MeshActorSystem {
    @TaskLocal static var inboundCall: InboundCall?

    /// The remote node whose call to `actor` is being served, or nil when
    /// this node itself is calling (locally, or in work of its own).
    static func remoteCaller(of actor: MeshActorID) -> NodeID? {
        guard let call = inboundCall, call.recipientPath == actor.path else { return nil }
        return call.caller
    }

    /// Throws `MeshError.refused` unless `actor` is being called by this
    /// node itself or by `node`.
    static func requireCaller(of actor: MeshActorID, is node: NodeID, toDo what: @autoclosure () -> String) throws {
        guard let caller = remoteCaller(of: actor), caller != node else { return }
        throw MeshError.refused("\(caller) may not \(what()) on behalf of \(node)")
    }

    /// Throws `MeshError.refused` unless `actor` is being called by this
    /// node itself or by a node whose certificate grants `role` — for
    /// application actors that serve only one kind of node (a worker's
    /// project host serves only gateways, never another worker).
    public static func requireCaller(of actor: MeshActorID, toHave role: NodeRoles) throws {
        guard let call = inboundCall, call.recipientPath == actor.path, !call.roles.isSuperset(of: role) else { return }
        throw MeshError.refused("\(call.caller) is not a \(role.names.joined(separator: "/")) and may not call \(actor.path)")
    }

    /// Throws `MeshError.refused` unless `actor` is being called by this
    /// node itself or by the node it sees as leader.
    func requireLeaderOrLocal(calling actor: MeshActorID, toDo what: @autoclosure () -> String) throws {
        guard let caller = Self.remoteCaller(of: actor) else { return }
        guard caller == cluster.leader?.node else { throw MeshError.refused("\(caller) is not the leader and may not \(what())") }
    }
}
