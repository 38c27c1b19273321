import Foundation
import Synchronization
import Testing
@testable import Workspace

/// Numbers the test projects (each gets its own uid and cgroup).
let sandboxCounter = Atomic<UInt32>(0)

/// The bubblewrap sandbox on this host (root, bubblewrap, cgroup v1 here):
/// each test makes a project with its own uid and cgroup.
@Suite(.serialized, .enabled(if: BwrapSandbox.isAvailable, "needs root and bubblewrap"))
struct BwrapSandboxTests {

    /// A project directory and its sandbox (uid 260000+, group hma-test/…).
    func makeSandbox(_ configure: (inout SandboxConfiguration) -> Void = { _ in }) throws -> (TemporaryProject, BwrapSandbox) {
        let project = try TemporaryProject()
        chmod(project.outer, 0o755)
        var configuration = SandboxConfiguration()
        configuration.cgroupParent = "hma-test"
        configure(&configuration)
        let number = sandboxCounter.add(1, ordering: .relaxed).newValue
        let sandbox = try BwrapSandbox(projectRoot: project.root, projectID: "t\(getpid())-\(number)", uid: 260_000 + number, configuration: configuration)
        return (project, sandbox)
    }

    func sh(_ script: String) -> [String] { ["/bin/sh", "-c", script] }

