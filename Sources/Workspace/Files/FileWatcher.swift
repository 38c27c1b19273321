import CSystemCalls
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Watches a project directory with inotify and reports what changed in it,
/// whoever changed it (the IDE, an agent, a command in the sandbox), for
/// the IDE's file tree. Every directory below the root is watched (new ones
/// as they appear); `.git` is not. A new file is reported when it is
/// written and closed; the server's own atomic writes (a temporary file
/// renamed over the target) as one `modified` of the target.
///
/// A file written into a directory that has just appeared may be reported
/// twice (once by the scan of the new directory, once by its event): the
/// stream says what to look at again, not a count of writes.
///
/// Events are reported as the kernel delivers them; a burst that overflows
/// the kernel's queue is reported as a `modified` of the root directory
/// (read the tree again).
///
/// Sandboxed code may be reshaping the tree while it is watched (a folder
/// swapped for a link to `/` between two steps), so every folder is opened
/// from the project root with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` and
/// watched through that descriptor: nothing outside the project is ever
/// watched or reported. At most `maxWatches` folders are watched per
/// project (inotify watches are a host-wide budget); a folder past the
/// limit, or one the kernel refuses, is reported as `notWatched`.
public final class FileWatcher: Sendable {
    public let root: String
    /// The most folders one project's watcher watches.
    public let maxWatches: Int
    private let rootFD: Int32
    private let inotify: Int32
    private let state = Mutex<State>(State())
    private let subscribers = Mutex<[UUID: AsyncStream<FileChange>.Continuation]>([:])
    private let stopPipe: (read: Int32, write: Int32)

    private struct State {
        var paths: [Int32: ProjectPath] = [:]
        var pendingMoves: [UInt32: (ProjectPath, Bool)] = [:]
        /// Whether the limit has been reported (once, until watches free up).
        var limitReported = false
        /// Folders not watched (latest 100), told to every new subscriber
        /// too — some are found before anyone subscribes.
        var unwatched: [FileChange] = []
    }

    /// Entries of a new folder reported one by one; past that, one
    /// `modified` of the folder says to read it again.
    static let maxReportedContents = 10_000

    /// Through `/proc/self/fd/N` of a folder already opened safely, so no
    /// IN_DONT_FOLLOW (that would watch the /proc link itself).
    static let mask = UInt32(IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_ONLYDIR)

