import Foundation
import Testing
@testable import Workspace

@Suite struct FileWatcherTests {
    /// Collects changes until `count` have arrived (bounded by a deadline).
    func collect(_ changes: AsyncStream<FileChange>, count: Int) async throws -> [String] {
        try await withThrowingTaskGroup(of: [String].self) { group in
            group.addTask {
                var seen: [String] = []
                for await change in changes {
                    seen.append("\(change.kind) \(change.path)\(change.movedTo.map { " → \($0)" } ?? "")")
                    if seen.count == count { break }
                }
                return seen
            }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                throw CancellationError()
            }
            let result = try await group.next()!
            group.cancelAll()
            return result
        }
    }

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
        let seen = try await collect(changes, count: 6)
        #expect(seen == [
            "created src", "modified src/app.js", "modified existing/a.txt", "moved existing/a.txt → b.txt",
            "modified src/from-shell.txt", "deleted existing",
        ])
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
        let seen = try await collect(changes, count: 2)
        #expect(seen == ["modified tracked.txt", "modified after.txt"])
    }
}
