import Foundation
import Testing
@testable import Workspace

@Suite struct GitRepositoryTests {
    let author = GitSignature(name: "HMA Agent", email: "agent@hma.test")

    func write(_ project: TemporaryProject, _ path: String, _ text: String) throws {
        try project.files().write(path, Data(text.utf8))
    }

    @Test func initStageCommitLogAsTheGitCLISeesIt() throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let repository = try GitRepository.initialize(project.root)
        #expect(FileManager.default.fileExists(atPath: project.root + "/.gitignore"))
        var status = try repository.status()
        #expect(status.branch == "main" && !status.detached)
        #expect(status.untracked.map(\.path) == [".gitignore"])
        #expect(throws: GitError.nothingToCommit) { try repository.commit(message: "empty", author: author) }

        try write(project, "src/app.js", "console.log(1)\n")
        try write(project, "node_modules/dep/index.js", "ignored\n")
        try repository.stageAll()
        status = try repository.status()
        #expect(status.staged.map(\.path) == [".gitignore", "src/app.js"], "node_modules is ignored")
        #expect(status.staged.allSatisfy { $0.staged == .added })
        let first = try repository.commit(message: "First commit\n\nWith a body.", author: author)
        #expect(try GitCLI.run(["rev-parse", "HEAD"], in: project.root) == first)
        #expect(try GitCLI.run(["log", "--format=%an <%ae> %s"], in: project.root) == "HMA Agent <agent@hma.test> First commit")
        #expect(try GitCLI.run(["status", "--porcelain"], in: project.root) == "")
        #expect(try repository.status().isClean)

        try write(project, "src/app.js", "console.log(2)\n")
        try write(project, "notes.txt", "new\n")
        status = try repository.status()
        #expect(status.unstaged.map { "\($0.path) \($0.unstaged!)" } == ["src/app.js modified"])
        #expect(status.untracked.map(\.path) == ["notes.txt"])
        try repository.stage(["src/app.js"])
        #expect(try repository.status().staged.map(\.path) == ["src/app.js"])
        try repository.unstage(["src/app.js"])
        #expect(try repository.status().staged.isEmpty)
        try FileManager.default.removeItem(atPath: project.root + "/src/app.js")
        try repository.stage(["src/app.js", "notes.txt"])
        #expect(try repository.status().staged.map { "\($0.path) \($0.staged!)" } == ["notes.txt added", "src/app.js deleted"])
        try repository.commit(message: "Second", author: author)
        #expect(try GitCLI.run(["log", "--format=%s"], in: project.root) == "Second\nFirst commit")

