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
public final class FileWatcher: Sendable {
    public let root: String
    private let inotify: Int32
    private let state = Mutex<State>(State())
    private let subscribers = Mutex<[UUID: AsyncStream<FileChange>.Continuation]>([:])
    private let stopPipe: (read: Int32, write: Int32)

    private struct State {
        var paths: [Int32: ProjectPath] = [:]
        var pendingMoves: [UInt32: (ProjectPath, Bool)] = [:]
    }

    static let mask = UInt32(IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)

    public init(root: String) throws(WorkspaceError) {
        let fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { throw ProjectFiles.error(errno, root, "watch") }
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { close(fd); throw ProjectFiles.error(errno, root, "watch") }
        inotify = fd
        stopPipe = (pipeFDs[0], pipeFDs[1])
        self.root = root
        addTree(ProjectPath.root)
        let (inotify, stopRead) = (fd, pipeFDs[0])
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
        }
    }

    deinit {
        stop()
        close(inotify)
        close(stopPipe.read)
        close(stopPipe.write)
    }

    /// Stops watching; the change streams end.
    public func stop() {
        var byte: UInt8 = 1
        _ = write(stopPipe.write, &byte, 1)
        for subscriber in subscribers.withLock({ Array($0.values) }) { subscriber.finish() }
    }

    /// Changes from now on.
    public func changes() -> AsyncStream<FileChange> {
        let (stream, continuation) = AsyncStream<FileChange>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let id = UUID()
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in _ = self?.subscribers.withLock { $0.removeValue(forKey: id) } }
        return stream
    }

    /// Watches `directory` and everything below it (except `.git`). For a
    /// directory that just appeared, what was put in it before its watch
    /// existed is reported too (inotify cannot have seen it).
    private func addTree(_ directory: ProjectPath, reportContents: Bool = false) {
        let full = directory.isRoot ? root : root + "/" + directory.description
        let wd = inotify_add_watch(inotify, full, Self.mask)
        guard wd >= 0 else { return }
        state.withLock { $0.paths[wd] = directory }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: full) else { return }
        var found: [FileChange] = []
        for name in entries where name != ".git" && !name.hasPrefix(".hma-write-") {
            var info = stat()
            guard lstat(full + "/" + name, &info) == 0 else { continue }
            let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
            if reportContents {
                found.append(FileChange(kind: isDirectory ? .created : .modified, path: directory.appending(name), isDirectory: isDirectory))
            }
            if isDirectory { addTree(directory.appending(name), reportContents: reportContents) }
        }
        publish(found)
    }

    private func publish(_ changes: [FileChange]) {
        guard !changes.isEmpty else { return }
        let subscribers = self.subscribers.withLock { Array($0.values) }
        for change in changes { for subscriber in subscribers { subscriber.yield(change) } }
    }

    private func handle(_ buffer: [UInt8], count: Int) {
        var offset = 0
        var changes: [FileChange] = []
        while offset + MemoryLayout<inotify_event>.size <= count {
            let (wd, mask, cookie, length) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, UInt32, Int) in
                let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                return (event.wd, event.mask, event.cookie, Int(event.len))
            }
            let nameStart = offset + MemoryLayout<inotify_event>.size
            let name = String(decoding: buffer[nameStart..<(nameStart + length)].prefix { $0 != 0 }, as: UTF8.self)
            offset = nameStart + length
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                changes.append(FileChange(kind: .modified, path: .root, isDirectory: true))
                continue
            }
            guard let directory = state.withLock({ $0.paths[wd] }) else { continue }
            if mask & UInt32(IN_IGNORED) != 0 || mask & UInt32(IN_DELETE_SELF) != 0 {
                _ = state.withLock { $0.paths.removeValue(forKey: wd) }
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
    }
}
