import Foundation
import Testing
@testable import Workspace

@Suite struct FileWatcherTests {
    /// Collects changes until every one of `expected` has been seen
    /// (duplicates allowed), bounded by a deadline; returns them in order.
    func collect(_ changes: AsyncStream<FileChange>, until expected: [String]) async throws -> [String] {
        try await withThrowingTaskGroup(of: [String].self) { group in
            group.addTask {
                var seen: [String] = []
                for await change in changes {
                    seen.append("\(change.kind) \(change.path)\(change.movedTo.map { " → \($0)" } ?? "")")
                    if Set(expected).isSubset(of: Set(seen)) { break }
                }
                return seen
            }
            group.addTask {
                try await Task.sleep(for: .seconds(20))
                throw CancellationError()
            }
            let result = try await group.next()!
            group.cancelAll()
            return result
        }
    }

    /// The position of the first occurrence of each, for order checks.
    func position(_ change: String, in seen: [String]) -> Int { seen.firstIndex(of: change) ?? -1 }

    @Test func changesThroughTheAPIAndByOtherProcessesAreReported() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let files = try project.files()
        try files.write("existing/a.txt", Data("1".utf8))
        let watcher = try FileWatcher(root: project.root)
        defer { watcher.stop() }
        let changes = watcher.changes()
        try files.write("src/app.js", Data("1".utf8))       // a new directory, then the file (atomic write)
        try files.write("existing/a.txt", Data("2".utf8))
        try files.move("existing/a.txt", to: "b.txt")
        // Another process (as a sandboxed command would) writes, creates and removes.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "echo x > src/from-shell.txt && rm -r existing"]
        shell.currentDirectoryURL = URL(fileURLWithPath: project.root)
        try shell.run()
        shell.waitUntilExit()
        let expected = ["created src", "modified src/app.js", "modified existing/a.txt", "moved existing/a.txt → b.txt",
                        "modified src/from-shell.txt", "deleted existing"]
        let seen = try await collect(changes, until: expected)
        #expect(Set(seen) == Set(expected), "nothing else was reported: \(seen)")
        #expect(position("created src", in: seen) < position("modified src/app.js", in: seen))
        #expect(position("modified existing/a.txt", in: seen) < position("moved existing/a.txt → b.txt", in: seen))
        #expect(position("moved existing/a.txt → b.txt", in: seen) < position("deleted existing", in: seen))
    }

    @Test func gitInternalsAreNotReported() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let repository = try GitRepository.initialize(project.root)
        let watcher = try FileWatcher(root: project.root)
        defer { watcher.stop() }
        let changes = watcher.changes()
        try project.files().write("tracked.txt", Data("x".utf8))
        try repository.stageAll()
        try repository.commit(message: "one", author: GitSignature(name: "A", email: "a@hma.test"))
        try project.files().write("after.txt", Data("y".utf8))
        let seen = try await collect(changes, until: ["modified tracked.txt", "modified after.txt"])
        #expect(seen == ["modified tracked.txt", "modified after.txt"], "no change inside .git is reported")
    }
}

extension FileWatcherTests {
    @Test func aFolderSwappedForALinkIsNeverWatchedThrough() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        // A folder of the host's, which the link leads to.
        let host = project.outer + "/host"
        try FileManager.default.createDirectory(atPath: host + "/etc", withIntermediateDirectories: true)
        let watcher = try FileWatcher(root: project.root)
        defer { watcher.stop() }
        let changes = watcher.changes()
        // mkdir x/etc; mv x y; ln -s HOST x — as fast as a sandboxed process can, while the watcher adds x.
        let x = project.root + "/x", y = project.root + "/y"
        try await offThePool {
            for _ in 0..<1000 {
                mkdir(x, 0o755)
                mkdir(x + "/etc", 0o755)
                rename(x, y)
                symlink(host, x)
                unlink(x)
                rmdir(y + "/etc")
                rmdir(y)
            }
        }
        // Anything watched in the host's folder would report these before the sentinel.
        FileManager.default.createFile(atPath: host + "/etc/leak", contents: Data("x".utf8))
        FileManager.default.createFile(atPath: host + "/leak2", contents: Data("x".utf8))
        try project.files().write("sentinel.txt", Data())
        let seen = try await collect(changes, until: ["modified sentinel.txt"])
        #expect(!seen.contains { $0.contains("leak") }, "\(seen.filter { $0.contains("leak") })")
        #expect(!seen.contains { $0.hasPrefix("notWatched") }, "\(seen.filter { $0.hasPrefix("notWatched") })")
    }

    @Test func theWatchLimitHoldsAndIsReported() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let files = try project.files()
        try files.write("a/b/c/x.txt", Data())  // four folders with the root
        let watcher = try FileWatcher(root: project.root, maxWatches: 6)
        defer { watcher.stop() }
        #expect(watcher.watchCount == 4)
        let changes = watcher.changes()
        try files.write("d/e/f/g/y.txt", Data())
        let seen = try await collect(changes, until: ["notWatched f"].map { $0.replacingOccurrences(of: "f", with: "d/e/f") })
        #expect(seen.contains("notWatched d/e/f"), "\(seen)")
        #expect(watcher.watchCount == 6)
        // Someone subscribing later hears of it too.
        var later = watcher.changes().makeAsyncIterator()
        let told = await later.next()
        #expect(told?.kind == .notWatched && told?.path.description == "d/e/f" && told?.note?.contains("limit") == true)
    }
}
