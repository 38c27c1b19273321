import CSystemCalls
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The bubblewrap sandbox: each command runs as the project's own non-root
/// uid (`setpriv` drops to it before `bwrap` runs), in new user, pid,
/// mount, network, IPC, UTS and cgroup namespaces, with `/usr` read-only,
/// only the project directory writable (as `/project`), no network unless
/// allowed, no capabilities, no new privileges, a seccomp filter (TIOCSTI,
/// ptrace, mount, unshare/setns, keyctl, bpf and more refused), killed
/// with its parent, and inside the project's cgroup (memory, CPU, pids) or,
/// without one, under rlimits.
///
/// A shell joins the cgroup and opens the seccomp program before it execs
/// the chain `[prlimit] setpriv bwrap`, so the workload starts inside its
/// limits — there is no moment it runs outside them. Each command and each
/// terminal has a cgroup of its own below the project's (which holds the
/// limits): ending one kills exactly its processes, background ones and
/// bwrap's own included, and nothing outlives its command.
public final class BwrapSandbox: Sandbox {
    public let kind = SandboxKind.bwrap
    public let enforcement: LimitEnforcement
    public let projectRoot: String
    public let uid: UInt32
    let configuration: SandboxConfiguration
    let group: String
    private let cgroups: CgroupDriver
    private let seccompFile: String
    private let terminals: TerminalRegistry
    private let sessions = Atomic<UInt64>(0)
    private let logger: Logger

    static let bwrap = "/usr/bin/bwrap", setpriv = "/usr/bin/setpriv", prlimit = "/usr/bin/prlimit"

