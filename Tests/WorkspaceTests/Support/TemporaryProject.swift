import Foundation
import Synchronization
@testable import Workspace

/// A project folder inside a fresh temporary folder (so a test can check
/// that nothing appears next to the project), removed by `remove()`.
struct TemporaryProject {
    let outer: String
    let root: String

    /// - Parameter base: the folder to make it in (a test that makes
    ///   hundreds of thousands of folders uses memory, /dev/shm).
    init(in base: String = NSTemporaryDirectory()) throws {
        outer = (base.hasSuffix("/") ? base : base + "/") + "hma-workspace-\(UUID().uuidString)"
        root = outer + "/project"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func files(limits: FileLimits = .init()) throws -> ProjectFiles { try ProjectFiles(root: root, limits: limits) }

    /// Everything in the outer folder except the project (should stay empty).
    var outside: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: outer)) ?? []).filter { $0 != "project" }
    }

    func remove() { try? FileManager.default.removeItem(atPath: outer) }
}

/// A project's git as the server uses it: the helper in the project's bwrap
/// jail (as root here), or as this user when the tests do not run as root.
struct TestGit {
    let git: ProjectGit
    let sandbox: BwrapSandbox?

    /// Whether git through the helper can run here at all.
    static var isAvailable: Bool { BwrapSandbox.isAvailable || getuid() != 0 }

    /// Projects that share remotes share a uid (`uid`), so each can write
    /// what the other pushed.
    init(_ root: String, uid: UInt32? = nil, configure: (inout GitConfiguration) -> Void = { _ in }) throws {
        var configuration = GitConfiguration()
        configure(&configuration)
        chmod((root as NSString).deletingLastPathComponent, 0o755)  // the project's uid passes through to bind it
        if BwrapSandbox.isAvailable {
            var sandboxConfiguration = SandboxConfiguration()
            sandboxConfiguration.cgroupParent = "hma-test"
            let number = sandboxCounter.add(1, ordering: .relaxed).newValue
            let sandbox = try BwrapSandbox(projectRoot: root, projectID: "t\(getpid())-git\(number)", uid: uid ?? 260_000 + number,
                                           configuration: sandboxConfiguration)
            self.sandbox = sandbox
            git = try ProjectGit(projectRoot: root, isolation: .jail(sandbox), configuration: configuration)
        } else {
            sandbox = nil
            git = try ProjectGit(projectRoot: root, isolation: .serverUser, configuration: configuration)
        }
    }

    func shutdown() { sandbox?.shutdown() }
}

/// Runs heavy blocking work (hundreds of thousands of system calls) on a
/// thread of its own at the lowest priority, not on the concurrency pool: a
/// 2-core machine has two pool threads and two cores, and tests running
/// beside it (the mesh's timing) need them.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            lowestPriority()
            continuation.resume(with: Result { try body() })
        }
    }
}

/// Makes the calling thread the last to get a core: nice 19 (on Linux,
/// `setpriority` with who 0 changes the calling thread only).
func lowestPriority() {
    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
}
