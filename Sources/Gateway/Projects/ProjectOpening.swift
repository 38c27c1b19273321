import Storage

/// The one way the gateway opens a project on its host. An archived (or
/// compressed) project becomes active again first — clearing its
/// compression mark — so retention does not pack it away under the person
/// using it; the host unpacks a compressed folder on open.
enum ProjectOpening {
    /// Returns the host that now has the project open.
    @discardableResult
    static func open(_ project: ProjectMeta, store: Store, hosts: ProjectHosts) async throws -> ProjectHostActor {
        if project.status == .archived {
            _ = try await store.setProjectStatus(id: project.id, to: .active)
        }
        let host = try await hosts.host(for: project.id)
        try await host.open(projectId: project.id)
        return host
    }
}

extension Gateway {
    @discardableResult
    func open(_ project: ProjectMeta) async throws -> ProjectHostActor {
        try await ProjectOpening.open(project, store: store, hosts: hosts)
    }
}
