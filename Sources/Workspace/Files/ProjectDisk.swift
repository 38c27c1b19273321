import CSystemCalls
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A project's own filesystem, so one project cannot fill the host's disk
/// or use up its inodes: an ext4 image of the quota's size, loop-mounted
/// (`nodev,nosuid`) at the project folder. Everything — the file API, git,
/// sandboxed commands — writes through it, and past the quota gets ENOSPC
/// (`WorkspaceError.noSpace` from the file API). The image is sparse: it
/// takes only what the project really uses.
///
/// Needs root and loop devices; where they are missing, `attach` reports
/// the quota as not enforced and the caller logs it (docs/workspace.md).
public enum ProjectDisk {
    public struct Quota: Sendable, Equatable {
        public var bytes: UInt64 = 2 << 30
        public var files: UInt64 = 200_000
        public init(bytes: UInt64 = 2 << 30, files: UInt64 = 200_000) {
            self.bytes = bytes
            self.files = files
        }
    }

    public enum Enforcement: Sendable, Equatable {
        case loopMount(image: String)
        case notEnforced(reason: String)
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case folderNotEmpty(String)
        case tool(String, output: String)
        public var description: String {
            switch self {
            case .folderNotEmpty(let root): return "\(root) already holds files; a disk quota is attached to a new project's empty folder"
            case .tool(let command, let output): return "\(command) failed: \(output)"
            }
        }
    }

    /// Mounts the project's image at `root` (making the image, owned by
    /// `uid`, on first use); does nothing if it is mounted already. `root`
    /// must exist, and be empty the first time.
    public static func attach(root: String, image: String, quota: Quota, uid: UInt32) async throws -> Enforcement {
        guard getuid() == 0 else { return .notEnforced(reason: "a loop-mounted filesystem needs root") }
        // mkfs and mount follow links: the image's folder must be one only root can change.
        var folder = stat()
        let imageFolder = (image as NSString).deletingLastPathComponent
        guard stat(imageFolder, &folder) == 0, folder.st_uid == 0, folder.st_mode & 0o022 == 0 else {
            throw Failure.tool("attach \(image)", output: "the image's folder \(imageFolder) must belong to root and be writable by no one else")
        }
        await serial.lock()
        defer { Task { await serial.unlock() } }
        guard FileManager.default.fileExists(atPath: "/dev/loop-control"),
              FileManager.default.isExecutableFile(atPath: "/usr/sbin/mkfs.ext4") else {
            return .notEnforced(reason: "no loop devices or mkfs.ext4 (Debian: e2fsprogs) on this host")
        }
        if isMounted(root) { return .loopMount(image: image) }
        if !FileManager.default.fileExists(atPath: image) {
            guard ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).isEmpty else { throw Failure.folderNotEmpty(root) }
            let fd = open(image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0, ftruncate(fd, off_t(quota.bytes)) == 0 else {
                if fd >= 0 { close(fd) }
                throw Failure.tool("create \(image)", output: String(cString: strerror(errno)))
            }
            close(fd)
            // No blocks reserved for root; the files' own uid owns the top folder.
            try await tool(["/usr/sbin/mkfs.ext4", "-q", "-F", "-m", "0", "-N", "\(quota.files)", "-E", "root_owner=\(uid):\(uid)", image])
        }
        try await tool(["/usr/bin/mount", "-o", "loop,nodev,nosuid", image, root])
        return .loopMount(image: image)
    }

    /// Unmounts the project's filesystem (its image stays). Everything
    /// using the project must have ended; processes of a sandbox that just
    /// shut down are given a moment to go. Never lazily: a lingering mount
    /// and a new one of the same image would corrupt it.
    public static func detach(root: String) async throws {
        await serial.lock()
        defer { Task { await serial.unlock() } }
        for attempt in 0..<20 {
            guard isMounted(root) else { return }
            do {
                try await tool(["/usr/bin/umount", root])
                return
            } catch Failure.tool(_, let output) where output.contains("busy") && attempt < 19 {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Whether a filesystem is mounted exactly at `path`: its device
    /// differs from its parent folder's (what mountpoint(1) checks).
    public static func isMounted(_ path: String) -> Bool {
        var own = stat(), parent = stat()
        guard lstat(path, &own) == 0, (own.st_mode & S_IFMT) == S_IFDIR, lstat(path + "/..", &parent) == 0 else { return false }
        return own.st_dev != parent.st_dev
    }

    /// One attach or detach at a time in this process: a check and a mount
    /// racing another would mount one image twice (and corrupt it).
    private static let serial = AsyncLock()

    private static func tool(_ argv: [String]) async throws {
        let outcome = try await ProcessRunner.execute(argv, environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], separateErrors: true,
                                                      timeout: .seconds(60), maxOutputBytes: 64 << 10)
        guard outcome.result.exitCode == 0 else {
            throw Failure.tool(argv.joined(separator: " "), output: String(decoding: outcome.result.output + outcome.errors, as: UTF8.self))
        }
    }
}

/// A lock for async code: waiters queue in order.
actor AsyncLock {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        if !held {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func unlock() {
        if waiters.isEmpty { held = false } else { waiters.removeFirst().resume() }
    }
}
