import Foundation
import Providers

/// One run of a project's agents (docs/agents.md): the master, the managers
/// and coders it creates lazily, and their testers. Each agent has at most
/// one model call in flight; prompts that arrive meanwhile go into its next
/// call together; siblings run in parallel.
///
/// All agent state lives in `agents` (plain values, ready to persist); the
/// model, the workspace and the event sink are the run's only outside parts.
public actor ProjectRun {
    public let configuration: RunConfiguration
    let model: AgentModel
    let workspace: any AgentWorkspace
    let sink: any AgentEventSink
    let templates: PromptTemplates
    let journal: (any RunJournal)?
    let runner: any TurnRunner
    let parser = CommandParser()
    private var request = ""
    /// Prompts of the turns now running, for the snapshot.
    private var inFlight: [AgentRef: [String]] = [:]
    /// Where each agent's last model call ran (turns on the mesh).
    private var nodes: [AgentRef: String] = [:]

    public private(set) var phase: ProjectPhase
    public private(set) var budget: Budget
    private(set) var agents: [AgentRef: AgentState] = [:]
    private var turns: [AgentRef: Task<Void, Never>] = [:]
    private var outcome: RunOutcome?
    /// Dropped (`abandon`): nothing more is scheduled, saved or ended.
    private var abandoned = false
    private var outcomeWaiters: [UUID: CheckedContinuation<RunOutcome, any Error>] = [:]

    static let master = AgentRef(role: .master, path: "")
    static let rootManager = AgentRef(role: .manager, path: "")
    /// Folders that are listed collapsed in the project tree an agent sees.
    static let collapsedFolders: Set<String> = ["node_modules", ".venv", "venv", "__pycache__", "dist", "build", ".build", "target", ".pytest_cache", ".mypy_cache"]

    public init(configuration: RunConfiguration, model: AgentModel, workspace: any AgentWorkspace, sink: any AgentEventSink,
                templates: PromptTemplates, journal: (any RunJournal)? = nil, turns: (any TurnRunner)? = nil) {
        self.configuration = configuration
        self.model = model
        self.runner = turns ?? LocalTurns(provider: model.provider)
        self.workspace = workspace
        self.sink = sink
        self.templates = templates
        self.journal = journal
        self.phase = configuration.startPhase
        self.budget = configuration.budget
    }

    /// Continues a run from its last snapshot: turns that had not completed
    /// run again; finished work, files and usage stay as they were.
    public func resume(from snapshot: RunSnapshot) {
        request = snapshot.request
        phase = snapshot.phase
        budget = snapshot.budget
        if let limit = configuration.budget.limitUSD { budget.limitUSD = limit }
        if let limit = configuration.budget.limitTokens { budget.limitTokens = limit }
        agents = Dictionary(uniqueKeysWithValues: snapshot.agents.map { ($0.ref, $0) })
        sink.record(.phase(phase))
        for (ref, prompts) in snapshot.inFlight where agents[ref] != nil {
            agents[ref]!.queue = prompts + agents[ref]!.queue
            agents[ref]!.status = .idle
        }
        for ref in agents.keys {
            if agents[ref]!.status == .working { agents[ref]!.status = .idle }
            sink.record(.status(ref, agents[ref]!.status))
        }
        if let ended = snapshot.outcome, !Self.isWaiting(ended) {
            end(ended)
            return
        }
        for ref in agents.keys.sorted(by: { $0.path < $1.path }) { schedule(ref) }
    }

    /// The run as it stands, for a journal.
    public func snapshot() -> RunSnapshot {
        RunSnapshot(request: request, phase: phase, budget: budget, agents: agents.values.sorted { ($0.ref.role.rawValue, $0.ref.path) < ($1.ref.role.rawValue, $1.ref.path) },
                    inFlight: inFlight, outcome: outcome)
    }

    private var saving = false
    private var unsaved = false
    private var savedWaiters: [CheckedContinuation<Void, Never>] = []

    /// Saves a snapshot after a completed step, one save at a time, always
    /// the newest state (saves that pile up collapse into one). A failed save
    /// is reported, not fatal: the next step saves again.
    private func persist() {
        guard journal != nil, !abandoned else { return }
        unsaved = true
        guard !saving else { return }
        saving = true
        Task { await self.saveLoop() }
    }

    private func saveLoop() async {
        while unsaved, !abandoned, let journal {
            unsaved = false
            do { try await journal.save(snapshot()) } catch {
                sink.record(.toPerson("Saving the run's progress failed: \(error). It continues; a crash now would repeat more work.", phase: phase))
            }
        }
        saving = false
        let waiters = savedWaiters
        savedWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once every completed step is in the journal.
    public func waitUntilSaved() async {
        guard saving || (unsaved && !abandoned) else { return }
        await withCheckedContinuation { savedWaiters.append($0) }
    }

    private static func isWaiting(_ outcome: RunOutcome) -> Bool {
        if case .waitingForPerson = outcome { return true }
        return false
    }

    // MARK: - The person's side

    /// Starts the run with the person's request to the master.
    public func start(_ request: String) {
        self.request = request
        sink.record(.phase(phase))
        deliver("The person asks: \(request)", to: Self.master, from: nil)
    }

    /// The person answers the master: "Approved" ends a phase; anything
    /// else is feedback the master works on.
    public func respond(_ text: String) {
        guard outcome == nil || isWaitingForPerson else { return }
        outcome = nil
        let approved = text.trimmingWhitespace().lowercased().hasPrefix("approve")
        if approved, let next = phase.next {
            phase = next
            sink.record(.phase(phase))
            agents[Self.master]?.forget()
            deliver("The person approved. Now: the \(next.rawValue) phase.", to: Self.master, from: nil)
        } else {
            deliver("The person answers: \(text)", to: Self.master, from: nil)
        }
        // The answer is the person's data: saved now, not with the next
        // step, so a crash before that step does not ask them again.
        persist()
    }

    /// Ends every agent now; files stay as the last completed write left them.
    public func stop() {
        guard outcome == nil || isWaitingForPerson else { return }
        // A run waiting for the person ends as stopped too.
        if isWaitingForPerson { outcome = nil }
        for task in turns.values { task.cancel() }
        turns.removeAll()
        for ref in agents.keys where agents[ref]?.status != .finished { setStatus(.stopped, of: ref) }
        end(.stopped)
    }

    /// Drops the run without recording anything more: its turns are
    /// cancelled, no later step is saved and no event says it ended; returns
    /// once a save in progress has finished. For a run whose workspace is
    /// lost with its worker: it continues from the journal's last step on
    /// the project's new host (docs/agents.md, "Recovery").
    public func abandon() async {
        abandoned = true
        for task in turns.values { task.cancel() }
        turns.removeAll()
        await waitUntilSaved()
    }

    /// Returns when the run has ended or needs the person.
    /// - Throws: `CancellationError` when the waiting task is cancelled.
    public func waitForOutcome() async throws -> RunOutcome {
        if let outcome { return outcome }
        let id = UUID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    outcomeWaiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.cancelWait(id) }
        }
    }

    private func cancelWait(_ id: UUID) {
        outcomeWaiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    /// The agents and their states (tests, status displays).
    public func agentStates() -> [AgentState] { snapshot().agents }

    private var isWaitingForPerson: Bool {
        if case .waitingForPerson? = outcome { return true }
        return false
    }

    private func end(_ result: RunOutcome) {
        guard outcome == nil, !abandoned else { return }
        outcome = result
        sink.record(.ended(result))
        persist()
        let waiters = outcomeWaiters.values
        outcomeWaiters = [:]
        for waiter in waiters { waiter.resume(returning: result) }
    }

    // MARK: - Scheduling

    /// Queues `prompt` for `ref` (creating the agent on first use) and runs
    /// its next turn when it is free.
    private func deliver(_ prompt: String, to ref: AgentRef, from parent: AgentRef?) {
        if agents[ref] == nil {
            agents[ref] = AgentState(ref: ref, parent: parent, progress: ProgressWatch(repeatLimit: configuration.repeatLimit, stallLimit: configuration.stallLimit))
            sink.record(.status(ref, .idle))
        }
        agents[ref]!.queue.append(prompt)
        schedule(ref)
    }

    private func schedule(_ ref: AgentRef) {
        guard outcome == nil, !abandoned, let agent = agents[ref], agent.status != .working, agent.status != .stuck,
              agent.status != .stopped, !agent.queue.isEmpty else { return }
        let prompts = agent.heldResults + agent.queue
        agents[ref]!.queue = []
        agents[ref]!.heldResults = []
        inFlight[ref] = prompts
        setStatus(.working, of: ref)
        turns[ref] = Task { await self.turn(ref, prompts: prompts) }
    }

    private func setStatus(_ status: AgentStatus, of ref: AgentRef) {
        guard agents[ref]?.status != status else { return }
        agents[ref]?.status = status
        sink.record(.status(ref, status))
    }

    // MARK: - One turn

    private func turn(_ ref: AgentRef, prompts: [String]) async {
        let prompt = prompts.joined(separator: "\n\n")
        let request = await buildRequest(for: ref, prompt: prompt)
        // Reserve the most this call can cost: its prompt and the whole reply allowance.
        let reserve = Usage(inputTokens: Self.estimateTokens(request), outputTokens: model.maxOutputTokens, estimated: true)
        guard budget.allows(tokens: reserve.inputTokens + reserve.outputTokens, usd: model.cost(of: reserve)) else {
            end(.budgetExhausted(report: await report(reason: "The budget (\(budget.description)) does not allow the next model call.")))
            return
        }
        let reply: AgentReply
        do {
            reply = try await call(request, for: ref)
        } catch is CancellationError {
            return
        } catch let error as ProviderError where Self.endsTheRun(error) {
            end(.failed(reason: "The model provider refused: \(error)"))
            return
        } catch {
            if Task.isCancelled { return }
            await finishTurn(ref, prompt: prompt, reply: "(no reply: \(error))",
                             outcome: .failed("The model call failed: \(error). Try again, perhaps with a shorter reply."), fingerprint: "error")
            return
        }
        guard !Task.isCancelled, outcome == nil else { return }
        let replyText = reply.toolCalls.first.map { "\($0.name)(\($0.arguments))" } ?? reply.text
        let action: AgentAction
        do {
            action = try parseAndCheck(reply, for: ref)
        } catch {
            var message = error.message
            if reply.finishReason == .length { message += " (Your reply hit the length limit of \(model.maxOutputTokens) tokens: send less at once.)" }
            await finishTurn(ref, prompt: prompt, reply: replyText, outcome: .failed(message), fingerprint: "invalid:\(message)")
            return
        }
        sink.record(.action(ref, action.name, summary: Self.summary(of: action)))
        let result = await perform(action, by: ref)
        // Not cancelled: the turn is complete even when its action ended
        // the run (a FINISH that asks the person), and is counted as such.
        guard !Task.isCancelled else { return }
        await finishTurn(ref, prompt: prompt, reply: Self.remembered(replyText, role: ref.role), outcome: result,
                         fingerprint: "\(action.name.rawValue):\(Self.summary(of: action))→\(result.text.prefix(200))")
    }

    /// Makes one model call (here or on the mesh); its text streams out as tokens.
    private func call(_ request: ModelRequest, for ref: AgentRef) async throws -> AgentReply {
        let sink = self.sink
        let reply = try await runner.takeTurn(request, for: ref) { sink.record(.token(ref, $0)) }
        try Task.checkCancellation()
        if let node = reply.node, nodes[ref] != node {
            nodes[ref] = node
            sink.record(.ranOn(ref, node: node))
        }
        let spent = reply.usage
        let cost = model.cost(of: spent)
        budget.spend(tokens: spent.inputTokens + spent.outputTokens, usd: cost)
        sink.record(.usage(ref, spent, costUSD: cost, totalCostUSD: budget.spentUSD, totalTokens: budget.spentTokens))
        return AgentReply(text: reply.text, toolCalls: reply.toolCalls, finishReason: reply.cutForLength ? .length : .stop)
    }

    private func parseAndCheck(_ reply: AgentReply, for ref: AgentRef) throws(ActionRefusal) -> AgentAction {
        let parsed: AgentAction
        do throws(CommandParseError) {
            if reply.toolCalls.count > 1 {
                throw CommandParseError(message: "One action per reply: you called \(reply.toolCalls.map(\.name).joined(separator: ", ")). Call one tool.", line: 0, column: 0)
            }
            if let call = reply.toolCalls.first {
                parsed = try ActionTools.action(from: call)
            } else {
                parsed = try parser.parse(reply.text)
            }
        } catch {
            let position = error.line > 0 ? " (\(error.line):\(error.column))" : ""
            throw ActionRefusal("PARSING FAILED\(position): \(error.message)")
        }
        return try configuration.policy.check(parsed, by: AgentScope(role: ref.role, path: Self.scopePath(of: ref)), phase: phase)
    }

    /// A model's whole reply.
    struct AgentReply {
        var text: String
        var toolCalls: [ToolCall]
        var finishReason: FinishReason
    }

    /// What a turn led to, for the agent's next prompt.
    enum TurnOutcome {
        /// The result goes back to the agent as its next prompt.
        case result(String, progressed: Bool)
        /// Refused or failed: goes back too, and counts toward escalation.
        case failed(String)
        /// The agent now waits for its children; `note` is sent with their first report.
        case waiting(note: String?)
        /// FINISH: reported to the parent (or the person).
        case finished

        var text: String {
            switch self {
            case .result(let text, _), .failed(let text): text
            case .waiting(let note): note ?? "waiting"
            case .finished: "finished"
            }
        }
    }

    private func finishTurn(_ ref: AgentRef, prompt: String, reply: String, outcome result: TurnOutcome, fingerprint: String) async {
        turns[ref] = nil
        inFlight[ref] = nil
        defer { persist() }
        guard agents[ref] != nil else { return }
        // Counted whatever comes next: the next prompt says the next call
        // number, and a resumed run does not repeat this completed turn.
        agents[ref]!.calls += 1
        guard outcome == nil else { return }
        if case .finished = result {
            schedule(ref)
            return
        }
        agents[ref]!.turns += 1
        agents[ref]!.context.append(ContextEntry(prompt: Self.remembered(prompt, role: ref.role), reply: reply))
        var progressed = false
        switch result {
        case .result(let text, let didProgress):
            progressed = didProgress
            agents[ref]!.errorsInARow = 0
            agents[ref]!.queue.insert(text, at: 0)
            setStatus(.idle, of: ref)
        case .failed(let message):
            sink.record(.actionFailed(ref, message: message))
            agents[ref]!.errorsInARow += 1
            agents[ref]!.queue.insert(message, at: 0)
            setStatus(.idle, of: ref)
        case .waiting(let note):
            progressed = true
            agents[ref]!.errorsInARow = 0
            if let note { agents[ref]!.heldResults.append(note) }
            setStatus(.waiting, of: ref)
        case .finished:
            break
        }
        let watched = agents[ref]!.progress.record(action: fingerprint, progressed: progressed)
        if agents[ref]!.errorsInARow >= configuration.errorLimit {
            await escalate(ref, because: "\(configuration.errorLimit) replies in a row failed (last: \(result.text.prefix(300)))")
        } else if let watched {
            await escalate(ref, because: watched)
        } else if ref.role == .coder && agents[ref]!.turns >= configuration.coderTurnLimit {
            await escalate(ref, because: "it reached its limit of \(configuration.coderTurnLimit) turns without finishing")
        } else {
            schedule(ref)
        }
    }

    /// An agent that cannot go on: its parent decides (at the top, the person).
    private func escalate(_ ref: AgentRef, because reason: String) async {
        setStatus(.stuck, of: ref)
        agents[ref]!.queue = []
        let task = agents[ref]!.task.map { " (Task: \($0.prefix(200)))" } ?? ""
        let message = "[\(ref)\(task)] stopped and needs you: \(reason). Re-plan its task, give it a new one, or do it differently."
        guard let parent = agents[ref]!.parent else {
            sink.record(.toPerson("The run needs you: \(ref) \(reason).", phase: phase))
            end(.waitingForPerson(question: "\(ref) \(reason). Answer with new instructions, or stop the run."))
            agents[ref]!.status = .idle
            agents[ref]!.errorsInARow = 0
            agents[ref]!.progress.reset()
            return
        }
        agents[parent]?.active.remove(ref)
        agents[ref]!.forget()
        deliver(message, to: parent, from: nil)
    }

    // MARK: - Actions

    private func perform(_ action: AgentAction, by ref: AgentRef) async -> TurnOutcome {
        do {
            return try await execute(action, by: ref)
        } catch let refusal as ActionRefusal {
            return .failed("\(action.name.rawValue) failed: \(refusal.message)")
        } catch {
            return .failed("\(action.name.rawValue) failed: \(error)")
        }
    }

    private func execute(_ action: AgentAction, by ref: AgentRef) async throws -> TurnOutcome {
        switch action {
        case .delegate(let assignments):
            var started: [String] = []
            for assignment in assignments {
                let child: AgentRef
                if let target = assignment.target {
                    guard try await workspace.exists(target.path) else {
                        throw ActionRefusal("\(target) does not exist: CREATE it first.")
                    }
                    child = AgentRef(role: target.kind == .folder ? .manager : .coder, path: target.path)
                } else {
                    child = Self.rootManager
                }
                if agents[child]?.status == .working || agents[child]?.status == .waiting {
                    throw ActionRefusal("\(child) is still working on its task: WAIT for its report.")
                }
                agents[ref]!.active.insert(child)
                if agents[child] != nil { agents[child]!.parent = ref; agents[child]!.status = .idle }
                deliver("Your task: \(assignment.prompt)", to: child, from: ref)
                agents[child]!.task = assignment.prompt
                started.append(child.description)
            }
            return .waiting(note: "DELEGATE succeeded: \(started.joined(separator: ", ")) started.")
        case .create(let entries):
            for entry in entries {
                if try await workspace.exists(entry.path) { throw ActionRefusal("\(entry) already exists.") }
                if entry.kind == .folder {
                    try await workspace.createFolder(entry.path)
                } else {
                    try await workspace.write(entry.path, "")
                    sink.record(.fileWritten(ref, path: entry.path, content: ""))
                }
            }
            return .result("CREATE succeeded: \(entries.map(\.description).joined(separator: ", ")).", progressed: true)
        case .delete(let entries):
            for entry in entries {
                guard try await workspace.exists(entry.path) else { throw ActionRefusal("\(entry) does not exist.") }
                if let busy = agents.keys.first(where: { ($0.path == entry.path || $0.path.hasPrefix(entry.path + "/")) && agents[$0]?.status == .working }) {
                    throw ActionRefusal("\(busy) is working on it: WAIT first.")
                }
                try await workspace.delete(entry.path)
                sink.record(.fileDeleted(ref, path: entry.path))
            }
            return .result("DELETE succeeded: \(entries.map(\.description).joined(separator: ", ")).", progressed: true)
        case .read(let entries):
            var parts: [String] = []
            for entry in entries {
                if entry.kind == .folder {
                    let readme = ProjectPaths.join(entry.path, "README.md")
                    if try await workspace.exists(readme) {
                        parts.append("--- \(readme) ---\n" + Self.clipped(try await workspace.read(readme), configuration.readCharacters))
                    } else {
                        let prefix = entry.path.isEmpty ? "" : entry.path + "/"
                        let listing = try await workspace.tree().filter { $0.hasPrefix(prefix) && $0 != prefix }
                        parts.append("--- folder \"\(entry.path)\" (no README) ---\n" + listing.joined(separator: "\n"))
                    }
                } else {
                    guard try await workspace.exists(entry.path) else { throw ActionRefusal("\(entry) does not exist.") }
                    parts.append("--- \(entry.path) ---\n" + Self.clipped(try await workspace.read(entry.path), configuration.readCharacters))
                }
            }
            return .result("READ succeeded:\n" + parts.joined(separator: "\n"), progressed: false)
        case .run(let command, let noTimeout):
            let result = try await workspace.run(command, timeout: noTimeout ? nil : configuration.runTimeout,
                                                 maxOutputBytes: configuration.runOutputCharacters * 4)
            let output = Self.clipped(result.output, configuration.runOutputCharacters)
            sink.record(.commandOutput(ref, command: command, output: output, exitCode: result.exitCode))
            let ending = result.timedOut
                ? "timed out after \(configuration.runTimeout) and was stopped (does it wait for input or loop? ask the master for long installs)"
                : result.exitCode.map { "exited with \($0)" } ?? "was killed"
            return .result("RUN \"\(command)\" \(ending)\(result.truncated ? " (output cut)" : ""):\n\(output)", progressed: false)
        case .change(let content):
            return try await writeOwn(content, by: ref, verb: "CHANGE")
        case .replace(let edits):
            return try await writeOwn(try TextEdits.replace(edits, in: try await readOwn(ref)), by: ref, verb: "REPLACE")
        case .insert(let edits):
            return try await writeOwn(try TextEdits.insert(edits, in: try await readOwn(ref)), by: ref, verb: "INSERT")
        case .scratch(let content):
            agents[ref]!.scratch = content
            return .result("SCRATCH succeeded.", progressed: false)
        case .spawnTester(let prompt):
            agents[ref]!.testersSpawned += 1
            let tester = AgentRef(role: .tester, path: "\(Self.scopePath(of: ref))#tester-\(agents[ref]!.testersSpawned)")
            agents[ref]!.active.insert(tester)
            deliver("Your task: \(prompt)", to: tester, from: ref)
            agents[tester]!.task = prompt
            return .waiting(note: "SPAWN succeeded: \(tester) started.")
        case .wait:
            guard !agents[ref]!.active.isEmpty else {
                throw ActionRefusal("nothing is active: no child or tester is working for you.")
            }
            return .waiting(note: nil)
        case .finish(let message):
            return try finish(ref, message: message)
        case .updateReadme(let content):
            let path = ProjectPaths.join(ref.path, "README.md")
            try await workspace.write(path, content)
            sink.record(.fileWritten(ref, path: path, content: content))
            return .result("UPDATE_README succeeded.", progressed: true)
        case .updateDocumentation(let content):
            try await workspace.write("documentation.md", content)
            sink.record(.fileWritten(ref, path: "documentation.md", content: content))
            return .result("UPDATE_DOCUMENTATION succeeded.", progressed: true)
        }
    }

    private func finish(_ ref: AgentRef, message: String) throws -> TurnOutcome {
        if let busy = agents[ref]!.active.first {
            throw ActionRefusal("\(busy) is still working for you: WAIT for its report before you FINISH.")
        }
        setStatus(.finished, of: ref)
        let task = agents[ref]!.task
        agents[ref]!.forget()
        agents[ref]!.queue = []
        guard let parent = agents[ref]!.parent else {
            sink.record(.toPerson(message, phase: phase))
            if phase == .implementation {
                end(.completed(summary: message))
            } else if configuration.autoApprove {
                respond("Approved")
            } else {
                end(.waitingForPerson(question: message))
            }
            return .finished
        }
        agents[parent]?.active.remove(ref)
        deliver("[\(ref) (Task: \((task ?? "").prefix(200)))] \(message)", to: parent, from: nil)
        return .finished
    }

    /// The file an agent's edits go to: a coder's own file; a tester's edits
    /// go to its scratch pad.
    private func readOwn(_ ref: AgentRef) async throws -> String {
        if ref.role == .tester { return agents[ref]!.scratch }
        return try await workspace.exists(ref.path) ? try await workspace.read(ref.path) : ""
    }

    private func writeOwn(_ content: String, by ref: AgentRef, verb: String) async throws -> TurnOutcome {
        if ref.role == .tester {
            agents[ref]!.scratch = content
            return .result("\(verb) succeeded (your scratch pad).", progressed: false)
        }
        try await workspace.write(ref.path, content)
        sink.record(.fileWritten(ref, path: ref.path, content: content))
        return .result("\(verb) succeeded: \(ref.path) has \(content.split(separator: "\n", omittingEmptySubsequences: false).count) lines.", progressed: true)
    }

    // MARK: - Prompts

    private func buildRequest(for ref: AgentRef, prompt: String) async -> ModelRequest {
        let agent = agents[ref]!
        let actions = configuration.policy.allowedActions(for: ref.role, phase: phase)
        let system = templates.render(PromptTemplates.name(for: ref.role, phase: phase), [
            "agent": "agent: \(ref)",
            "path": Self.scopePath(of: ref),
            "readme": ProjectPaths.join(ref.path, "README.md"),
            "actions": actions.map(\.rawValue).joined(separator: ", "),
            "language": templates.render(model.nativeTools ? "tools" : "commands", [:]),
        ])
        var sections: [(String, String)] = []
        if let task = agent.task { sections.append(("Your task", task)) }
        if let memory = await memory(for: ref) { sections.append(memory) }
        if !agent.scratch.isEmpty { sections.append(("Your scratch pad", agent.scratch)) }
        let tree = (try? await workspace.tree()) ?? []
        sections.append(("Project tree", Self.collapsed(tree).joined(separator: "\n")))
        let children = agents.values.filter { $0.parent == ref }.map { "\($0.ref): \($0.status.rawValue)\(agent.active.contains($0.ref) ? " (active)" : "")" }.sorted()
        if !children.isEmpty { sections.append(("Your children", children.joined(separator: "\n"))) }
        // Trim the oldest context first, then everything but the prompt, to fit the window.
        let budgetCharacters = max(2_000, (model.contextWindow - model.maxOutputTokens) * 4) - system.count - prompt.count - 200
        var context = agent.context
        func render() -> String {
            var text = sections.map { "# \($0.0)\n\($0.1)" }.joined(separator: "\n\n")
            if !context.isEmpty {
                text += "\n\n# Earlier in this task\n" + context.map { "> \($0.prompt)\n< \($0.reply)" }.joined(separator: "\n")
            }
            return text
        }
        var body = render()
        while body.count > budgetCharacters && !context.isEmpty {
            context.removeFirst()
            body = render()
        }
        if body.count > budgetCharacters { body = String(body.prefix(max(0, budgetCharacters))) + "\n(cut to fit the model's context window)" }
        var now = prompt
        // Whether to WAIT or go on: said plainly (reports may arrive together).
        if !agent.active.isEmpty {
            now += "\n\nStill working for you: \(agent.active.map(\.description).sorted().joined(separator: ", "))."
        } else if agents.values.contains(where: { $0.parent == ref }) {
            now += "\n\nNobody is working for you now."
        }
        let user = body + "\n\n# Now (call \(agent.calls + 1))\n" + now
        return ModelRequest(model: model.model, system: system, messages: [.user(user)],
                            tools: model.nativeTools ? ActionTools.definitions(for: actions) : [],
                            maxOutputTokens: model.maxOutputTokens)
    }

    /// The files an agent re-reads on every call: the documentation for the
    /// master, its README for a manager.
    private func memory(for ref: AgentRef) async -> (String, String)? {
        let file: String
        switch ref.role {
        case .master: file = "documentation.md"
        case .manager: file = ProjectPaths.join(ref.path, "README.md")
        case .coder, .tester: return nil
        }
        guard (try? await workspace.exists(file)) == true, let text = try? await workspace.read(file), !text.isEmpty else { return nil }
        return ("Memory (\(file))", Self.clipped(text, 20_000))
    }

    // MARK: - Helpers

    /// Provider errors no retry of the same call fixes: the person must act
    /// (a key, a quota, a model name, a prompt the trimming could not fit).
    /// Anything else fails the turn; the agent tries again, and repeated
    /// failures escalate like any other.
    static func endsTheRun(_ error: ProviderError) -> Bool {
        switch error {
        case .invalidKey, .authentication, .permissionDenied, .unknownModel, .quotaExhausted, .notConfigured, .badRequest,
             .contextOverflow, .leftTheRecording:
            true
        case .rateLimited, .serverError, .timeout, .connectionFailed, .unreachable, .streamInterrupted, .malformedEvent,
             .malformedToolArguments, .refusal:
            false
        }
    }

    /// The path an agent's scope is about: a tester's is its owner's.
    static func scopePath(of ref: AgentRef) -> String {
        ref.role == .tester ? String(ref.path.split(separator: "#").first ?? "") : ref.path
    }

    static func collapsed(_ tree: [String]) -> [String] {
        var result: [String] = []
        var hidden: String?
        for entry in tree {
            if let prefix = hidden, entry.hasPrefix(prefix) { continue }
            hidden = nil
            let name = entry.hasSuffix("/") ? String(entry.dropLast().split(separator: "/").last ?? "") : ""
            if !name.isEmpty, collapsedFolders.contains(name) {
                result.append(entry + " (…)")
                hidden = entry
            } else {
                result.append(entry)
            }
        }
        return result
    }

    static func clipped(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "\n… (\(text.count - limit) more characters cut)"
    }

    /// What an agent keeps of a long prompt or reply in its context.
    static func remembered(_ text: String, role: AgentRole) -> String {
        let limit = role == .coder || role == .tester ? 300 : 2_000
        return clipped(text, limit)
    }

    static func estimateTokens(_ request: ModelRequest) -> Int {
        ((request.system?.count ?? 0) + request.messages.reduce(0) { $0 + $1.text.count } + request.tools.reduce(0) { $0 + $1.parameters.count }) / 4 + 16
    }

    static func summary(of action: AgentAction) -> String {
        switch action {
        case .delegate(let assignments): assignments.map { $0.target?.description ?? "root manager" }.joined(separator: ", ")
        case .create(let entries), .delete(let entries), .read(let entries): entries.map(\.description).joined(separator: ", ")
        case .run(let command, _): command
        case .change(let content): "\(content.count) characters"
        case .replace(let edits), .insert(let edits): "\(edits.count) edit(s)"
        case .scratch: "notes"
        case .spawnTester(let prompt): String(prompt.prefix(80))
        case .wait: ""
        case .finish(let message): String(message.prefix(80))
        case .updateReadme, .updateDocumentation: "updated"
        }
    }

    private func report(reason: String) async -> String {
        let finished = agents.values.filter { $0.status == .finished }.map(\.ref.description).sorted()
        let open = agents.values.filter { $0.status != .finished }.map { "\($0.ref) (\($0.status.rawValue))" }.sorted()
        let files = ((try? await workspace.tree()) ?? []).filter { !$0.hasSuffix("/") }
        return "\(reason)\nDone: \(finished.isEmpty ? "nothing finished yet" : finished.joined(separator: ", ")).\n"
            + "Left: \(open.isEmpty ? "nothing" : open.joined(separator: ", ")).\nFiles: \(files.count) (\(budget.description))."
    }
}

extension ProjectPhase {
    var next: ProjectPhase? {
        switch self {
        case .understanding: .structure
        case .structure: .implementation
        case .implementation: nil
        }
    }
}
