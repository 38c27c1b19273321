import Agents
import Foundation
import Providers
import Storage

/// Turns a run's `AgentEvent`s into protocol events (docs/protocol.md,
/// "Run events"), and says which become chat messages in the database.
/// Pure: no I/O, tested alone.
struct EventTranslator: Sendable {
    /// What one agent event becomes.
    enum Output: Equatable {
        /// A session event.
        case frame(ServerFrame)
        /// Model tokens: coalesced by the hub before they go out.
        case tokens(agentId: String, filePath: String?, text: String)
        /// A chat message to store first, then send as `message`.
        case message(sender: MessageSender, content: String, agentId: String?, metadata: JSONValue?)
    }

    var projectId: String
    var sessionId: String
    /// The node that runs the run (the gateway); an agent whose model
    /// calls run elsewhere is shown on that node (`nodes`).
    var node: String
    var budgetUSD: Double?
    /// Where each agent's model calls run, by agent id, when not here.
    var nodes: [String: String] = [:]

    static func agentId(_ ref: AgentRef) -> String {
        ref.path.isEmpty && ref.role == .master ? "master" : "\(ref.role.rawValue):\(ref.path)"
    }

    /// The agent that directs `ref`, by the hierarchy's layout: a folder's
    /// manager answers to its parent folder's manager (the root manager to
    /// the master), a file's coder to its folder's manager, a tester to
    /// the coder of its file.
    static func parentId(_ ref: AgentRef) -> String? {
        func folder(of path: String) -> String {
            guard let slash = path.lastIndex(of: "/") else { return "" }
            return String(path[..<slash])
        }
        switch ref.role {
        case .master: return nil
        case .manager: return ref.path.isEmpty ? "master" : "manager:" + folder(of: ref.path)
        case .coder: return "manager:" + folder(of: ref.path)
        case .tester:
            let file = ref.path.split(separator: "#").first.map(String.init) ?? ref.path
            return "coder:" + file
        }
    }

    static func status(_ status: AgentStatus) -> String {
        switch status {
        case .idle, .stopped: return "inactive"
        case .working: return "active"
        case .waiting: return "waiting"
        case .finished: return "completed"
        case .stuck: return "error"
        }
    }

    func agent(_ ref: AgentRef, status: String, task: String?) -> [String: JSONValue] {
        [
            "agentId": .string(Self.agentId(ref)), "parentId": .optional(Self.parentId(ref)), "role": .string(ref.role.rawValue),
            "path": .string(ref.path), "status": .string(status), "task": .optional(task),
            "node": .string(nodes[Self.agentId(ref)] ?? node),
        ]
    }

    mutating func translate(_ event: AgentEvent) -> [Output] {
        switch event {
        case .ranOn(let ref, let node):
            nodes[Self.agentId(ref)] = node
            return [.frame(ServerFrame("agent_update", agent(ref, status: "active", task: nil)))]
        case .status(let ref, let status):
            return [.frame(ServerFrame("agent_update", agent(ref, status: Self.status(status), task: nil)))]
        case .token(let ref, let text):
            return [.tokens(agentId: Self.agentId(ref), filePath: ref.role == .coder ? ref.path : nil, text: text)]
        case .action(let ref, let name, let summary):
            return [.frame(ServerFrame("agent_update", agent(ref, status: "active", task: "\(name.rawValue): \(summary)")))]
        case .actionFailed(let ref, let message):
            return [.message(sender: .system, content: message, agentId: Self.agentId(ref), metadata: ["kind": "action_failed"])]
        case .fileWritten(let ref, let path, let content):
            return [
                .frame(ServerFrame("file_tree_update", [
                    "action": "update", "filePath": .string(path), "fileType": "file", "content": .string(content),
                    "projectId": .string(projectId),
                ])),
                .frame(ServerFrame("code_stream", [
                    "agentId": .string(Self.agentId(ref)), "filePath": .string(path), "content": .string(content),
                    "isComplete": true, "syntax": .string(Self.syntax(of: path)),
                ])),
            ]
        case .fileDeleted(_, let path):
            return [.frame(ServerFrame("file_tree_update", [
                "action": "delete", "filePath": .string(path), "fileType": "file", "projectId": .string(projectId),
            ]))]
        case .commandOutput(let ref, let command, let output, let exitCode):
            return [.message(sender: .system, content: "$ \(command)\n\(output)", agentId: Self.agentId(ref),
                             metadata: ["kind": "command", "command": .string(command), "exitCode": exitCode.map { .int(Int64($0)) } ?? .null])]
        case .usage(let ref, let usage, let cost, let total, _):
            return [.frame(ServerFrame("token_usage", [
                "agentId": .string(Self.agentId(ref)), "inputTokens": .int(usage.inputTokens), "outputTokens": .int(usage.outputTokens),
                "costUsd": .double(cost), "projectTotalUsd": .double(total), "budgetUsd": budgetUSD.map(JSONValue.double) ?? .null,
            ]))]
        case .toPerson(let text, let phase):
            return [.message(sender: .assistant, content: text, agentId: "master", metadata: ["phase": .string(phase.rawValue)])]
        case .phase(let phase):
            return [.frame(ServerFrame("project_init_status", [
                "phase": .string(phase.rawValue), "phaseTitle": .string(Self.title(of: phase)), "status": "active",
                "requiresApproval": .bool(phase != .implementation), "message": .string("The \(phase.rawValue) phase has begun."),
                "sessionId": .string(sessionId),
            ]))]
        case .ended(let outcome):
            return [.frame(projectStatus(for: outcome))]
        }
    }

    func projectStatus(for outcome: RunOutcome) -> ServerFrame {
        let (status, message): (String, String)
        switch outcome {
        case .completed(let summary): (status, message) = ("completed", summary)
        case .budgetExhausted(let report): (status, message) = ("stopped", report)
        case .stopped: (status, message) = ("stopped", "Stopped.")
        case .waitingForPerson(let question): (status, message) = ("waiting", question)
        case .failed(let reason): (status, message) = ("error", reason)
        }
        return ServerFrame("project_status", [
            "projectId": .string(projectId), "sessionId": .string(sessionId), "status": .string(status), "message": .string(message),
        ])
    }

    static func title(of phase: ProjectPhase) -> String {
        switch phase {
        case .understanding: return "Understanding the request"
        case .structure: return "Structure and setup"
        case .implementation: return "Implementation"
        }
    }

    /// The editor's language for a file, by extension.
    static func syntax(of path: String) -> String {
        let known: [String: String] = [
            "py": "python", "js": "javascript", "mjs": "javascript", "ts": "typescript", "tsx": "typescript", "jsx": "javascript",
            "json": "json", "md": "markdown", "html": "html", "css": "css", "swift": "swift", "go": "go", "rs": "rust",
            "java": "java", "c": "c", "h": "c", "cpp": "cpp", "sh": "shell", "toml": "toml", "yml": "yaml", "yaml": "yaml",
        ]
        let ext = (path as NSString).pathExtension.lowercased()
        return known[ext] ?? "plaintext"
    }
}
