import CSystemCalls
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Visits everything below a directory without following a link, at any
/// depth, with at most three descriptors open — for work the server does
/// as root on a tree that sandboxed code may be changing at that moment
/// (giving a project's files to its uid, deleting a folder).
///
/// Each step is relative to an open directory: down by name with
/// O_NOFOLLOW, back up by `..`, checked to be the very directory it came
/// from (device and inode); a level is read on from where it was left
/// (the `d_off` cookie of its last entry). A folder swapped for a link
/// mid-walk is never entered, and nothing is ever looked up by a path
/// string that could now lead out of the tree.
enum TreeWalk {
    enum Failure: Error, Equatable {
        case open(errno: Int32)
        /// A folder above the current one was moved meanwhile.
        case moved
        /// More entries than any project holds (a tree being refilled as it is walked).
        case tooManyEntries
    }

    /// Entries one walk visits at most.
    static let maxEntries = 20_000_000

    /// Walks the directory at `root` (opened without following a link).
    static func walk(_ root: String, directory: (Int32) -> Void, entry: (Int32, [CChar], stat) -> Void,
                     leave: (Int32, [CChar]) -> Void = { _, _ in }) throws(Failure) {
        let top = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard top >= 0 else { throw .open(errno: errno) }
        try walk(from: top, directory: directory, entry: entry, leave: leave)
    }

    /// Walks the open directory `top`, which it takes over (and closes).
    /// - Parameters:
    ///   - directory: called with each directory's open descriptor (the
    ///     top one first), before its entries.
    ///   - entry: called for each entry that is not a directory, with its
    ///     directory's descriptor, its name (NUL-terminated bytes, as the
    ///     kernel gave them) and its `lstat`.
    ///   - leave: called for each directory below the top once all it held
    ///     was visited, with its parent's descriptor and its name (a
    ///     delete removes it there).
    static func walk(from top: Int32, directory: (Int32) -> Void, entry: (Int32, [CChar], stat) -> Void,
                     leave: (Int32, [CChar]) -> Void) throws(Failure) {
        struct Level {
            let name: [CChar]
            let device: UInt64
            let inode: UInt64
            var offset: Int64 = 0
        }
        func identity(_ fd: Int32) -> (UInt64, UInt64)? {
            var info = stat()
            return fstat(fd, &info) == 0 ? (UInt64(info.st_dev), UInt64(info.st_ino)) : nil
        }
        var current = top
        defer { close(current) }
        guard let (device, inode) = identity(current) else { throw .open(errno: errno) }
        directory(current)
        var levels = [Level(name: [0], device: device, inode: inode)]
        var visited = 0
        while let depth = levels.indices.last {
            let copy = dup(current)
            guard copy >= 0 else { throw .open(errno: errno) }
            // Read on from where this level was left (the d_off cookie of its last entry).
            guard lseek(copy, off_t(levels[depth].offset), SEEK_SET) == off_t(levels[depth].offset), let stream = fdopendir(copy) else {
                let code = errno
                close(copy)
                throw .open(errno: code)
            }
            var child: (fd: Int32, name: [CChar])?
            while child == nil, let item = readdir(stream) {
                visited += 1
                guard visited <= maxEntries else {
                    closedir(stream)
                    throw .tooManyEntries
                }
                let next = Int64(item.pointee.d_off)
                let bytes = withUnsafeBytes(of: item.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
                levels[depth].offset = next
                if bytes == [0x2e] || bytes == [0x2e, 0x2e] { continue }
                let name = bytes.map { CChar(bitPattern: $0) } + [0]
                var info = stat()
                guard fstatat(current, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                if (info.st_mode & S_IFMT) == S_IFDIR {
                    let fd = openat(current, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    if fd >= 0 { child = (fd, name) }  // swapped for a link or removed meanwhile: not entered
                } else {
                    entry(current, name, info)
                }
            }
            closedir(stream)
            if let (fd, name) = child {
                guard let (device, inode) = identity(fd) else { close(fd); continue }
                close(current)
                current = fd
                levels.append(Level(name: name, device: device, inode: inode))
                directory(current)
                continue
            }
            // This level is done: back up to the one it came from.
            let finished = levels.removeLast()
            guard let parent = levels.last else { break }
            let up = openat(current, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard up >= 0 else { throw .open(errno: errno) }
            guard let (device, inode) = identity(up), device == parent.device, inode == parent.inode else {
                close(up)
                throw .moved
            }
            close(current)
            current = up
            leave(current, finished.name)
        }
    }
}
