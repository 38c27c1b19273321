import CSystemCalls
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One project's files, every operation confined to the project root.
///
/// Paths are checked lexically (`ProjectPath`), then every lookup goes
/// through `openat2(RESOLVE_BENEATH)` from a descriptor of the root, and
/// changes are made relative to the descriptor of the parent directory
/// (`mkdirat`, `renameat`, `unlinkat`): a symlink inside the project that
/// points out of it — even one a sandboxed process swaps in between two
/// calls — is refused by the kernel, never followed.
///
/// Writes are atomic: a temporary file in the same directory, `fsync`, then
/// `rename` over the target. Operations block the calling thread for as
/// long as the system calls take (small files; callers are actors).
public final class ProjectFiles: Sendable {
    public let rootPath: String
    public let limits: FileLimits
    /// New files and directories are given to this user and group (the
    /// project's sandbox user); nil keeps the process's own.
    public let owner: (uid: UInt32, gid: UInt32)?
    private let rootFD: Int32

    /// Opens the project at `root` (which must exist and be a directory).
    public init(root: String, limits: FileLimits = .init(), owner: (uid: UInt32, gid: UInt32)? = nil) throws(WorkspaceError) {
        let fd = Glibc.open(root, hma_o_path | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.error(errno, root, "open the project root") }
        rootFD = fd
        rootPath = root
        self.limits = limits
        self.owner = owner
    }

    deinit { close(rootFD) }

    // MARK: - Reading

