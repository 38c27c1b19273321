import Foundation

/// A fresh folder under the system temp dir, removed when the value dies.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "hma-storage-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
