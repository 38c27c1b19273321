/// Why an action was refused; goes back to the agent as its next prompt.
public struct ActionRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Who an agent is, for permission and scope checks.
public struct AgentScope: Hashable, Sendable, Codable {
    public var role: AgentRole
    /// The manager's directory ("" for the root manager), the coder's file,
    /// the file a tester was spawned for ("" for the master and its testers).
    public var path: String

    public init(role: AgentRole, path: String) {
        self.role = role
        self.path = path
    }
}

/// Which commands RUN accepts from each role: a command must start with one
/// of the role's prefixes (whole words) and use no shell control characters,
/// so `pytest; curl …` is not `pytest`. The master is unrestricted (it
/// scaffolds and installs); everything runs in the project's sandbox anyway.
public struct RunPolicy: Sendable, Codable, Equatable {
    public var prefixes: [AgentRole: [String]]

    public init(prefixes: [AgentRole: [String]]) { self.prefixes = prefixes }

    /// Tests, type checkers, linters and interpreters of the languages the
    /// samples use (docs/agents.md, "RUN").
    public static let standard: RunPolicy = {
        let common = [
            "npm test", "npm run", "npx tsc", "npx vitest", "npx jest", "node", "tsc",
            "python", "python3", "pytest", "python -m", "python3 -m", "flake8", "black", "isort", "mypy", "ruff",
            "go test", "go vet", "go build", "cargo test", "cargo check", "cargo build", "swift test", "swift build",
            "ls", "cat", "head", "tail", "wc", "grep", "find", "diff",
        ]
        return RunPolicy(prefixes: [.manager: common, .coder: common, .tester: common])
    }()

    /// Characters that chain, redirect or substitute commands in a shell.
    static let controlCharacters: Set<Character> = [";", "&", "|", ">", "<", "`", "$", "\n", "\r"]

    public func check(_ command: String, role: AgentRole) throws(ActionRefusal) {
        let trimmed = command.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw ActionRefusal("RUN needs a command.") }
        guard role != .master else { return }
        let allowed = prefixes[role] ?? []
        if let bad = trimmed.first(where: { Self.controlCharacters.contains($0) }) {
            throw ActionRefusal("RUN refused: \"\(bad)\" is not allowed for a \(role.rawValue) (one plain command, no chaining, pipes or redirection).")
        }
        let words = trimmed.split(whereSeparator: \.isWhitespace)
        let matches = allowed.contains { prefix in
            let prefixWords = prefix.split(separator: " ")
            return words.count >= prefixWords.count && zip(words, prefixWords).allSatisfy { $0 == $1 }
        }
        guard matches else {
            throw ActionRefusal("RUN refused: a \(role.rawValue) may run only commands starting with \(allowed.joined(separator: ", ")). Ask your parent if you need something else.")
        }
    }
}

/// What each role may do, and on what (docs/agents.md, "Permissions"):
/// the checks every action passes before it runs, whether it came as a
/// tool call or a command.
public struct ActionPolicy: Sendable {
    public var run: RunPolicy

    public init(run: RunPolicy = .standard) { self.run = run }

    /// The actions a role may take in a phase (the tools it is offered).
    public func allowedActions(for role: AgentRole, phase: ProjectPhase) -> [ActionName] {
        switch role {
        case .master:
            return phase == .implementation
                ? [.delegate, .spawn, .finish, .read, .wait, .run, .updateDocumentation]
                : [.finish, .read, .run, .updateDocumentation]
        case .manager: return [.delegate, .spawn, .finish, .create, .delete, .read, .run, .wait, .updateReadme]
        case .coder: return [.read, .run, .change, .replace, .insert, .scratch, .spawn, .wait, .finish]
        case .tester: return [.read, .run, .change, .replace, .insert, .scratch, .finish]
        }
    }

