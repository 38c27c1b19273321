import Agents
import ArgumentParser
import Foundation
import Logging
import Providers
import Synchronization
import UnixSignals
import Workspace

/// `hma new "PROMPT" --dir DIR` and `hma resume DIR`: a whole project from
/// the terminal (docs/agents.md, "Headless use"). Exit codes: 0 finished,
/// 2 budget reached, 3 waiting for the person (no answer given), 4 the
/// provider failed, 130 stopped.
struct NewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Build a project from a request, in the terminal: the agents work in DIR, with live progress.")

    @Argument(help: "What to build, in plain language.")
    var request: String

    @OptionGroup var options: RunOptions

    func run() async throws {
        let folder = try options.projectFolder(creating: true)
        if FileManager.default.fileExists(atPath: RunFiles(folder: folder).journal) {
            throw ValidationError("\(folder) already has a run; continue it with `hma resume \(folder)`.")
        }
        let settings = RunFiles.Settings(request: request, provider: options.provider, model: options.model, budgetUSD: options.budget,
                                         budgetTokens: options.budgetTokens, textCommands: options.textCommands,
                                         contextWindow: options.contextWindow)
        try RunFiles(folder: folder).save(settings)
        throw ExitCode(try await Headless(folder: folder, settings: settings, approve: options.yes, sandbox: options.sandbox).run(resume: false))
    }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Continue a run `hma new` started in DIR (after a crash, a stop or a question).")

    @Argument(help: "The project folder.")
    var dir: String

    @Flag(help: "Approve each phase without asking.")
    var yes = false

    @Option(help: "bwrap, docker or none (unsafe: no isolation).")
    var sandbox: String?

    func run() async throws {
        let folder = (dir as NSString).standardizingPath
        guard let settings = try RunFiles(folder: folder).loadSettings() else {
            throw ValidationError("\(folder) has no run to resume (start one with `hma new \"…\" --dir \(folder)`).")
        }
        throw ExitCode(try await Headless(folder: folder, settings: settings, approve: yes, sandbox: sandbox).run(resume: true))
    }
}

struct RunOptions: ParsableArguments {
    @Option(help: "The project folder (created if missing).")
    var dir: String

    @Option(help: "The provider: \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")) (default: the first configured; demo without any).")
    var provider: String?

    @Option(help: "The model id (default: the provider's default in the catalogue).")
    var model: String?

    @Option(help: "Stop cleanly before spending more than this many US dollars.")
    var budget: Double?

    @Option(name: .customLong("budget-tokens"), help: "Stop cleanly before spending more than this many tokens.")
    var budgetTokens: Int?

    @Flag(help: "Approve each phase without asking.")
    var yes = false

    @Flag(name: .customLong("text-commands"), help: "Use the text command language instead of native tool calls.")
    var textCommands = false

    @Option(name: .customLong("context-window"), help: "The tokens the model is served with, when its server cannot say (llama-cpp-python's --n_ctx).")
    var contextWindow: Int?

    @Option(help: "bwrap, docker or none (unsafe: no isolation).")
    var sandbox: String?

    func projectFolder(creating: Bool) throws -> String {
        let folder = (dir as NSString).standardizingPath
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }
}

/// The files `hma new` keeps in DIR/.hma: its settings and the run's journal.
struct RunFiles {
    struct Settings: Codable {
        var request: String
        var provider: String?
        var model: String?
        var budgetUSD: Double?
        var budgetTokens: Int?
        var textCommands: Bool
        var contextWindow: Int?
    }

    let folder: String
    var settings: String { folder + "/.hma/settings.json" }
    var journal: String { folder + "/.hma/run.json" }

    func save(_ value: Settings) throws {
        try FileManager.default.createDirectory(atPath: folder + "/.hma", withIntermediateDirectories: true)
        try JSONEncoder().encode(value).write(to: URL(fileURLWithPath: settings), options: .atomic)
    }

    func loadSettings() throws -> Settings? {
        guard let data = FileManager.default.contents(atPath: settings) else { return nil }
        return try JSONDecoder().decode(Settings.self, from: data)
    }
}

/// One headless run: the model, the workspace, the progress display, the
/// person at the terminal.
struct Headless {
    let folder: String
    let settings: RunFiles.Settings
    let approve: Bool
    let sandbox: String?

