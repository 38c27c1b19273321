import Foundation
import Synchronization
import Testing
@testable import Workspace

@Suite struct ProjectFilesTests {
    @Test func writeReadListTreeMoveDelete() throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let files = try project.files()
        try files.write("src/api/user.ts", Data("export {}\n".utf8))
        try files.write("README.md", Data("# hi\n".utf8))
        #expect(try files.read("src/api/user.ts") == Data("export {}\n".utf8))
        #expect(try String(contentsOfFile: project.root + "/src/api/user.ts", encoding: .utf8) == "export {}\n")
        #expect(try files.list().entries.map { "\($0.path) \($0.kind) \($0.size)" } == ["README.md file 5", "src directory 0"])
        #expect(try files.tree().map(\.path.description) == ["README.md", "src", "src/api", "src/api/user.ts"])
        try files.write("src/api/user.ts", Data("changed".utf8))
        #expect(try files.read("src/api/user.ts") == Data("changed".utf8))
        try files.move("src/api", to: "lib/api")
        #expect(try files.exists("lib/api/user.ts") && !files.exists("src/api"))
        try files.create("empty.txt")
        try files.create("docs", directory: true)
        #expect(try files.read("empty.txt").isEmpty)
        try files.delete("lib")
        #expect(try files.tree().map(\.path.description) == ["README.md", "docs", "empty.txt", "src"])
        #expect(project.outside.isEmpty)
    }

    @Test func writesAreAtomicAndLeaveNoTemporaryFiles() throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let files = try project.files()
        try files.write("a.txt", Data(repeating: 1, count: 100_000))
        // Replacing a file gives it a new inode (rename over it), never a half-written state.
        var before = stat(), after = stat()
        stat(project.root + "/a.txt", &before)
        try files.write("a.txt", Data(repeating: 2, count: 50_000))
        stat(project.root + "/a.txt", &after)
        #expect(before.st_ino != after.st_ino)
        #expect(try FileManager.default.contentsOfDirectory(atPath: project.root) == ["a.txt"])
    }

    @Test func everyOperationRefusesPathsOutsideTheProject() throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let files = try project.files()
        try FileManager.default.createDirectory(atPath: project.root + "/a", withIntermediateDirectories: true)
        // Symlinks inside the project that lead out of it.
        try FileManager.default.createSymbolicLink(atPath: project.root + "/etc-link", withDestinationPath: "/etc")
        try FileManager.default.createSymbolicLink(atPath: project.root + "/up", withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: project.root + "/a/passwd", withDestinationPath: "/etc/passwd")
        let escapes = ["../x", "a/../../x", "/etc/passwd", "etc-link/passwd", "up/x", "up/project/../x", "a/passwd"]
        for path in escapes {
            #expect(throws: WorkspaceError.self, "read \(path)") { _ = try files.read(path) }
            #expect(throws: WorkspaceError.self, "write \(path)") { try files.write(path == "a/passwd" ? "a/passwd/x" : path, Data("x".utf8)) }
            #expect(throws: WorkspaceError.self, "list \(path)") { _ = try files.list(path) }
            #expect(throws: WorkspaceError.self, "create \(path)") { try files.create(path + "/new") }
            #expect(throws: WorkspaceError.self, "move to \(path)") { try files.move("a", to: path + "/moved") }
        }
        #expect(throws: WorkspaceError.outsideProject("../x")) { try files.delete("../x") }
        #expect(throws: WorkspaceError.outsideProject("/etc/passwd")) { _ = try files.read("/etc/passwd") }
        #expect(throws: WorkspaceError.outsideProject("etc-link/passwd")) { _ = try files.read("etc-link/passwd") }
        // Deleting a symlink removes the link, not what it points to.
        try files.delete("etc-link")
        #expect(FileManager.default.fileExists(atPath: "/etc/passwd"))
        #expect(project.outside.isEmpty, "nothing was written next to the project: \(project.outside)")
        // URL-encoded forms are names, not paths: they stay inside.
        try files.write("..%2f..%2fescaped", Data("x".utf8))
        #expect(FileManager.default.fileExists(atPath: project.root + "/..%2f..%2fescaped"))
        #expect(project.outside.isEmpty)
    }

    @Test func badNamesAndSizesAreTypedErrors() throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        var limits = FileLimits()
        limits.maxFileBytes = 1000
        let files = try project.files(limits: limits)
        #expect(throws: WorkspaceError.invalidPath("a\u{0}b", reason: "contains a NUL byte")) { try files.write("a\u{0}b", Data()) }
        #expect(throws: WorkspaceError.self) { try files.write(String(repeating: "n", count: 256), Data()) }
        #expect(throws: WorkspaceError.self) { try files.write(String(repeating: "d/", count: 2100) + "f", Data()) }
        #expect(throws: WorkspaceError.fileTooLarge("big", bytes: 1001, limit: 1000)) { try files.write("big", Data(count: 1001)) }
        #expect(throws: WorkspaceError.notFound("missing")) { _ = try files.read("missing") }
        try files.write("a/b", Data())
        #expect(throws: WorkspaceError.isADirectory("a")) { _ = try files.read("a") }
        #expect(throws: WorkspaceError.alreadyExists("a/b")) { try files.create("a/b") }
        #expect(throws: WorkspaceError.notADirectory("a/b")) { try files.write("a/b/c", Data()) }
        #expect(throws: WorkspaceError.rootNotAllowed("delete")) { try files.delete("") }
        #expect(throws: WorkspaceError.rootNotAllowed("delete")) { try files.delete("./") }
        try files.write("c", Data())
        #expect(throws: WorkspaceError.alreadyExists("c")) { try files.move("a/b", to: "c") }
        #expect(throws: WorkspaceError.self) { try files.move("a", to: "a/inside") }
        // A file over the read limit written by someone else.
        FileManager.default.createFile(atPath: project.root + "/huge", contents: Data(count: 5000))
        #expect(throws: WorkspaceError.fileTooLarge("huge", bytes: 5000, limit: 1000)) { _ = try files.read("huge") }
    }
}

