import Foundation
import ServiceLifecycle
import Storage

/// Each worker-held project's durable copy in the gateway's database
/// (docs/architecture.md, "Project copies"): brought up to date with what
/// changed on its host, and written back onto another worker when its own
/// is lost.
///
/// Trust: a host's answers are bounded (bytes per answer, the copy's
/// limit, rounds) and its digests are not believed — the gateway computes
/// its own from the content it receives.
struct ProjectCopies: Sendable {
    let store: Store
    /// Content per `copyChanges` answer and per `restoreFiles` call: well
    /// inside a mesh frame.
    static let batchBytes = 6 << 20
    static let restorePage = 64

    /// What changed on `host` since the copy, asked for until complete.
    /// - Throws: the host's errors; `limitReached` past the copy's limit.
    func changes(of projectId: String, on host: ProjectHostActor) async throws -> ProjectCopyChanges {
        var known = try await store.projectCopyDigests(projectId: projectId)
        var changes = ProjectCopyChanges()
        var bytes = 0
        // Each round must bring new content (the digests move on), so the
        // copy's limit bounds the rounds; the count bounds a host that lies.
        for _ in 0..<10_000 {
            let delta = try await host.copyChanges(projectId: projectId, known: known, maxBytes: Self.batchBytes)
            for file in delta.changes.written {
                known[file.path] = CopiedFile.digest(file.content)
                bytes += file.content.count
            }
            for path in delta.changes.removed { known.removeValue(forKey: path) }
            changes.written += delta.changes.written
            changes.removed += delta.changes.removed
            guard bytes <= store.limits.maxProjectCopyBytes else {
                throw ProtocolError(.limitReached, "the project's changes exceed its copy's limit (\(store.limits.maxProjectCopyBytes) bytes)")
            }
            if delta.complete { return changes }
        }
        throw ProtocolError(.workspace, "the project's host kept answering with more changes")
    }

    /// Brings the copy up to date now.
    func sync(_ projectId: String, from host: ProjectHostActor) async throws {
        try await store.updateProjectCopy(projectId: projectId, try await changes(of: projectId, on: host))
    }

    /// Whether the project has a copy to restore.
    func exists(_ projectId: String) async throws -> Bool {
        try await store.projectCopySize(projectId: projectId).files > 0
    }

    /// Empties the project's folder on `host` and writes the copy into it.
    /// - Returns: the files and bytes written.
    func restore(_ projectId: String, to host: ProjectHostActor) async throws -> (files: Int, bytes: Int) {
        try await host.beginRestore(projectId: projectId)
        var after: String?
        var files = 0, bytes = 0
        var batch: [CopiedFile] = [], batchBytes = 0
        func flush() async throws {
            guard !batch.isEmpty else { return }
            try await host.restoreFiles(projectId: projectId, batch)
            batch = []
            batchBytes = 0
        }
        while true {
            let page = try await store.projectCopyFiles(projectId: projectId, after: after, limit: Self.restorePage)
            guard let last = page.last else { break }
            for file in page {
                if batchBytes + file.content.count > Self.batchBytes { try await flush() }
                batch.append(file)
                batchBytes += file.content.count
                files += 1
                bytes += file.content.count
            }
            after = last.path
        }
        try await flush()
        return (files, bytes)
    }
}

/// The gateway's upkeep of its workers, every `interval`: brings the
/// copies of the worker-held projects used since the last pass up to date
/// (docs/architecture.md, "Project copies": edits made outside a run reach
/// the copy within about that long), and tells each worker whether it is
/// drained (`hma worker drain`).
public struct WorkerUpkeep: Service {
    let hosts: ProjectHosts
    let interval: Duration

    public init(hosts: ProjectHosts, interval: Duration = .seconds(10)) {
        self.hosts = hosts
        self.interval = interval
    }

    public func run() async throws {
        await everyInterval(interval) {
            await hosts.propagateDrains()
            await hosts.syncTouched()
        }
    }
}
