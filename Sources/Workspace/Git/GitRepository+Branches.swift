import CGit2

public struct GitBranch: Sendable, Equatable, Codable {
    public let name: String
    public let isCurrent: Bool
    /// The commit it points to.
    public let target: String
}

/// A named remote repository.
public struct GitRemote: Sendable, Equatable, Codable {
    public let name: String
    public let url: String
}

/// How a merge ended.
public enum GitMergeResult: Sendable, Equatable, Codable {
    case upToDate
    case fastForward(String)
    /// A merge commit with this id.
    case merged(String)
}

extension GitRepository {
    func branches() throws(GitError) -> [GitBranch] {
        var iterator: OpaquePointer?
        try GitError.check(git_branch_iterator_new(&iterator, pointer, GIT_BRANCH_LOCAL), "list branches")
        defer { git_branch_iterator_free(iterator) }
        var result: [GitBranch] = []
        while true {
            var reference: OpaquePointer?
            var type = GIT_BRANCH_LOCAL
            let code = git_branch_next(&reference, &type, iterator)
            if code == GIT_ITEROVER.rawValue { break }
            try GitError.check(code, "list branches")
            defer { git_reference_free(reference) }
            var name: UnsafePointer<CChar>?
            try GitError.check(git_branch_name(&name, reference), "list branches")
            let target = git_reference_target(reference).map { Self.hex($0) } ?? ""
            result.append(GitBranch(name: String(cString: name!), isCurrent: git_branch_is_head(reference) == 1, target: target))
        }
        return result.sorted { $0.name < $1.name }
    }

    /// Creates a branch at HEAD (it is not checked out).
    func createBranch(_ name: String) throws(GitError) {
        try validateBranchName(name)
        guard let head = try headCommit() else { throw .noCommits }
        defer { git_object_free(head) }
        var reference: OpaquePointer?
        let code = git_branch_create(&reference, pointer, name, head, 0)
        if code == GIT_EEXISTS.rawValue { throw .branchExists(name) }
        try GitError.check(code, "create branch \(name)")
        git_reference_free(reference)
    }

