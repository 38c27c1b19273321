import CGit2
import CSystemCalls
import Foundation

/// Who made a commit.
public struct GitSignature: Sendable, Equatable, Codable {
    public var name: String
    public var email: String
    public init(name: String, email: String) {
        self.name = name
        self.email = email
    }
}

public struct GitCommitInfo: Sendable, Equatable, Codable {
    public let id: String
    public let summary: String
    public let message: String
    public let author: GitSignature
    public let date: Date
    public let parents: [String]
}

extension GitRepository {
    // MARK: - Index

    /// Stages these paths (a deleted file stages its deletion).
    func stage(_ paths: [String]) throws(GitError) {
        try withIndex { (index) throws(GitError) in
            for path in paths {
                let full = (self.path as NSString).appendingPathComponent(path)
                var info = stat()
                if lstat(full, &info) == 0 {
                    // libgit2 would read a FIFO until someone writes to it.
                    let kind = info.st_mode & S_IFMT
                    guard kind == S_IFREG || kind == S_IFLNK || kind == S_IFDIR else {
                        throw .library(operation: "stage \(path)", code: GIT_EINVALID.rawValue, message: "\(path) is not a regular file (a pipe, socket or device)")
                    }
                    try GitError.check(git_index_add_bypath(index, path), "stage \(path)")
                } else {
                    try GitError.check(git_index_remove_bypath(index, path), "stage the deletion of \(path)")
                }
            }
            try GitError.check(git_index_write(index), "write the index")
        }
    }

    /// Stages every change, deletions included (`git add -A`).
    func stageAll() throws(GitError) {
        try withIndex { (index) throws(GitError) in
            try withStrArray(["*"]) { (spec) throws(GitError) in
                try GitError.check(git_index_add_all(index, &spec, GIT_INDEX_ADD_DEFAULT.rawValue, nil, nil), "stage all")
                try GitError.check(git_index_update_all(index, &spec, nil, nil), "stage deletions")
            }
            try GitError.check(git_index_write(index), "write the index")
        }
    }

    /// Takes these paths out of the index back to HEAD (or out of it
    /// entirely before the first commit); the working files stay.
    func unstage(_ paths: [String]) throws(GitError) {
        let head = try headCommit()
        defer { git_object_free(head) }
        try withStrArray(paths) { (spec) throws(GitError) in
            try GitError.check(git_reset_default(pointer, head, &spec), "unstage")
        }
    }

    // MARK: - Commits

    /// Commits the index on the current branch. Refuses an empty message,
    /// one over `maxMessageBytes`, and a commit that changes nothing.
    @discardableResult
    func commit(message: String, author: GitSignature) throws(GitError) -> String {
        guard !message.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw .emptyMessage }
        guard message.utf8.count <= Self.maxMessageBytes else {
            throw .messageTooLong(bytes: message.utf8.count, limit: Self.maxMessageBytes)
        }
        var treeID = git_oid()
        try withIndex { (index) throws(GitError) in
            try GitError.check(git_index_write_tree(&treeID, index), "write the tree")
        }
        let parent = try headCommit()
        defer { git_object_free(parent) }
        if let parent {
            if git_oid_equal(git_commit_tree_id(parent), &treeID) == 1 { throw .nothingToCommit }
        } else {
            var tree: OpaquePointer?
            try GitError.check(git_tree_lookup(&tree, pointer, &treeID), "read the tree")
            defer { git_tree_free(tree) }
            if git_tree_entrycount(tree) == 0 { throw .nothingToCommit }
        }
        return try makeCommit(tree: &treeID, message: message, author: author, parents: parent.map { [$0] } ?? [])
    }

    func makeCommit(tree treeID: inout git_oid, message: String, author: GitSignature, parents: [OpaquePointer]) throws(GitError) -> String {
        var tree: OpaquePointer?
        try GitError.check(git_tree_lookup(&tree, pointer, &treeID), "read the tree")
        defer { git_tree_free(tree) }
        var signature: UnsafeMutablePointer<git_signature>?
        try GitError.check(git_signature_now(&signature, author.name, author.email), "make the signature")
        defer { git_signature_free(signature) }
        var id = git_oid()
        var parentPointers: [OpaquePointer?] = parents
        let code = parentPointers.withUnsafeMutableBufferPointer { buffer in
            git_commit_create(&id, pointer, "HEAD", signature, signature, "UTF-8", message, tree, buffer.count, buffer.baseAddress)
        }
        try GitError.check(code, "commit")
        return Self.hex(&id)
    }

    /// Commits from HEAD backwards, newest first: `limit` of them after
    /// skipping `offset`.
    func log(offset: Int = 0, limit: Int = 50) throws(GitError) -> [GitCommitInfo] {
        guard try headCommit().map({ git_object_free($0); return true }) ?? false else { return [] }
        var walk: OpaquePointer?
        try GitError.check(git_revwalk_new(&walk, pointer), "log")
        defer { git_revwalk_free(walk) }
        try GitError.check(git_revwalk_sorting(walk, GIT_SORT_TIME.rawValue | GIT_SORT_TOPOLOGICAL.rawValue), "log")
        try GitError.check(git_revwalk_push_head(walk), "log")
        var result: [GitCommitInfo] = []
        var id = git_oid()
        var skipped = 0
        while result.count < limit {
            let code = git_revwalk_next(&id, walk)
            if code == GIT_ITEROVER.rawValue { break }
            try GitError.check(code, "log")
            if skipped < offset { skipped += 1; continue }
            var commit: OpaquePointer?
            try GitError.check(git_commit_lookup(&commit, pointer, &id), "read a commit")
            defer { git_commit_free(commit) }
            let author = git_commit_author(commit)!.pointee
            let parents = (0..<git_commit_parentcount(commit)).map { Self.hex(git_commit_parent_id(commit, $0)) }
            result.append(GitCommitInfo(
                id: Self.hex(&id), summary: git_commit_summary(commit).map { String(cString: $0) } ?? "",
                message: String(cString: git_commit_message(commit)),
                author: GitSignature(name: String(cString: author.name), email: String(cString: author.email)),
                date: Date(timeIntervalSince1970: TimeInterval(git_commit_time(commit))), parents: parents))
        }
        return result
    }
}