    /// The file's bytes. Only a regular file is read: a FIFO (which would
    /// block until someone writes), socket or device is refused.
    public func read(_ text: String) throws(WorkspaceError) -> Data {
        let path = try ProjectPath(text, limits: limits)
        let fd = try open(path, O_RDONLY | O_NONBLOCK)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Self.error(errno, path.description, "stat") }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw .isADirectory(path.description) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .notARegularFile(path.description) }
        guard Int(info.st_size) <= limits.maxFileBytes else {
            throw .fileTooLarge(path.description, bytes: Int(info.st_size), limit: limits.maxFileBytes)
        }
        var data = Data(count: Int(info.st_size))
        var total = 0
        while total < data.count {
            let count = data.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw Self.error(errno, path.description, "read") }
            if count == 0 { break }  // shrank while reading
            total += count
        }
        return data.prefix(total)
    }

    /// The entries of a directory (the root by default), sorted by name; at
    /// most `limits.maxDirectoryEntries` of them (`isComplete` says whether
    /// that was all).
    public func list(_ text: String = "") throws(WorkspaceError) -> DirectoryListing {
        let path = try ProjectPath(text, limits: limits)
        return try entries(of: path, limit: limits.maxDirectoryEntries)
    }

    /// Every entry below the root (or `text`), depth first, sorted, without
    /// the contents of `.git`; at most `limits.maxTreeEntries`.
    public func tree(_ text: String = "") throws(WorkspaceError) -> [FileEntry] {
        var result: [FileEntry] = []
        var pending = [try ProjectPath(text, limits: limits)]
        while let directory = pending.popLast() {
            let room = limits.maxTreeEntries - result.count
            guard room > 0 else { break }
            for entry in try entries(of: directory, limit: min(room, limits.maxDirectoryEntries)).entries.reversed() {
                result.append(entry)
                if entry.kind == .directory && entry.path.name != ".git" { pending.append(entry.path) }
            }
        }
        return result.sorted { $0.path < $1.path }
    }

    public func exists(_ text: String) throws(WorkspaceError) -> Bool {
        let path = try ProjectPath(text, limits: limits)
        do throws(WorkspaceError) {
            let fd = try open(path, hma_o_path)
            close(fd)
            return true
        } catch {
            if case .notFound = error { return false }
            throw error
        }
    }

    /// Opens a regular file for reading without following a symlink at
    /// any step out of the project, nor at its last component (exports
    /// read files this way, so a file swapped for a symlink is not read).
    /// Non-blocking open, so a FIFO cannot stall the caller.
    func openRegularFile(_ path: ProjectPath) throws(WorkspaceError) -> Int32 {
        let fd = try open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .notARegularFile(path.description)
        }
        return fd
    }

    // MARK: - Writing

    /// Replaces (or creates) a file atomically, creating missing parent
    /// directories.
    /// Refused inside `.git`.
    public func write(_ text: String, _ data: Data) throws(WorkspaceError) {
        try write(text, data, intoGitFolder: false)
    }

    /// `intoGitFolder`: an import restoring a repository may write `.git`
    /// (the git helper checks a repository before each use).
    func write(_ text: String, _ data: Data, intoGitFolder: Bool) throws(WorkspaceError) {
        let path = try ProjectPath(text, limits: limits)
        guard !path.isRoot else { throw .rootNotAllowed("write") }
        guard intoGitFolder || !path.isInGitFolder else { throw .insideGitFolder(path.description) }
        guard data.count <= limits.maxFileBytes else {
            throw .fileTooLarge(path.description, bytes: data.count, limit: limits.maxFileBytes)
        }
        let parent = try makeDirectories(path.parent)
        defer { close(parent) }
        let existed = faccessat(parent, path.systemName, F_OK, AT_SYMLINK_NOFOLLOW) == 0
        let temporary = ".hma-write-\(UInt64.random(in: 0...UInt64.max))"
        let fd = openat(parent, temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw Self.error(errno, path.description, "create a temporary file for") }
        var failure: WorkspaceError?
        var written = 0
        while written < data.count && failure == nil {
            let count = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { failure = Self.error(errno, path.description, "write") } else { written += count }
        }
        if failure == nil, let owner, fchown(fd, owner.uid, owner.gid) != 0 { failure = Self.error(errno, path.description, "chown") }
        if failure == nil, fsync(fd) != 0 { failure = Self.error(errno, path.description, "fsync") }
        close(fd)
        if failure == nil, renameat(parent, temporary, parent, path.systemName) != 0 { failure = Self.error(errno, path.description, "replace") }
        if let failure {
            unlinkat(parent, temporary, 0)
            throw failure
        }
    }

    /// Creates an empty file, or a directory; fails if something is there.
    public func create(_ text: String, directory: Bool = false) throws(WorkspaceError) {
        try create(text, directory: directory, intoGitFolder: false)
    }

    /// `intoGitFolder`: an import restoring a repository makes `.git`'s folders.
    func create(_ text: String, directory: Bool, intoGitFolder: Bool) throws(WorkspaceError) {
        let path = try ProjectPath(text, limits: limits)
        guard !path.isRoot else { throw .alreadyExists("the project root") }
        guard intoGitFolder || !path.isInGitFolder else { throw .insideGitFolder(path.description) }
        let parent = try makeDirectories(path.parent)
        defer { close(parent) }
        if directory {
            guard mkdirat(parent, path.systemName, 0o755) == 0 else { throw Self.error(errno, path.description, "create") }
            if let owner { fchownat(parent, path.systemName, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) }
        } else {
            let fd = openat(parent, path.systemName, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
            guard fd >= 0 else { throw Self.error(errno, path.description, "create") }
            if let owner { fchown(fd, owner.uid, owner.gid) }
            close(fd)
        }
    }

    /// Deletes a file, a symlink (not what it points to) or a directory
    /// with everything in it.
    public func delete(_ text: String) throws(WorkspaceError) {
        try delete(text, intoGitFolder: false)
    }

    /// `intoGitFolder`: undoing a failed import may remove the `.git` it wrote.
    func delete(_ text: String, intoGitFolder: Bool) throws(WorkspaceError) {
        let path = try ProjectPath(text, limits: limits)
        guard !path.isRoot else { throw .rootNotAllowed("delete") }
        guard intoGitFolder || !path.isInGitFolder else { throw .insideGitFolder(path.description) }
        let parent = try open(path.parent, hma_o_path | O_DIRECTORY, forChange: true)
        defer { close(parent) }
        var info = stat()
        guard fstatat(parent, path.systemName, &info, AT_SYMLINK_NOFOLLOW) == 0 else { throw Self.error(errno, path.description, "delete") }
        let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        if isDirectory {
            try removeTree(in: parent, name: path.systemName, path: path)
        } else if unlinkat(parent, path.systemName, 0) != 0 {
            throw Self.error(errno, path.description, "delete")
        }
    }

    /// Moves or renames; fails if the target exists.
    public func move(_ from: String, to: String) throws(WorkspaceError) {
        let source = try ProjectPath(from, limits: limits)
        let target = try ProjectPath(to, limits: limits)
        guard !source.isRoot, !target.isRoot else { throw .rootNotAllowed("move") }
        for path in [source, target] where path.isInGitFolder { throw .insideGitFolder(path.description) }
        guard !target.components.starts(with: source.components) else {
            throw .invalidPath(target.description, reason: "cannot move \(source) into itself")
        }
        let sourceParent = try open(source.parent, hma_o_path | O_DIRECTORY, forChange: true)
        defer { close(sourceParent) }
        let targetParent = try makeDirectories(target.parent)
        defer { close(targetParent) }
        var info = stat()
        guard fstatat(sourceParent, source.systemName, &info, AT_SYMLINK_NOFOLLOW) == 0 else { throw Self.error(errno, source.description, "move") }
        guard hma_renameat2(sourceParent, source.systemName, targetParent, target.systemName, UInt32(HMA_RENAME_NOREPLACE)) == 0 else {
            throw Self.error(errno, errno == EEXIST ? target.description : source.description, "move")
        }
    }

    // MARK: - Descriptors

    /// Opens `path` below the root; the kernel refuses any step outside it.
    ///
    /// `forChange`: the folders on the way to something being written,
    /// created, deleted or moved are taken literally — no link at any step
    /// (RESOLVE_NO_SYMLINKS), so the path checked (not inside `.git`) is
    /// the path changed; a link `g → .git` cannot carry a write into git's
    /// files.
    private func open(_ path: ProjectPath, _ flags: Int32, forChange: Bool = false) throws(WorkspaceError) -> Int32 {
        var resolve = UInt64(HMA_RESOLVE_BENEATH) | UInt64(HMA_RESOLVE_NO_MAGICLINKS)
        if forChange { resolve |= UInt64(HMA_RESOLVE_NO_SYMLINKS) }
        let fd = hma_openat2(rootFD, path.systemRelative, flags | O_CLOEXEC, 0, resolve)
        guard fd >= 0 else {
            if forChange && errno == ELOOP { throw .invalidPath(path.description, reason: "a folder on the way is a link; change it at its real path") }
            throw Self.error(errno, path.description, "open")
        }
        return fd
    }

    /// Opens directory `path`, creating it and its missing parents.
    private func makeDirectories(_ path: ProjectPath) throws(WorkspaceError) -> Int32 {
        var current = try open(.root, hma_o_path | O_DIRECTORY, forChange: true)
        var walked = ProjectPath.root
        for component in path.components {
            walked = walked.appending(component)
            let name = FileName.system(component)
            if mkdirat(current, name, 0o755) == 0 {
                if let owner { fchownat(current, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) }
            } else if errno != EEXIST {
                let error = Self.error(errno, walked.description, "create directory")
                close(current)
                throw error
            }
            close(current)
            current = try open(walked, hma_o_path | O_DIRECTORY, forChange: true)
        }
        return current
    }

    private func entries(of path: ProjectPath, limit: Int) throws(WorkspaceError) -> DirectoryListing {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        guard let directory = fdopendir(fd) else {
            let error = Self.error(errno, path.description, "list")
            close(fd)
            throw error
        }
        defer { closedir(directory) }
        var result: [FileEntry] = []
        while let entry = readdir(directory) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            let name = FileName.decode(bytes)  // any bytes, kept exactly
            if name == "." || name == ".." || name.hasPrefix(".hma-write-") { continue }
            guard result.count < limit else { return DirectoryListing(entries: result.sorted { $0.path < $1.path }, isComplete: false) }
            var info = stat()
            guard fstatat(fd, bytes.map { CChar(bitPattern: $0) } + [0], &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }  // removed meanwhile
            let kind: FileEntry.Kind = switch info.st_mode & S_IFMT {
            case S_IFDIR: .directory
            case S_IFLNK: .symlink
            case S_IFREG: .file
            default: .other
            }
            result.append(FileEntry(path: path.appending(name), kind: kind, size: kind == .file ? Int(info.st_size) : 0,
                                    stamp: kind == .file ? FileStamp(info) : nil))
        }
        return DirectoryListing(entries: result.sorted { $0.path < $1.path }, isComplete: true)
    }

    /// Whether the project folder holds nothing at all (the server's own
    /// temporary files and `.git` included — unlike `list`).
    func isEmpty() throws(WorkspaceError) -> Bool {
        let fd = openat(rootFD, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, let stream = fdopendir(fd) else {
            let code = errno
            if fd >= 0 { close(fd) }
            throw Self.error(code, ".", "list")
        }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if bytes != [0x2e] && bytes != [0x2e, 0x2e] { return false }
        }
        return true
    }

    /// Removes everything in the project folder, however much (undoing a
    /// failed import of what was an empty project).
    func removeEverything() throws(WorkspaceError) {
        let top = openat(rootFD, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard top >= 0 else { throw Self.error(errno, ".", "delete") }
        do throws(TreeWalk.Failure) {
            try TreeWalk.walk(from: top, directory: { _ in }, entry: { directory, child, _ in unlinkat(directory, child, 0) },
                              leave: { above, child in unlinkat(above, child, AT_REMOVEDIR) })
        } catch {
            throw .io(".", operation: "delete everything (\(error))", errno: EIO)
        }
    }

    /// Removes directory `name` in `parent` and all it holds, never
    /// following a link, at any depth, with at most three descriptors open
    /// (`TreeWalk`: down by name, up by a checked `..` — a folder moved
    /// meanwhile stops the delete instead of leading it elsewhere).
    private func removeTree(in parent: Int32, name: [CChar], path: ProjectPath) throws(WorkspaceError) {
        let top = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard top >= 0 else { throw Self.error(errno, path.description, "delete") }
        var failure: Int32?
        do throws(TreeWalk.Failure) {
            try TreeWalk.walk(from: top, directory: { _ in }, entry: { directory, child, _ in
                if unlinkat(directory, child, 0) != 0 && errno != ENOENT && failure == nil { failure = errno }
            }, leave: { above, child in
                if unlinkat(above, child, AT_REMOVEDIR) != 0 && errno != ENOENT && failure == nil { failure = errno }
            })
        } catch {
            switch error {
            case .moved: throw .io(path.description, operation: "delete (a folder inside was moved meanwhile)", errno: ESTALE)
            case .tooManyEntries: throw .io(path.description, operation: "delete (entries keep appearing)", errno: EAGAIN)
            case .open(let code): throw Self.error(code, path.description, "delete")
            }
        }
        if let failure { throw Self.error(failure, path.description, "delete") }
        guard unlinkat(parent, name, AT_REMOVEDIR) == 0 else { throw Self.error(errno, path.description, "delete") }
    }

    static func error(_ code: Int32, _ path: String, _ operation: String) -> WorkspaceError {
        switch code {
        case ENOENT: return .notFound(path)
        case EEXIST, ENOTEMPTY: return .alreadyExists(path)
        case ENOTDIR: return .notADirectory(path)
        case EISDIR: return .isADirectory(path)
        // RESOLVE_BENEATH refuses a lookup that would leave the root with EXDEV;
        // O_NOFOLLOW meeting a symlink gives ELOOP.
        case EXDEV, ELOOP: return .outsideProject(path)
        case ENAMETOOLONG: return .invalidPath(path, reason: "name too long")
        case ENOSPC, EDQUOT: return .noSpace(path)
        default: return .io(path, operation: operation, errno: code)
        }
    }
}

