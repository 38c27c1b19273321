import Providers

/// An agent, as events and the person see it.
public struct AgentRef: Hashable, Sendable, Codable, CustomStringConvertible {
    public var role: AgentRole
    /// The directory (manager), file (coder), "" (master), or `<file>#tester-N`.
    public var path: String

    public init(role: AgentRole, path: String) {
        self.role = role
        self.path = path
    }

    public var description: String { path.isEmpty ? role.rawValue : "\(role.rawValue) \(path)" }
}

/// Where an agent is in its work.
public enum AgentStatus: String, Sendable, Codable {
    /// Created, or finished and ready for a new task.
    case idle
    /// A model call or an action is running.
    case working
    /// Waiting for its children or testers.
    case waiting
    case finished
    /// Escalated (loop, turn limit, repeated errors): its parent decides.
    case stuck
    case stopped
}

/// How a run ended.
public enum RunOutcome: Sendable, Equatable, Codable {
    /// The master finished the implementation phase.
    case completed(summary: String)
    /// The budget would have been exceeded by the next call.
    case budgetExhausted(report: String)
    /// The person stopped it.
    case stopped
    /// Waiting for the person (phase approval, or a question from an escalation).
    case waitingForPerson(question: String)
    /// The model provider failed in a way retries do not fix (bad key, quota).
    case failed(reason: String)
}

/// Everything a run tells the outside, in order per agent (docs/agents.md,
/// "Events"). The gateway's session hub implements the sink and fans the
/// events out to browsers; tests record them.
public enum AgentEvent: Sendable, Equatable {
    case status(AgentRef, AgentStatus)
    /// A model reply is arriving (tokens as they stream).
    case token(AgentRef, String)
    /// The agent's model calls now run on this mesh node (turns on the
    /// mesh; said when it changes).
    case ranOn(AgentRef, node: String)
    /// The action an agent took, summarised for people.
    case action(AgentRef, ActionName, summary: String)
    /// An action failed or was refused; the agent was told why.
    case actionFailed(AgentRef, message: String)
    case fileWritten(AgentRef, path: String, content: String)
    case fileDeleted(AgentRef, path: String)
    case commandOutput(AgentRef, command: String, output: String, exitCode: Int32?)
    case usage(AgentRef, Usage, costUSD: Double, totalCostUSD: Double, totalTokens: Int)
    /// The master (or an escalation) speaks to the person.
    case toPerson(String, phase: ProjectPhase)
    case phase(ProjectPhase)
    case ended(RunOutcome)
}

/// Receives a run's events.
public protocol AgentEventSink: Sendable {
    func record(_ event: AgentEvent)
}
