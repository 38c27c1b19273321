import Foundation

/// Everything needed to continue a run after the process died: saved after
/// every completed step (docs/agents.md, "Recovery").
public struct RunSnapshot: Sendable, Equatable, Codable {
    /// Bumped when the format changes incompatibly; an unknown version is refused.
    public static let currentVersion = 1

    public var version = RunSnapshot.currentVersion
    public var request: String
    public var phase: ProjectPhase
    public var budget: Budget
    public var agents: [AgentState]
    /// Prompts of turns that had started but not completed: sent again on resume.
    public var inFlight: [AgentRef: [String]]
    public var outcome: RunOutcome?

    public init(request: String, phase: ProjectPhase, budget: Budget, agents: [AgentState], inFlight: [AgentRef: [String]], outcome: RunOutcome?) {
        self.request = request
        self.phase = phase
        self.budget = budget
        self.agents = agents
        self.inFlight = inFlight
        self.outcome = outcome
    }
}

/// Where a run's snapshots go. The gateway keeps them in its database;
/// `hma new` in a file beside the project.
public protocol RunJournal: Sendable {
    func save(_ snapshot: RunSnapshot) async throws
    func load() async throws -> RunSnapshot?
}

/// A journal in one JSON file, replaced atomically (write, fsync, rename)
/// so a crash leaves the previous snapshot or the new one, never half.
public struct FileRunJournal: RunJournal {
    public let path: String

    public init(path: String) { self.path = path }

    public func save(_ snapshot: RunSnapshot) async throws {
        let data = try JSONEncoder().encode(snapshot)
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary]) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == data.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    public func load() async throws -> RunSnapshot? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let snapshot = try JSONDecoder().decode(RunSnapshot.self, from: data)
        guard snapshot.version == RunSnapshot.currentVersion else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(path) is a run snapshot of format \(snapshot.version), this hma reads \(RunSnapshot.currentVersion)"])
        }
        return snapshot
    }
}
