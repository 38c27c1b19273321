import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A project's git repository, as the server uses it. Every operation runs
/// in a short-lived helper process (`hma-git`, libgit2) with the project's
/// uid and the project as its only writable view — never in the server's
/// process, where a hostile `.git` (its configuration, links inside it, a
/// branch holding `etc/cron.d/x`) would act with the server's rights.
/// Replies are checked like any untrusted input. One process per
/// operation costs a sandbox start (about 15 ms) and keeps no state that a
/// crash could lose. Safe to use from several tasks; operations on one
/// repository should be serialised by the caller (git locks its index).
public final class ProjectGit: Sendable {
    /// Where the helper runs.
    public enum Isolation: Sendable {
        /// In the project's bwrap jail as its uid: no network unless the
        /// operation is a fetch, pull, push or clone; only the project (and
        /// the local remotes folder, if any) visible and writable.
        case jail(BwrapSandbox)
        /// As the server's own user, for a server that is not root (a
        /// developer's laptop, where that user owns the project anyway).
        /// Refused for root.
        case serverUser
    }

    public let projectRoot: String
    private let isolation: Isolation
    private let configuration: GitConfiguration

    public init(projectRoot: String, isolation: Isolation, configuration: GitConfiguration = .init()) throws(GitError) {
        if case .serverUser = isolation, getuid() == 0 {
            throw .helperFailed("as root, git runs only in the project's jail (bwrap); it will not run as root on a project's repository")
        }
        self.projectRoot = projectRoot
        self.isolation = isolation
        self.configuration = configuration
    }

    // MARK: - Operations

    /// Makes the project a repository on branch `main`, with a `.gitignore`
    /// for dependency and build folders unless one exists.
    public func initialize(gitignore: String = ProjectGit.defaultGitignore) async throws(GitError) {
        try expectDone(try await call(.initialize(gitignore: gitignore)))
    }
    public func status() async throws(GitError) -> GitStatus {
        guard case .status(let status) = try await call(.status), status.entries.count <= GitStatus.maxEntries else { throw unexpected }
        return status
    }
    public func diff(_ path: String, staged: Bool) async throws(GitError) -> GitFileDiff {
        guard case .diff(let diff) = try await call(.diff(path: path, staged: staged)), diff.patch.utf8.count <= GitFileDiff.maxPatchBytes * 3 else { throw unexpected }
        return diff
    }
    public func stage(_ paths: [String]) async throws(GitError) { try expectDone(try await call(.stage(paths))) }
    public func stageAll() async throws(GitError) { try expectDone(try await call(.stageAll)) }
    public func unstage(_ paths: [String]) async throws(GitError) { try expectDone(try await call(.unstage(paths))) }
    /// Commits what is staged; returns the new commit's id.
    public func commit(message: String, author: GitSignature) async throws(GitError) -> String {
        guard case .committed(let id) = try await call(.commit(message: message, author: author)), Self.isObjectID(id) else { throw unexpected }
        return id
    }
    public func log(offset: Int = 0, limit: Int = 50) async throws(GitError) -> [GitCommitInfo] {
        guard case .log(let commits) = try await call(.log(offset: offset, limit: limit)), commits.count <= min(max(0, limit), GitReply.maxLogEntries) else { throw unexpected }
        return commits
    }
    public func branches() async throws(GitError) -> [GitBranch] {
        guard case .branches(let branches) = try await call(.branches) else { throw unexpected }
        return branches
    }
    public func createBranch(_ name: String) async throws(GitError) { try expectDone(try await call(.createBranch(name))) }
    public func checkout(_ name: String) async throws(GitError) { try expectDone(try await call(.checkout(name))) }
    public func deleteBranch(_ name: String) async throws(GitError) { try expectDone(try await call(.deleteBranch(name))) }
    public func merge(_ name: String, author: GitSignature) async throws(GitError) -> GitMergeResult {
        guard case .merged(let result) = try await call(.merge(name, author: author)) else { throw unexpected }
        return result
    }
    public func abortMerge() async throws(GitError) { try expectDone(try await call(.abortMerge)) }
    /// Adds a remote the configuration's `GitRemotePolicy` allows.
    public func addRemote(_ name: String, url: String) async throws(GitError) {
        try configuration.remotePolicy.check(url, resolve: { $0 })  // early, clear refusal; the helper checks the real path
        try expectDone(try await call(.addRemote(name: name, url: url)))
    }
    public func remotes() async throws(GitError) -> [GitRemote] {
        guard case .remotes(let remotes) = try await call(.remotes) else { throw unexpected }
        return remotes
    }
    /// `url` is the remote's URL as the caller recorded it when it added
    /// the remote (never read back from the repository, which the project
    /// can edit): the operation is refused if `.git/config` says otherwise.
    /// Credentials are handed to the helper for this call only (through
    /// its standard input; never on a command line, on disk or in logs).
    public func fetch(_ remote: String, url: String, credentials: GitCredentials = .none) async throws(GitError) {
        try expectDone(try await call(.fetch(remote: remote, url: url, credentials: credentials)))
    }
    public func push(_ remote: String, url: String, branch: String? = nil, credentials: GitCredentials = .none) async throws(GitError) {
        try expectDone(try await call(.push(remote: remote, url: url, branch: branch, credentials: credentials)))
    }
    public func pull(_ remote: String, url: String, author: GitSignature, credentials: GitCredentials = .none) async throws(GitError) -> GitMergeResult {
        guard case .merged(let result) = try await call(.pull(remote: remote, url: url, author: author, credentials: credentials)) else { throw unexpected }
        return result
    }
    /// Clones `url` into the project folder, which must be empty.
    public func clone(_ url: String, credentials: GitCredentials = .none) async throws(GitError) {
        try expectDone(try await call(.clone(url: url, credentials: credentials)))
    }

