import Distributed
import Foundation
import Logging
import Synchronization

/// Virtual actors (docs/cluster.md, "Virtual actors"): actors addressed by kind and key,
/// activated on first call on a node chosen by placement, deactivated when
/// idle, and re-activated elsewhere when their node goes down.
///
/// The directory of activations lives with the cluster's leader (the up
/// member with the lowest name, `Cluster.leader`). To place a key it has no
/// live entry for, the leader first asks every live member whether it hosts
/// the key, so a new leader never activates a second copy of an actor an
/// old one placed; activation waits while a live member does not answer.
/// Concurrent first calls share one placement (single activation). When a
/// node sees the leader change (the leader died, or a partition healed) it
/// reports its activations to the new leader, which keeps one copy of each
/// key and has the others dropped; so does every node that sees a member it
/// had seen down come back.
public final class VirtualActors: Sendable {
    private let cache = Mutex<[VirtualKey: MeshActorID]>([:])
    private let reportedLeader = Mutex<NodeID?>(nil)
    private let seenDown = Mutex<Set<NodeID>>([])
    private let link: SystemLink
    private var system: MeshActorSystem { link.system }

    /// How long `call` keeps retrying a key whose node is unreachable (the
    /// node has to be declared down before the key moves).
    public static let retryWindow: Duration = .seconds(15)

    init(link: SystemLink) {
        self.link = link
    }

    /// The virtual actors active on this node.
    public var localActivations: [VirtualActivation] { system.host.activations }

    /// A reference to the activation of `kind`/`key`, activating it if needed.
    public func resolve<Act: DistributedActor>(
        _ type: Act.Type, kind: String, key: String
    ) async throws -> Act where Act.ID == MeshActorID, Act.ActorSystem == MeshActorSystem {
        let id = try await locate(VirtualKey(kind: kind, key: key), stale: nil)
        return try Act.resolve(id: id, using: system)
    }

