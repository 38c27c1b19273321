import Foundation
import Providers

/// The actions as native tool calls, for models that support them: one
/// tool per action a role may take, its arguments a JSON Schema object.
public enum ActionTools {
    /// The tools offered to an agent: exactly the actions it may take now.
    public static func definitions(for actions: [ActionName]) -> [ToolDefinition] {
        actions.map { ToolDefinition(name: $0.toolName, description: description(of: $0), parameters: schema(of: $0)) }
    }

    /// The action a tool call asks for.
    /// - Throws: `CommandParseError` (line and column 0) naming the tool
    ///   and what is wrong with its arguments, for the agent to fix.
    public static func action(from call: ToolCall) throws(CommandParseError) -> AgentAction {
        guard let name = ActionName.allCases.first(where: { $0.toolName == call.name }) else {
            throw failure("There is no tool \"\(call.name)\". The tools are: \(ActionName.allCases.map(\.toolName).joined(separator: ", ")).")
        }
        let arguments = call.arguments.trimmingWhitespace().isEmpty ? "{}" : call.arguments
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_ type: T.Type) throws(CommandParseError) -> T {
            do { return try decoder.decode(T.self, from: Data(arguments.utf8)) } catch {
                throw failure("The arguments of \(call.name) are not valid: \(Self.explain(error)). Expected: \(schema(of: name))")
            }
        }
        switch name {
        case .delegate:
            let arguments = try decode(DelegateArguments.self)
            if let prompt = arguments.prompt, arguments.assignments == nil { return .delegate([Assignment(target: nil, prompt: prompt)]) }
            guard let assignments = arguments.assignments, !assignments.isEmpty else {
                throw failure("delegate needs \"assignments\" (a manager) or \"prompt\" (the master).")
            }
            return .delegate(assignments.map { Assignment(target: ProjectEntry($0.kind, $0.path), prompt: $0.prompt) })
        case .create: return .create(try nonEmpty(decode(EntriesArguments.self).entries, "entries", name).map(\.entry))
        case .delete: return .delete(try nonEmpty(decode(EntriesArguments.self).entries, "entries", name).map(\.entry))
        case .read: return .read(try nonEmpty(decode(EntriesArguments.self).entries, "entries", name).map(\.entry))
        case .run:
            let arguments = try decode(RunArguments.self)
            return .run(command: arguments.command, noTimeout: arguments.no_timeout ?? false)
        case .change: return .change(content: try decode(ContentArguments.self).content)
        case .replace: return .replace(try nonEmpty(decode(EditsArguments.self).edits, "edits", name))
        case .insert: return .insert(try nonEmpty(decode(EditsArguments.self).edits, "edits", name))
        case .scratch: return .scratch(content: try decode(ContentArguments.self).content)
        case .spawn: return .spawnTester(prompt: try decode(PromptArguments.self).prompt)
        case .wait: return .wait
        case .finish: return .finish(message: try decode(MessageArguments.self).message)
        case .updateReadme: return .updateReadme(content: try decode(ContentArguments.self).content)
        case .updateDocumentation: return .updateDocumentation(content: try decode(ContentArguments.self).content)
        }
    }

    private static func failure(_ message: String) -> CommandParseError {
        CommandParseError(message: message, line: 0, column: 0)
    }

    private static func nonEmpty<T>(_ items: [T], _ key: String, _ name: ActionName) throws(CommandParseError) -> [T] {
        guard !items.isEmpty else { throw failure("\(name.toolName) needs at least one item in \"\(key)\".") }
        return items
    }

    private static func explain(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: "\"\(key.stringValue)\" is missing"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            "\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type"
        case .dataCorrupted(let context)?:
            context.codingPath.isEmpty ? "not a JSON object" : "\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" is invalid"
        default: "\(error)"
        }
    }

    // MARK: - Arguments

    private struct EntryArgument: Decodable {
        var kind: ProjectEntry.Kind
        var path: String
        var entry: ProjectEntry { ProjectEntry(kind, path) }
    }
    private struct AssignmentArgument: Decodable {
        var kind: ProjectEntry.Kind
        var path: String
        var prompt: String
    }
    private struct DelegateArguments: Decodable {
        var assignments: [AssignmentArgument]?
        var prompt: String?
    }
    private struct EntriesArguments: Decodable { var entries: [EntryArgument] }
    private struct RunArguments: Decodable {
        var command: String
        var no_timeout: Bool?
    }
    private struct ContentArguments: Decodable { var content: String }
    private struct EditsArguments: Decodable { var edits: [TextEdit] }
    private struct PromptArguments: Decodable { var prompt: String }
    private struct MessageArguments: Decodable { var message: String }

    // MARK: - Schemas

    static func description(of action: ActionName) -> String {
        switch action {
        case .delegate: "Hand tasks to children (they run in parallel). A manager names each child file or folder; the master gives one prompt to the root manager."
        case .create: "Create files or folders in your directory; each gets its own agent."
        case .delete: "Delete files or folders in your directory."
        case .read: "Read files (a folder: its README). The contents come back as the result."
        case .run: "Run a command in the project's sandbox from the project root; its output comes back."
        case .change: "Replace the whole content of your file."
        case .replace: "Replace text in your file; each 'from' must occur exactly once."
        case .insert: "Insert 'to' after the anchor 'from' in your file; the anchor must occur exactly once."
        case .scratch: "Replace your scratch pad (notes only you read)."
        case .spawn: "Start a tester with a task; its findings come back to you."
        case .wait: "Wait until an active child or tester reports."
        case .finish: "You are done: report to your parent (the master: to the person)."
        case .updateReadme: "Replace your directory's README (each child's status and purpose)."
        case .updateDocumentation: "Replace the project documentation (documentation.md)."
        }
    }

    static func schema(of action: ActionName) -> String {
        let entry = #"{"type":"object","properties":{"kind":{"type":"string","enum":["file","folder"]},"path":{"type":"string"}},"required":["kind","path"]}"#
        let edit = #"{"type":"object","properties":{"from":{"type":"string"},"to":{"type":"string"}},"required":["from","to"]}"#
        func object(_ properties: String, required: [String]) -> String {
            #"{"type":"object","properties":{\#(properties)},"required":[\#(required.map { "\"\($0)\"" }.joined(separator: ","))]}"#
        }
        switch action {
        case .delegate:
            let assignment = #"{"type":"object","properties":{"kind":{"type":"string","enum":["file","folder"]},"path":{"type":"string"},"prompt":{"type":"string"}},"required":["kind","path","prompt"]}"#
            return object(#""assignments":{"type":"array","items":\#(assignment)},"prompt":{"type":"string"}"#, required: [])
        case .create, .delete, .read: return object(#""entries":{"type":"array","items":\#(entry),"minItems":1}"#, required: ["entries"])
        case .run: return object(#""command":{"type":"string"},"no_timeout":{"type":"boolean"}"#, required: ["command"])
        case .change, .scratch, .updateReadme, .updateDocumentation: return object(#""content":{"type":"string"}"#, required: ["content"])
        case .replace, .insert: return object(#""edits":{"type":"array","items":\#(edit),"minItems":1}"#, required: ["edits"])
        case .spawn: return object(#""prompt":{"type":"string"}"#, required: ["prompt"])
        case .wait: return object("", required: [])
        case .finish: return object(#""message":{"type":"string"}"#, required: ["message"])
        }
    }
}
