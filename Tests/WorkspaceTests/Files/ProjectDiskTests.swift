import Foundation
import Synchronization
import Testing
@testable import Workspace

/// A project's disk quota as the kernel enforces it: its own loop-mounted
/// filesystem, and a bounded /tmp in the sandbox (root, loop devices).
@Suite(.serialized, .enabled(if: BwrapSandbox.isAvailable && FileManager.default.fileExists(atPath: "/dev/loop-control"),
                             "needs root, bubblewrap and loop devices"))
struct ProjectDiskTests {
    @Test func aProjectCannotFillTheHostsDiskOrInodesNorItsTmp() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        chmod(project.outer, 0o755)
        let image = project.outer + "/disk.img"
        let uid = 260_000 + sandboxCounter.add(1, ordering: .relaxed).newValue
        let enforcement = try await ProjectDisk.attach(root: project.root, image: image, quota: .init(bytes: 32 << 20, files: 2000), uid: uid)
        #expect(enforcement == .loopMount(image: image))
        var configuration = SandboxConfiguration()
        configuration.cgroupParent = "hma-test"
        let sandbox = try BwrapSandbox(projectRoot: project.root, projectID: "t\(getpid())-disk\(uid)", uid: uid, configuration: configuration)
        defer {
            sandbox.shutdown()
            Task { try? await ProjectDisk.detach(root: project.root) }
        }
        let sh = { (script: String) in try await sandbox.run(["/bin/sh", "-c", script]) }

        let fill = try await sh("dd if=/dev/zero of=big bs=1M count=100 2>&1; echo exit $?")
        #expect(fill.text.contains("No space left on device") && !fill.text.contains("exit 0"), "\(fill.text)")
        do {  // the file API holds the project's folder open while it lives
            let files = try project.files()
            #expect(throws: WorkspaceError.noSpace("more.bin")) { try files.write("more.bin", Data(count: 1 << 20)) }
            #expect(try await sh("rm big").exitCode == 0)
            try files.write("more.bin", Data(count: 1 << 20))  // room again
        }

        let inodes = try await sh("i=0; while [ $i -lt 5000 ]; do true > f$i 2>/dev/null || { echo stopped; break; }; i=$((i+1)); done")
        #expect(inodes.text.hasSuffix("stopped\n"), "the file count stops too: \(inodes.text)")
        var info = stat()
        #expect(stat(image, &info) == 0 && Int(info.st_blocks) * 512 <= 33 << 20, "the host gave at most the quota")

        let tmp = try await sh("dd if=/dev/zero of=/tmp/x bs=1M count=100 2>&1; echo exit $?")
        #expect(tmp.text.contains("No space left on device"), "the sandbox's /tmp is bounded: \(tmp.text)")

        // Unmounted and mounted again, the project is as it was.
        sandbox.shutdown()
        try await ProjectDisk.detach(root: project.root)
        #expect(!ProjectDisk.isMounted(project.root) && !FileManager.default.fileExists(atPath: project.root + "/more.bin"))
        _ = try await ProjectDisk.attach(root: project.root, image: image, quota: .init(bytes: 32 << 20, files: 2000), uid: uid)
        #expect(FileManager.default.fileExists(atPath: project.root + "/more.bin"))
        try await ProjectDisk.detach(root: project.root)
    }
}
