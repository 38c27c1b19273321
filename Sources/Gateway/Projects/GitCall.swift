import Foundation
import Workspace

/// A git request the gateway sends a project's host (one per protocol
/// `git_*` message), and its answer. Credentials travel with the call and
/// are used for it only.
public enum GitCall: Codable, Sendable {
    case initialize
    case status
    case branches
    case commits(maxCount: Int)
    case diff(path: String, staged: Bool)
    case stage(paths: [String]?)
    case unstage(paths: [String]?)
    case commit(message: String, author: GitSignature)
    case checkout(String)
    case createBranch(String)
    case deleteBranch(String)
    case merge(String, author: GitSignature)
    case push(remote: String, url: String?, branch: String?, credentials: GitCredentials)
    case pull(remote: String, url: String?, author: GitSignature, credentials: GitCredentials)
    case fetch(remote: String, url: String?, credentials: GitCredentials)

    func perform(on git: ProjectGit) async throws(GitError) -> GitAnswer {
        switch self {
        case .initialize: try await git.initialize(); return .done
        case .status: return .status(try await git.status())
        case .branches: return .branches(try await git.branches())
        case .commits(let count): return .commits(try await git.log(limit: count))
        case .diff(let path, let staged): return .diff(try await git.diff(path, staged: staged))
        case .stage(let paths):
            if let paths { try await git.stage(paths) } else { try await git.stageAll() }
            return .done
        case .unstage(let paths):
            if let paths {
                try await git.unstage(paths)
            } else {
                let staged = try await git.status().staged.map(\.path)
                if !staged.isEmpty { try await git.unstage(staged) }
            }
            return .done
        case .commit(let message, let author): return .commit(try await git.commit(message: message, author: author))
        case .checkout(let name): try await git.checkout(name); return .done
        case .createBranch(let name): try await git.createBranch(name); return .done
        case .deleteBranch(let name): try await git.deleteBranch(name); return .done
        case .merge(let name, let author): return .merge(try await git.merge(name, author: author))
        case .push(let remote, let url, let branch, let credentials):
            try await git.push(remote, url: try await Self.url(remote, url, git), branch: branch, credentials: credentials)
            return .done
        case .pull(let remote, let url, let author, let credentials):
            return .merge(try await git.pull(remote, url: try await Self.url(remote, url, git), author: author, credentials: credentials))
        case .fetch(let remote, let url, let credentials):
            try await git.fetch(remote, url: try await Self.url(remote, url, git), credentials: credentials)
            return .done
        }
    }

    /// The URL given, else the configured remote's.
    private static func url(_ remote: String, _ url: String?, _ git: ProjectGit) async throws(GitError) -> String {
        if let url { return url }
        guard let known = try await git.remotes().first(where: { $0.name == remote }) else {
            throw .invalidRemote(remote, reason: "no such remote; give remoteUrl")
        }
        return known.url
    }
}

public enum GitAnswer: Codable, Sendable {
    case done
    case status(GitStatus)
    case branches([GitBranch])
    case commits([GitCommitInfo])
    case diff(GitFileDiff)
    case commit(String)
    case merge(GitMergeResult)
}
