import Foundation

/// One operation the server asks of the git helper. The helper runs once
/// per request, inside the project's jail, on the repository at
/// `GitHelperCall.repository`.
enum GitRequest: Codable, Sendable {
    case initialize(gitignore: String)
    case status
    case diff(path: String, staged: Bool)
    case stage([String])
    case stageAll
    case unstage([String])
    case commit(message: String, author: GitSignature)
    case log(offset: Int, limit: Int)
    case branches
    case createBranch(String)
    case checkout(String)
    case deleteBranch(String)
    case merge(String, author: GitSignature)
    case abortMerge
    case addRemote(name: String, url: String)
    case remotes
    /// `url`: the remote's URL as the server recorded it; the stored one must match.
    case fetch(remote: String, url: String, credentials: GitCredentials)
    case push(remote: String, url: String, branch: String?, credentials: GitCredentials)
    case pull(remote: String, url: String, author: GitSignature, credentials: GitCredentials)
    /// Into the (empty) repository folder.
    case clone(url: String, credentials: GitCredentials)

    /// Whether the operation talks to another host (the jail then shares
    /// the host's network; otherwise it has none).
    var needsNetwork: Bool {
        switch self {
        case .fetch, .push, .pull, .clone: return true
        default: return false
        }
    }

    /// The credentials the request carries, if any.
    var credentials: GitCredentials? {
        switch self {
        case .fetch(_, _, let credentials), .push(_, _, _, let credentials), .pull(_, _, _, let credentials), .clone(_, let credentials):
            return credentials
        default:
            return nil
        }
    }

    /// The same request with other credentials.
    func with(_ credentials: GitCredentials) -> GitRequest {
        switch self {
        case .fetch(let remote, let url, _): return .fetch(remote: remote, url: url, credentials: credentials)
        case .push(let remote, let url, let branch, _): return .push(remote: remote, url: url, branch: branch, credentials: credentials)
        case .pull(let remote, let url, let author, _): return .pull(remote: remote, url: url, author: author, credentials: credentials)
        case .clone(let url, _): return .clone(url: url, credentials: credentials)
        default: return self
        }
    }

    /// Whether the operation looks at remote repositories (the local-remotes
    /// folder, if any, is then bound into the jail).
    var usesRemotes: Bool {
        if case .addRemote = self { return true }
        return needsNetwork
    }

    /// Whether the operation writes to a remote (the local-remotes folder
    /// is then bound writable; otherwise read-only, or not at all).
    var writesRemote: Bool {
        if case .push = self { return true }
        return false
    }
}

/// What the helper reads on its standard input (JSON, one object).
struct GitHelperCall: Codable, Sendable {
    /// The work tree inside the helper's view (`/project` in the jail).
    var repository: String
    var request: GitRequest
    var remotePolicy: GitRemotePolicy
    /// Extra CA certificates (PEM) trusted for HTTPS remotes.
    var trustedCertificates: String?
    /// The SSH key files' contents, read by the server (the files are not
    /// in the helper's view); the helper writes them to its private /tmp
    /// and points the credentials there.
    var sshPrivateKey: String?
    var sshPublicKey: String?

    /// Requests larger than this are refused by the helper unread.
    static let maxBytes = 16 << 20
}

/// What the helper writes on its standard output (JSON, one object).
/// Parsed by the server as untrusted input: bounded, typed, and checked
/// against the request it answers.
enum GitReply: Codable, Sendable {
    case done
    case status(GitStatus)
    case diff(GitFileDiff)
    case committed(String)
    case log([GitCommitInfo])
    case branches([GitBranch])
    case merged(GitMergeResult)
    case remotes([GitRemote])
    case failed(GitError)

    /// Replies larger than this are a failure of the helper. The engine's
    /// own caps keep honest replies far below it: status entries
    /// (`GitStatus.maxEntries`), patches (`GitFileDiff.maxPatchBytes`), log
    /// entries (`maxLogEntries`).
    static let maxBytes = 64 << 20
    static let maxLogEntries = 1000
}