    /// Checks `action` for `agent`; returns it with every path normalised.
    public func check(_ action: AgentAction, by agent: AgentScope, phase: ProjectPhase) throws(ActionRefusal) -> AgentAction {
        let allowed = allowedActions(for: agent.role, phase: phase)
        guard allowed.contains(action.name) else {
            var message = "\(action.name.rawValue) is not available to a \(agent.role.rawValue)"
            if agent.role == .master && phase != .implementation { message += " in the \(phase.rawValue) phase" }
            throw ActionRefusal(message + ". You may use: \(allowed.map(\.rawValue).joined(separator: ", ")).")
        }
        switch action {
        case .delegate(let assignments):
            guard !assignments.isEmpty else { throw ActionRefusal("DELEGATE needs at least one task.") }
            if agent.role == .master {
                guard assignments.count == 1, assignments[0].target == nil else {
                    throw ActionRefusal("The master delegates to the root manager only: DELEGATE PROMPT=\"…\" (no file or folder).")
                }
                return action
            }
            var checked: [Assignment] = []
            for assignment in assignments {
                guard let target = assignment.target else {
                    throw ActionRefusal("DELEGATE: name the child, e.g. DELEGATE file \"\(ProjectPaths.join(agent.path, "main.py"))\" PROMPT=\"…\".")
                }
                checked.append(Assignment(target: try childEntry(target, of: agent, verb: "DELEGATE"), prompt: assignment.prompt))
            }
            try unique(checked.compactMap(\.target), verb: "DELEGATE")
            return .delegate(checked)
        case .create(let entries):
            let checked = try entries.map { (entry: ProjectEntry) throws(ActionRefusal) in try childEntry(entry, of: agent, verb: "CREATE") }
            try unique(checked, verb: "CREATE")
            return .create(checked)
        case .delete(let entries):
            return .delete(try entries.map { (entry: ProjectEntry) throws(ActionRefusal) in try childEntry(entry, of: agent, verb: "DELETE") })
        case .read(let entries):
            return .read(try entries.map { (entry: ProjectEntry) throws(ActionRefusal) in
                let path = try ProjectPaths.normalize(entry.path, allowRoot: entry.kind == .folder)
                if ProjectPaths.isReserved(path) { throw ActionRefusal("READ: \"\(path)\" is reserved (git's and the run's own files).") }
                return ProjectEntry(entry.kind, path)
            })
        case .run(let command, let noTimeout):
            if noTimeout && agent.role != .master { throw ActionRefusal("RUN NO_TIMEOUT is the master's only (installs).") }
            try run.check(command, role: agent.role)
            return action
        case .replace(let edits), .insert(let edits):
            if let empty = edits.first(where: { $0.from.isEmpty }) {
                throw ActionRefusal("\(action.name.rawValue): FROM cannot be empty (to \"\(empty.to.prefix(20))…\").")
            }
            return action
        case .change, .scratch, .spawnTester, .wait, .finish, .updateReadme, .updateDocumentation:
            return action
        }
    }

    /// `entry` as a direct child of the manager's directory.
    private func childEntry(_ entry: ProjectEntry, of agent: AgentScope, verb: String) throws(ActionRefusal) -> ProjectEntry {
        let path = try ProjectPaths.normalize(entry.path, allowRoot: false)
        guard ProjectPaths.parent(of: path) == agent.path else {
            let directory = agent.path.isEmpty ? "the project root" : "\"\(agent.path)\""
            throw ActionRefusal("\(verb) \(entry.kind.rawValue) \"\(entry.path)\" is not within this manager's scope: a manager acts on the entries directly in \(directory) (its children). Ask your parent about other folders.")
        }
        if ProjectPaths.isReserved(path) {
            throw ActionRefusal("\(verb): \"\(path)\" is reserved (the project's git repository).")
        }
        return ProjectEntry(entry.kind, path)
    }

    private func unique(_ entries: [ProjectEntry], verb: String) throws(ActionRefusal) {
        var seen: Set<String> = []
        for entry in entries where !seen.insert(entry.path).inserted {
            throw ActionRefusal("\(verb) names \"\(entry.path)\" twice.")
        }
    }
}

/// Project-relative paths as agents write them, checked without touching
/// the disk (the workspace checks again against the real tree).
public enum ProjectPaths {
    /// The path with `.` parts, repeated and trailing slashes removed.
    /// - Throws: for absolute paths, `..`, empty paths (unless `allowRoot`
    ///   and the path names the root), and control characters.
    public static func normalize(_ path: String, allowRoot: Bool) throws(ActionRefusal) -> String {
        if path.hasPrefix("/") || path.hasPrefix("~") {
            throw ActionRefusal("\"\(path)\" is absolute: paths are relative to the project root, e.g. \"src/app.py\".")
        }
        if path.contains(where: { $0.isNewline || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true }) || path.contains("\\") {
            throw ActionRefusal("\"\(path.debugDescription)\" has a control character or a backslash: use plain relative paths with \"/\".")
        }
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { throw ActionRefusal("\"\(path)\" leaves its folder with \"..\": name paths from the project root.") }
            parts.append(part)
        }
        if parts.isEmpty && !allowRoot { throw ActionRefusal("An empty path names nothing: give a file or folder name.") }
        return parts.joined(separator: "/")
    }

    /// The folder holding `path` ("" for the root's entries).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    public static func join(_ folder: String, _ name: String) -> String { folder.isEmpty ? name : folder + "/" + name }

    /// `.git` anywhere in the path, or the run's own `.hma` folder at the
    /// root: not the agents' to touch.
    public static func isReserved(_ path: String) -> Bool {
        path.split(separator: "/").contains(".git") || path == ".hma" || path.hasPrefix(".hma/")
    }
}
