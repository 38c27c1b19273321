import Foundation
import Logging
import Mesh
import Storage
import Synchronization

/// Which node holds each project, and the way to reach its host
/// (docs/architecture.md, "Projects on workers").
///
/// A new project is placed on a live member with the worker role that holds
/// the fewest projects — the gateway itself when it is also a worker
/// (`hma dev`). The choice is saved in the database (`project_host`), so a
/// project stays where its folder is across restarts. A project never
/// placed (made before placement existed) is on the gateway's own host.
///
/// A worker-held project has a durable copy in the database (`copies`),
/// brought up to date at every saved run step and after requests that
/// may change it. When its worker is lost — declared down by the failure
/// detector, or gone for `absenceLimit` — the next use of the project
/// restores the copy onto another worker and moves the project there
/// (docs/architecture.md, "Project copies").
///
/// Trust: a worker may be taken over by the code it runs. It is reached
/// only through `ProjectHostActor`'s calls, whose answers the gateway
/// bounds and checks like any other input, and it never sees provider
/// keys or other projects' placement.
public final class ProjectHosts: Sendable {
    let store: Store
    let mesh: MeshActorSystem
    /// This node's own host, when it holds projects (has the worker role).
    public let local: ProjectHostActor?
    let copies: ProjectCopies
    let logger: Logger
    /// A worker that left, or that this gateway has not seen since it
    /// started, is lost after this long; one declared down at once.
    let absenceLimit: Duration
    /// Hosts resolved so far, by project (keystrokes must not read the database).
    private let resolved = Mutex<[String: (node: NodeID, host: ProjectHostActor)]>([:])
    /// Moves in progress, by project: concurrent uses wait for the same one.
    private let moving = Mutex<[String: Task<(node: NodeID, host: ProjectHostActor), any Error>]>([:])
    /// Since when each node that was seen live has not been (absent: live,
    /// or never seen since this gateway started). Set once when it stops
    /// being live, so gossip about it does not restart the clock.
    private let absentSince = Mutex<[String: ContinuousClock.Instant]>([:])
    /// What each worker (each start of it) was last told about draining.
    private let toldDraining = Mutex<[NodeID: Bool]>([:])
    /// Projects whose copy could not be kept (past its limits): not copied
    /// again while this gateway runs.
    private let uncopyable = Mutex<Set<String>>([])
    /// Worker-held projects used lately, with the upkeep passes that are
    /// still to copy them. A use is marked when its host is looked up,
    /// before the request changes anything, so a pass can come between
    /// the mark and the change: each use is copied by two passes.
    private let touched = Mutex<[String: Int]>([:])
    static let passesPerUse = 2
    private let started = ContinuousClock.now
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    public init(store: Store, mesh: MeshActorSystem, local: ProjectHostActor?, absenceLimit: Duration = .seconds(120),
                logger: Logger = Logger(label: "hma.projects")) {
        self.store = store
        self.mesh = mesh
        self.local = local
        self.copies = ProjectCopies(store: store)
        self.absenceLimit = absenceLimit
        self.logger = logger
        let changes = mesh.cluster.changes()
        let task = Task { [weak self] in
            for await member in changes {
                self?.absentSince.withLock { absent in
                    let name = member.node.name.rawValue
                    if member.status.isConfirmedLive {
                        absent.removeValue(forKey: name)
                    } else if absent[name] == nil {
                        absent[name] = .now
                    }
                }
            }
        }
        watcher.withLock { $0 = task }
    }

    deinit { watcher.withLock { $0?.cancel() } }

    /// The host of `projectId`, placing the project first if it has none.
    /// - Throws: `ProtocolError(.unavailable)` when the node holding it is
    ///   not a live member, or no worker is up to take a new project.
    public func host(for projectId: String) async throws -> ProjectHostActor {
        try await host(for: projectId, moving: true)
    }

    /// The host of `projectId` as it is, never moving it (a run's journal
    /// copies from the host its run uses, or not at all).
    func currentHost(for projectId: String) async throws -> ProjectHostActor {
        try await host(for: projectId, moving: false)
    }

    private func host(for projectId: String, moving allowed: Bool) async throws -> ProjectHostActor {
        if let cached = resolved.withLock({ $0[projectId] }) {
            if cached.node == mesh.node { return cached.host }
            if mesh.cluster.isAlive(cached.node) {
                // A journal save copies by itself; other uses may change files.
                if allowed { touched.withLock { $0[projectId] = Self.passesPerUse } }
                return cached.host
            }
            resolved.withLock { _ = $0.removeValue(forKey: projectId) }
        }
        let name = try await store.projectHost(projectId: projectId)
        let host: (node: NodeID, host: ProjectHostActor)
        switch name {
        case nil:
            guard let local else { throw ProtocolError(.unavailable, "the project has no host; it was made on a node that holds no projects") }
            host = (mesh.node, local)
        case mesh.node.name.rawValue?:
            guard let local else { throw ProtocolError(.unavailable, "this gateway holds no projects (it is not a worker)") }
            host = (mesh.node, local)
        case let name?:
            if let live = try liveHost(named: name) {
                host = live
                if allowed { touched.withLock { $0[projectId] = Self.passesPerUse } }
            } else if allowed, isLost(name) {
                host = try await move(projectId, from: name)
            } else {
                throw Self.notUp(name)
            }
        }
        resolved.withLock { $0[projectId] = host }
        return host.host
    }