    /// Calls `body` on the activation of `kind`/`key`. When the activation's
    /// node is unreachable or the activation is gone, it locates the key
    /// again and retries (backing off) for up to `retryWindow`: after a node
    /// loss the key is re-activated elsewhere once the node is down.
    public func call<Act: DistributedActor, Result: Sendable>(
        _ type: Act.Type, kind: String, key: String, _ body: (Act) async throws -> Result
    ) async throws -> Result where Act.ID == MeshActorID, Act.ActorSystem == MeshActorSystem {
        let virtualKey = VirtualKey(kind: kind, key: key)
        let deadline = ContinuousClock.now + Self.retryWindow
        var stale: MeshActorID?
        var delay = Duration.milliseconds(50)
        while true {
            do {
                let id = try await locate(virtualKey, stale: stale)
                stale = id
                return try await body(try Act.resolve(id: id, using: system))
            } catch let error where Self.isRetryable(error) && ContinuousClock.now + delay < deadline {
                cache.withLock { _ = $0.removeValue(forKey: virtualKey) }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .milliseconds(500))
            }
        }
    }

    static func isRetryable(_ error: any Error) -> Bool {
        switch error {
        case MeshError.nodeUnreachable, MeshError.actorNotFound, MeshError.timeout: return true
        case PlacementError.membersUnresponsive: return true
        default: return false
        }
    }

    /// Where `key` is active (asks the leader unless cached).
    func locate(_ key: VirtualKey, stale: MeshActorID?) async throws -> MeshActorID {
        if let cached = cache.withLock({ $0[key] }), cached != stale, system.cluster.isAlive(cached.node) {
            if cached.node == system.node { system.host.touch(cached.path) }
            return cached
        }
        guard let leader = system.cluster.leader else {
            throw MeshError.nodeUnreachable(node: "leader", reason: "no live member")
        }
        let directory = try DirectoryActor.resolve(id: DirectoryActor.id(of: leader), using: system)
        let id = try await directory.locate(key, stale: stale)
        cache.withLock { $0[key] = id }
        if id.node == system.node { system.host.touch(id.path) }
        return id
    }

    /// This node deactivated an idle activation: the leader forgets it.
    func deactivated(_ activation: VirtualActivation) async {
        cache.withLock { if $0[activation.key] == activation.id { $0.removeValue(forKey: activation.key) } }
        guard let leader = system.cluster.leader,
              let directory = try? DirectoryActor.resolve(id: DirectoryActor.id(of: leader), using: system) else { return }
        try? await MeshActorSystem.withCallTimeout(.seconds(5)) { try await directory.deactivated(activation) }
    }

    /// Membership changed: drop cached entries of gone nodes; when the
    /// leader changed, report this node's activations to the new one.
    func memberChanged(_ member: MemberState) {
        if member.status.isFinal {
            cache.withLock { cache in cache = cache.filter { $0.value.node != member.node } }
        }
        // A member that was down and is up again was cut off, not dead: its
        // activations and ours may overlap.
        let revived = member.status == .up && seenDown.withLock { $0.remove(member.node) != nil }
        if member.status == .down { seenDown.withLock { _ = $0.insert(member.node) } }
        guard let leader = system.cluster.leader else { return }
        let changed = reportedLeader.withLock { reported -> Bool in
            guard reported != leader.node else { return false }
            reported = leader.node
            return true
        }
        guard changed || revived else { return }
        let activations = system.host.activations
        system.logger.debug("membership changed", metadata: [
            "leader": "\(leader.node)", "revived": "\(revived)", "activations": "\(activations.count)"])
        guard !activations.isEmpty else { return }
        Task { await report(activations, to: leader) }
    }

    private func report(_ activations: [VirtualActivation], to leader: MemberState) async {
        var delay = Duration.milliseconds(100)
        for _ in 0..<8 {
            guard system.cluster.leader?.node == leader.node else { return }  // a later change reports again
            do {
                let directory = try DirectoryActor.resolve(id: DirectoryActor.id(of: leader), using: system)
                let duplicates = try await MeshActorSystem.withCallTimeout(.seconds(5)) { try await directory.report(activations) }
                system.logger.debug("reported activations", metadata: ["leader": "\(leader.node)", "duplicates": "\(duplicates)"])
                for key in duplicates {
                    system.logger.info("dropping a duplicate activation found after a leader change", metadata: ["key": "\(key)"])
                    await system.host.deactivate(key, passivate: false)
                }
                return
            } catch {
                system.logger.notice("reporting activations to the leader failed; retrying", metadata: [
                    "leader": "\(leader.node)", "error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }
}

/// The directory of virtual activations. Every node runs one; the leader's
/// is the one asked.
distributed actor DirectoryActor {
    typealias ActorSystem = MeshActorSystem
    static let path = "/system/directory"

    static func id(of member: MemberState) -> MeshActorID {
        MeshActorID(node: member.node, endpoint: member.endpoint, path: path)
    }

    private var table: [VirtualKey: MeshActorID] = [:]
    private var placing: [VirtualKey: Task<MeshActorID, any Error>] = [:]

    init(actorSystem: MeshActorSystem) {
        self.actorSystem = actorSystem
    }

    /// Where `key` is active, activating it when it is nowhere. `stale` is
    /// an id the caller could not reach or found gone.
    distributed func locate(_ key: VirtualKey, stale: MeshActorID?) async throws -> MeshActorID {
        if let id = table[key], actorSystem.cluster.isAlive(id.node), id != stale { return id }
        if let running = placing[key] { return try await running.value }
        let system = actorSystem
        // The search is this node's own work, whoever asked.
        let task = Task { try await MeshActorSystem.$inboundCall.withValue(nil) { try await Self.findOrActivate(key, system: system) } }
        placing[key] = task
        defer { placing[key] = nil }
        let id = try await task.value
        table[key] = id
        return id
    }

    /// Another node's activations (after it saw this node become leader);
    /// a node reports its own only.
    /// - Returns: the keys it must drop because another copy is kept.
    distributed func report(_ activations: [VirtualActivation]) throws -> [VirtualKey] {
        for activation in activations {
            try MeshActorSystem.requireCaller(of: id, is: activation.id.node, toDo: "report the activation \(activation.key)")
        }
        var duplicates: [VirtualKey] = []
        for activation in activations {
            if let kept = table[activation.key], kept != activation.id, actorSystem.cluster.isAlive(kept.node) {
                duplicates.append(activation.key)
            } else {
                table[activation.key] = activation.id
            }
        }
        return duplicates
    }

    /// The activations this directory knows of (tests, `hma status`).
    distributed func knownActivations() -> [VirtualActivation] {
        table.map { VirtualActivation(key: $0.key, id: $0.value) }
    }

    distributed func deactivated(_ activation: VirtualActivation) throws {
        try MeshActorSystem.requireCaller(of: id, is: activation.id.node, toDo: "deactivate \(activation.key)")
        if table[activation.key] == activation.id { table[activation.key] = nil }
    }

    /// Finds the key on a live member, or places and activates it.
    private static func findOrActivate(_ key: VirtualKey, system: MeshActorSystem) async throws -> MeshActorID {
        let members = system.cluster.members.filter { $0.status.isConfirmedLive }
        var found: [MeshActorID] = []
        var silent: [String] = []
        await withTaskGroup(of: (String, Result<MeshActorID?, any Error>).self) { group in
            for member in members {
                group.addTask {
                    do {
                        let host = try HostActor.resolve(id: HostActor.id(of: member), using: system)
                        return (member.node.name.rawValue, .success(try await MeshActorSystem.withCallTimeout(.seconds(2)) { try await host.activation(key) }))
                    } catch {
                        return (member.node.name.rawValue, .failure(error))
                    }
                }
            }
            for await (name, result) in group {
                switch result {
                case .success(let id?): found.append(id)
                case .success(nil): continue
                case .failure: silent.append(name)
                }
            }
        }
        if !found.isEmpty {
            found.sort { $0.node.name.rawValue < $1.node.name.rawValue }
            for duplicate in found.dropFirst() {
                guard let member = system.cluster.member(duplicate.node) else { continue }
                try? await HostActor.resolve(id: HostActor.id(of: member), using: system).deactivate(key, passivate: false)
            }
            return found[0]
        }
        guard silent.isEmpty else { throw PlacementError.membersUnresponsive(key: key.description, nodes: silent.sorted()) }
        guard let kind = system.kinds[key.kind] else { throw PlacementError.unknownKind(key.kind) }
        var excluded: Set<NodeName> = []
        while let member = await system.choosePlacement(for: key.description, requirement: kind.placement, excluding: excluded) {
            do {
                let host = try HostActor.resolve(id: HostActor.id(of: member), using: system)
                return try await host.activate(key)
            } catch let error as MeshError {
                system.logger.warning("activation failed; trying another node", metadata: ["key": "\(key)", "node": "\(member.node)", "error": "\(error)"])
                excluded.insert(member.node.name)
            }
        }
        throw PlacementError.noNodeFits(kind: key.kind, requirement: kind.placement.description)
    }
}