    func run(resume: Bool) async throws -> Int32 {
        var wanted = ModelChoice.Request(provider: settings.provider, model: settings.model)
        wanted.textCommands = settings.textCommands
        wanted.contextWindow = settings.contextWindow
        let chosen: ModelChoice.Chosen
        do { chosen = try await ModelChoice.choose(wanted, environment: ProcessInfo.processInfo.environment) } catch {
            throw ValidationError("\(error)")
        }
        for note in chosen.notes { print("hma: \(note)") }
        let model = chosen.model

        var sandboxConfiguration = SandboxConfiguration()
        if let sandbox {
            guard let kind = SandboxKind(rawValue: sandbox) else { throw ValidationError("--sandbox is bwrap, docker or none") }
            sandboxConfiguration.kind = kind
        }
        // One uid per project folder, stable across runs (its files keep their owner).
        let uid = 200_000 + UInt32(folder.utf8.reduce(UInt32(5381)) { ($0 &* 33) &+ UInt32($1) } % 50_000)
        let projectSandbox: any Sandbox
        do {
            projectSandbox = try SandboxFactory.make(projectRoot: folder, projectID: "cli-\(uid)", uid: uid, configuration: sandboxConfiguration)
        } catch {
            throw ValidationError("\(error)")
        }
        defer { projectSandbox.shutdown() }
        let files = try ProjectFiles(root: folder, owner: getuid() == 0 && sandboxConfiguration.kind != SandboxKind.none ? (uid, uid) : nil)
        var configuration = RunConfiguration()
        configuration.autoApprove = approve
        configuration.budget = Budget(limitUSD: settings.budgetUSD, limitTokens: settings.budgetTokens)
        let display = ProgressDisplay(tty: isatty(STDOUT_FILENO) == 1)
        let journal = FileRunJournal(path: RunFiles(folder: folder).journal)
        let run = ProjectRun(configuration: configuration, model: model, workspace: LocalWorkspace(files: files, sandbox: projectSandbox),
                             sink: display, templates: try PromptTemplates.load(), journal: journal)
        print("hma: building in \(folder) with \(chosen.summary)")
        if resume, let snapshot = try await journal.load() {
            await run.resume(from: snapshot)
        } else {
            await run.start(settings.request)
        }
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let stopper = Task {
            for await _ in signals {
                display.line("hma: stopping (files stay as the last completed step left them; `hma resume \(folder)` continues)")
                await run.stop()
                return
            }
        }
        defer { stopper.cancel() }
        while true {
            let outcome = try await run.waitForOutcome()
            await run.waitUntilSaved()
            display.finish()
            switch outcome {
            case .completed(let summary):
                print("hma: done. \(summary)\n\(await run.budget.description)")
                return 0
            case .budgetExhausted(let report):
                print("hma: stopped at the budget.\n\(report)\nRaise it with `hma resume \(folder)` after editing \(RunFiles(folder: folder).settings).")
                return 2
            case .stopped:
                return 130
            case .failed(let reason):
                print("hma: \(reason)")
                return 4
            case .waitingForPerson(let question):
                print("\nhma asks: \(question)")
                print("> ", terminator: "")
                guard let answer = readLine(), !answer.trimmingCharacters(in: .whitespaces).isEmpty else {
                    print("\nhma: no answer; `hma resume \(folder)` continues where it stopped.")
                    return 3
                }
                await run.respond(answer)
            }
        }
    }
}

/// Shows a run's progress: on a terminal, a board of agents redrawn in
/// place; otherwise one plain line per event that matters.
final class ProgressDisplay: AgentEventSink {
    private struct Board {
        let tty: Bool
        var statuses: [String: AgentStatus] = [:]
        var order: [String] = []
        var filesWritten: Set<String> = []
        var tokens = 0
        var cost = 0.0
        var drawnLines = 0
        var lastDraw = ContinuousClock.now - .seconds(1)

        mutating func record(_ event: AgentEvent) {
            switch event {
            case .status(let agent, let status):
                if statuses[agent.description] == nil { order.append(agent.description) }
                statuses[agent.description] = status
                if !tty { emit("\(agent): \(status.rawValue)") }
            case .action(let agent, let name, let summary):
                if !tty { emit("\(agent): \(name.rawValue) \(summary)") }
            case .actionFailed(let agent, let message):
                if !tty { emit("\(agent): failed: \(message.prefix(200))") }
            case .fileWritten(_, let path, _):
                filesWritten.insert(path)
            case .commandOutput(let agent, let command, _, let code):
                if !tty { emit("\(agent): ran \(command) → \(code.map { "exit \($0)" } ?? "stopped")") }
            case .usage(_, _, _, let total, let totalTokens):
                cost = total
                tokens = totalTokens
            case .toPerson(let message, let phase):
                emitAbove("master (\(phase.rawValue)): \(message)")
            case .phase(let phase):
                emitAbove("phase: \(phase.rawValue)")
            case .token, .fileDeleted, .ended, .ranOn:
                break
            }
            if tty { redraw() }
        }

        func emit(_ text: String) {
            print(text)
            fflush(nil)
        }

        /// A line outside the board (the board is redrawn below it).
        mutating func emitAbove(_ text: String) {
            if tty { clearBoard() }
            emit(text)
            if tty { redraw(force: true) }
        }

        mutating func clearBoard() {
            guard drawnLines > 0 else { return }
            print("\u{1B}[\(drawnLines)A\u{1B}[J", terminator: "")
            drawnLines = 0
        }

        mutating func redraw(force: Bool = false) {
            guard force || ContinuousClock.now - lastDraw > .milliseconds(100) else { return }
            lastDraw = .now
            clearBoard()
            let finished = statuses.values.filter { $0 == .finished }.count
            var lines = ["agents \(statuses.count) (\(finished) finished) · files \(filesWritten.count) · \(tokens) tokens · $\(String(format: "%.4f", cost))"]
            for agent in order.suffix(20) { lines.append("  \(statuses[agent]!.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(agent)") }
            emit(lines.joined(separator: "\n"))
            drawnLines = lines.count
        }
    }

    private let board: Mutex<Board>

    init(tty: Bool) { board = Mutex(Board(tty: tty)) }

    func record(_ event: AgentEvent) { board.withLock { $0.record(event) } }

    func line(_ text: String) { board.withLock { $0.emitAbove(text) } }

    /// Draws the board one last time and leaves it on the screen.
    func finish() {
        board.withLock { board in
            if board.tty { board.redraw(force: true) }
            board.drawnLines = 0
        }
    }
}