extension ProjectFilesTests {
    @Test func gitsOwnFilesAreNotWrittenThroughTheFileAPI() throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let files = try project.files()
        try FileManager.default.createDirectory(atPath: project.root + "/.git", withIntermediateDirectories: true)
        try Data("[core]\n".utf8).write(to: URL(fileURLWithPath: project.root + "/.git/config"))
        try files.write("a.txt", Data("a".utf8))
        #expect(throws: WorkspaceError.insideGitFolder(".git/config")) { try files.write(".git/config", Data("[core]\nworktree = /\n".utf8)) }
        #expect(throws: WorkspaceError.insideGitFolder("./.git/config".split(separator: "/").dropFirst().joined(separator: "/"))) { try files.write("./.git/config", Data()) }
        #expect(throws: WorkspaceError.insideGitFolder("sub/.git/config")) { try files.write("sub/.git/config", Data()) }
        #expect(throws: WorkspaceError.insideGitFolder(".git/hooks/x")) { try files.create(".git/hooks/x") }
        #expect(throws: WorkspaceError.insideGitFolder(".git")) { try files.delete(".git") }
        #expect(throws: WorkspaceError.insideGitFolder(".git/x")) { try files.move("a.txt", to: ".git/x") }
        #expect(throws: WorkspaceError.insideGitFolder(".git/config")) { try files.move(".git/config", to: "b") }
        // Nor through a link to it.
        #expect(symlink(".git", project.root + "/g") == 0)
        #expect(throws: WorkspaceError.self) { try files.write("g/config", Data("[core]\nworktree = /\n".utf8)) }
        #expect(throws: WorkspaceError.self) { try files.delete("g/config") }
        #expect(throws: WorkspaceError.self) { try files.move("a.txt", to: "g/x") }
        #expect(throws: WorkspaceError.self) { try files.create("g/hooks/y") }
        #expect(try String(contentsOfFile: project.root + "/.git/config", encoding: .utf8) == "[core]\n")
        #expect(try files.read(".git/config") == Data("[core]\n".utf8), "reading is allowed")
    }
}