    /// Whether this host can run it (the tools exist and we are root, who
    /// can switch to the project's uid and write cgroups).
    public static var isAvailable: Bool {
        getuid() == 0 && [bwrap, setpriv].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The first folder on the way to `projectsRoot` that a project's uid
    /// may not enter, or nil when the way is open. bwrap runs as the
    /// project's uid (it drops root before making its namespaces), so it can
    /// bind a project's folder only if every folder above it lets others
    /// pass (`o+x`) — a data dir under `/root` (mode 0700) does not.
    /// Throws a plain explanation when `unreachableAncestor` finds one.
    public static func checkReachable(_ projectsRoot: String) throws(SandboxError) {
        guard let (folder, mode) = unreachableAncestor(of: projectsRoot) else { return }
        throw .unavailable(.bwrap, reason: """
            projects under \(projectsRoot) cannot be reached by their sandboxes: \(folder) has mode \(String(mode, radix: 8)),             which other users (each project's own uid) may not enter; use a folder whose parents they may pass             (e.g. under /var/lib or /srv), or run `chmod o+x \(folder)`
            """)
    }

    public static func unreachableAncestor(of projectsRoot: String) -> (path: String, mode: mode_t)? {
        var path = URL(fileURLWithPath: projectsRoot).standardizedFileURL.path
        var folders: [String] = []
        while true {
            folders.append(path)
            if path == "/" { break }
            path = (path as NSString).deletingLastPathComponent
        }
        for folder in folders.reversed() {
            var info = stat()
            guard stat(folder, &info) == 0 else { break }  // not made yet: made 0755 below here
            if info.st_mode & S_IXOTH == 0 { return (folder, info.st_mode & 0o7777) }
        }
        return nil
    }

    /// - Parameters:
    ///   - projectID: names the project's cgroup (`a-z`, `0-9`, `-`).
    ///   - uid: the project's own uid (and gid); the project's files are
    ///     given to it.
    public init(projectRoot: String, projectID: String, uid: UInt32, configuration: SandboxConfiguration = .init(),
                logger: Logger = Logger(label: "hma.sandbox")) throws {
        guard Self.isAvailable else {
            throw SandboxError.unavailable(.bwrap, reason: getuid() == 0 ? "bwrap or setpriv is missing (Debian: bubblewrap, util-linux)" : "it needs root to switch to the project's uid")
        }
        try Self.checkReachable((projectRoot as NSString).deletingLastPathComponent)
        guard !projectID.isEmpty, projectID.utf8.allSatisfy({ (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d }) else {
            throw SandboxError.launchFailed("project id \(projectID) must be a-z, 0-9 and -")
        }
        guard uid >= 1000 else { throw SandboxError.launchFailed("uid \(uid) is a system uid") }
        self.projectRoot = projectRoot
        self.uid = uid
        self.configuration = configuration
        self.logger = logger
        terminals = TerminalRegistry(limit: configuration.maxTerminals, idleTimeout: configuration.terminalIdleTimeout)
        group = "\(configuration.cgroupParent)/\(projectID)"
        cgroups = CgroupDriver(root: configuration.cgroupRoot)
        // A sandbox owns its project's group: whatever a crashed server left
        // running there is ended before the new one starts.
        cgroups.destroy(group: group)
        enforcement = cgroups.prepare(group: group, limits: configuration.limits)
        seccompFile = NSTemporaryDirectory() + "hma-seccomp-\(projectID)-\(UUID().uuidString).bpf"
        let fd = open(seccompFile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SandboxError.launchFailed("cannot write the seccomp filter: \(String(cString: strerror(errno)))") }
        let code = hma_write_seccomp_filter(fd)
        close(fd)
        guard code == 0 else { throw SandboxError.launchFailed("cannot build the seccomp filter: \(String(cString: strerror(-code)))") }
        try Self.giveFiles(at: projectRoot, to: uid)
        logger.info("bwrap sandbox ready", metadata: [
            "project": "\(projectID)", "uid": "\(uid)", "limits": "\(enforcement)",
            "not_enforced": "\(enforcement.unenforced.isEmpty ? "-" : enforcement.unenforced.joined(separator: ","))",
            "network": "\(configuration.allowNetwork ? "allowed" : "none")",
        ])
        if !enforcement.unenforced.isEmpty {
            logger.warning("sandbox limits not enforced on this host", metadata: ["limits": "\(enforcement.unenforced.joined(separator: ","))"])
        }
    }

    deinit { shutdown() }

    public func shutdown() {
        terminals.closeAll()
        cgroups.destroy(group: group)
        unlink(seccompFile)
    }

    // MARK: - Commands

    public func run(_ command: [String], options: RunOptions = .init()) async throws -> RunResult {
        guard !command.isEmpty else { throw SandboxError.emptyCommand }
        let oomBefore = cgroups.oomKills(group: group)
        let session = newSessionGroup()
        let cgroups = self.cgroups
        defer { cgroups.destroy(group: session, waitForRemoval: false) }
        // The session's OOM count, read before its group goes (killTree also runs when the command ends).
        let sessionOOMKills = Atomic<Int>(0)
        var result = try await ProcessRunner.run(
            launchArguments(command, environment: options.environment, interactive: false, session: session), environment: [:],
            timeout: options.timeout, maxOutputBytes: options.maxOutputBytes, killTree: {
                sessionOOMKills.max(cgroups.oomKills(group: session), ordering: .relaxed)
                cgroups.destroy(group: session, waitForRemoval: false)
            })
        // The kill is counted where the limit was hit or where the victim was.
        result.outOfMemory = cgroups.oomKills(group: group) > oomBefore || sessionOOMKills.load(ordering: .relaxed) > 0
        return result
    }

    /// Runs a tool of the server's (the git helper) in the sandbox as the
    /// project's uid: `readOnly` and `writable` host paths are bound at
    /// the same paths, `input` is its standard input, standard error is
    /// kept apart; network only when `network`.
    func runTool(_ command: [String], input: Data, network: Bool, readOnly: [String], writable: [String],
                 timeout: Duration, maxOutputBytes: Int) async throws -> ProcessRunner.Outcome {
        let session = newSessionGroup()
        let cgroups = self.cgroups
        defer { cgroups.destroy(group: session) }
        let argv = launchArguments(command, environment: [:], interactive: false, session: session,
                                   network: network, readOnly: readOnly, writable: writable)
        return try await ProcessRunner.execute(argv, input: input, separateErrors: true, timeout: timeout, maxOutputBytes: maxOutputBytes,
                                               killTree: { cgroups.destroy(group: session) })
    }

    public func openTerminal(rows: UInt16 = 24, columns: UInt16 = 80) async throws -> TerminalSession {
        let shell = FileManager.default.isExecutableFile(atPath: "/usr/bin/bash") ? "/bin/bash" : "/bin/sh"
        let cgroups = self.cgroups
        return try await terminals.open { onEnd in
            let group = newSessionGroup()
            return try TerminalSession(
                argv: launchArguments([shell, "-i"], environment: ["TERM": "xterm-256color"], interactive: true, session: group), environment: [:],
                rows: rows, columns: columns, killTree: { cgroups.destroy(group: group) },
                onEnd: { id in
                    cgroups.destroy(group: group)
                    onEnd(id)
                })
        }
    }

    /// Terminals still open.
    public var openTerminals: [TerminalSession] { terminals.all }

    /// Closes terminals with no input or output for `idle`.
    public func reapIdleTerminals(idle: Duration) { terminals.closeIdle(for: idle) }

    // MARK: - The command line

    /// A new cgroup for one command or terminal, below the project's.
    private func newSessionGroup() -> String {
        let session = "\(group)/s\(sessions.add(1, ordering: .relaxed).newValue)"
        cgroups.createSubgroup(session)
        return session
    }

    /// The argv that runs `command` in the sandbox, joining cgroup `session`.
    func launchArguments(_ command: [String], environment: [String: String], interactive: Bool, session: String,
                         network: Bool? = nil, readOnly: [String] = [], writable: [String] = []) -> [String] {
        let network = network ?? configuration.allowNetwork
        let join = cgroups.plan.procsFiles(group: session).map { "echo $$ > '\($0)' || exit 125; " }.joined()
        let script = "\(join)exec 9< '\(seccompFile)' || exit 125; exec \"$@\""
        var argv = ["/bin/sh", "-c", script, "hma-sandbox"]
        let limits = configuration.limits
        var rlimits: [String] = []
        if enforcement.memory == .rlimit { rlimits.append("--as=\(limits.memoryBytes * 4)") }  // address space, not resident memory
        if enforcement.pids == .rlimit { rlimits.append("--nproc=\(limits.pids)") }
        if !rlimits.isEmpty { argv += [Self.prlimit] + rlimits + ["--"] }
        argv += [Self.setpriv, "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--no-new-privs",
                 "--inh-caps=-all", "--bounding-set=-all", "--"]
        // A user namespace of its own (explicitly, not "try"), in which no
        // further one can be made: a nested user namespace would hold every
        // capability inside it.
        argv += [Self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns"]
        if network { argv += ["--share-net"] }
        argv += ["--die-with-parent", "--cap-drop", "ALL", "--hostname", "hma-sandbox"]
        if !interactive { argv += ["--new-session"] }
        argv += ["--ro-bind", "/usr", "/usr"]
        for (link, target) in [("/bin", "usr/bin"), ("/sbin", "usr/sbin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64"), ("/lib32", "usr/lib32")]
        where FileManager.default.fileExists(atPath: "/usr/" + target.dropFirst(4)) {
            argv += ["--symlink", target, link]
        }
        for shared in ["/etc/alternatives", "/etc/ssl", "/etc/ca-certificates", "/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf"] {
            argv += ["--ro-bind-try", shared, shared]
        }
        if network { argv += ["--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf", "--ro-bind-try", "/etc/hosts", "/etc/hosts"] }
        argv += ["--proc", "/proc", "--dev", "/dev", "--size", "\(configuration.limits.tmpBytes)", "--tmpfs", "/tmp", "--bind", projectRoot, "/project"]
        for path in readOnly { argv += ["--ro-bind", path, path] }
        for path in writable { argv += ["--bind", path, path] }
        argv += ["--remount-ro", "/", "--chdir", "/project", "--seccomp", "9", "--clearenv"]
        // Built from this allow-list only (bwrap's --clearenv keeps PWD, which
        // would otherwise carry the server's own working directory).
        var variables = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/project", "LANG": "C.UTF-8", "USER": "project", "PWD": "/project"]
        for (key, value) in environment { variables[key] = value }
        for (key, value) in variables.sorted(by: { $0.key < $1.key }) { argv += ["--setenv", key, value] }
        return argv + ["--"] + command
    }

    /// Gives the project's files to its uid — links themselves, never what
    /// they point to, and never by a path string: a sandboxed process still
    /// running may swap a folder for a link to `/usr/bin` mid-walk
    /// (`TreeWalk` works from open descriptors and does not enter it). A
    /// file with more than one hard link is left alone (it may be another
    /// owner's file linked in).
    /// A folder moved mid-walk (code still running in the project) makes
    /// it start again, a few times.
    static func giveFiles(at root: String, to uid: UInt32) throws {
        for attempt in 1...3 {
            do throws(TreeWalk.Failure) {
                try TreeWalk.walk(root, directory: { fd in fchown(fd, uid, uid) }, entry: { directory, name, info in
                    if (info.st_mode & S_IFMT) == S_IFREG && info.st_nlink > 1 { return }
                    fchownat(directory, name, uid, uid, AT_SYMLINK_NOFOLLOW)
                })
                return
            } catch .moved where attempt < 3 {
                continue
            } catch {
                throw SandboxError.launchFailed("cannot give \(root) to uid \(uid): \(error)")
            }
        }
    }
}