    /// The `.gitignore` a new repository gets.
    public static let defaultGitignore = """
        # Dependencies and build output (HMA default)
        node_modules/
        .venv/
        venv/
        __pycache__/
        *.pyc
        .build/
        build/
        dist/
        target/
        .DS_Store

        """

    // MARK: - The helper

    private var unexpected: GitError { .helperFailed("the helper's reply does not answer the request") }

    private func expectDone(_ reply: GitReply) throws(GitError) {
        guard case .done = reply else { throw unexpected }
    }

    private static func isObjectID(_ text: String) -> Bool {
        text.count == 40 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    private func call(_ request: GitRequest) async throws(GitError) -> GitReply {
        let helper = try GitHelperExecutable.shared.get()
        var certificates: String?
        if let file = configuration.trustedCertificatesFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw .helperFailed("cannot read \(file)") }
            certificates = text
        }
        // An SSH key file stays with the server; its contents go to the helper.
        var sshPrivateKey: String?, sshPublicKey: String?
        if case .sshKey(_, let privateKey, let publicKey, _, _)? = request.credentials {
            guard let key = try? String(contentsOfFile: privateKey, encoding: .utf8) else { throw .helperFailed("cannot read the SSH key \(privateKey)") }
            sshPrivateKey = key
            if let publicKey {
                guard let text = try? String(contentsOfFile: publicKey, encoding: .utf8) else { throw .helperFailed("cannot read \(publicKey)") }
                sshPublicKey = text
            }
        }
        let timeout = request.needsNetwork ? configuration.remoteTimeout : configuration.localTimeout
        let outcome: ProcessRunner.Outcome
        do {
            switch isolation {
            case .jail(let sandbox):
                let call = GitHelperCall(repository: "/project", request: request, remotePolicy: configuration.remotePolicy, trustedCertificates: certificates,
                                         sshPrivateKey: sshPrivateKey, sshPublicKey: sshPublicKey)
                var readOnly = [helper.path]
                var writable: [String] = []
                if let runtime = helper.runtimeLibraries { readOnly.append(runtime) }
                // The local-remotes folder only for operations on remotes, writable only to push.
                if let remotes = configuration.remotePolicy.localRemotesRoot, request.usesRemotes {
                    if request.writesRemote { writable.append(remotes) } else { readOnly.append(remotes) }
                }
                outcome = try await sandbox.runTool(
                    [helper.path], input: try JSONEncoder().encode(call), network: request.needsNetwork, readOnly: readOnly,
                    writable: writable, timeout: timeout, maxOutputBytes: GitReply.maxBytes)
            case .serverUser:
                let call = GitHelperCall(repository: projectRoot, request: request, remotePolicy: configuration.remotePolicy, trustedCertificates: certificates,
                                         sshPrivateKey: sshPrivateKey, sshPublicKey: sshPublicKey)
                outcome = try await ProcessRunner.execute(
                    [helper.path], environment: ["PATH": "/usr/bin:/bin", "HOME": projectRoot, "LANG": "C.UTF-8"],
                    input: try JSONEncoder().encode(call), separateErrors: true, timeout: timeout, maxOutputBytes: GitReply.maxBytes)
            }
        } catch let error as GitError {
            throw error
        } catch {
            throw .helperFailed("\(error)")
        }
        let result = outcome.result
        if result.timedOut { throw .helperFailed("no answer within \(timeout)") }
        guard result.exitCode == 0, !result.truncated else {
            let said = String(decoding: outcome.errors.prefix(500), as: UTF8.self)
            throw .helperFailed("it ended with \(result.exitCode.map { "status \($0)" } ?? "signal \(result.signal ?? 0)")\(said.isEmpty ? "" : ": \(said)")")
        }
        guard let reply = try? JSONDecoder().decode(GitReply.self, from: result.output) else {
            throw .helperFailed("its reply is not a git reply")
        }
        if case .failed(let error) = reply { throw error }
        return reply
    }
}

/// How a server runs git for its projects (docs/workspace.md, "Git").
public struct GitConfiguration: Sendable {
    public var remotePolicy = GitRemotePolicy()
    /// A PEM file of extra CA certificates trusted for HTTPS remotes
    /// (besides the system's), e.g. a company's own.
    public var trustedCertificatesFile: String?
    public var localTimeout: Duration = .seconds(60)
    public var remoteTimeout: Duration = .seconds(600)
    public init() {}
}