extension ProjectFilesTests {
    /// Runs `body` on a thread of its own and reports whether it returned
    /// within `seconds` (a blocked read would otherwise hang the test).
    func returnsWithin(_ seconds: Double, _ body: @escaping @Sendable () -> Void) async -> Bool {
        await withCheckedContinuation { continuation in
            let once = Mutex(false)
            let finish: @Sendable (Bool) -> Void = { value in
                if once.withLock({ (done: inout Bool) -> Bool in defer { done = true }; return !done }) { continuation.resume(returning: value) }
            }
            Thread.detachNewThread { body(); finish(true) }
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { finish(false) }
        }
    }

    @Test func aFIFOIsRefusedAtOnceNotReadForever() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let files = try project.files()
        #expect(mkfifo(project.root + "/pipe", 0o644) == 0)
        try files.write("real.txt", Data("real".utf8))
        let refused = Mutex<WorkspaceError?>(nil)
        let returned = await returnsWithin(5) {
            do throws(WorkspaceError) { _ = try files.read("pipe") } catch { refused.withLock { $0 = error } }
        }
        if !returned {  // unblock the stuck reader before failing
            let writer = open(project.root + "/pipe", O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
        }
        #expect(returned, "reading a FIFO returned")
        #expect(refused.withLock { $0 } == .notARegularFile("pipe"))
        // Export skips it and still writes the rest.
        let zip = URL(fileURLWithPath: project.outer + "/out.zip")
        let exported = await returnsWithin(10) { _ = try? ProjectArchive.export(files, to: zip) }
        #expect(exported)
        let summary = try? ProjectArchive.export(files, to: URL(fileURLWithPath: project.outer + "/again.zip"))
        #expect(summary?.files == 1 && summary?.skipped == ["pipe"])
    }
}

extension ProjectFilesTests {
    @Test func deletingAVeryDeepTreeNeedsNeitherStackNorDescriptorsPerLevel() async throws {
        // In memory where there is a tmpfs: 200,000 mkdirs on a journaled disk take half a minute.
        let project = try TemporaryProject(in: FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
        defer { project.remove() }
        let files = try project.files()
        let root = project.root
        let made = try await offThePool { () -> Int in
            // 200,000 nested folders (far beyond PATH_MAX), made relative to each other; a file every 1,000 levels.
            var fd = open(root, O_RDONLY | O_DIRECTORY)
            var made = 0
            for level in 0..<200_000 {
                if mkdirat(fd, level == 0 ? "deep" : "d", 0o755) == 0 { made += 1 }
                if level % 1000 == 999 { close(openat(fd, "f", O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)) }
                let next = openat(fd, level == 0 ? "deep" : "d", O_RDONLY | O_DIRECTORY)
                close(fd)
                fd = next
            }
            close(fd)
            try files.write("kept.txt", Data("kept".utf8))
            try files.delete("deep")
            return made
        }
        #expect(made == 200_000)
        let left = try files.list().entries.map(\.path.description)
        #expect(left == ["kept.txt"], "\(left)")
    }

    @Test func aHugeDirectoryIsListedOnlyUpToTheCap() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        var limits = FileLimits()
        limits.maxDirectoryEntries = 1000
        limits.maxTreeEntries = 1500
        let files = try project.files(limits: limits)
        let (root, outer) = (project.root, project.outer)
        try await offThePool {
            let fd = open(root, O_RDONLY | O_DIRECTORY)
            mkdirat(fd, "many", 0o755)
            let many = openat(fd, "many", O_RDONLY | O_DIRECTORY)
            for index in 0..<20_000 { close(openat(many, "f\(index)", O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)) }
            close(many)
            close(fd)
            let listing = try files.list("many")
            #expect(listing.entries.count == 1000 && !listing.isComplete)
            #expect(try files.list().isComplete)
            #expect(try files.tree().count == 1001, "the folder and no more of it than a listing reads")
            let summary = try ProjectArchive.export(files, to: URL(fileURLWithPath: outer + "/out.zip"))
            #expect(summary.files == 1000 && summary.skipped.contains { $0.hasPrefix("many/") }, "the export says what it left out")
            try files.delete("many")
            #expect(try files.list().entries.isEmpty)
        }
    }
}

