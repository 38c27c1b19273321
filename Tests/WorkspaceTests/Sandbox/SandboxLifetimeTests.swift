import Foundation
import ProcessTesting
import Synchronization
import Testing
@testable import Workspace

/// Sandboxed processes live exactly as long as they should: not killed
/// when the thread that happened to start them goes away (bwrap's
/// `--die-with-parent` is per thread), and never left behind when the
/// server itself dies.
@Suite(.enabled(if: BwrapSandbox.isAvailable, "needs root and bubblewrap"))
struct SandboxLifetimeTests {
    @Test func aLongCommandAndAnIdleTerminalOutliveThePoolsIdleThreads() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        chmod(project.outer, 0o755)
        var configuration = SandboxConfiguration()
        configuration.cgroupParent = "hma-test"
        let number = sandboxCounter.add(1, ordering: .relaxed).newValue
        let sandbox = try BwrapSandbox(projectRoot: project.root, projectID: "t\(getpid())-life\(number)", uid: 260_000 + number,
                                       configuration: configuration)
        defer { sandbox.shutdown() }
        let started = ContinuousClock.now
        // Started from async code, whose pool thread retires after ~5 s idle.
        async let long = sandbox.run(["/bin/sh", "-c", "sleep 12; echo finished"])
        let terminal = try await sandbox.openTerminal()
        let screen = TerminalScreen(terminal)
        let result = try await long
        #expect(result.exitCode == 0 && result.text == "finished\n", "ran to its end: \(result)")
        #expect(ContinuousClock.now - started >= .seconds(12))
        // The terminal has had no input or output since it started.
        try await Task.sleep(until: started + .seconds(30), clock: .continuous)
        #expect(!terminal.isClosed, "an idle terminal is still open after 30 s")
        try terminal.write(Data("echo still-$((20+1))\n".utf8))
        try await screen.waitFor("still-21")
    }

    @Test func killingTheServerLeavesNoSandboxedProcess() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        chmod(project.outer, 0o755)
        let number = sandboxCounter.add(1, ordering: .relaxed).newValue
        let uid = 260_000 + number
        let id = "t\(getpid())-kill\(number)"
        let server = try ChildProcess(ChildProcess.executable("hma-sandbox-probe"), [project.root, id, "\(uid)"])
        #expect(await server.lines.next() == "ready", "\(server.standardError)")
        // Both sleeps (the command's and the terminal's) are running as the project's uid.
        try await waitUntil("two sandboxed sleeps run") { processes(ofUID: uid).filter { $0.name == "sleep" }.count == 2 }
        server.signal(SIGKILL)
        _ = await server.exitStatus()
        try await waitUntil("no process of the project's uid is left") { processes(ofUID: uid).isEmpty }
        // The next server's sandbox for the project removes the crashed one's groups.
        var configuration = SandboxConfiguration()
        configuration.cgroupParent = "hma-test"
        let next = try BwrapSandbox(projectRoot: project.root, projectID: id, uid: uid, configuration: configuration)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup/pids/hma-test/\(id)")) ?? []
        #expect(!leftovers.contains { $0.hasPrefix("s") && !$0.contains(".") }, "no session group of the crashed server: \(leftovers)")
        next.shutdown()
    }
}

/// Processes on this host whose real uid is `uid` (from /proc).
func processes(ofUID uid: UInt32) -> [(pid: Int32, name: String)] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> (Int32, String)? in
        guard let pid = Int32(entry), let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8) else { return nil }
        var name = "", realUID: UInt32?
        for line in status.split(separator: "\n") {
            if line.hasPrefix("Name:") { name = line.dropFirst(5).trimmingCharacters(in: .whitespaces) }
            if line.hasPrefix("Uid:") { realUID = line.dropFirst(4).split(separator: "\t").first.flatMap { UInt32($0) } }
        }
        return realUID == uid ? (pid, name) : nil
    }
}

/// Polls `condition` (state only the kernel knows, with no event to await)
/// every 50 ms until it holds, or fails after `seconds`.
func waitUntil(_ what: String, seconds: Double = 10, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting until \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}