    /// Waits until the project's cgroup counts no process: killed ones leave
    /// it once reaped, which the host's init does for bwrap's own child.
    func waitForNoProcesses(in sandbox: BwrapSandbox, _ what: String) async throws {
        let file = "/sys/fs/cgroup/pids/\(sandbox.group)/pids.current"
        let deadline = ContinuousClock.now + .seconds(5)
        while (try? String(contentsOfFile: file, encoding: .utf8)) != "0\n" {
            guard ContinuousClock.now < deadline else {
                Issue.record("\(what): \((try? String(contentsOfFile: file, encoding: .utf8)) ?? "?") processes left")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func runsAsTheProjectsUidInItsDirectoryAndReportsExitStatusAndSignals() async throws {
        let (project, sandbox) = try makeSandbox()
        defer { sandbox.shutdown(); project.remove() }
        #expect(sandbox.enforcement == LimitEnforcement(memory: .cgroupV1, cpu: .cgroupV1, pids: .cgroupV1), "this host has cgroup v1 controllers")
        let id = try await sandbox.run(sh("id -u; id -g; pwd; echo made > made.txt"))
        #expect(id.text == "\(sandbox.uid)\n\(sandbox.uid)\n/project\n" && id.exitCode == 0)
        var info = stat()
        stat(project.root + "/made.txt", &info)
        #expect(info.st_uid == sandbox.uid, "files it writes belong to the project's uid")
        #expect(try await sandbox.run(sh("exit 3")).exitCode == 3)
        let signaled = try await sandbox.run(sh("kill -TERM $$"))
        #expect(signaled.signal == SIGTERM && signaled.exitCode == nil, "\(signaled)")
        #expect(try await sandbox.run(["/usr/bin/env"]).text.split(separator: "\n").sorted() == ["HOME=/project", "LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin", "PWD=/project", "USER=project"], "a clean environment")
    }

    @Test func timeoutsKillTheWholeTreeAndOutputIsCapped() async throws {
        let (project, sandbox) = try makeSandbox()
        defer { sandbox.shutdown(); project.remove() }
        var options = RunOptions()
        options.timeout = .milliseconds(500)
        let start = ContinuousClock.now
        let slow = try await sandbox.run(sh("sleep 100 & sleep 100 & sleep 100; echo never"), options: options)
        #expect(slow.timedOut && slow.signal == SIGKILL && ContinuousClock.now - start < .seconds(30), "killed at its deadline, not after the sleeps")
        try await waitForNoProcesses(in: sandbox, "every process of the tree is gone")
        // Background processes do not outlive a command that ended by itself either.
        #expect(try await sandbox.run(sh("sleep 100 > /dev/null 2>&1 & echo started")).text == "started\n")
        try await waitForNoProcesses(in: sandbox, "the background sleep is gone")
        options = RunOptions()
        options.maxOutputBytes = 1000
        let loud = try await sandbox.run(sh("head -c 5000000 /dev/zero | tr '\\0' x"), options: options)
        #expect(loud.output.count == 1000 && loud.truncated && loud.exitCode == 0)
        // Cancelling the task kills the command.
        let task = Task { try await sandbox.run(self.sh("sleep 100")) }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let cancelled = ContinuousClock.now
        _ = try? await task.value
        #expect(ContinuousClock.now - cancelled < .seconds(30), "killed on cancellation, not after its 100 s sleep")
    }

    @Test func theSandboxCannotReachTheHost() async throws {
        let (project, sandbox) = try makeSandbox()
        defer { sandbox.shutdown(); project.remove() }
        let marker = "hma-sandbox-escape-\(UUID().uuidString)"
        let attempts = try await sandbox.run(sh("""
            ls /root 2>/dev/null && echo READ-ROOT
            cat /etc/shadow 2>/dev/null && echo READ-SHADOW
            ls \(NSHomeDirectory()) 2>/dev/null | head -1 | grep -q . && echo READ-HOME
            touch /usr/\(marker) 2>/dev/null && echo WROTE-USR
            touch /\(marker) 2>/dev/null && echo WROTE-SANDBOX-ROOT
            echo x > /tmp/\(marker) && echo wrote-private-tmp
            ls \(project.outer) 2>/dev/null && echo SAW-OUTSIDE
            """))
        #expect(attempts.text == "wrote-private-tmp\n", "\(attempts.text)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)") && !FileManager.default.fileExists(atPath: "/usr/\(marker)"))
        #expect(project.outside.isEmpty)

        // No network: a listener on the host's loopback is not reachable.
        let listener = try LoopbackListener()
        let network = try await sandbox.run(["/usr/bin/bash", "-c", "echo hi 2>/dev/null > /dev/tcp/127.0.0.1/\(listener.port) && echo CONNECTED; tail -n +3 /proc/net/dev | cut -d: -f1"])
        #expect(!network.text.contains("CONNECTED"))
        #expect(network.text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["lo"], "only a loopback interface: \(network.text)")
        #expect(!listener.acceptedAnything)
    }

    @Test func memoryPidsAndSeccompLimitsHold() async throws {
        let (project, sandbox) = try makeSandbox { $0.limits.memoryBytes = 64 << 20; $0.limits.pids = 64 }
        defer { sandbox.shutdown(); project.remove() }
        let hog = try await sandbox.run(sh("head -c 300M /dev/zero | tail > /dev/null; echo after $?"))
        #expect(hog.outOfMemory, "the memory limit killed it: \(hog)")
        #expect(hog.text.contains("after 137"))

        var options = RunOptions()
        options.timeout = .seconds(3)
        let bomb = try await sandbox.run(["/usr/bin/bash", "-c", ":(){ :|:& };:"], options: options)
        #expect(bomb.timedOut || bomb.exitCode != nil)
        // Contained: the host still starts processes, the sandbox runs again.
        #expect(try await sandbox.run(sh("echo alive")).text == "alive\n")
        let pidsMax = try String(contentsOfFile: "/sys/fs/cgroup/pids/\(sandbox.group)/pids.max", encoding: .utf8)
        #expect(pidsMax == "64\n")
        #expect(try String(contentsOfFile: "/sys/fs/cgroup/cpu/\(sandbox.group)/cpu.cfs_quota_us", encoding: .utf8) == "50000\n")

        // Refused system calls (x86_64 numbers): ptrace, unshare, keyctl, bpf, mount.
        let calls = try await sandbox.run(["/usr/bin/perl", "-e", """
            for my $n (101, 272, 250, 321, 165) { syscall($n, 0, 0, 0, 0, 0); print "$n:", ($!{EPERM} ? "EPERM" : "other $!"), "\\n"; }
            """])
        #expect(calls.text == "101:EPERM\n272:EPERM\n250:EPERM\n321:EPERM\n165:EPERM\n", "\(calls.text)")
    }

    @Test func givingFilesNeverFollowsALinkEvenOneSwappedInMidWalk() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        // A setuid program outside the project, as /usr/bin/su would be, under
        // every name of the project's folder `d` (a walk by path string would
        // reach it as d/fN while `d` is the link).
        let victim = project.outer + "/victim"
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: victim + "/f0")
        chmod(victim + "/f0", 0o4755)
        for index in 1..<2000 { link(victim + "/f0", victim + "/f\(index)") }  // every name of `d` leads to it
        let files = try project.files()
        for index in 0..<2000 { try files.write("d/f\(index)", Data()) }
        #expect(symlink(victim, project.root + "/plain-link") == 0)
        // A sandboxed process would do this while the server walks: swap `d` for a link to the victim's folder.
        let stop = Atomic(false)
        let swapper = Thread.detachedStream {
            lowestPriority()
            var swaps = 0
            while !stop.load(ordering: .relaxed) && swaps < 200_000 {
                rename(project.root + "/d", project.root + "/d.real")
                symlink(victim, project.root + "/d")
                unlink(project.root + "/d")
                rename(project.root + "/d.real", project.root + "/d")
                swaps += 1
            }
        }
        let root = project.root
        try await offThePool { for round in 0..<30 { try BwrapSandbox.giveFiles(at: root, to: 260_900 + UInt32(round)) } }
        stop.store(true, ordering: .relaxed)
        for await _ in swapper {}
        var info = stat()
        #expect(stat(victim + "/f0", &info) == 0)
        #expect(info.st_uid == 0 && info.st_mode & S_ISUID != 0, "the setuid program kept its owner and mode: uid \(info.st_uid)")
        #expect(stat(victim, &info) == 0 && info.st_uid == 0)
        // Once nothing swaps it, the project's own files are given.
        try BwrapSandbox.giveFiles(at: project.root, to: 260_950)
        #expect(lstat(project.root + "/d/f0", &info) == 0 && info.st_uid == 260_950, "the project's own files were given")
    }

    @Test func noNewNamespacesNoNewMountAPINoIOURing() async throws {
        let (project, sandbox) = try makeSandbox()
        defer { sandbox.shutdown(); project.remove() }
        // x86_64 numbers. clone with CLONE_NEWUSER (and SIGCHLD): a child
        // that did start exits at once and cannot print.
        let calls = try await sandbox.run(["/usr/bin/perl", "-e", """
            my $r = syscall(56, 0x10000000 | 17, 0, 0, 0, 0); exit 0 if $r == 0;
            print "clone-newuser:", ($!{EPERM} ? "EPERM" : "other $! $r"), "\n";
            $r = syscall(56, 0x40000000 | 17, 0, 0, 0, 0); exit 0 if $r == 0;
            print "clone-newnet:", ($!{EPERM} ? "EPERM" : "other $! $r"), "\n";
            syscall(435, 0, 0); print "clone3:", ($!{ENOSYS} ? "ENOSYS" : "other $!"), "\n";
            for my $n (428, 429, 430, 431, 432, 433, 442, 425, 426, 427, 320) {
                syscall($n, 0, 0, 0, 0, 0); print "$n:", ($!{EPERM} ? "EPERM" : "other $!"), "\n";
            }
            """])
        let expected = ["clone-newuser:EPERM", "clone-newnet:EPERM", "clone3:ENOSYS"]
            + [428, 429, 430, 431, 432, 433, 442, 425, 426, 427, 320].map { "\($0):EPERM" }
        #expect(calls.text.split(separator: "\n").map(String.init) == expected, "\(calls.text)")
        // An ordinary fork still works (the C library's clone3 falls back to clone).
        #expect(try await sandbox.run(sh("(echo child) | cat; /bin/true & wait")).text == "child\n")
        // The tools that make namespaces fail too.
        let tools = try await sandbox.run(sh("unshare -U true 2>/dev/null && echo USERNS; unshare -Ur true 2>/dev/null && echo ROOTNS; echo done"))
        #expect(tools.text == "done\n", "\(tools.text)")
    }

    @Test func aProgramThatNeverReadsItsInputBlocksNothing() async throws {
        let (project, sandbox) = try makeSandbox()
        defer { sandbox.shutdown(); project.remove() }
        let terminal = try await sandbox.openTerminal()
        let screen = TerminalScreen(terminal)
        try terminal.write(Data("stty raw -echo; echo rea''dy; exec sleep 1000\n".utf8))
        try await screen.waitFor("ready")
        let start = ContinuousClock.now
        var refused = false
        for _ in 0..<500 where !refused {
            do {
                try terminal.write(Data(repeating: 0x61, count: 1024))
            } catch SandboxError.terminalInputFull(let limit) {
                refused = limit == TerminalSession.maxQueuedInput
            }
        }
        #expect(refused, "past the queue's limit, a clear refusal")
        #expect(ContinuousClock.now - start < .seconds(5), "writes returned at once instead of blocking")
        let resized = ContinuousClock.now
        try await terminal.resize(rows: 30, columns: 100)
        #expect(ContinuousClock.now - resized < .seconds(2), "a resize is not held up by the unread input")
        terminal.close()
        #expect(await terminal.exitStatus().signal == SIGKILL)
    }

    @Test func tricklingOutputDoesNotKeepAnIdleTerminalOpen() async throws {
        let (project, sandbox) = try makeSandbox()
        defer { sandbox.shutdown(); project.remove() }
        let terminal = try await sandbox.openTerminal()
        let screen = TerminalScreen(terminal)
        try terminal.write(Data("while :; do echo tick; sleep 0.1; done\n".utf8))
        try await screen.waitFor("tick\r\ntick")
        try await Task.sleep(for: .milliseconds(700))  // no keystroke for longer than the idle time below
        sandbox.reapIdleTerminals(idle: .milliseconds(500))
        #expect(await terminal.exitStatus().signal == SIGKILL, "reaped although it kept printing")
    }

    @Test func terminalsEchoResizeEndAndAreLimited() async throws {
        let (project, sandbox) = try makeSandbox { $0.maxTerminals = 2 }
        defer { sandbox.shutdown(); project.remove() }
        let terminal = try await sandbox.openTerminal(rows: 24, columns: 80)
        let screen = TerminalScreen(terminal)
        try terminal.write(Data("echo hel''lo; stty size\n".utf8))
        try await screen.waitFor("hello")
        try await screen.waitFor("24 80")
        // A quiet terminal fails the wait at its deadline instead of hanging.
        await #expect(throws: TerminalScreen.ScreenTimeout.self) { try await screen.waitFor("never printed", seconds: 0.3) }
        try await terminal.resize(rows: 30, columns: 100)
        try terminal.write(Data("stty size\n".utf8))
        try await screen.waitFor("30 100")
        // TIOCSTI (typing into the terminal) is refused.
        try terminal.write(Data("perl -e 'my $c = q(x); ioctl(STDIN, 0x5412, $c) or print q(TIOCSTI-), 0+$!, qq(\\n)'\n".utf8))
        try await screen.waitFor("TIOCSTI-1\r\n")  // EPERM

        let second = try await sandbox.openTerminal()
        await #expect(throws: SandboxError.tooManyTerminals(limit: 2)) { _ = try await sandbox.openTerminal() }
        try terminal.write(Data("exit 7\n".utf8))
        #expect(await terminal.exitStatus() == .init(exitCode: 7, signal: nil))
        second.close()
        #expect(await second.exitStatus().signal == SIGKILL)
        // Closed sessions free their slots; an idle one is reaped.
        let idle = try await sandbox.openTerminal()
        sandbox.reapIdleTerminals(idle: .zero)
        #expect(await idle.exitStatus().signal == SIGKILL)
        #expect(sandbox.openTerminals.isEmpty)
        try await waitForNoProcesses(in: sandbox, "no process of any terminal is left")
    }
}

/// Reads a terminal's output and waits for text to appear in it.
final class TerminalScreen: Sendable {
    private struct State {
        var text = ""
        var ended = false
        var version = 0
        var waiter: CheckedContinuation<Void, Never>?
    }
    /// Shared with the reader and timer tasks (a Mutex itself cannot be captured).
    private final class Shared: Sendable {
        let state = Mutex(State())
        func take() -> CheckedContinuation<Void, Never>? {
            state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
        }
    }
    private let shared = Shared()
    private let reader: Task<Void, Never>

