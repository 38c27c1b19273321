import CGit2

/// What changed in one path.
public enum GitChange: String, Sendable, Codable {
    case added, modified, deleted, renamed, typeChanged, conflicted
}

public struct GitStatusEntry: Hashable, Sendable, Codable {
    public let path: String
    /// Between HEAD and the index.
    public let staged: GitChange?
    /// Between the index and the working directory.
    public let unstaged: GitChange?
    public let untracked: Bool
}

public struct GitStatus: Sendable, Equatable, Codable {
    /// The checked-out branch (nil when HEAD is detached).
    public let branch: String?
    public let detached: Bool
    /// Commits ahead of and behind the branch's upstream (0 without one).
    public let ahead: Int
    public let behind: Int
    /// At most `GitStatus.maxEntries`; `isComplete` is false when there were more.
    public let entries: [GitStatusEntry]
    public var isComplete = true

    /// The most entries one status reports (a project of a million
    /// untracked files answers with this many, not a gigabyte).
    public static let maxEntries = 20_000

    public var staged: [GitStatusEntry] { entries.filter { $0.staged != nil } }
    public var unstaged: [GitStatusEntry] { entries.filter { $0.unstaged != nil } }
    public var untracked: [GitStatusEntry] { entries.filter(\.untracked) }
    public var isClean: Bool { entries.isEmpty }
}

extension GitRepository {
    func status() throws(GitError) -> GitStatus {
        var options = git_status_options()
        try GitError.check(git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION)), "status")
        options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR
        options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue
            | GIT_STATUS_OPT_RENAMES_HEAD_TO_INDEX.rawValue | GIT_STATUS_OPT_SORT_CASE_SENSITIVELY.rawValue
        var list: OpaquePointer?
        try GitError.check(git_status_list_new(&list, pointer, &options), "status")
        defer { git_status_list_free(list) }
        var entries: [GitStatusEntry] = []
        let count = git_status_list_entrycount(list)
        for index in 0..<min(count, GitStatus.maxEntries) {
            guard let entry = git_status_byindex(list, index)?.pointee else { continue }
            let flags = entry.status.rawValue
            let delta = entry.index_to_workdir ?? entry.head_to_index
            guard let delta, let cPath = delta.pointee.new_file.path ?? delta.pointee.old_file.path else { continue }
            let conflicted = flags & GIT_STATUS_CONFLICTED.rawValue != 0
            entries.append(GitStatusEntry(
                path: String(cString: cPath),
                staged: conflicted ? .conflicted : Self.change(flags, new: GIT_STATUS_INDEX_NEW, modified: GIT_STATUS_INDEX_MODIFIED,
                                                               deleted: GIT_STATUS_INDEX_DELETED, renamed: GIT_STATUS_INDEX_RENAMED,
                                                               typeChange: GIT_STATUS_INDEX_TYPECHANGE),
                unstaged: conflicted ? .conflicted : Self.change(flags, new: nil, modified: GIT_STATUS_WT_MODIFIED,
                                                                 deleted: GIT_STATUS_WT_DELETED, renamed: GIT_STATUS_WT_RENAMED,
                                                                 typeChange: GIT_STATUS_WT_TYPECHANGE),
                untracked: flags & GIT_STATUS_WT_NEW.rawValue != 0))
        }
        let (branch, detached) = try currentBranch()
        let (ahead, behind) = try aheadBehind()
        return GitStatus(branch: branch, detached: detached, ahead: ahead, behind: behind, entries: entries, isComplete: count <= GitStatus.maxEntries)
    }

    private static func change(_ flags: UInt32, new: git_status_t?, modified: git_status_t, deleted: git_status_t,
                               renamed: git_status_t, typeChange: git_status_t) -> GitChange? {
        if let new, flags & new.rawValue != 0 { return .added }
        if flags & modified.rawValue != 0 { return .modified }
        if flags & deleted.rawValue != 0 { return .deleted }
        if flags & renamed.rawValue != 0 { return .renamed }
        if flags & typeChange.rawValue != 0 { return .typeChanged }
        return nil
    }

    /// The branch HEAD names (also on an unborn branch), and whether HEAD is detached.
    func currentBranch() throws(GitError) -> (String?, Bool) {
        if git_repository_head_detached(pointer) == 1 { return (nil, true) }
        var head: OpaquePointer?
        try GitError.check(git_reference_lookup(&head, pointer, "HEAD"), "read HEAD")
        defer { git_reference_free(head) }
        guard let target = git_reference_symbolic_target(head) else { return (nil, true) }
        let name = String(cString: target)
        return (name.hasPrefix("refs/heads/") ? String(name.dropFirst("refs/heads/".count)) : name, false)
    }

    private func aheadBehind() throws(GitError) -> (Int, Int) {
        var head: OpaquePointer?
        let code = git_repository_head(&head, pointer)
        if code == GIT_EUNBORNBRANCH.rawValue || code == GIT_ENOTFOUND.rawValue { return (0, 0) }
        try GitError.check(code, "read HEAD")
        defer { git_reference_free(head) }
        var upstream: OpaquePointer?
        guard git_reference_is_branch(head) == 1, git_branch_upstream(&upstream, head) == 0 else { return (0, 0) }
        defer { git_reference_free(upstream) }
        guard let local = git_reference_target(head), let remote = git_reference_target(upstream) else { return (0, 0) }
        var ahead = 0, behind = 0
        try GitError.check(git_graph_ahead_behind(&ahead, &behind, pointer, local, remote), "count ahead/behind")
        return (ahead, behind)
    }
}
