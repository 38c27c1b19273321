import Foundation
import Testing
import ZIPFoundation
@testable import Workspace

@Suite struct ProjectArchiveTests {
    @Test func exportLeavesOutDependenciesGitAndLargeFilesAndImportRestoresTheRest() throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let files = try project.files()
        try files.write("src/main.swift", Data("print(1)\n".utf8))
        try files.write("README.md", Data(repeating: 65, count: 300_000))
        try files.write("node_modules/left/index.js", Data("x".utf8))
        try files.write("build/out.o", Data("x".utf8))
        try files.write("huge.bin", Data(count: 2_000_000))
        _ = try GitRepository.initialize(project.root)
        try FileManager.default.createSymbolicLink(atPath: project.root + "/link", withDestinationPath: "/etc/passwd")
        var options = ProjectArchive.ExportOptions()
        options.maxFileBytes = 1_000_000
        let zip = URL(fileURLWithPath: project.outer + "/export.zip")
        let summary = try ProjectArchive.export(files, to: zip, options: options)
        #expect(summary.skipped.sorted() == ["huge.bin", "link"])
        let names = try Archive(url: zip, accessMode: .read).map(\.path).sorted()
        #expect(names == [".gitignore", "README.md", "src/", "src/main.swift"])
        let size = try #require(FileManager.default.attributesOfItem(atPath: zip.path)[.size] as? Int)
        #expect(size < 20_000, "deflated")

        let copy = project.outer + "/copy"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        let target = try ProjectFiles(root: copy)
        try ProjectArchive.importZip(zip, into: target)
        #expect(try target.read("README.md") == files.read("README.md"))
        #expect(try target.read("src/main.swift") == Data("print(1)\n".utf8))
        #expect(throws: ProjectArchive.ImportError.projectNotEmpty) { try ProjectArchive.importZip(zip, into: target) }

        options.includeGit = true
        let withGit = URL(fileURLWithPath: project.outer + "/with-git.zip")
        try ProjectArchive.export(files, to: withGit, options: options)
        #expect(try Archive(url: withGit, accessMode: .read).contains { $0.path == ".git/HEAD" })
        // An export with its repository imports again, repository and all.
        let restored = project.outer + "/restored"
        try FileManager.default.createDirectory(atPath: restored, withIntermediateDirectories: true)
        try ProjectArchive.importZip(withGit, into: ProjectFiles(root: restored))
        #expect(try GitCLI.run(["-c", "safe.directory=*", "rev-parse", "--git-dir"], in: restored) == ".git")
        // A project holding only the server's own temporary file is not empty.
        let busy = project.outer + "/busy"
        try FileManager.default.createDirectory(atPath: busy, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: busy + "/.hma-write-123", contents: Data())
        #expect(throws: ProjectArchive.ImportError.projectNotEmpty) { try ProjectArchive.importZip(zip, into: ProjectFiles(root: busy)) }
    }

    @Test func hostileArchivesAreRefusedAndNothingIsWritten() throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Support/make-bad-zips.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, project.outer]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let files = try project.files()
        let cases: [(String, (ProjectArchive.ImportError) -> Bool)] = [
            ("slip.zip", { if case .unsafeEntry("../../evil.txt", _) = $0 { true } else { false } }),
            ("absolute.zip", { if case .unsafeEntry("/tmp/hma-absolute-evil.txt", _) = $0 { true } else { false } }),
            ("symlink.zip", { if case .unsafeEntry("link", _) = $0 { true } else { false } }),
            ("bomb.zip", { if case .tooLarge = $0 { true } else { false } }),
            ("liar.zip", { if case .tooLarge = $0 { true } else { false } }),
            ("file-then-folder.zip", { if case .unsafeEntry("a", _) = $0 { true } else { false } }),
            ("folder-then-file.zip", { if case .unsafeEntry("a", _) = $0 { true } else { false } }),
            ("dot.zip", { if case .unsafeEntry(".", _) = $0 { true } else { false } }),
            ("duplicate.zip", { if case .unsafeEntry("./twice.txt", _) = $0 { true } else { false } }),
            ("late-liar.zip", { if case .tooLarge = $0 { true } else { false } }),
        ]
        for (name, expected) in cases {
            do {
                try ProjectArchive.importZip(URL(fileURLWithPath: project.outer + "/" + name), into: files)
                Issue.record("\(name) was imported")
            } catch let error as ProjectArchive.ImportError {
                #expect(expected(error), "\(name): \(error)")
            }
            #expect(try files.list().entries.isEmpty, "\(name) wrote nothing")
        }
        #expect(!FileManager.default.fileExists(atPath: project.outer + "/evil.txt"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/hma-absolute-evil.txt"))
        FileManager.default.createFile(atPath: project.outer + "/not.zip", contents: Data("hello".utf8))
        #expect(throws: ProjectArchive.ImportError.self) { try ProjectArchive.importZip(URL(fileURLWithPath: project.outer + "/not.zip"), into: files) }
    }

    @Test(.enabled(if: TestGit.isAvailable)) func importFromAGitURL() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let source = project.outer + "/source"
        let repository = try GitRepository.initialize(source)
        try ProjectFiles(root: source).write("hello.txt", Data("hi".utf8))
        try repository.stageAll()
        try repository.commit(message: "hello", author: GitSignature(name: "A", email: "a@hma.test"))
        let files = try project.files()
        let git = try TestGit(project.root) { $0.remotePolicy.localRemotesRoot = source }
        defer { git.shutdown() }
        try await ProjectArchive.importGit("file://" + source, into: files, git: git.git)
        #expect(try files.read("hello.txt") == Data("hi".utf8))
        let other = project.outer + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        let otherGit = try TestGit(other) { $0.remotePolicy.localRemotesRoot = source }
        defer { otherGit.shutdown() }
        await #expect(throws: GitError.self) { try await ProjectArchive.importGit("file:///etc", into: ProjectFiles(root: other), git: otherGit.git) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: other).isEmpty)
    }
}