        for index in 3...7 {
            try write(project, "file\(index).txt", "\(index)")
            try repository.stageAll()
            try repository.commit(message: "Commit \(index)", author: author)
        }
        #expect(try repository.log(limit: 3).map(\.summary) == ["Commit 7", "Commit 6", "Commit 5"])
        #expect(try repository.log(offset: 5, limit: 10).map(\.summary) == ["Second", "First commit"])
        #expect(try repository.log().first?.author == author)
        #expect(try repository.log(offset: 6).first?.parents == [])
    }

    @Test func diffsCountLinesAndDetectBinaryFiles() throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let repository = try GitRepository.initialize(project.root)
        try write(project, "a.txt", "one\ntwo\nthree\n")
        let untracked = try repository.diff("a.txt", staged: false)
        #expect(untracked.added == 3 && untracked.removed == 0)
        try repository.stageAll()
        #expect(try repository.diff("a.txt", staged: true).added == 3)
        try repository.commit(message: "a", author: author)
        try write(project, "a.txt", "one\nTWO\nthree\nfour\n")
        let unstaged = try repository.diff("a.txt", staged: false)
        #expect(unstaged.added == 2 && unstaged.removed == 1 && !unstaged.binary)
        #expect(unstaged.patch.contains("-two\n+TWO\n"))
        #expect(try repository.diff("a.txt", staged: true) == GitFileDiff(path: "a.txt", added: 0, removed: 0, binary: false, patch: ""))
        try project.files().write("image.bin", Data([0, 1, 2, 0, 255, 0, 7]))
        #expect(try repository.diff("image.bin", staged: false).binary)
    }

    @Test func branchesCheckoutMergeAndConflicts() throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let repository = try GitRepository.initialize(project.root)
        #expect(throws: GitError.noCommits) { try repository.createBranch("feature") }
        try write(project, "shared.txt", "base\n")
        try repository.stageAll()
        try repository.commit(message: "base", author: author)

        try repository.createBranch("feature")
        #expect(throws: GitError.branchExists("feature")) { try repository.createBranch("feature") }
        try repository.checkout("feature")
        #expect(try repository.status().branch == "feature")
        try write(project, "feature.txt", "f\n")
        try repository.stageAll()
        try repository.commit(message: "feature work", author: author)
        try repository.checkout("main")
        #expect(!FileManager.default.fileExists(atPath: project.root + "/feature.txt"))
        guard case .fastForward = try repository.merge("feature", author: author) else { Issue.record("expected a fast-forward"); return }
        #expect(FileManager.default.fileExists(atPath: project.root + "/feature.txt"))
        #expect(try repository.merge("feature", author: author) == .upToDate)

        // Diverged: a merge commit with two parents.
        try repository.checkout("feature")
        try write(project, "f2.txt", "x\n")
        try repository.stageAll()
        try repository.commit(message: "more feature", author: author)
        try repository.checkout("main")
        try write(project, "m.txt", "y\n")
        try repository.stageAll()
        try repository.commit(message: "main work", author: author)
        guard case .merged(let id) = try repository.merge("feature", author: author) else { Issue.record("expected a merge commit"); return }
        #expect(try GitCLI.run(["rev-list", "--parents", "-n", "1", id], in: project.root).split(separator: " ").count == 3)
        #expect(try GitCLI.run(["status", "--porcelain"], in: project.root) == "")

        // Conflict: reported, left in progress, abortable.
        try repository.checkout("feature")
        try write(project, "shared.txt", "feature side\n")
        try repository.stageAll()
        try repository.commit(message: "feature edits shared", author: author)
        try repository.checkout("main")
        try write(project, "shared.txt", "main side\n")
        try repository.stageAll()
        try repository.commit(message: "main edits shared", author: author)
        #expect(throws: GitError.mergeConflicts(["shared.txt"])) { _ = try repository.merge("feature", author: author) }
        #expect(try String(contentsOfFile: project.root + "/shared.txt", encoding: .utf8).contains("<<<<<<<"))
        try repository.abortMerge()
        #expect(try String(contentsOfFile: project.root + "/shared.txt", encoding: .utf8) == "main side\n")
        #expect(try GitCLI.run(["status", "--porcelain"], in: project.root) == "")

        // Checkout refuses to overwrite local changes; deleting branches.
        try write(project, "shared.txt", "uncommitted\n")
        #expect(throws: GitError.self) { try repository.checkout("feature") }
        #expect(try String(contentsOfFile: project.root + "/shared.txt", encoding: .utf8) == "uncommitted\n")
        #expect(throws: GitError.cannotDeleteCurrentBranch("main")) { try repository.deleteBranch("main") }
        try repository.deleteBranch("feature")
        #expect(try repository.branches().map(\.name) == ["main"])
        #expect(throws: GitError.branchNotFound("feature")) { try repository.checkout("feature") }
    }

    @Test func badInputsAreRefused() throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let repository = try GitRepository.initialize(project.root)
        try write(project, "a", "a")
        try repository.stageAll()
        let huge = String(repeating: "m", count: 1 << 20)
        #expect(throws: GitError.messageTooLong(bytes: 1 << 20, limit: GitRepository.maxMessageBytes)) { try repository.commit(message: huge, author: author) }
        #expect(throws: GitError.emptyMessage) { try repository.commit(message: " \n", author: author) }
        try repository.commit(message: "a", author: author)
        for name in ["a..b", "with space", "-flag", "", "x~1", "tail/", "a:b"] {
            #expect(throws: GitError.invalidBranchName(name), "\(name)") { try repository.createBranch(name) }
        }
        #expect(throws: GitError.self) { try repository.addRemote("etc", url: "file:///etc") }
        #expect(throws: GitError.self) { try repository.addRemote("opt", url: "--upload-pack=touch /tmp/x") }
        #expect(throws: GitError.self) { try repository.addRemote("ftp", url: "ftp://example.test/repo") }
        #expect(throws: GitError.notARepository(project.outer)) { _ = try GitRepository.open(project.outer) }

        let bare = project.outer + "/remote.git"
        try GitCLI.run(["init", "--bare", "-q", bare], in: project.outer)
        #expect(throws: GitError.self, "no local remotes unless the operator allows a folder") { try repository.addRemote("origin", url: "file://" + bare) }
        repository.remotePolicy.localRemotesRoot = project.outer
        try repository.addRemote("origin", url: "file://" + bare)
        try repository.addRemote("web", url: "https://git.example.test/p.git")
        #expect(try repository.remotes() == [.init(name: "origin", url: "file://" + bare), .init(name: "web", url: "https://git.example.test/p.git")])
        #expect(try GitCLI.run(["remote"], in: project.root) == "origin\nweb")
    }
}
