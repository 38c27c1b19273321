/// The four kinds of agent in a project's hierarchy (docs/architecture.md).
public enum AgentRole: String, Sendable, Codable, CaseIterable {
    /// One per project: talks to the person, runs the phases, delegates to the root manager.
    case master
    /// One per directory: creates entries, delegates to its children, verifies their claims.
    case manager
    /// One per file: edits only its file.
    case coder
    /// Short-lived: reads, runs, writes only a scratch file, reports findings.
    case tester
}
