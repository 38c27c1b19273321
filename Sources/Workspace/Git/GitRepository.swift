import CGit2
import CSystemCalls
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One git repository, through libgit2 — no git CLI. This is the engine
/// the git helper (`hma-git`) runs inside the project's jail; the server
/// itself uses `ProjectGit`, which asks the helper, and never opens a
/// project's repository in its own process (docs/workspace.md, "Git").
///
/// The object owns its `git_repository` and frees every libgit2 object it
/// makes before the call that made it returns. It has one owner — the
/// helper's single request, or one test — and is not `Sendable`.
final class GitRepository {
    let pointer: OpaquePointer
    let path: String
    /// Which remote URLs may be added, fetched, pulled and pushed.
    var remotePolicy = GitRemotePolicy()

    /// Limits on what callers may write.
    static let maxMessageBytes = 64 << 10

    /// libgit2 set up once per process: no system, global or XDG
    /// configuration is read (in the jail `HOME` is the project, whose
    /// `.gitconfig` must not count as the user's).
    private static let initialized: Void = {
        git_libgit2_init()
        for level in [GIT_CONFIG_LEVEL_PROGRAMDATA, GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL] {
            _ = hma_git_set_search_path(level.rawValue, "")
        }
        return ()
    }()

    /// Makes sure libgit2 is initialised (once per process).
    static func initializedLibrary() throws(GitError) { _ = initialized }

    private init(pointer: OpaquePointer, path: String) {
        self.pointer = pointer
        self.path = path
    }

    deinit { git_repository_free(pointer) }

    /// Opens the repository whose working directory is `path` (no search
    /// upwards), after `checkSafety`.
    static func open(_ path: String) throws(GitError) -> GitRepository {
        _ = initialized
        try checkSafety(path)
        var repository: OpaquePointer?
        let code = git_repository_open_ext(&repository, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
        if code == GIT_ENOTFOUND.rawValue { throw .notARepository(path) }
        try GitError.check(code, "open \(path)")
        let opened = GitRepository(pointer: repository!, path: path)
        // Whatever the configuration says, the work tree is the project.
        try GitError.check(git_repository_set_workdir(repository, path, 0), "open \(path)")
        return opened
    }

    /// Refuses a repository whose `.git` is not a plain folder (a
    /// `gitdir:` file or a link points elsewhere), that borrows other
    /// repositories' data (`commondir`, alternates), that holds a link
    /// where libgit2 would follow it (the top of `.git`, the object
    /// folders, anything under `refs`), or whose configuration — as
    /// libgit2 itself parses it — holds a key of
    /// `GitRepositoryPolicy.refusedKeys`.
    static func checkSafety(_ path: String) throws(GitError) {
        let dotGit = path + "/.git"
        var info = stat()
        guard lstat(dotGit, &info) == 0 else { throw .notARepository(path) }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw .unsafeRepository(".git is not a folder (a gitdir file or a link points elsewhere)") }
        for file in GitRepositoryPolicy.redirectingFiles where lstat(dotGit + "/" + file, &info) == 0 {
            throw .unsafeRepository(".git/\(file) points git at other repositories' data")
        }
        if let link = firstLink(in: dotGit) {
            throw .unsafeRepository(".git/\(link) is a link; git's own files must be plain files and folders")
        }
        guard lstat(dotGit + "/config", &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size <= 1 << 20 else {
            throw .unsafeRepository(".git/config is not a regular file of at most 1 MiB")
        }
        var config: OpaquePointer?
        try GitError.check(git_config_open_ondisk(&config, dotGit + "/config"), "read .git/config")
        defer { git_config_free(config) }
        var iterator: OpaquePointer?
        try GitError.check(git_config_iterator_new(&iterator, config), "read .git/config")
        defer { git_config_iterator_free(iterator) }
        var entry: UnsafeMutablePointer<git_config_entry>?
        while git_config_next(&entry, iterator) == 0, let entry {
            let key = String(cString: entry.pointee.name)
            if let refused = GitRepositoryPolicy.refusedPattern(for: key) {
                throw .unsafeRepository("its configuration sets \(refused) (\(key)); remove it (git config --unset \(key)) to use git here")
            }
        }
    }

    /// The first link (relative to `dotGit`) among the entries at the top of
    /// `.git`, in `objects` and its folders, and anywhere under `refs`.
    private static func firstLink(in dotGit: String) -> String? {
        var folders = ["", "objects", "refs"]
        var checked = 0
        while let folder = folders.popLast() {
            let full = folder.isEmpty ? dotGit : dotGit + "/" + folder
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: full) else { continue }
            for name in names {
                checked += 1
                if checked > 100_000 { return "refs (too many entries to check)" }
                let relative = folder.isEmpty ? name : folder + "/" + name
                var info = stat()
                guard lstat(full + "/" + name, &info) == 0 else { continue }
                if (info.st_mode & S_IFMT) == S_IFLNK { return relative }
                let descend = folder.hasPrefix("refs") || (folder == "objects" && (name == "pack" || name == "info"))
                if (info.st_mode & S_IFMT) == S_IFDIR && descend { folders.append(relative) }
            }
        }
        return nil
    }

    /// Makes `path` a repository on branch `main`, with a `.gitignore` for
    /// dependency and build folders unless one exists.
    static func initialize(_ path: String, gitignore: String = ProjectGit.defaultGitignore) throws(GitError) -> GitRepository {
        _ = initialized
        // Re-initialising keeps an existing configuration: check it first.
        var existing = stat()
        if lstat(path + "/.git", &existing) == 0 { try checkSafety(path) }
        var options = git_repository_init_options()
        try GitError.check(git_repository_init_options_init(&options, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION)), "init")
        options.flags = GIT_REPOSITORY_INIT_MKPATH.rawValue
        var repository: OpaquePointer?
        let code = "main".withCString { head in
            options.initial_head = head
            return git_repository_init_ext(&repository, path, &options)
        }
        try GitError.check(code, "init \(path)")
        let ignore = (path as NSString).appendingPathComponent(".gitignore")
        if !FileManager.default.fileExists(atPath: ignore) {
            FileManager.default.createFile(atPath: ignore, contents: Data(gitignore.utf8))
        }
        return GitRepository(pointer: repository!, path: path)
    }


    // MARK: - Helpers

    func withIndex<T>(_ body: (OpaquePointer) throws(GitError) -> T) throws(GitError) -> T {
        var index: OpaquePointer?
        try GitError.check(git_repository_index(&index, pointer), "open the index")
        defer { git_index_free(index) }
        return try body(index!)
    }

    /// The commit HEAD points to, or nil on an unborn branch.
    func headCommit() throws(GitError) -> OpaquePointer? {
        var object: OpaquePointer?
        let code = git_revparse_single(&object, pointer, "HEAD^{commit}")
        if code == GIT_ENOTFOUND.rawValue || code == GIT_EUNBORNBRANCH.rawValue { return nil }
        try GitError.check(code, "read HEAD")
        return object
    }

    static func hex(_ oid: UnsafePointer<git_oid>) -> String {
        String(cString: git_oid_tostr_s(oid))
    }
}

/// Passes `strings` to libgit2 as a `git_strarray` for the duration of `body`.
func withStrArray<T>(_ strings: [String], _ body: (inout git_strarray) throws(GitError) -> T) throws(GitError) -> T {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { for pointer in pointers { free(pointer) } }
    return try pointers.withUnsafeMutableBufferPointer { (buffer) throws(GitError) -> T in
        var array = git_strarray(strings: buffer.baseAddress, count: buffer.count)
        return try body(&array)
    }
}
