import Foundation
import Logging
import Mesh
import ServiceLifecycle
import Storage

/// Applies the store's retention decisions to project folders on a
/// schedule (docs/operations.md, "Retention"): an archived project's
/// sandbox is closed, a compressed one is packed into a zip, a deleted one
/// is removed. The database decides first and the files follow, so a crash
/// in between leaves folders that disagree with their rows; every pass
/// therefore also reconciles what the host holds with the database.
public struct RetentionService: Service {
    /// What one pass did, for the log and the tests.
    public struct Pass: Sendable, Equatable {
        public var archived: [String] = []
        public var compressed: [String] = []
        public var removed: [String] = []
        /// Projects whose file work failed (retried next pass).
        public var failed: [String] = []
    }

    public let store: Store
    public let hosts: ProjectHosts
    public let policy: RetentionPolicy
    public let interval: Duration
    /// A folder without a database row is removed only when it is older
    /// than this: a project being created has its folder a moment before
    /// its row is visible.
    public let orphanAge: TimeInterval
    public let logger: Logger
    let runs: RunManager?

    public init(store: Store, hosts: ProjectHosts, policy: RetentionPolicy, interval: Duration,
                orphanAge: TimeInterval = 3600, runs: RunManager? = nil, logger: Logger) {
        self.store = store
        self.hosts = hosts
        self.policy = policy
        self.interval = interval
        self.orphanAge = orphanAge
        self.runs = runs
        self.logger = logger
    }

    public func run() async throws {
        await everyInterval(interval) { _ = await runOnce() }
    }

    /// One pass at `now` (the store's clock when nil). Failures are logged
    /// and retried at the next pass; they never stop the gateway.
    public func runOnce(now: Date? = nil) async -> Pass {
        var pass = Pass()
        let actions: [RetentionAction]
        do {
            actions = try await store.applyRetention(policy, now: now)
        } catch {
            logger.error("retention could not be applied; will retry", metadata: ["error": "\(error)"])
            return pass
        }
        for action in actions {
            if let runs, await runs.hasRun(action.projectId) { continue }  // never under a working run
            do {
                let host = try await hosts.host(for: action.projectId)
                switch action.kind {
                case .archive:
                    try await host.close(projectId: action.projectId)
                    pass.archived.append(action.projectId)
                case .compress:
                    try await host.compress(projectId: action.projectId)
                    pass.compressed.append(action.projectId)
                case .delete:
                    try await host.remove(projectId: action.projectId)
                    pass.removed.append(action.projectId)
                }
            } catch {
                logger.error("retention's file work failed; will retry", metadata: [
                    "project": "\(action.projectId)", "step": "\(action.kind.rawValue)", "error": "\(error)"])
                pass.failed.append(action.projectId)
            }
        }
        await reconcile(&pass, now: now ?? Date())
        if !actions.isEmpty || !pass.failed.isEmpty {
            logger.notice("retention pass", metadata: [
                "archived": "\(pass.archived.count)", "compressed": "\(pass.compressed.count)",
                "removed": "\(pass.removed.count)", "failed": "\(pass.failed.count)"])
        }
        return pass
    }

    /// Finishes what a crash interrupted, on every host reachable now: a
    /// folder whose row says it is compressed is packed; a folder or zip
    /// with no row, or of a project now placed on another node, is removed.
    private func reconcile(_ pass: inout Pass, now: Date) async {
        for (node, host) in hosts.allHosts() {
            await reconcile(&pass, host: host, node: node, now: now)
        }
    }

    private func reconcile(_ pass: inout Pass, host: ProjectHostActor, node: String, now: Date) async {
        let stored: [StoredProject]
        do { stored = try await host.storedProjects() } catch {
            logger.error("the host's projects cannot be listed", metadata: ["node": "\(node)", "error": "\(error)"])
            return
        }
        for item in stored where !pass.removed.contains(item.projectId) && !pass.compressed.contains(item.projectId) {
            do {
                let project: ProjectMeta
                do {
                    project = try await store.project(id: item.projectId)
                } catch StorageError.projectNotFound {
                    guard now.timeIntervalSince(item.modifiedAt) > orphanAge else { continue }
                    try await host.remove(projectId: item.projectId)
                    pass.removed.append(item.projectId)
                    continue
                }
                // A stale folder: the project was restored onto another
                // worker while this one was lost (ProjectHosts).
                let placed = try await hosts.node(of: item.projectId) ?? hosts.mesh.node.name.rawValue
                if placed != node {
                    guard now.timeIntervalSince(item.modifiedAt) > orphanAge else { continue }
                    try await host.remove(projectId: item.projectId)
                    pass.removed.append(item.projectId)
                    continue
                }
                if project.compressedAt != nil && item.hasFolder {
                    if let runs, await runs.hasRun(item.projectId) { continue }
                    try await host.compress(projectId: item.projectId)
                    pass.compressed.append(item.projectId)
                }
            } catch {
                logger.error("retention could not reconcile a project", metadata: ["project": "\(item.projectId)", "error": "\(error)"])
                pass.failed.append(item.projectId)
            }
        }
    }
}
