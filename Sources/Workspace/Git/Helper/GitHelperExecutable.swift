import CSystemCalls
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `hma-git` executable and what it needs to start inside a jail.
struct GitHelperExecutable: Sendable {
    /// A path every uid can read and execute (bound into the jail as is).
    let path: String
    /// The folder of the Swift runtime libraries it loads, when they are
    /// shared libraries (bound read-only); nil when statically linked.
    let runtimeLibraries: String?

    /// Found once per process: `HMA_GIT_HELPER`, else `hma-git` next to
    /// the running executable (as installed, and as SwiftPM builds it).
    static let shared: Result<GitHelperExecutable, GitError> = {
        let environment = ProcessInfo.processInfo.environment["HMA_GIT_HELPER"]
        let beside = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("hma-git").path
        let found = environment ?? beside
        guard FileManager.default.isExecutableFile(atPath: found) else {
            return .failure(.helperFailed("the git helper \(found) is missing (build it with the hma product, or set HMA_GIT_HELPER)"))
        }
        let runtime = runtimeLibraryFolder()
        if let runtime, !reachableByEveryone(runtime) {
            return .failure(.helperFailed("the Swift runtime libraries in \(runtime) are not readable by other users, so the git helper cannot start as a project's uid; install the toolchain (or hma, linked with -static-stdlib) where every user can read it"))
        }
        do throws(GitError) {
            return .success(GitHelperExecutable(path: try reachableCopy(of: found), runtimeLibraries: runtime))
        } catch {
            return .failure(error)
        }
    }()

    /// `path` itself when every uid can reach it; otherwise (say it is
    /// under /root) a copy in a new private-named folder only root can
    /// write, made once per process.
    private static func reachableCopy(of path: String) throws(GitError) -> String {
        if reachableByEveryone(path) { return path }
        var template = Array((NSTemporaryDirectory() + "hma-git.XXXXXX").utf8CString)
        guard let folder = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) }) else {
            throw .helperFailed("cannot make a folder for the git helper: \(String(cString: strerror(errno)))")
        }
        let copy = folder + "/hma-git"
        do {
            try FileManager.default.copyItem(atPath: path, toPath: copy)
        } catch {
            throw .helperFailed("cannot copy the git helper: \(error)")
        }
        chmod(folder, 0o755)
        chmod(copy, 0o755)
        return copy
    }

    /// Every folder on the way searchable by others, the file readable and executable by them.
    private static func reachableByEveryone(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & 0o005 == 0o005 else { return false }
        var folder = (path as NSString).deletingLastPathComponent
        while !folder.isEmpty && folder != "/" {
            guard stat(folder, &info) == 0, info.st_mode & 0o001 != 0 else { return false }
            folder = (folder as NSString).deletingLastPathComponent
        }
        return true
    }

    /// Where `libswiftCore.so` was loaded from, if it was.
    private static func runtimeLibraryFolder() -> String? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "swift_retain") else { return nil }
        guard let name = hma_shared_object_of(symbol).map({ String(cString: $0) }), name.contains(".so") else { return nil }
        return URL(fileURLWithPath: name).resolvingSymlinksInPath().deletingLastPathComponent().path
    }
}