    /// The host of the confirmed live member `name`, if it is one.
    private func liveHost(named name: String) throws -> (node: NodeID, host: ProjectHostActor)? {
        guard let member = mesh.cluster.members.first(where: { $0.node.name.rawValue == name && $0.status.isConfirmedLive }) else { return nil }
        return (member.node, try remoteHost(on: member))
    }

    static func notUp(_ name: String) -> ProtocolError {
        ProtocolError(.unavailable, "the worker that holds this project (\(name)) is not up; try again when it is back")
    }

    /// Whether the worker `name` is lost: declared down (or removed) by the
    /// failure detector, or not confirmed live — left, only heard of from
    /// others, or unseen since this gateway started — for `absenceLimit`.
    func isLost(_ name: String) -> Bool {
        let member = mesh.cluster.members.first { $0.node.name.rawValue == name }
        if let member, member.status == .down || member.status == .removed { return true }
        if let member, member.status.isConfirmedLive { return false }
        let since = absentSince.withLock { $0[name] } ?? started
        return ContinuousClock.now - since >= absenceLimit
    }

    /// Restores the project's copy onto another worker and records it
    /// there; concurrent callers share one move.
    /// - Throws: `unavailable` when there is no copy or no worker to take it.
    private func move(_ projectId: String, from lost: String) async throws -> (node: NodeID, host: ProjectHostActor) {
        let task = moving.withLock { inProgress in
            if let running = inProgress[projectId] { return running }
            let task = Task { [self] () async throws -> (node: NodeID, host: ProjectHostActor) in
                defer { _ = self.moving.withLock { $0.removeValue(forKey: projectId) } }
                // A caller that read the placement before an earlier move
                // finished gets where that move put it, not a second move.
                let placed = try await store.projectHost(projectId: projectId)
                if let placed, placed != lost {
                    if placed == mesh.node.name.rawValue, let local { return (mesh.node, local) }
                    guard let live = try liveHost(named: placed) else { throw Self.notUp(placed) }
                    return live
                }
                guard try await copies.exists(projectId) else {
                    throw ProtocolError(.unavailable, "the worker that held this project (\(lost)) is lost, and the project has no copy to restore")
                }
                let target = try await choose(excluding: lost)
                guard let host = target.node == mesh.node ? local : try? remoteHost(on: target) else {
                    throw ProtocolError(.unavailable, "no worker can take the project of the lost worker \(lost)")
                }
                let began = ContinuousClock.now
                let (files, bytes) = try await copies.restore(projectId, to: host)
                try await store.setProjectHost(projectId: projectId, node: target.node.name.rawValue)
                // Cached before the move ends, so no caller reads the old placement after it.
                resolved.withLock { $0[projectId] = (target.node, host) }
                // On the gateway's own host the project goes down with the
                // gateway: its copy is no longer kept, so it must not linger.
                if target.node == mesh.node { try? await store.dropProjectCopy(projectId: projectId) }
                logger.notice("project restored from its copy onto another worker", metadata: [
                    "project": "\(projectId)", "lost": "\(lost)", "to": "\(target.node.name)", "files": "\(files)", "bytes": "\(bytes)",
                    "took": "\(ContinuousClock.now - began)"])
                return (target.node, host)
            }
            inProgress[projectId] = task
            return task
        }
        return try await task.value
    }

    /// Whether `projectId`'s copy is kept (its host is another node: a
    /// project on the gateway's own host goes down with the gateway).
    func keepsCopy(of projectId: String) async throws -> Bool {
        guard !uncopyable.withLock({ $0.contains(projectId) }) else { return false }
        guard let name = try await store.projectHost(projectId: projectId) else { return false }
        return name != mesh.node.name.rawValue
    }

    /// Brings the project's copy up to date from `host` now; a copy that
    /// cannot be kept (past its limits) is given up (`dropCopy`).
    func syncCopy(of projectId: String, from host: ProjectHostActor) async throws {
        do {
            try await copies.sync(projectId, from: host)
        } catch let error as ProtocolError where error.code == .limitReached {
            await dropCopy(of: projectId, because: error.message)
        }
    }

