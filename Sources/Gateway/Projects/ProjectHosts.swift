import Foundation
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
/// Trust: a worker may be taken over by the code it runs. It is reached
/// only through `ProjectHostActor`'s calls, whose answers the gateway
/// bounds and checks like any other input, and it never sees provider
/// keys or other projects' placement.
public final class ProjectHosts: Sendable {
    let store: Store
    let mesh: MeshActorSystem
    /// This node's own host, when it holds projects (has the worker role).
    public let local: ProjectHostActor?
    /// Hosts resolved so far, by project (keystrokes must not read the database).
    private let resolved = Mutex<[String: (node: NodeID, host: ProjectHostActor)]>([:])

    public init(store: Store, mesh: MeshActorSystem, local: ProjectHostActor?) {
        self.store = store
        self.mesh = mesh
        self.local = local
    }

    /// The host of `projectId`, placing the project first if it has none.
    /// - Throws: `ProtocolError(.unavailable)` when the node holding it is
    ///   not a live member, or no worker is up to take a new project.
    public func host(for projectId: String) async throws -> ProjectHostActor {
        if let cached = resolved.withLock({ $0[projectId] }) {
            if cached.node == mesh.node || mesh.cluster.isAlive(cached.node) { return cached.host }
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
            guard let member = mesh.cluster.members.first(where: { $0.node.name.rawValue == name && $0.status.isConfirmedLive }) else {
                throw ProtocolError(.unavailable, "the worker that holds this project (\(name)) is not up; try again when it is back")
            }
            host = (member.node, try remoteHost(on: member))
        }
        resolved.withLock { $0[projectId] = host }
        return host.host
    }

    /// Where a new project goes: the live worker holding the fewest
    /// projects, by name on a tie, leaving out workers being drained
    /// (`hma worker drain`) — chosen before the project is made, so
    /// nothing is made when no worker can take it.
    /// - Throws: `ProtocolError(.unavailable)` when no worker is up.
    public func choose() async throws -> MemberState {
        let counts = try await store.projectCountsByHost()
        let drained = try await store.drainedNodes()
        let workers = mesh.cluster.members.filter { member in
            member.roles.contains(.worker) && member.status == .up && (member.node != mesh.node || local != nil)
                && !drained.contains(member.node.name.rawValue)
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