    public init(root: String, maxWatches: Int = 10_000) throws(WorkspaceError) {
        let top = open(root, hma_o_path | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard top >= 0 else { throw ProjectFiles.error(errno, root, "watch") }
        let fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { close(top); throw ProjectFiles.error(errno, root, "watch") }
        var pipeFDs: [Int32] = [0, 0]
        guard hma_pipe_cloexec(&pipeFDs) == 0 else { close(fd); close(top); throw ProjectFiles.error(errno, root, "watch") }
        rootFD = top
        self.maxWatches = maxWatches
        inotify = fd
        stopPipe = (pipeFDs[0], pipeFDs[1])
        self.root = root
        addTree(ProjectPath.root)
        let (inotify, stopRead) = (fd, pipeFDs[0])
        let stopping = self.stopping
        let stopWrite = pipeFDs[1]
        // The thread owns the inotify descriptor and the stop pipe and closes
        // them when it ends (the stop pipe's write end under `stopping`, which
        // `stop` writes under): no read or write ever reaches a reused number.
        Thread.detachNewThread { [weak self] in
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0), pollfd(fd: stopRead, events: Int16(POLLIN), revents: 0)]
                if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue } else { break } }
                if fds[1].revents != 0 { break }
                let count = read(inotify, &buffer, buffer.count)
                if count <= 0 { if count < 0 && errno == EINTR { continue } else { break } }
                guard let self else { break }
                self.handle(buffer, count: count)
            }
            close(inotify)
            close(stopRead)
            stopping.state.withLock { stopped in
                stopped = true
                close(stopWrite)
            }
        }
    }

    deinit {
        stop()
        close(rootFD)  // only used while the watcher lives
    }

    /// Set once the stop byte is written or the thread has ended (shared with the thread).
    private final class StopFlag: Sendable { let state = Mutex(false) }
    private let stopping = StopFlag()

    /// Stops watching; the change streams end.
    public func stop() {
        stopping.state.withLock { stopped in
            guard !stopped else { return }
            stopped = true
            var byte: UInt8 = 1
            _ = write(stopPipe.write, &byte, 1)
        }
        for subscriber in subscribers.withLock({ Array($0.values) }) { subscriber.finish() }
    }

    /// Changes from now on.
    public func changes() -> AsyncStream<FileChange> {
        let (stream, continuation) = AsyncStream<FileChange>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let id = UUID()
        subscribers.withLock { $0[id] = continuation }
        for change in state.withLock({ $0.unwatched }) { continuation.yield(change) }
        continuation.onTermination = { [weak self] _ in _ = self?.subscribers.withLock { $0.removeValue(forKey: id) } }
        return stream
    }

    /// Watches `directory` and everything below it (except `.git`),
    /// iteratively. For a directory that just appeared, what was put in it
    /// before its watch existed is reported too (inotify cannot have seen
    /// it).
    private func addTree(_ directory: ProjectPath, reportContents: Bool = false) {
        var pending = [directory]
        var found: [FileChange] = []
        while let folder = pending.popLast() {
            let fd = hma_openat2(rootFD, folder.systemRelative, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                                 UInt64(HMA_RESOLVE_BENEATH) | UInt64(HMA_RESOLVE_NO_SYMLINKS) | UInt64(HMA_RESOLVE_NO_MAGICLINKS))
            guard fd >= 0 else {
                // Gone again, or now a link: nothing of ours to watch there.
                if errno != ENOENT && errno != ELOOP && errno != ENOTDIR && errno != EXDEV {
                    found.append(notWatched(folder, "cannot open it: \(String(cString: strerror(errno)))"))
                }
                continue
            }
            defer { close(fd) }
            let watched = state.withLock { $0.paths.count }
            guard watched < maxWatches else {
                if !state.withLock({ state in defer { state.limitReported = true }; return state.limitReported }) {
                    found.append(notWatched(folder, "this project has \(maxWatches) folders watched, its limit; changes in more folders are not reported"))
                }
                continue
            }
            let wd = inotify_add_watch(inotify, "/proc/self/fd/\(fd)", Self.mask)
            guard wd >= 0 else {
                let reason = errno == ENOSPC ? "the host's inotify watch limit (fs.inotify.max_user_watches) is reached"
                                             : String(cString: strerror(errno))
                found.append(notWatched(folder, reason))
                continue
            }
            state.withLock { $0.paths[wd] = folder }
            let copy = dup(fd)
            guard copy >= 0, let stream = fdopendir(copy) else {
                if copy >= 0 { close(copy) }
                continue
            }
            while let entry = readdir(stream) {
                let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
                let name = FileName.decode(bytes)
                if name == "." || name == ".." || name == ".git" || name.hasPrefix(".hma-write-") { continue }
                var info = stat()
                guard fstatat(fd, bytes.map { CChar(bitPattern: $0) } + [0], &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
                if reportContents && found.count < Self.maxReportedContents {
                    found.append(FileChange(kind: isDirectory ? .created : .modified, path: folder.appending(name), isDirectory: isDirectory))
                } else if reportContents && found.count == Self.maxReportedContents {
                    // Too much appeared at once to list: have the tree read again.
                    found.append(FileChange(kind: .modified, path: directory, isDirectory: true))
                }
                if isDirectory { pending.append(folder.appending(name)) }
            }
            closedir(stream)
        }
        publish(found)
    }

    private func notWatched(_ folder: ProjectPath, _ reason: String) -> FileChange {
        let change = FileChange(kind: .notWatched, path: folder, isDirectory: true, note: reason)
        state.withLock { state in
            state.unwatched.append(change)
            if state.unwatched.count > 100 { state.unwatched.removeFirst() }
        }
        return change
    }

    /// Folders watched now.
    var watchCount: Int { state.withLock { $0.paths.count } }

    private func publish(_ changes: [FileChange]) {
        guard !changes.isEmpty else { return }
        let subscribers = self.subscribers.withLock { Array($0.values) }
        for change in changes { for subscriber in subscribers { subscriber.yield(change) } }
    }

    private func handle(_ buffer: [UInt8], count: Int) {
        var offset = 0
        var changes: [FileChange] = []
        var overflowed = false
        while offset + MemoryLayout<inotify_event>.size <= count {
            let (wd, mask, cookie, length) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, UInt32, Int) in
                let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                return (event.wd, event.mask, event.cookie, Int(event.len))
            }
            let nameStart = offset + MemoryLayout<inotify_event>.size
            let name = FileName.decode(buffer[nameStart..<(nameStart + length)].prefix { $0 != 0 })
            offset = nameStart + length
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                // Events were lost, folders made meanwhile among them: watch
                // whatever is not watched yet, and have the tree read again.
                changes.append(FileChange(kind: .modified, path: .root, isDirectory: true))
                overflowed = true
                continue
            }
            guard let directory = state.withLock({ $0.paths[wd] }) else { continue }
            if mask & UInt32(IN_IGNORED) != 0 || mask & UInt32(IN_DELETE_SELF) != 0 {
                state.withLock { state in
                    if state.paths.removeValue(forKey: wd) != nil { state.limitReported = false }
                }
                continue
            }
            if name.isEmpty || name == ".git" || (directory.isRoot && name == ".git") { continue }
            let path = directory.appending(name)
            let isDirectory = mask & UInt32(IN_ISDIR) != 0
            let temporary = name.hasPrefix(".hma-write-")
            switch true {
            case mask & UInt32(IN_CREATE) != 0:
                if !temporary && !isDirectory { continue }  // a file is reported when written and closed
                if !temporary { changes.append(FileChange(kind: .created, path: path, isDirectory: true)) }
                if isDirectory {
                    publish(changes)
                    changes.removeAll()
                    addTree(path, reportContents: true)
                }
            case mask & UInt32(IN_CLOSE_WRITE) != 0:
                if !temporary { changes.append(FileChange(kind: .modified, path: path, isDirectory: false)) }
            case mask & UInt32(IN_DELETE) != 0:
                if !temporary { changes.append(FileChange(kind: .deleted, path: path, isDirectory: isDirectory)) }
            case mask & UInt32(IN_MOVED_FROM) != 0:
                state.withLock { $0.pendingMoves[cookie] = (path, temporary) }
            case mask & UInt32(IN_MOVED_TO) != 0:
                let source = state.withLock { $0.pendingMoves.removeValue(forKey: cookie) }
                if isDirectory { addTree(path) }  // its contents moved with it
                if let (from, wasTemporary) = source {
                    // An atomic write lands: the target was written.
                    changes.append(wasTemporary ? FileChange(kind: .modified, path: path, isDirectory: false)
                                                : FileChange(kind: .moved, path: from, isDirectory: isDirectory, movedTo: path))
                } else {
                    changes.append(FileChange(kind: .created, path: path, isDirectory: isDirectory))  // moved in from outside
                }
            default:
                continue
            }
        }
        // Moves whose other half never came in this read went out of the tree.
        let gone = state.withLock { state -> [(ProjectPath, Bool)] in
            defer { state.pendingMoves.removeAll() }
            return Array(state.pendingMoves.values)
        }
        for (path, temporary) in gone where !temporary { changes.append(FileChange(kind: .deleted, path: path, isDirectory: false)) }
        publish(changes)
        if overflowed { addTree(.root) }
    }
}
