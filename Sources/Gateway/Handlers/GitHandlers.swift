import Foundation
import Storage
import Workspace

extension ClientSession {
    func git(_ message: IncomingMessage) async throws -> ServerFrame {
        let project = try await ownedProject(message.string("projectId"))
        let author = GitSignature(name: message.optionalString("authorName") ?? user.name,
                                  email: message.optionalString("authorEmail") ?? "\(user.name)@hma.invalid")
        let call: GitCall
        switch message.type {
        case "git_init": call = .initialize
        case "git_status": call = .status
        case "git_branches": call = .branches
        case "git_commits": call = .commits(maxCount: message.optionalInt("maxCount") ?? 50)
        case "git_diff": call = .diff(path: message.string("filePath"), staged: message.bool("staged"))
        case "git_stage", "git_unstage":
            let paths = try Self.gitPaths(message)
            call = message.type == "git_stage" ? .stage(paths: paths) : .unstage(paths: paths)
        case "git_commit": call = .commit(message: message.string("message"), author: author)
        case "git_checkout": call = .checkout(message.string("branchName"))
        case "git_create_branch": call = .createBranch(message.string("branchName"))
        case "git_delete_branch": call = .deleteBranch(message.string("branchName"))
        case "git_merge": call = .merge(message.string("branchName"), author: author)
        case "git_push":
            call = .push(remote: message.string("remoteName"), url: message.optionalString("remoteUrl"),
                         branch: message.optionalString("branchName"), credentials: Self.credentials(message.object("credentials")))
        case "git_pull":
            call = .pull(remote: message.string("remoteName"), url: message.optionalString("remoteUrl"), author: author,
                         credentials: Self.credentials(message.object("credentials")))
        case "git_fetch":
            call = .fetch(remote: message.string("remoteName"), url: message.optionalString("remoteUrl"),
                          credentials: Self.credentials(message.object("credentials")))
        default:
            throw ProtocolError(.unknownType, "unknown message type \(message.type)")
        }
        try await gateway.open(project)
        let answer = try await gateway.hosts.host(for: project.id).git(projectId: project.id, call)
        return Self.frame(for: message.type, answer, projectId: project.id)
    }

    private static func gitPaths(_ message: IncomingMessage) throws -> [String]? {
        if message.bool("all") { return nil }
        guard let path = message.optionalString("filePath") else { throw ProtocolError(.invalidField, "give filePath, or all: true") }
        return [path]
    }

    static func frame(for type: String, _ answer: GitAnswer, projectId: String) -> ServerFrame {
        switch answer {
        case .status(let status):
            return ServerFrame("git_status", [
                "projectId": .string(projectId), "branch": .optional(status.branch), "ahead": .int(status.ahead), "behind": .int(status.behind),
                "files": .array(status.entries.map { entry in
                    [
                        "path": .string(entry.path), "staged": .optional(entry.staged?.rawValue), "unstaged": .optional(entry.unstaged?.rawValue),
                        "untracked": .bool(entry.untracked),
                    ]
                }.map { (object: [String: JSONValue]) in JSONValue.object(object.filter { $0.value != .null }) }),
            ])
        case .branches(let branches):
            return ServerFrame("git_branches_result", [
                "branches": .array(branches.map { ["name": .string($0.name), "current": .bool($0.isCurrent)] }),
            ])
        case .commits(let commits):
            return ServerFrame("git_commits_result", [
                "commits": .array(commits.map {
                    ["hash": .string($0.id), "message": .string($0.message), "author": .string($0.author.name),
                     "email": .string($0.author.email), "date": .string(MessageJSON.timestamp($0.date))]
                }),
            ])
        case .diff(let diff):
            return ServerFrame("git_diff", [
                "filePath": .string(diff.path), "diff": .string(diff.patch), "addedLines": .int(diff.added),
                "removedLines": .int(diff.removed), "isBinary": .bool(diff.binary),
            ])
        case .commit(let hash):
            return ServerFrame("git_commit_result", ["success": true, "commitHash": .string(hash)])
        case .merge(let result):
            let (kind, hash): (String, String?)
            switch result {
            case .upToDate: (kind, hash) = ("up_to_date", nil)
            case .fastForward(let id): (kind, hash) = ("fast_forward", id)
            case .merged(let id): (kind, hash) = ("merged", id)
            }
            if type == "git_pull" { return ServerFrame("git_pull_result", ["success": true, "message": .string(kind)]) }
            return ServerFrame("git_merge_result", ["success": true, "result": .string(kind), "commitHash": .optional(hash)])
        case .done:
            return ServerFrame(type + "_result", ["success": true])
        }
    }
}
