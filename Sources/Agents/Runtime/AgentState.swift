/// One turn an agent remembers: what it was told and what it answered
/// (long replies and results cut, so contexts stay small).
public struct ContextEntry: Sendable, Equatable, Codable {
    public var prompt: String
    public var reply: String
}

/// Everything about one agent a run keeps — and will persist (docs/agents.md,
/// "Recovery"): no state lives anywhere else.
public struct AgentState: Sendable, Equatable, Codable {
    public var ref: AgentRef
    public var parent: AgentRef?
    /// The task its parent gave (nil until delegated to).
    public var task: String?
    public var status: AgentStatus = .idle
    public var context: [ContextEntry] = []
    /// Prompts waiting for the next model call (sent together).
    public var queue: [String] = []
    /// Children and testers working on its behalf.
    public var active: Set<AgentRef> = []
    /// What DELEGATE / SPAWN said, held until the first report arrives.
    public var heldResults: [String] = []
    /// The scratch pad (a tester's CHANGE/REPLACE/INSERT too): in the agent's
    /// state, never in the project's files.
    public var scratch = ""
    public var turns = 0
    /// Completed turns over the agent's whole life (never reset): its prompt
    /// says `call N` with N = calls + 1 (the same again when an interrupted
    /// turn runs after a restart); the demo model's recordings follow it.
    public var calls = 0
    public var errorsInARow = 0
    public var testersSpawned = 0
    public var progress: ProgressWatch

    init(ref: AgentRef, parent: AgentRef?, progress: ProgressWatch) {
        self.ref = ref
        self.parent = parent
        self.progress = progress
    }

    /// Back to a clean slate after FINISH: only files carry knowledge over.
    mutating func forget() {
        context = []
        heldResults = []
        scratch = ""
        turns = 0
        errorsInARow = 0
        progress.reset()
    }
}
