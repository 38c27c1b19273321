/// Which connection to a peer is the association, when one arrives while
/// another may exist (docs/wire-protocol.md §4): a decision with no I/O,
/// tested alone; `MeshActorSystem.adoptInbound` carries it out.
enum ConnectionChoice: Equatable {
    /// No live association: the incoming connection becomes it.
    case adopt
    /// The peer restarted: the old association closes, the incoming one is it.
    case replaceRestarted
    /// The incoming connection is from an earlier start of the peer (still
    /// shutting down): it is closed.
    case refuseEarlierStart
    /// Both nodes dialled: the incoming connection wins; ours finishes its
    /// calls and retires.
    case adoptAndRetireExisting
    /// Both nodes dialled and ours wins: the incoming one serves the peer's
    /// calls until the peer retires it (kept as the one secondary connection).
    case keepExisting

    /// What is known of the association that exists.
    struct Existing: Equatable {
        /// The peer once its handshake completed (nil: still dialling).
        var peer: NodeID?
        /// How long ago the dial started.
        var age: Duration
    }

    /// - Parameters:
    ///   - existing: the live association to that peer's name, if any.
    ///   - incoming: the peer the new connection's handshake proved.
    ///   - local: this node's name.
    ///   - connectTimeout: how long a dial may take.
    static func decide(existing: Existing?, incoming: NodeID, local: NodeName, connectTimeout: Duration) -> ConnectionChoice {
        guard let existing else { return .adopt }
        if let known = existing.peer, known.incarnation != incoming.incarnation {
            // Only a later start replaces an earlier one.
            return incoming.incarnation > known.incarnation ? .replaceRestarted : .refuseEarlierStart
        }
        // The peer's connection is the canonical one when the peer has the
        // lower name, or when ours has been dialling for over half the
        // connect timeout: a dial into a network that was partitioned hangs
        // until its connect timeout, and the member must not look silent
        // meanwhile. (Two nodes dialling each other at once finish well
        // within that, even on a busy machine, and keep the lower name's.)
        if incoming.name.rawValue < local.rawValue || (existing.peer == nil && existing.age > connectTimeout / 2) {
            return .adoptAndRetireExisting
        }
        return .keepExisting
    }
}
