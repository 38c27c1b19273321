import CGit2

/// Every way a git operation fails. libgit2's own failures keep its error
/// code, class and message; the others are refusals with a reason.
public enum GitError: Error, Equatable, Sendable, Codable, CustomStringConvertible {
    /// libgit2 returned `code` (a `git_error_code`) for `operation`.
    case library(operation: String, code: Int32, message: String)
    case notARepository(String)
    /// Nothing is staged that differs from the last commit.
    case nothingToCommit
    case messageTooLong(bytes: Int, limit: Int)
    case emptyMessage
    case invalidBranchName(String)
    case branchNotFound(String)
    case branchExists(String)
    case cannotDeleteCurrentBranch(String)
    /// Local changes would be overwritten (checkout, merge).
    case wouldOverwriteChanges(String)
    /// The merge stopped with conflicts in these files; resolve and commit, or abort.
    case mergeConflicts([String])
    case invalidRemote(String, reason: String)
    case noCommits
    /// The repository asks for something git will not do for a project:
    /// a configuration key that moves the work tree or pulls in other
    /// files, or a `.git` that points elsewhere.
    case unsafeRepository(String)
    /// The git helper process failed or answered nonsense (it runs with
    /// the project's rights, so its answers are checked like any input).
    case helperFailed(String)

    public var description: String {
        switch self {
        case .library(let operation, let code, let message): return "git \(operation) failed (\(code)): \(message)"
        case .notARepository(let path): return "\(path) is not a git repository"
        case .nothingToCommit: return "nothing to commit: stage changes first"
        case .messageTooLong(let bytes, let limit): return "the commit message is \(bytes) bytes; the limit is \(limit)"
        case .emptyMessage: return "the commit message is empty"
        case .invalidBranchName(let name): return "\(name) is not a valid branch name"
        case .branchNotFound(let name): return "no branch \(name)"
        case .branchExists(let name): return "branch \(name) already exists"
        case .cannotDeleteCurrentBranch(let name): return "cannot delete \(name): it is checked out"
        case .wouldOverwriteChanges(let detail): return "local changes would be overwritten: \(detail)"
        case .mergeConflicts(let paths): return "merge conflicts in \(paths.joined(separator: ", "))"
        case .invalidRemote(let url, let reason): return "remote \(url) refused: \(reason)"
        case .noCommits: return "the repository has no commits yet"
        case .unsafeRepository(let reason): return "git refuses this repository: \(reason)"
        case .helperFailed(let reason): return "the git helper failed: \(reason)"
        }
    }

    /// Checks a libgit2 return code; a negative one becomes `.library` with
    /// libgit2's last error message.
    static func check(_ code: Int32, _ operation: String) throws(GitError) {
        guard code < 0 else { return }
        throw last(code, operation)
    }

    static func last(_ code: Int32, _ operation: String) -> GitError {
        let message = git_error_last().map { String(cString: $0.pointee.message) } ?? meaning(of: code)
        return .library(operation: operation, code: code, message: message)
    }

    /// Words for the codes our own callbacks return (libgit2 records no
    /// message for those).
    static func meaning(of code: Int32) -> String {
        switch code {
        case GIT_EAUTH.rawValue: return "authentication failed: the server refused the credentials given"
        case GIT_ECERTIFICATE.rawValue: return "the server's certificate or host key was refused (an SSH host key must match the pinned fingerprint)"
        default: return "no message"
        }
    }
}
