import Foundation
import Logging

/// The `none` backend: plain processes in the project directory, as the
/// server's own user, with no isolation and no limits. Only when an
/// operator configures it explicitly (`sandbox.kind = none`), and every
/// start says so in the logs: anything a model writes can then read and
/// change this machine.
public final class UnsandboxedRunner: Sandbox {
    public let kind = SandboxKind.none
    public let enforcement = LimitEnforcement(memory: .none, cpu: .none, pids: .none)
    public let projectRoot: String
    private let terminals: TerminalRegistry
    private let logger: Logger

    public init(projectRoot: String, configuration: SandboxConfiguration, logger: Logger = Logger(label: "hma.sandbox")) {
        self.projectRoot = projectRoot
        terminals = TerminalRegistry(limit: configuration.maxTerminals, idleTimeout: configuration.terminalIdleTimeout)
        self.logger = logger
        logger.warning("UNSAFE: sandbox 'none' — project commands run unisolated as this server's user, with no limits",
                       metadata: ["project": "\(projectRoot)"])
    }

    public func run(_ command: [String], options: RunOptions = .init()) async throws -> RunResult {
        guard !command.isEmpty else { throw SandboxError.emptyCommand }
        let executable = command[0].hasPrefix("/") ? command[0] : "/usr/bin/env"
        let argv = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", projectRoot] + (executable == command[0] ? command : [executable] + command)
        var environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": projectRoot, "LANG": "C.UTF-8"]
        for (key, value) in options.environment { environment[key] = value }
        return try await ProcessRunner.run(argv, environment: environment, timeout: options.timeout, maxOutputBytes: options.maxOutputBytes)
    }

    public func openTerminal(rows: UInt16 = 24, columns: UInt16 = 80) async throws -> TerminalSession {
        try await terminals.open { onEnd in
            try TerminalSession(
                argv: ["/bin/sh", "-c", "cd \"$0\" && exec /bin/sh -i", projectRoot],
                environment: ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": projectRoot, "TERM": "xterm-256color"],
                rows: rows, columns: columns, onEnd: onEnd)
        }
    }

    public func shutdown() { terminals.closeAll() }
}

/// Chooses and makes the sandbox for a project.
public enum SandboxFactory {
    /// The backend used when none is configured: bwrap where it can run,
    /// else docker where its socket exists; never `none`.
    public static func defaultKind(configuration: SandboxConfiguration) -> SandboxKind? {
        if BwrapSandbox.isAvailable { return .bwrap }
        if FileManager.default.fileExists(atPath: configuration.dockerSocket) { return .docker }
        return nil
    }

    public static func make(projectRoot: String, projectID: String, uid: UInt32, configuration: SandboxConfiguration,
                            logger: Logger = Logger(label: "hma.sandbox")) throws -> any Sandbox {
        guard let kind = configuration.kind ?? defaultKind(configuration: configuration) else {
            throw SandboxError.unavailable(.bwrap, reason: "neither bubblewrap (as root) nor a Docker socket at \(configuration.dockerSocket) is available; install bubblewrap, or set the sandbox to none explicitly (unsafe)")
        }
        switch kind {
        case .bwrap: return try BwrapSandbox(projectRoot: projectRoot, projectID: projectID, uid: uid, configuration: configuration, logger: logger)
        case .docker: return try DockerSandbox(projectRoot: projectRoot, projectID: projectID, uid: uid, configuration: configuration, logger: logger)
        case .none: return UnsandboxedRunner(projectRoot: projectRoot, configuration: configuration, logger: logger)
        }
    }
}
