import Foundation
import Synchronization
import Testing
@testable import Workspace

/// Git as the project's uid, seeing only the project: the attacks a
/// project's own code can mount through its `.git` (it runs in the sandbox
/// with the same uid and can write there) reach nothing of the host.
@Suite(.serialized, .enabled(if: BwrapSandbox.isAvailable, "needs root and bubblewrap"))
struct GitJailTests {
    let author = GitSignature(name: "Ada", email: "ada@hma.test")

    func sh(_ sandbox: BwrapSandbox, _ script: String) async throws -> RunResult {
        var options = RunOptions()
        options.environment = ["GIT_AUTHOR_NAME": "P", "GIT_AUTHOR_EMAIL": "p@hma.test", "GIT_COMMITTER_NAME": "P", "GIT_COMMITTER_EMAIL": "p@hma.test"]
        return try await sandbox.run(["/bin/sh", "-c", script], options: options)
    }

    /// A project with a new repository, its git in its jail, and its sandbox.
    func jail(_ configure: (inout GitConfiguration) -> Void = { _ in }) async throws -> (TemporaryProject, TestGit, BwrapSandbox) {
        let project = try TemporaryProject()
        let jailed = try TestGit(project.root, configure: configure)
        let sandbox = try #require(jailed.sandbox)
        try await jailed.git.initialize()
        return (project, jailed, sandbox)
    }

    @Test func gitWorksOnFilesTheSandboxWroteAndWritesAsTheProjectsUid() async throws {
        let (project, jailed, sandbox) = try await jail()
        defer { jailed.shutdown(); project.remove() }
        #expect(try await sh(sandbox, "echo 'print(1)' > app.py && mkdir -p src && echo x > src/x.txt").exitCode == 0)
        try await jailed.git.stageAll()
        let id = try await jailed.git.commit(message: "first", author: author)
        #expect(try await jailed.git.log().map(\.id) == [id])
        var info = stat()
        stat(project.root + "/.git/index", &info)
        #expect(info.st_uid == sandbox.uid, "git's files belong to the project's uid, not root")
        #expect(try GitCLI.run(["-c", "safe.directory=*", "log", "--format=%an %s"], in: project.root) == "Ada first")
    }

    @Test func repositoriesThatRedirectGitAreRefusedUntilFixed() async throws {
        let (project, jailed, sandbox) = try await jail()
        defer { jailed.shutdown(); project.remove() }
        let attacks: [(set: String, key: String, unset: String)] = [
            ("git config core.worktree /", "core.worktree", "git config --unset core.worktree"),
            ("git config include.path /etc/shadow", "include.path", "git config --unset include.path"),
            ("git config includeIf.gitdir:/.path /etc/shadow", "includeif.*.path", "git config --remove-section includeIf.gitdir:/"),
            ("git config url.file:///etc/.insteadOf https://example.test/", "url.*.insteadof", "git config --remove-section url.file:///etc/"),
        ]
        for attack in attacks {
            #expect(try await sh(sandbox, attack.set).exitCode == 0, "\(attack.set)")
            await #expect(throws: GitError.self, "\(attack.key)") { try await jailed.git.stage(["etc/shadow"]) }
            let refusal = await refusalReason { _ = try await jailed.git.diff("etc/shadow", staged: true) }
            #expect(refusal?.contains(attack.key) == true, "refused, naming the key: \(refusal ?? "not refused")")
            #expect(try await sh(sandbox, attack.unset).exitCode == 0, "\(attack.unset)")
        }
        _ = try await jailed.git.status()  // usable again once the keys are gone

        // A .git that points elsewhere, or object stores borrowed from elsewhere.
        #expect(try await sh(sandbox, "echo /etc > .git/commondir").exitCode == 0)
        await #expect(throws: GitError.self) { try await jailed.git.status() }
        #expect(try await sh(sandbox, "rm .git/commondir && mv .git real.git && echo 'gitdir: /etc' > .git").exitCode == 0)
        await #expect(throws: GitError.self) { try await jailed.git.status() }
        #expect(try await sh(sandbox, "rm .git && ln -s /root .git").exitCode == 0)
        await #expect(throws: GitError.self) { try await jailed.git.status() }
    }

