import Storage

/// The one way the gateway opens a project on its host. An archived (or
/// compressed) project becomes active again first — clearing its
/// compression mark — so retention does not pack it away under the person
/// using it; the host unpacks a compressed folder on open.
enum ProjectOpening {
    static func open(_ project: ProjectMeta, store: Store, host: ProjectHostActor) async throws {
        if project.status == .archived {
            _ = try await store.setProjectStatus(id: project.id, to: .active)
        }
        try await host.open(projectId: project.id)
    }
}

extension Gateway {
    func open(_ project: ProjectMeta) async throws {
        try await ProjectOpening.open(project, store: store, host: host)
    }
}
