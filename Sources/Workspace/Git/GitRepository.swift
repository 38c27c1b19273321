import CGit2
import Foundation

/// One git repository, through libgit2 — no git CLI. The object owns its
/// `git_repository` and frees every libgit2 object it makes before the call
/// that made it returns. Not thread-safe: use one from one task (the
/// workspace actor) at a time.
public final class GitRepository: @unchecked Sendable {
    let pointer: OpaquePointer
    public let path: String

    /// Limits on what callers may write.
    public static let maxMessageBytes = 64 << 10

    private static let initialized: Void = { git_libgit2_init(); return () }()

    /// Makes sure libgit2 is initialised (once per process).
    static func initializedLibrary() throws(GitError) { _ = initialized }

    private init(pointer: OpaquePointer, path: String) {
        self.pointer = pointer
        self.path = path
    }

    deinit { git_repository_free(pointer) }

    /// Opens the repository whose working directory is `path` (no search upwards).
    public static func open(_ path: String) throws(GitError) -> GitRepository {
        _ = initialized
        var repository: OpaquePointer?
        let code = git_repository_open_ext(&repository, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
        if code == GIT_ENOTFOUND.rawValue { throw .notARepository(path) }
        try GitError.check(code, "open \(path)")
        return GitRepository(pointer: repository!, path: path)
    }

    /// Makes `path` a repository on branch `main`, with a `.gitignore` for
    /// dependency and build folders unless one exists.
    public static func initialize(_ path: String, gitignore: String = GitRepository.defaultGitignore) throws(GitError) -> GitRepository {
        _ = initialized
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

    public static let defaultGitignore = """
        # Dependencies and build output (HMA default)
        node_modules/
        .venv/
        venv/
        __pycache__/
        *.pyc
        .build/
        build/
        dist/
        target/
        .DS_Store

        """

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