    /// Gives up the project's copy (it cannot be kept: past its limits): a
    /// stale copy must not be restored, so the project stays with its worker.
    func dropCopy(of projectId: String, because reason: String) async {
        uncopyable.withLock { _ = $0.insert(projectId) }
        try? await store.dropProjectCopy(projectId: projectId)
        logger.warning("a project's copy cannot be kept; it will not be restored if its worker is lost",
                       metadata: ["project": "\(projectId)", "reason": "\(reason)"])
    }

    /// Tells each live worker whether it is drained (`hma worker drain`
    /// writes the database; workers learn it here, every upkeep pass and
    /// again after a restart), so agents' placement avoids drained workers.
    func propagateDrains() async {
        guard let drained = try? await store.drainedNodes() else { return }
        for member in mesh.cluster.members where member.roles.contains(.worker) && member.status == .up {
            let draining = drained.contains(member.node.name.rawValue)
            guard toldDraining.withLock({ $0[member.node] }) != draining else { continue }
            do {
                if member.node == mesh.node {
                    mesh.setDraining(draining)
                } else {
                    try await remoteHost(on: member).setDraining(draining)
                }
                toldDraining.withLock { $0[member.node] = draining }
                logger.notice(draining ? "worker drained: new agents go elsewhere" : "worker no longer drained",
                              metadata: ["worker": "\(member.node.name)"])
            } catch {
                logger.warning("a worker could not be told whether it is drained", metadata: ["worker": "\(member.node.name)", "error": "\(error)"])
            }
        }
    }

    /// Brings the copies of the projects used since the last pass up to
    /// date (`WorkerUpkeep`, every few seconds).
    func syncTouched() async {
        let projects = touched.withLock { touched in
            let due = Array(touched.keys)
            for key in due {
                // Not touched again since this pass began: one pass fewer.
                if let left = touched[key], left > 1 { touched[key] = left - 1 } else { touched.removeValue(forKey: key) }
            }
            return due
        }
        let again = { (projectId: String) in self.touched.withLock { $0[projectId] = max($0[projectId] ?? 0, 1) } }
        for projectId in projects.sorted() {
            guard let cached = resolved.withLock({ $0[projectId] }), cached.node != mesh.node else { continue }
            guard mesh.cluster.isAlive(cached.node) else {
                // Its worker is away: copied when it is back (or restored
                // elsewhere from what the copy holds).
                again(projectId)
                continue
            }
            do {
                try await syncCopy(of: projectId, from: cached.host)
            } catch let error as ProtocolError where error.code == .notFound {
                continue
            } catch {
                // Tried again next pass (the project may not be used again soon).
                again(projectId)
                logger.warning("a project's copy could not be brought up to date", metadata: ["project": "\(projectId)", "error": "\(error)"])
            }
        }
    }

    /// Where a new project goes: the live worker holding the fewest
    /// projects, by name on a tie, leaving out workers being drained
    /// (`hma worker drain`) — chosen before the project is made, so
    /// nothing is made when no worker can take it.
    /// - Throws: `ProtocolError(.unavailable)` when no worker is up.
    public func choose(excluding excluded: String? = nil) async throws -> MemberState {
        let counts = try await store.projectCountsByHost()
        let drained = try await store.drainedNodes()
        let workers = mesh.cluster.members.filter { member in
            member.roles.contains(.worker) && member.status == .up && (member.node != mesh.node || local != nil)
                && !drained.contains(member.node.name.rawValue) && member.node.name.rawValue != excluded
        }
        let load = { (member: MemberState) in (counts[member.node.name.rawValue] ?? 0, member.node.name.rawValue) }
        guard let chosen = workers.min(by: { load($0) < load($1) }) else {
            throw ProtocolError(.unavailable, "no worker node is up to hold the project; start one with `hma worker --join`")
        }
        return chosen
    }

    /// Records that `member` holds the new project `projectId`.
    public func assign(_ projectId: String, to member: MemberState) async throws {
        try await store.setProjectHost(projectId: projectId, node: member.node.name.rawValue)
        let host = member.node == mesh.node ? local : try? remoteHost(on: member)
        if let host { resolved.withLock { $0[projectId] = (member.node, host) } }
    }

    /// The name of the node holding `projectId` (nil: the gateway's own host).
    public func node(of projectId: String) async throws -> String? {
        try await store.projectHost(projectId: projectId)
    }

    /// Every host this gateway can reach now: its own and each live worker's.
    func allHosts() -> [(node: String, host: ProjectHostActor)] {
        var hosts: [(String, ProjectHostActor)] = local.map { [(mesh.node.name.rawValue, $0)] } ?? []
        for member in mesh.cluster.members where member.node != mesh.node && member.roles.contains(.worker) && member.status == .up {
            if let host = try? remoteHost(on: member) { hosts.append((member.node.name.rawValue, host)) }
        }
        return hosts
    }

    private func remoteHost(on member: MemberState) throws -> ProjectHostActor {
        try ProjectHostActor.resolve(id: MeshActorID(node: member.node, endpoint: member.endpoint, path: ProjectHostActor.path), using: mesh)
    }
}
