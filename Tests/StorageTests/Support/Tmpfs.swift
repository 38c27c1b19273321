import Foundation
import Glibc

/// A small tmpfs mounted for one test: the real way to get a full or a
/// read-only file system. Needs root (CI and the dev machines run as root);
/// tests that use it are disabled elsewhere, and say so.
final class Tmpfs: @unchecked Sendable {
    let path: String

    static var available: Bool { getuid() == 0 }

    init(sizeKiB: Int) throws {
        path = NSTemporaryDirectory() + "hma-tmpfs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Self.mount(["-t", "tmpfs", "-o", "size=\(sizeKiB)k", "tmpfs", path])
    }

    /// Remounts; a read-only remount is retried a few times, because a
    /// process that another test is starting at that moment can briefly
    /// hold a writable descriptor of a file here (between fork and exec),
    /// and the kernel then refuses with EBUSY.
    func remount(readOnly: Bool) throws {
        var attempt = 0
        while true {
            do {
                try Self.mount(["-o", readOnly ? "remount,ro" : "remount,rw", path])
                return
            } catch let error as MountFailed where attempt < 10 {
                _ = error
                attempt += 1
                usleep(100_000)
            }
        }
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    deinit {
        _ = umount2(path, Int32(MNT_DETACH))
        try? FileManager.default.removeItem(atPath: path)
    }

    struct MountFailed: Error, CustomStringConvertible {
        let arguments: [String]
        let status: Int32
        var description: String { "mount \(arguments.joined(separator: " ")) exited with \(status)" }
    }

    private static func mount(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw MountFailed(arguments: arguments, status: process.terminationStatus)
        }
    }
}
