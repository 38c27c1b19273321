import CGit2

/// The change of one file.
public struct GitFileDiff: Sendable, Equatable, Codable {
    public let path: String
    public let added: Int
    public let removed: Int
    public let binary: Bool
    /// The unified diff (empty for a binary file or no change), cut at
    /// `GitFileDiff.maxPatchBytes`.
    public let patch: String
    public var patchTruncated = false

    public static let maxPatchBytes = 2 << 20
}

extension GitRepository {
    /// How `path` differs: staged (HEAD → index) or not (index → working
    /// directory, untracked files included).
    func diff(_ path: String, staged: Bool) throws(GitError) -> GitFileDiff {
        var options = git_diff_options()
        try GitError.check(git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION)), "diff")
        options.flags = GIT_DIFF_INCLUDE_UNTRACKED.rawValue | GIT_DIFF_SHOW_UNTRACKED_CONTENT.rawValue | GIT_DIFF_DISABLE_PATHSPEC_MATCH.rawValue
        return try withStrArray([path]) { (spec) throws(GitError) -> GitFileDiff in
            options.pathspec = spec
            var diff: OpaquePointer?
            if staged {
                let head = try headCommit()
                defer { git_object_free(head) }
                var tree: OpaquePointer?
                if let head { try GitError.check(git_commit_tree(&tree, head), "read HEAD's tree") }
                defer { git_tree_free(tree) }
                try withIndex { (index) throws(GitError) in
                    try GitError.check(git_diff_tree_to_index(&diff, pointer, tree, index, &options), "diff")
                }
            } else {
                try withIndex { (index) throws(GitError) in
                    try GitError.check(git_diff_index_to_workdir(&diff, pointer, index, &options), "diff")
                }
            }
            defer { git_diff_free(diff) }
            guard git_diff_num_deltas(diff) > 0 else { return GitFileDiff(path: path, added: 0, removed: 0, binary: false, patch: "") }
            var patch: OpaquePointer?
            try GitError.check(git_patch_from_diff(&patch, diff, 0), "diff")
            defer { git_patch_free(patch) }
            let delta = git_patch_get_delta(patch)!.pointee
            let binary = delta.flags & GIT_DIFF_FLAG_BINARY.rawValue != 0
            var context = 0, additions = 0, deletions = 0
            try GitError.check(git_patch_line_stats(&context, &additions, &deletions, patch), "diff")
            var text = ""
            var truncated = false
            if !binary {
                var buffer = git_buf()
                try GitError.check(git_patch_to_buf(&buffer, patch), "diff")
                defer { git_buf_dispose(&buffer) }
                text = String(decoding: UnsafeRawBufferPointer(start: buffer.ptr, count: min(buffer.size, GitFileDiff.maxPatchBytes)), as: UTF8.self)
                truncated = buffer.size > GitFileDiff.maxPatchBytes
            }
            return GitFileDiff(path: path, added: additions, removed: deletions, binary: binary, patch: text, patchTruncated: truncated)
        }
    }
}