    /// Checks out a branch; refuses when local changes would be overwritten.
    func checkout(_ name: String) throws(GitError) {
        try validateBranchName(name)
        let reference = try lookupBranch(name)
        defer { git_reference_free(reference) }
        var target: OpaquePointer?
        try GitError.check(git_reference_peel(&target, reference, GIT_OBJECT_COMMIT), "read branch \(name)")
        defer { git_object_free(target) }
        var options = git_checkout_options()
        try GitError.check(git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION)), "checkout")
        options.checkout_strategy = GIT_CHECKOUT_SAFE.rawValue
        let code = git_checkout_tree(pointer, target, &options)
        if code == GIT_ECONFLICT.rawValue { throw .wouldOverwriteChanges(GitError.last(code, "checkout").description) }
        try GitError.check(code, "checkout \(name)")
        try GitError.check(git_repository_set_head(pointer, "refs/heads/\(name)"), "checkout \(name)")
    }

    func deleteBranch(_ name: String) throws(GitError) {
        try validateBranchName(name)
        let reference = try lookupBranch(name)
        defer { git_reference_free(reference) }
        if git_branch_is_head(reference) == 1 { throw .cannotDeleteCurrentBranch(name) }
        try GitError.check(git_branch_delete(reference), "delete branch \(name)")
    }

    /// Merges branch `name` into the current one: fast-forward when
    /// possible, otherwise a merge commit; with conflicts the merge stays in
    /// progress (conflict markers in the files) and `mergeConflicts` names
    /// them — resolve, stage and `commit`, or `abortMerge`.
    func merge(_ name: String, author: GitSignature) throws(GitError) -> GitMergeResult {
        try validateBranchName(name)
        return try merge(reference: "refs/heads/\(name)", describedAs: name, author: author)
    }

    func merge(reference referenceName: String, describedAs name: String, author: GitSignature) throws(GitError) -> GitMergeResult {
        var found: OpaquePointer?
        let lookup = git_reference_lookup(&found, pointer, referenceName)
        if lookup == GIT_ENOTFOUND.rawValue { throw .branchNotFound(name) }
        try GitError.check(lookup, "find \(name)")
        let reference = found!
        defer { git_reference_free(reference) }
        var annotated: OpaquePointer?
        try GitError.check(git_annotated_commit_from_ref(&annotated, pointer, reference), "merge \(name)")
        defer { git_annotated_commit_free(annotated) }
        var analysis = GIT_MERGE_ANALYSIS_NONE
        var preference = GIT_MERGE_PREFERENCE_NONE
        var heads: [OpaquePointer?] = [annotated]
        try GitError.check(git_merge_analysis(&analysis, &preference, pointer, &heads, 1), "merge \(name)")
        if analysis.rawValue & GIT_MERGE_ANALYSIS_UP_TO_DATE.rawValue != 0 { return .upToDate }
        var checkoutOptions = git_checkout_options()
        try GitError.check(git_checkout_options_init(&checkoutOptions, UInt32(GIT_CHECKOUT_OPTIONS_VERSION)), "merge")
        checkoutOptions.checkout_strategy = GIT_CHECKOUT_SAFE.rawValue
        if analysis.rawValue & GIT_MERGE_ANALYSIS_FASTFORWARD.rawValue != 0 {
            let targetID = git_annotated_commit_id(annotated)!
            var target: OpaquePointer?
            try GitError.check(git_object_lookup(&target, pointer, targetID, GIT_OBJECT_COMMIT), "merge \(name)")
            defer { git_object_free(target) }
            let code = git_checkout_tree(pointer, target, &checkoutOptions)
            if code == GIT_ECONFLICT.rawValue { throw .wouldOverwriteChanges(GitError.last(code, "merge").description) }
            try GitError.check(code, "merge \(name)")
            var head: OpaquePointer?
            try GitError.check(git_repository_head(&head, pointer), "merge \(name)")
            defer { git_reference_free(head) }
            var moved: OpaquePointer?
            try GitError.check(git_reference_set_target(&moved, head, targetID, "merge \(name): fast-forward"), "merge \(name)")
            git_reference_free(moved)
            return .fastForward(Self.hex(targetID))
        }
        var mergeOptions = git_merge_options()
        try GitError.check(git_merge_options_init(&mergeOptions, UInt32(GIT_MERGE_OPTIONS_VERSION)), "merge")
        let code = git_merge(pointer, &heads, 1, &mergeOptions, &checkoutOptions)
        if code == GIT_ECONFLICT.rawValue { throw .wouldOverwriteChanges(GitError.last(code, "merge").description) }
        try GitError.check(code, "merge \(name)")
        let conflicts = try conflictedPaths()
        guard conflicts.isEmpty else { throw .mergeConflicts(conflicts) }
        var treeID = git_oid()
        try withIndex { (index) throws(GitError) in
            try GitError.check(git_index_write_tree(&treeID, index), "merge \(name)")
        }
        guard let head = try headCommit() else { throw .noCommits }
        defer { git_object_free(head) }
        var other: OpaquePointer?
        try GitError.check(git_object_lookup(&other, pointer, git_annotated_commit_id(annotated), GIT_OBJECT_COMMIT), "merge \(name)")
        defer { git_object_free(other) }
        let current = try currentBranch().0 ?? "HEAD"
        let id = try makeCommit(tree: &treeID, message: "Merge \(name) into \(current)\n", author: author, parents: [head, other!])
        git_repository_state_cleanup(pointer)
        return .merged(id)
    }

    /// Ends a merge in progress, putting HEAD's files back.
    func abortMerge() throws(GitError) {
        guard let head = try headCommit() else { throw .noCommits }
        defer { git_object_free(head) }
        try GitError.check(git_reset(pointer, head, GIT_RESET_HARD, nil), "abort the merge")
        git_repository_state_cleanup(pointer)
    }

    func conflictedPaths() throws(GitError) -> [String] {
        try withIndex { (index) throws(GitError) -> [String] in
            guard git_index_has_conflicts(index) == 1 else { return [] }
            var iterator: OpaquePointer?
            try GitError.check(git_index_conflict_iterator_new(&iterator, index), "list conflicts")
            defer { git_index_conflict_iterator_free(iterator) }
            var paths: Set<String> = []
            while true {
                var ancestor: UnsafePointer<git_index_entry>?, ours: UnsafePointer<git_index_entry>?, theirs: UnsafePointer<git_index_entry>?
                let code = git_index_conflict_next(&ancestor, &ours, &theirs, iterator)
                if code == GIT_ITEROVER.rawValue { break }
                try GitError.check(code, "list conflicts")
                if let entry = ours ?? theirs ?? ancestor { paths.insert(String(cString: entry.pointee.path)) }
            }
            return paths.sorted()
        }
    }

    private func lookupBranch(_ name: String) throws(GitError) -> OpaquePointer {
        var reference: OpaquePointer?
        let code = git_branch_lookup(&reference, pointer, name, GIT_BRANCH_LOCAL)
        if code == GIT_ENOTFOUND.rawValue { throw .branchNotFound(name) }
        try GitError.check(code, "find branch \(name)")
        return reference!
    }

    func validateBranchName(_ name: String) throws(GitError) {
        var valid: Int32 = 0
        guard !name.isEmpty, !name.hasPrefix("-"), git_branch_name_is_valid(&valid, name) == 0, valid == 1 else {
            throw .invalidBranchName(name)
        }
    }

    // MARK: - Remotes


    /// Adds a remote; only `https://`, `ssh://`/`user@host:path` and
    /// `file://` URLs of another repository are accepted.
    func addRemote(_ name: String, url: String) throws(GitError) {
        try validateBranchName(name)
        try remotePolicy.check(url)
        var remote: OpaquePointer?
        try GitError.check(git_remote_create(&remote, pointer, name, url), "add remote \(name)")
        git_remote_free(remote)
    }

    func remotes() throws(GitError) -> [GitRemote] {
        var names = git_strarray()
        try GitError.check(git_remote_list(&names, pointer), "list remotes")
        defer { git_strarray_dispose(&names) }
        var result: [GitRemote] = []
        for index in 0..<names.count {
            guard let cName = names.strings[index] else { continue }
            var remote: OpaquePointer?
            try GitError.check(git_remote_lookup(&remote, pointer, cName), "list remotes")
            defer { git_remote_free(remote) }
            result.append(GitRemote(name: String(cString: cName), url: git_remote_url(remote).map { String(cString: $0) } ?? ""))
        }
        return result.sorted { $0.name < $1.name }
    }
}
