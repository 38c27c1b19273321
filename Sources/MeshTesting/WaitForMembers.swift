import Mesh

/// Returns once `predicate` holds for `system`'s member list, re-checking on
/// every membership change (no polling); fails with `TimedOut` after `seconds`.
public func waitForMembers(
    of system: MeshActorSystem, _ what: String, seconds: Double = 20,
    until predicate: @escaping @Sendable ([MemberState]) -> Bool
) async throws {
    try await within(seconds, what) {
        for await _ in system.cluster.changes() {
            if predicate(system.cluster.members) { return }
        }
    }
}