    /// The `GitError` `body` throws, or nil.
    func gitError(_ body: () async throws -> Void) async -> GitError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? GitError
        }
    }

    /// The reason of the `unsafeRepository` refusal `body` throws, or nil.
    func refusalReason(_ body: () async throws -> Void) async -> String? {
        if case .unsafeRepository(let reason)? = await gitError(body) { return reason }
        return nil
    }

    /// The reason of the `helperFailed` error `body` throws, or nil.
    func helperFailure(_ body: () async throws -> Void) async -> String? {
        if case .helperFailed(let reason)? = await gitError(body) { return reason }
        return nil
    }

    @Test func aCheckoutThroughALinkOutOfTheProjectWritesNothingOnTheHost() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let jailed = try TestGit(project.root)
        defer { jailed.shutdown() }
        let sandbox = try #require(jailed.sandbox)
        let planted = "hma-jail-test-\(UUID().uuidString)"
        try await jailed.git.initialize()
        // A branch holding tmp/<planted>, then `tmp` replaced by a link to the host's /tmp.
        let made = try await sh(sandbox, """
            mkdir tmp && echo owned > tmp/\(planted) && git add -A && git commit -qm evil && git branch evil &&
            git rm -rq tmp && git commit -qm clean && ln -s /tmp tmp
            """)
        #expect(made.exitCode == 0, "\(made.text)")
        do {
            try await jailed.git.checkout("evil")
        } catch {}  // refusing is as good as writing into the jail's own /tmp
        #expect(!FileManager.default.fileExists(atPath: "/tmp/" + planted), "nothing written into the host's /tmp")
        // And reading: a link to a host file stages as a link, never its contents.
        #expect(try await sh(sandbox, "git checkout -q main 2>/dev/null; ln -s /etc/shadow leak").exitCode == 0)
        try await jailed.git.stage(["leak"])
        let diff = try await jailed.git.diff("leak", staged: true)
        #expect(!diff.patch.contains("root:"), "no line of the host's /etc/shadow: \(diff.patch)")
    }

    @Test func credentialsGoOnlyToTheURLTheServerRecorded() async throws {
        let (project, jailed, sandbox) = try await jail()
        defer { jailed.shutdown(); project.remove() }
        #expect(try await sh(sandbox, "echo x > a && git add a && git commit -qm a").exitCode == 0)
        let recorded = "https://git.example.test/team/app.git"
        try await jailed.git.addRemote("origin", url: recorded)
        // The project's code points origin (or only its push URL) at a listener of its own.
        let listener = try LoopbackListener()
        let evil = "https://127.0.0.1:\(listener.port)/collect.git"
        let secret = GitCredentials.usernamePassword(username: "me", password: "token-\(UUID().uuidString)")
        #expect(try await sh(sandbox, "git remote set-url origin \(evil)").exitCode == 0)
        await #expect(throws: GitError.self) { try await jailed.git.push("origin", url: recorded, credentials: secret) }
        await #expect(throws: GitError.self) { try await jailed.git.fetch("origin", url: recorded, credentials: secret) }
        #expect(try await sh(sandbox, "git remote set-url origin \(recorded) && git remote set-url --push origin \(evil)").exitCode == 0)
        await #expect(throws: GitError.self) { try await jailed.git.push("origin", url: recorded, credentials: secret) }
        #expect(!listener.acceptedAnything, "nothing connected to the project's listener")
    }

    @Test func linksInsideGitAreRefused() async throws {
        let (project, jailed, sandbox) = try await jail()
        defer { jailed.shutdown(); project.remove() }
        for plant in ["mv .git/objects .git/o && ln -s o .git/objects", "mkdir -p .git/refs/heads/x && ln -s /etc/passwd .git/refs/heads/x/y",
                      "ln -s /etc/passwd .git/HEAD.lock2 && mv .git/HEAD .git/H && ln -s H .git/HEAD"] {
            #expect(try await sh(sandbox, "rm -rf .git && git init -q && \(plant)").exitCode == 0, "\(plant)")
            let refusal = await refusalReason { _ = try await jailed.git.status() }
            #expect(refusal?.contains("is a link") == true, "\(plant): \(refusal ?? "not refused")")
        }
    }

    @Test func aFIFOInTheProjectDoesNotStallGit() async throws {
        let (project, jailed, sandbox) = try await jail() { $0.localTimeout = .seconds(20) }
        defer { jailed.shutdown(); project.remove() }
        #expect(try await sh(sandbox, "mkfifo pipe && echo x > file.txt").exitCode == 0)
        // Refusing the FIFO is fine; a helper that stalls until its deadline is not.
        #expect(await helperFailure { _ = try await jailed.git.status() } == nil)
        #expect(await helperFailure { try await jailed.git.stage(["pipe"]) } == nil)
        #expect(await helperFailure { try await jailed.git.stageAll() } == nil)
        #expect(await helperFailure { _ = try await jailed.git.diff("pipe", staged: false) } == nil)
    }

    @Test func localRemotesOnlyBelowTheOperatorsFolderCheckedAtEveryUse() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let remotes = project.outer + "/remotes"
        try FileManager.default.createDirectory(atPath: remotes, withIntermediateDirectories: true)
        try GitCLI.run(["init", "--bare", "-q", "-b", "main", remotes + "/allowed.git"], in: project.outer)
        // A sibling project with its history.
        let sibling = project.outer + "/sibling"
        let siblingRepository = try GitRepository.initialize(sibling)
        try ProjectFiles(root: sibling).write("secret.txt", Data("sibling's secret\n".utf8))
        try siblingRepository.stageAll()
        try siblingRepository.commit(message: "secret", author: author)

        let jailed = try TestGit(project.root) { $0.remotePolicy.localRemotesRoot = remotes }
        defer { jailed.shutdown() }
        let sandbox = try #require(jailed.sandbox)
        try await jailed.git.initialize()
        await #expect(throws: GitError.self) { try await jailed.git.addRemote("sibling", url: "file://" + sibling) }
        await #expect(throws: GitError.self) { try await jailed.git.addRemote("up", url: "file://\(remotes)/../sibling") }
        await #expect(throws: GitError.self, "http needs the operator's consent") { try await jailed.git.addRemote("web", url: "http://127.0.0.1:1/p.git") }
        let allowedURL = "file://\(remotes)/allowed.git"
        try await jailed.git.addRemote("origin", url: allowedURL)
        try await jailed.git.fetch("origin", url: allowedURL)
        // The project's code points the remote at the sibling after it was added.
        #expect(try await sh(sandbox, "git remote set-url origin file://\(sibling)").exitCode == 0)
        await #expect(throws: GitError.self) { try await jailed.git.fetch("origin", url: allowedURL) }
        await #expect(throws: GitError.self) { try await jailed.git.pull("origin", url: allowedURL, author: author) }
        await #expect(throws: GitError.self, "the recorded URL must still be allowed") { try await jailed.git.fetch("origin", url: "file://" + sibling) }
        #expect(try await sh(sandbox, "git remote set-url origin \(allowedURL) && git remote set-url --push origin file://\(sibling)").exitCode == 0)
        await #expect(throws: GitError.self, "the push URL is checked too") { try await jailed.git.push("origin", url: allowedURL, branch: "main") }
        #expect(!FileManager.default.fileExists(atPath: project.root + "/secret.txt"))
        // A clone of the sibling, by another project: refused, nothing written.
        let other = project.outer + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        let otherGit = try TestGit(other) { $0.remotePolicy.localRemotesRoot = remotes }
        defer { otherGit.shutdown() }
        await #expect(throws: GitError.self) { try await otherGit.git.clone("file://" + sibling) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: other).isEmpty)

        var web = GitConfiguration()
        web.remotePolicy.allowPlainHTTP = true
        let allowed = try ProjectGit(projectRoot: project.root, isolation: .jail(sandbox), configuration: web)
        try await allowed.addRemote("web", url: "http://127.0.0.1:1/p.git")
    }
}