extension ProjectFilesTests {
    @Test func namesThatAreNotUTF8SurviveEveryOperation() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let files = try project.files()
        // Latin-1 "café.txt", and a folder named "d\xFF" holding a file.
        let latin1: [UInt8] = Array("caf".utf8) + [0xE9] + Array(".txt".utf8)
        let folder: [UInt8] = [0x64, 0xFF]
        let root = open(project.root, O_RDONLY | O_DIRECTORY)
        defer { close(root) }
        let fd = openat(root, latin1.map { CChar(bitPattern: $0) } + [0], O_CREAT | O_WRONLY, 0o644)
        #expect(write(fd, "latin", 5) == 5)
        close(fd)
        #expect(mkdirat(root, folder.map { CChar(bitPattern: $0) } + [0], 0o755) == 0)
        try files.write(FileName.decode(folder) + "/inner.txt", Data("inner".utf8))

        let names = try files.list().entries.map(\.path)
        #expect(names.count == 2, "both are listed: \(names)")
        let cafe = try #require(names.first { $0.displayDescription.hasPrefix("caf") })
        #expect(cafe.displayDescription == "caf\\xE9.txt", "escaped for display")
        #expect(try files.read(cafe.description) == Data("latin".utf8))
        #expect(try files.tree().count == 3)
        let summary = try ProjectArchive.export(files, to: URL(fileURLWithPath: project.outer + "/out.zip"))
        #expect(summary.files == 2 && summary.skipped.isEmpty, "exported: \(summary)")
        try files.delete(cafe.description)
        try files.delete(FileName.decode(folder))
        #expect(try files.list().entries.isEmpty, "and deleted")

        // The watcher reports such a name as the same path.
        let watcher = try FileWatcher(root: project.root)
        defer { watcher.stop() }
        var changes = watcher.changes().makeAsyncIterator()
        let again = openat(root, latin1.map { CChar(bitPattern: $0) } + [0], O_CREAT | O_WRONLY, 0o644)
        close(again)
        let change = await changes.next()
        #expect(change?.path == cafe && change?.kind == .modified)
    }

    @Test func fileNamesDecodeAndEncodeExactlyForAnyBytes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 1...24, using: &generator)).map { _ in UInt8.random(in: 1...255, using: &generator) }.filter { $0 != 0x2F }
            #expect(FileName.encode(FileName.decode(bytes)) == bytes, "\(bytes)")
        }
        // Valid UTF-8 reads as itself; a name really holding an escape code point still comes back exactly.
        #expect(FileName.decode(Array("naïve ✓ 日本".utf8)) == "naïve ✓ 日本")
        let reserved = Array("\u{F7E9}".utf8)
        #expect(FileName.encode(FileName.decode(reserved)) == reserved)
        #expect(FileName.decode([0xC0, 0x80]).unicodeScalars.count == 2, "an overlong form is two escaped bytes")
    }
}

extension ProjectFilesTests {
    @Test func aSlashIsASlashWhateverFollowsIt() throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let files = try project.files()
        // "/" after U+0600, or before a combining mark, is one Swift character, not a "/".
        #expect(symlink("/", project.root + "/l\u{600}") == 0)
        let marker = "hma-slash-\(UUID().uuidString)"
        #expect(throws: WorkspaceError.self) { try files.write("l\u{600}/tmp/\(marker)", Data("x".utf8)) }
        #expect(throws: WorkspaceError.self) { try files.delete("l\u{600}/tmp") }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)"), "nothing written through the link")
        #expect(FileManager.default.fileExists(atPath: "/tmp"))
        #expect(try ProjectPath("a/\u{301}b").components == ["a", "\u{301}b"])
        #expect(throws: WorkspaceError.outsideProject("x/..\u{301}/../y")) { _ = try ProjectPath("x/..\u{301}/../y") }
        #expect(try ProjectPath(".git\u{301}/config").isInGitFolder == false)
        #expect(try ProjectPath("a/.git/\u{301}config").isInGitFolder)
        // Names are compared as bytes: é and e + U+0301 are two files.
        #expect(try ProjectPath("caf\u{E9}") != ProjectPath("cafe\u{301}"))
    }
}
