import Foundation
@testable import Workspace

/// A project folder inside a fresh temporary folder (so a test can check
/// that nothing appears next to the project), removed by `remove()`.
struct TemporaryProject {
    let outer: String
    let root: String

    init() throws {
        outer = NSTemporaryDirectory() + "hma-workspace-\(UUID().uuidString)"
        root = outer + "/project"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func files(limits: FileLimits = .init()) throws -> ProjectFiles { try ProjectFiles(root: root, limits: limits) }

    /// Everything in the outer folder except the project (should stay empty).
    var outside: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: outer)) ?? []).filter { $0 != "project" }
    }

    func remove() { try? FileManager.default.removeItem(atPath: outer) }
}
