import Distributed
import Synchronization

/// One connection's received calls that wait behind one-way calls to the
/// same recipient (docs/wire-protocol.md §5, "Order and one-way calls").
///
/// One-way calls that arrive together are run by one task per recipient,
/// one after another, instead of a task per message. While such a task
/// runs, every later call from this connection to that recipient queues
/// behind it, so calls from one sender to one recipient still start in the
/// order they were sent. A request/reply call is started (in its own task)
/// when its turn comes, not awaited: only one-way calls run back to back.
///
/// A key is present while a task drains that recipient's queue.
final class InboundQueues: Sendable {
    enum Item: Sendable {
        case oneWay(PreparedCall)
        case call(PreparedCall)
    }

    private let queues = Mutex<[String: [Item]]>([:])

    /// Queues one-way calls for `path`; true when no task drains it yet
    /// (the caller starts one).
    func add(_ items: [Item], for path: String) -> Bool {
        queues.withLock { queues in
            if queues[path] != nil {
                queues[path]!.append(contentsOf: items)
                return false
            }
            queues[path] = items
            return true
        }
    }

    /// Queues `item` behind a running drain of `path`; false when none runs
    /// (the caller starts the call itself, as nothing is ahead of it).
    func addIfDraining(_ item: Item, for path: String) -> Bool {
        queues.withLock { queues in
            guard queues[path] != nil else { return false }
            queues[path]!.append(item)
            return true
        }
    }

    /// The next items for the drain of `path`; nil ends the drain (the key
    /// goes, so the next one-way call starts a new one).
    func take(_ path: String) -> [Item]? {
        queues.withLock { queues in
            guard let items = queues[path] else { return nil }
            if items.isEmpty {
                queues.removeValue(forKey: path)
                return nil
            }
            queues[path] = []
            return items
        }
    }
}

/// A received call checked and ready to run on its local actor.
/// Unchecked: each is handed to exactly one task and not touched after
/// (its decoder and result handler are not Sendable types).
struct PreparedCall: @unchecked Sendable {
    let actor: any DistributedActor
    var decoder: MeshInvocationDecoder
    let handler: MeshResultHandler
    let target: RemoteCallTarget
    let name: String
}
