/// The master's phases for a new project (docs/agents.md, "Phases"). Each
/// ends with the person's approval or feedback.
public enum ProjectPhase: String, Sendable, Codable, CaseIterable {
    /// The master asks questions and writes the documentation; no delegation.
    case understanding
    /// The master scaffolds and installs; still no delegation.
    case structure
    /// The master delegates to the root manager; the hierarchy builds.
    case implementation
}
