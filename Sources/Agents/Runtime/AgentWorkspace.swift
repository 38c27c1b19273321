import Foundation
import Workspace

/// A project as agents use it: its files and its sandbox. One per project,
/// served where the project's directory lives (docs/agents.md, "On the mesh").
public protocol AgentWorkspace: Sendable {
    /// The file's text.
    func read(_ path: String) async throws -> String
    func exists(_ path: String) async throws -> Bool
    /// Replaces the file, creating missing folders.
    func write(_ path: String, _ text: String) async throws
    func createFolder(_ path: String) async throws
    func delete(_ path: String) async throws
    /// Every entry, folders ending in "/", sorted; without `.git`.
    func tree() async throws -> [String]
    /// Runs `command` with `sh -c` in the project's sandbox.
    func run(_ command: String, timeout: Duration?, maxOutputBytes: Int) async throws -> CommandResult
}

/// What a RUN printed and how it ended.
public struct CommandResult: Sendable, Equatable, Codable {
    public var output: String
    public var exitCode: Int32?
    public var timedOut: Bool
    public var truncated: Bool

    public init(output: String, exitCode: Int32?, timedOut: Bool, truncated: Bool) {
        self.output = output
        self.exitCode = exitCode
        self.timedOut = timedOut
        self.truncated = truncated
    }
}

/// The workspace of a project on this machine: `ProjectFiles` (no path
/// leaves the project, `.git` is not writable) and a `Sandbox`.
public final class LocalWorkspace: AgentWorkspace {
    let files: ProjectFiles
    let sandbox: any Sandbox

    public init(files: ProjectFiles, sandbox: any Sandbox) {
        self.files = files
        self.sandbox = sandbox
    }

    public func read(_ path: String) async throws -> String {
        String(decoding: try files.read(path), as: UTF8.self)
    }

    public func exists(_ path: String) async throws -> Bool { try files.exists(path) }

    public func write(_ path: String, _ text: String) async throws { try files.write(path, Data(text.utf8)) }

    public func createFolder(_ path: String) async throws {
        if try files.exists(path) { return }
        try files.create(path, directory: true)
    }

    public func delete(_ path: String) async throws { try files.delete(path) }

    public func tree() async throws -> [String] {
        try files.tree().filter { !ProjectPaths.isReserved($0.path.description) }.map { $0.kind == .directory ? $0.path.description + "/" : $0.path.description }
    }

    public func run(_ command: String, timeout: Duration?, maxOutputBytes: Int) async throws -> CommandResult {
        var options = RunOptions()
        // No timeout: a day, the longest a master's install may take.
        options.timeout = timeout ?? .seconds(86_400)
        options.maxOutputBytes = maxOutputBytes
        let result = try await sandbox.run(["/bin/sh", "-c", command], options: options)
        return CommandResult(output: result.text, exitCode: result.exitCode, timedOut: result.timedOut, truncated: result.truncated)
    }
}
