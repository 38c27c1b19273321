import Foundation

/// Resource limits of one project's sandbox.
public struct SandboxLimits: Sendable, Equatable {
    public var memoryBytes = 512 << 20
    /// Cores' worth of CPU time (0.5 = half of one core).
    public var cpus = 0.5
    /// Processes and threads at once (a fork bomb stops here).
    public var pids = 256
    /// Open descriptors per process. Containers get it as an explicit
    /// `nofile` ulimit: the engines' own default (about a million) is above
    /// what an unprivileged host allows, and runc then refuses to start.
    public var openFiles = 4096
    /// Size of the sandbox's private /tmp (a tmpfs, in memory).
    public var tmpBytes = 64 << 20
    public init() {}
}

/// Which limits a sandbox actually enforces on this host, and how: logged
/// at start-up and shown to operators (docs/workspace.md).
public struct LimitEnforcement: Sendable, Equatable, CustomStringConvertible {
    public enum Mechanism: String, Sendable { case cgroupV1 = "cgroup v1", cgroupV2 = "cgroup v2", rlimit, container, none }
    public var memory: Mechanism
    public var cpu: Mechanism
    public var pids: Mechanism

    public var description: String {
        "memory: \(memory.rawValue), cpu: \(cpu.rawValue), pids: \(pids.rawValue)"
    }
    public var unenforced: [String] {
        [memory == .none ? "memory" : nil, cpu == .none ? "cpu" : nil, pids == .none ? "pids" : nil].compactMap { $0 }
    }
}

/// The cgroup layout of a host, and the files to write to give one project
/// its limits — a plan with no I/O (tested for both versions), applied by
/// `CgroupDriver`.
public struct CgroupPlan: Sendable, Equatable {
    public enum Version: Sendable, Equatable {
        /// One hierarchy per controller: `ROOT/memory`, `ROOT/cpu`, `ROOT/pids`.
        case v1(controllers: Set<String>)
        /// One unified hierarchy at ROOT with these controllers available.
        case v2(controllers: Set<String>)
        case unavailable
    }

    public let root: String
    public let version: Version

    /// Reads the layout at `root` (normally /sys/fs/cgroup) from the file
    /// names alone: v2 has `cgroup.controllers` at its root.
    public static func detect(root: String = "/sys/fs/cgroup", fileExists: (String) -> Bool, read: (String) -> String?) -> CgroupPlan {
        if fileExists(root + "/cgroup.controllers"), let list = read(root + "/cgroup.controllers") {
            let controllers = Set(list.split(whereSeparator: \.isWhitespace).map(String.init))
            return CgroupPlan(root: root, version: controllers.isEmpty ? .unavailable : .v2(controllers: controllers))
        }
        let controllers = Set(["memory", "cpu", "pids"].filter { fileExists("\(root)/\($0)/cgroup.procs") })
        return CgroupPlan(root: root, version: controllers.isEmpty ? .unavailable : .v1(controllers: controllers))
    }

    /// What enforces each limit with this layout (rlimits fill in memory
    /// and pids where a controller is missing; CPU has no fallback).
    public var enforcement: LimitEnforcement {
        switch version {
        case .v1(let controllers):
            return LimitEnforcement(memory: controllers.contains("memory") ? .cgroupV1 : .rlimit,
                                    cpu: controllers.contains("cpu") ? .cgroupV1 : .none,
                                    pids: controllers.contains("pids") ? .cgroupV1 : .rlimit)
        case .v2(let controllers):
            return LimitEnforcement(memory: controllers.contains("memory") ? .cgroupV2 : .rlimit,
                                    cpu: controllers.contains("cpu") ? .cgroupV2 : .none,
                                    pids: controllers.contains("pids") ? .cgroupV2 : .rlimit)
        case .unavailable:
            return LimitEnforcement(memory: .rlimit, cpu: .none, pids: .rlimit)
        }
    }

    /// Directories of the project's group (created before the writes).
    public func directories(group: String) -> [String] {
        switch version {
        case .v1(let controllers): return controllers.sorted().map { "\(root)/\($0)/\(group)" }
        case .v2: return ["\(root)/\(group)"]
        case .unavailable: return []
        }
    }

    /// (file, value) writes that set the limits, in order.
    public func limitWrites(group: String, limits: SandboxLimits) -> [(String, String)] {
        let period = 100_000
        let quota = max(1000, Int(Double(period) * limits.cpus))
        switch version {
        case .v1(let controllers):
            var writes: [(String, String)] = []
            if controllers.contains("memory") {
                writes.append(("\(root)/memory/\(group)/memory.limit_in_bytes", "\(limits.memoryBytes)"))
                // Swap counts too where the kernel accounts it (absent otherwise).
                writes.append(("\(root)/memory/\(group)/memory.memsw.limit_in_bytes?", "\(limits.memoryBytes)"))
            }
            if controllers.contains("cpu") {
                writes.append(("\(root)/cpu/\(group)/cpu.cfs_period_us", "\(period)"))
                writes.append(("\(root)/cpu/\(group)/cpu.cfs_quota_us", "\(quota)"))
            }
            if controllers.contains("pids") { writes.append(("\(root)/pids/\(group)/pids.max", "\(limits.pids)")) }
            return writes
        case .v2(let controllers):
            var writes: [(String, String)] = []
            // Each level between the root and the group must hand the controllers down.
            let enable = ["memory", "cpu", "pids"].filter(controllers.contains).map { "+\($0)" }.joined(separator: " ")
            var path = root
            for component in group.split(separator: "/").dropLast() {
                writes.append(("\(path)/cgroup.subtree_control", enable))
                path += "/\(component)"
            }
            writes.append(("\(path)/cgroup.subtree_control", enable))
            if controllers.contains("memory") {
                writes.append(("\(root)/\(group)/memory.max", "\(limits.memoryBytes)"))
                writes.append(("\(root)/\(group)/memory.swap.max?", "0"))
            }
            if controllers.contains("cpu") { writes.append(("\(root)/\(group)/cpu.max", "\(quota) \(period)")) }
            if controllers.contains("pids") { writes.append(("\(root)/\(group)/pids.max", "\(limits.pids)")) }
            return writes
        case .unavailable:
            return []
        }
    }

