import Foundation
import ServiceLifecycle
import Storage
import Workspace

/// Each worker-held project's durable copy in the gateway's database
/// (docs/architecture.md, "Project copies"): brought up to date with what
/// changed on its host, and written back onto another worker when its own
/// is lost. Updates of one project's copy run one at a time (`exclusively`):
/// a slower, older answer must not be written over a newer one.
///
/// Trust: a host's answers are bounded (the frame per answer; what is kept
/// of them, paths included, by the copy's limit; rounds that must make
/// progress) and its digests
/// are not believed — the gateway computes its own from the content it
/// receives.
struct ProjectCopies: Sendable {
    let store: Store
    let locks = CopyLocks()
    /// Content per `copyChanges` answer and per `restoreFiles` call: well
    /// inside a mesh frame.
    static let batchBytes = 6 << 20
    static let restorePage = 64
    /// Most files a copy holds: their digests go to the host in one call.
    static let maxFiles = 50_000

    /// Runs `body` with no other update of `projectId`'s copy under way.
    func exclusively<T: Sendable>(_ projectId: String, _ body: @Sendable () async throws -> T) async throws -> T {
        try await locks.exclusively(projectId, body)
    }

    /// What changed on `host` since the copy, asked for until complete
    /// (call it inside `exclusively`, and write the result there too).
    /// - Throws: the host's errors; `limitReached` past the copy's limits;
    ///   `workspace` for an answer no honest host gives.
    func changes(of projectId: String, on host: ProjectHostActor) async throws -> ProjectCopyChanges {
        var known = try await store.projectCopyDigests(projectId: projectId)
        let limit = store.limits.maxProjectCopyBytes
        guard known.count <= Self.maxFiles else { throw ProtocolError(.limitReached, "the project has more than \(Self.maxFiles) files to copy") }
        var written: [String: CopiedFile] = [:]
        var removed: Set<String> = []
        var bytes = 0
        // Every round but the last brings content (the digests move on), so
        // the copy's limit bounds the rounds.
        for _ in 0..<(limit / Self.batchBytes + 4) {
            let delta = try await host.copyChanges(projectId: projectId, known: known, maxBytes: Self.batchBytes)
            for file in delta.changes.written {
                guard file.content.count <= ProjectCopy.maxFileBytes else {
                    throw ProtocolError(.workspace, "the project's host sent \(file.path) larger than a copy holds")
                }
                known[file.path] = CopiedFile.digest(file.content)
                written[file.path] = file
                removed.remove(file.path)
                bytes += file.content.count + file.path.utf8.count
            }
            // Only what the copy holds can go; a later round's removal wins
            // over an earlier round's write.
            for path in delta.changes.removed where known.removeValue(forKey: path) != nil || written[path] != nil {
                written.removeValue(forKey: path)
                removed.insert(path)
                bytes += path.utf8.count
            }
            guard bytes <= limit, known.count <= Self.maxFiles else {
                throw ProtocolError(.limitReached, "the project's changes exceed its copy's limit (\(limit) bytes, \(Self.maxFiles) files)")
            }
            if delta.complete {
                return ProjectCopyChanges(written: written.values.sorted { $0.path < $1.path }, removed: removed.sorted())
            }
            guard !delta.changes.written.isEmpty else {
                throw ProtocolError(.workspace, "the project's host said more changed but sent nothing")
            }
        }
        throw ProtocolError(.workspace, "the project's host kept answering with more changes")
    }

    /// Brings the copy up to date now.
    func sync(_ projectId: String, from host: ProjectHostActor) async throws {
        try await exclusively(projectId) {
            try await store.updateProjectCopy(projectId: projectId, try await changes(of: projectId, on: host))
        }
    }

    /// Whether the project has a copy to restore.
    func exists(_ projectId: String) async throws -> Bool {
        try await store.projectCopySize(projectId: projectId).files > 0
    }

    /// Empties the project's folder on `host` and writes the copy into it.
    /// - Returns: the files and bytes written.
    func restore(_ projectId: String, to host: ProjectHostActor) async throws -> (files: Int, bytes: Int) {
        try await exclusively(projectId) { try await restoreNow(projectId, to: host) }
    }

    private func restoreNow(_ projectId: String, to host: ProjectHostActor) async throws -> (files: Int, bytes: Int) {
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

/// One update of a project's copy at a time (waiters queue in order).
actor CopyLocks {
    private var busy: Set<String> = []
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    func exclusively<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        if busy.contains(key) {
            // Woken by `release`, which hands the key over (it stays busy).
            await withCheckedContinuation { waiting[key, default: []].append($0) }
        } else {
            busy.insert(key)
        }
        defer { release(key) }
        return try await body()
    }

    /// Hands the key to the next waiter, or frees it.
    private func release(_ key: String) {
        if var queue = waiting[key], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[key] = queue.isEmpty ? nil : queue
            next.resume()
        } else {
            busy.remove(key)
        }
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
