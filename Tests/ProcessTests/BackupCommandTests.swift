import Foundation
import ProcessTesting
import Storage
import MeshTesting
import Testing

/// `hma backup` and `hma restore` as a person runs them.
@Suite struct BackupCommandTests {
    @Test func backupAndRestoreThroughTheCommandLine() async throws {
        let folder = NSTemporaryDirectory() + "hma-backup-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let dataDir = folder + "/data"
        do {
            let store = try Store(path: dataDir + "/hma.sqlite")
            let user = try await store.ensureUser(name: "dev")
            try await store.createSession(userId: user.id, title: "before backup", id: "kept")
            try store.close()
        }
        let backupFile = folder + "/copy.sqlite"
        let backup = try ChildProcess(ChildProcess.executable("hma"), ["backup", "--data-dir", dataDir, "--to", backupFile])
        #expect(try await within(60, "hma backup") { await backup.exitStatus() } == 0, "\(backup.standardError)")

        do {
            let store = try Store(path: dataDir + "/hma.sqlite")
            try await store.deleteSession(id: "kept")
            try store.close()
        }
        let restore = try ChildProcess(ChildProcess.executable("hma"), ["restore", "--data-dir", dataDir, "--from", backupFile])
        #expect(try await within(60, "hma restore") { await restore.exitStatus() } == 0, "\(restore.standardError)")
        let store = try Store(path: dataDir + "/hma.sqlite")
        #expect(try await store.session(id: "kept").title == "before backup")

        let missing = try ChildProcess(ChildProcess.executable("hma"), ["backup", "--data-dir", folder + "/nowhere", "--to", backupFile])
        #expect(try await within(60, "hma backup") { await missing.exitStatus() } != 0)
        #expect(missing.standardError.contains("There is no database"), "\(missing.standardError)")
    }
}
