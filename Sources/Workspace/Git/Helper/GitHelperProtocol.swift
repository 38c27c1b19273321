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
    case fetch(remote: String, credentials: GitCredentials)
    case push(remote: String, branch: String?, credentials: GitCredentials)
    case pull(remote: String, author: GitSignature, credentials: GitCredentials)
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
}

/// What the helper reads on its standard input (JSON, one object).
struct GitHelperCall: Codable, Sendable {
    /// The work tree inside the helper's view (`/project` in the jail).
    var repository: String
    var request: GitRequest
    var remotePolicy: GitRemotePolicy
    /// Extra CA certificates (PEM) trusted for HTTPS remotes.
    var trustedCertificates: String?

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

    /// Replies larger than this are a failure of the helper.
    static let maxBytes = 64 << 20
}