    /// Starts collecting the terminal's output at once.
    init(_ terminal: TerminalSession) {
        let shared = self.shared
        reader = Task {
            for await chunk in terminal.output {
                shared.state.withLock { state in
                    state.text += String(decoding: chunk, as: UTF8.self)
                    state.version += 1
                }
                shared.take()?.resume()
            }
            shared.state.withLock { state in
                state.ended = true
                state.version += 1
            }
            shared.take()?.resume()
        }
    }

    deinit { reader.cancel() }

    /// Waits until `expected` has appeared (then forgets the text up to
    /// it), or throws after `seconds` or when the output ends without it —
    /// never hangs on a terminal that went quiet.
    func waitFor(_ expected: String, seconds: Double = 10) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while true {
            let (found, ended, seen, version) = shared.state.withLock { state -> (Bool, Bool, String, Int) in
                if let range = state.text.range(of: expected) {
                    state.text = String(state.text[range.upperBound...])
                    return (true, state.ended, "", state.version)
                }
                return (false, state.ended, state.text, state.version)
            }
            if found { return }
            guard !ended, ContinuousClock.now < deadline else { throw ScreenTimeout(expected: expected, seen: seen) }
            // Sleep until new output, the end, or the deadline.
            let shared = self.shared
            let timer = Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                shared.take()?.resume()
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = shared.state.withLock { state -> Bool in
                    if state.version != version { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            timer.cancel()
        }
    }

    struct ScreenTimeout: Error, CustomStringConvertible {
        let expected: String
        let seen: String
        var description: String { "terminal never showed \(expected); it showed: \(seen)" }
    }
}

/// A TCP listener on 127.0.0.1 that records whether anything connected.
final class LoopbackListener: Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        listen(fd, 4)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    var acceptedAnything: Bool {
        let client = accept(fd, nil, nil)
        if client >= 0 { close(client) }
        return client >= 0
    }

    deinit { close(fd) }
}
