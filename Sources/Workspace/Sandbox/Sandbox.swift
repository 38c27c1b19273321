import Foundation

/// Where a project's commands and terminals run (docs/workspace.md, "Sandboxes"). One
/// protocol, three backends: `bwrap` (namespaces + cgroups + seccomp, the
/// default where it works), `docker` (the Docker Engine API; podman's
/// compatible service counts) and `none` (plain processes, only when
/// configured explicitly, logged as unsafe).
public protocol Sandbox: Sendable {
    var kind: SandboxKind { get }
    /// Which limits are enforced, and how.
    var enforcement: LimitEnforcement { get }
    /// Runs `command` (argv; no shell unless you ask for one) in the project
    /// directory inside the sandbox.
    func run(_ command: [String], options: RunOptions) async throws -> RunResult
    /// Starts an interactive shell on a pseudo-terminal inside the sandbox.
    func openTerminal(rows: UInt16, columns: UInt16) async throws -> TerminalSession
    /// Kills everything still running and releases the sandbox's resources.
    func shutdown()
}

public enum SandboxKind: String, Sendable, Codable, CaseIterable {
    case bwrap, docker, none
}

public struct RunOptions: Sendable {
    public var timeout: Duration = .seconds(120)
    /// Output (standard output and error, interleaved) kept; the rest is
    /// read and dropped, and `RunResult.truncated` says so.
    public var maxOutputBytes = 1 << 20
    public var environment: [String: String] = [:]
    public init() {}
}

public struct RunResult: Sendable, Equatable {
    /// The exit status, when the command exited.
    public var exitCode: Int32?
    /// The signal that ended it, when one did.
    public var signal: Int32?
    public var output: Data
    public var truncated: Bool
    public var timedOut: Bool
    /// The sandbox's memory limit killed it.
    public var outOfMemory: Bool
    public var duration: Duration

    public var succeeded: Bool { exitCode == 0 }

    /// (exit code, signal) from an exit status a sandbox reports: 129–159
    /// is a child killed by signal N − 128 (bwrap and containers say so).
    static func ending(exitCode code: Int32) -> (exitCode: Int32?, signal: Int32?) {
        code > 128 && code < 160 ? (nil, code - 128) : (code, nil)
    }

    /// (exit code, signal) from a raw `waitpid` status.
    static func ending(waitStatus raw: Int32) -> (exitCode: Int32?, signal: Int32?) {
        let signal = raw & 0x7f
        if signal != 0 && signal != 0x7f { return (nil, signal) }
        return ending(exitCode: (raw >> 8) & 0xff)
    }
    public var text: String { String(decoding: output, as: UTF8.self) }
}

public enum SandboxError: Error, Equatable, Sendable, CustomStringConvertible {
    case unavailable(SandboxKind, reason: String)
    case emptyCommand
    case launchFailed(String)
    case tooManyTerminals(limit: Int)
    /// Keystrokes the terminal's program has not read yet fill the input
    /// queue (the program does not read its input).
    case terminalInputFull(limit: Int)

    public var description: String {
        switch self {
        case .unavailable(let kind, let reason): return "the \(kind.rawValue) sandbox is not available: \(reason)"
        case .emptyCommand: return "no command given"
        case .launchFailed(let reason): return "could not start the command: \(reason)"
        case .tooManyTerminals(let limit): return "this project already has \(limit) terminals open"
        case .terminalInputFull(let limit): return "the terminal's program is not reading its input (\(limit) bytes are waiting)"
        }
    }
}

/// Which sandbox to use and how to configure it.
public struct SandboxConfiguration: Sendable {
    /// nil: the best available (bwrap, else docker); `none` must be chosen explicitly.
    public var kind: SandboxKind?
    public var limits = SandboxLimits()
    public var allowNetwork = false
    /// The uid and gid a project's processes run as: `uidBase + project number`.
    public var uidBase: UInt32 = 200_000
    public var cgroupRoot = "/sys/fs/cgroup"
    /// Parent group of the projects' groups.
    public var cgroupParent = "hma"
    public var maxTerminals = 5
    /// A terminal with no input or output for this long is closed.
    public var terminalIdleTimeout: Duration = .seconds(30 * 60)
    public var dockerSocket = "/var/run/docker.sock"
    public var dockerImage = "debian:bookworm-slim"
    public init() {}
}