    /// The files a process writes its pid to, to join the group.
    public func procsFiles(group: String) -> [String] {
        directories(group: group).map { $0 + "/cgroup.procs" }
    }

    /// Counter of OOM kills in the group (v1 `memory.oom_control`, v2 `memory.events`).
    public func oomKillCounter(group: String) -> (file: String, key: String)? {
        switch version {
        case .v1(let controllers): return controllers.contains("memory") ? ("\(root)/memory/\(group)/memory.oom_control", "oom_kill") : nil
        case .v2(let controllers): return controllers.contains("memory") ? ("\(root)/\(group)/memory.events", "oom_kill") : nil
        case .unavailable: return nil
        }
    }
}

/// Applies a `CgroupPlan` on this host.
public struct CgroupDriver: Sendable {
    public let plan: CgroupPlan

    public init(root: String = "/sys/fs/cgroup") {
        plan = CgroupPlan.detect(root: root, fileExists: { FileManager.default.fileExists(atPath: $0) },
                                 read: { try? String(contentsOfFile: $0, encoding: .utf8) })
    }

    /// Creates the group and writes its limits; returns what is enforced
    /// (a controller whose files cannot be written counts as not enforced).
    public func prepare(group: String, limits: SandboxLimits) -> LimitEnforcement {
        var enforcement = plan.enforcement
        for directory in plan.directories(group: group) {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        for (file, value) in plan.limitWrites(group: group, limits: limits) {
            let optional = file.hasSuffix("?")
            let path = optional ? String(file.dropLast()) : file
            do {
                try value.write(toFile: path, atomically: false, encoding: .utf8)
            } catch where !optional {
                if path.contains("memory") && enforcement.memory != .rlimit { enforcement.memory = .rlimit }
                if path.contains("cpu") { enforcement.cpu = .none }
                if path.contains("pids") && enforcement.pids != .rlimit { enforcement.pids = .rlimit }
            } catch {}
        }
        return enforcement
    }

    /// Creates a group below a prepared one (limits are inherited: the
    /// parent's bound the whole tree).
    public func createSubgroup(_ group: String) {
        for directory in plan.directories(group: group) {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
    }

    /// OOM kills in the group so far.
    public func oomKills(group: String) -> Int {
        guard let (file, key) = plan.oomKillCounter(group: group),
              let text = try? String(contentsOfFile: file, encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key { return Int(parts[1]) ?? 0 }
        }
        return 0
    }

    /// Kills every process in the group (and its subgroups) and removes it.
    /// - Parameter waitForRemoval: wait (about a second at most) until the
    ///   emptied group's folders are gone; otherwise a folder still busy is
    ///   removed in the background — its processes are dead either way.
    public func destroy(group: String, waitForRemoval: Bool = true) {
        for directory in plan.directories(group: group) {
            let children = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for child in children where FileManager.default.fileExists(atPath: "\(directory)/\(child)/cgroup.procs") {
                destroy(group: "\(group)/\(child)", waitForRemoval: waitForRemoval)
            }
        }
        // Processes already on their way out (a command's sandbox init,
        // killed with its parent) leave within a millisecond or so: look
        // again after 0.5 ms, doubling, about half a second in all.
        var pause: UInt32 = 500
        while pause < 300_000 {
            var alive = false
            for file in plan.procsFiles(group: group) {
                let pids = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int32($0) }
                for pid in pids { kill(pid, SIGKILL); alive = true }
            }
            if !alive { break }
            usleep(pause)
            pause *= 2
        }
        // A killed process stays in the group until its parent reaps it, and
        // a group just emptied can be busy for a moment: retry from 0.5 ms,
        // doubling, for about a second in all.
        let directories = Array(plan.directories(group: group).reversed())
        if waitForRemoval || directories.contains(where: { rmdir($0) != 0 && errno == EBUSY }) == false {
            Self.remove(directories)
        } else {
            DispatchQueue.global(qos: .utility).async { Self.remove(directories) }
        }
    }

    private static func remove(_ directories: [String]) {
        for directory in directories {
            var pause: UInt32 = 500
            while rmdir(directory) != 0 && errno == EBUSY && pause < 600_000 {
                usleep(pause)
                pause *= 2
            }
        }
    }
}
