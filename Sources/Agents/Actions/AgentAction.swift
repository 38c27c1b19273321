/// An entry of the project tree an action names: a file or a folder, by
/// its path relative to the project root (checked by `ActionPolicy`).
public struct ProjectEntry: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        case file, folder
    }

    public var kind: Kind
    public var path: String

    public init(_ kind: Kind, _ path: String) {
        self.kind = kind
        self.path = path
    }

    public var description: String { "\(kind.rawValue) \"\(path)\"" }
}

/// One task handed down: to a child entry (a manager's DELEGATE), or to the
/// root manager when `target` is nil (the master's DELEGATE).
public struct Assignment: Hashable, Sendable, Codable {
    public var target: ProjectEntry?
    public var prompt: String

    public init(target: ProjectEntry?, prompt: String) {
        self.target = target
        self.prompt = prompt
    }
}

/// One text edit: REPLACE `from` with `to`, or INSERT `to` after the anchor `from`.
public struct TextEdit: Hashable, Sendable, Codable {
    public var from: String
    public var to: String

    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }
}

/// Every action an agent can take (docs/agents.md, "Actions"): one per
/// model reply, offered as native tool calls (`ActionTools`) or as the text
/// command language (`CommandParser`). Which role may take which, and on
/// what, is `ActionPolicy`'s to say.
public enum AgentAction: Hashable, Sendable, Codable {
    /// Hand tasks to children; several run in parallel.
    case delegate([Assignment])
    /// Make entries (each gets a child agent) in the manager's directory.
    case create([ProjectEntry])
    case delete([ProjectEntry])
    /// Read files (a folder: its README) anywhere in the project.
    case read([ProjectEntry])
    /// Run a command in the project's sandbox; `noTimeout` for the master's installs.
    case run(command: String, noTimeout: Bool)
    /// Replace the agent's file (a tester's: its scratch pad) with `content`.
    case change(content: String)
    /// Each `from` must occur exactly once; replaced by `to`.
    case replace([TextEdit])
    /// `to` inserted after each anchor `from`, which must occur exactly once.
    case insert([TextEdit])
    /// Replace the coder's scratch pad.
    case scratch(content: String)
    /// Start a short-lived tester with this task.
    case spawnTester(prompt: String)
    /// Idle until a child or tester reports.
    case wait
    /// Done: the message goes to the parent (the master's to the person).
    case finish(message: String)
    case updateReadme(content: String)
    case updateDocumentation(content: String)

    public var name: ActionName {
        switch self {
        case .delegate: .delegate
        case .create: .create
        case .delete: .delete
        case .read: .read
        case .run: .run
        case .change: .change
        case .replace: .replace
        case .insert: .insert
        case .scratch: .scratch
        case .spawnTester: .spawn
        case .wait: .wait
        case .finish: .finish
        case .updateReadme: .updateReadme
        case .updateDocumentation: .updateDocumentation
        }
    }
}

/// The actions by name: the command word of the text language, and (lower
/// case) the tool name.
public enum ActionName: String, Sendable, Codable, CaseIterable {
    case delegate = "DELEGATE"
    case create = "CREATE"
    case delete = "DELETE"
    case read = "READ"
    case run = "RUN"
    case change = "CHANGE"
    case replace = "REPLACE"
    case insert = "INSERT"
    case scratch = "SCRATCH"
    case spawn = "SPAWN"
    case wait = "WAIT"
    case finish = "FINISH"
    case updateReadme = "UPDATE_README"
    case updateDocumentation = "UPDATE_DOCUMENTATION"

    /// The native tool's name.
    public var toolName: String { self == .spawn ? "spawn_tester" : rawValue.lowercased() }
}