/// A directory's entries, sorted by name, up to the listing limit.
public struct DirectoryListing: Sendable, Equatable {
    public let entries: [FileEntry]
    /// False when the directory held more than the limit (the rest was not read).
    public let isComplete: Bool
}

/// One entry of a listing.
public struct FileEntry: Hashable, Sendable {
    public enum Kind: String, Sendable, Codable { case file, directory, symlink, other }
    public let path: ProjectPath
    public let kind: Kind
    /// Bytes, for files.
    public let size: Int
    /// For files: what changes whenever their content does.
    public let stamp: FileStamp?

    public init(path: ProjectPath, kind: Kind, size: Int, stamp: FileStamp? = nil) {
        self.path = path
        self.kind = kind
        self.size = size
        self.stamp = stamp
    }
}

/// A file's inode, size and modification and change times: if none of
/// them moved, neither did its bytes — except for a write in the same
/// clock tick as the stamp was read, so a stamp only just changed is not
/// to be trusted (as git does not trust its index for "racy" files). The
/// change time cannot be set back by a program, unlike the modification
/// time.
public struct FileStamp: Hashable, Sendable {
    public let inode: UInt64
    public let size: Int64
    public let modifiedNanoseconds: Int64
    public let changedNanoseconds: Int64

    init(_ info: stat) {
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedNanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        changedNanoseconds = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
    }

    /// Whether the file changed within `window` before `now` (wall clock):
    /// a later write could then keep the same stamp.
    public func isRecent(within window: Duration, of now: Date = Date()) -> Bool {
        let nowNanoseconds = Int64(now.timeIntervalSince1970 * 1e9)
        let (seconds, attoseconds) = window.components
        let windowNanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        return nowNanoseconds - max(modifiedNanoseconds, changedNanoseconds) < windowNanoseconds
    }
}

/// A change to the project's files, as `FileWatcher` reports it.
public struct FileChange: Hashable, Sendable {
    public enum Kind: String, Sendable, Codable {
        case created, modified, deleted, moved
        /// Changes in this folder (and below it) are not being reported:
        /// `note` says why (the project's watch limit, the host's inotify
        /// limit, an error). Read the tree again to see its state.
        case notWatched
    }
    public let kind: Kind
    public let path: ProjectPath
    public let isDirectory: Bool
    /// For `moved`: where it went.
    public var movedTo: ProjectPath?
    /// For `notWatched`: why.
    public var note: String?
}
