import Foundation
import Providers
import Testing
@testable import Agents

/// The actions as native tool calls: schemas that are JSON Schema objects,
/// and arguments checked with a message the model can act on.
@Suite struct ActionToolsTests {
    func call(_ name: String, _ arguments: String) -> ToolCall { ToolCall(id: "c1", name: name, arguments: arguments) }

    @Test func everyToolHasAnObjectSchema() throws {
        for tool in ActionTools.definitions(for: ActionName.allCases) {
            let schema = try #require(try JSONSerialization.jsonObject(with: Data(tool.parameters.utf8)) as? [String: Any], "\(tool.name)")
            #expect(schema["type"] as? String == "object", "\(tool.name)")
            #expect(!tool.description.isEmpty)
        }
        #expect(Set(ActionTools.definitions(for: ActionName.allCases).map(\.name)).count == ActionName.allCases.count)
    }

    @Test func toolCallsDecodeToTheSameActionsAsCommands() throws {
        let cases: [(ToolCall, AgentAction)] = [
            (call("delegate", #"{"assignments":[{"kind":"file","path":"a.py","prompt":"x"}]}"#), .delegate([Assignment(target: ProjectEntry(.file, "a.py"), prompt: "x")])),
            (call("delegate", #"{"prompt":"build it"}"#), .delegate([Assignment(target: nil, prompt: "build it")])),
            (call("create", #"{"entries":[{"kind":"folder","path":"lib"}]}"#), .create([ProjectEntry(.folder, "lib")])),
            (call("read", #"{"entries":[{"kind":"file","path":"a"},{"kind":"folder","path":"b"}]}"#), .read([ProjectEntry(.file, "a"), ProjectEntry(.folder, "b")])),
            (call("run", #"{"command":"pytest"}"#), .run(command: "pytest", noTimeout: false)),
            (call("run", #"{"command":"npm ci","no_timeout":true}"#), .run(command: "npm ci", noTimeout: true)),
            (call("change", #"{"content":"x\n"}"#), .change(content: "x\n")),
            (call("replace", #"{"edits":[{"from":"a","to":"b"}]}"#), .replace([TextEdit(from: "a", to: "b")])),
            (call("insert", #"{"edits":[{"from":"a","to":"b"}]}"#), .insert([TextEdit(from: "a", to: "b")])),
            (call("spawn_tester", #"{"prompt":"t"}"#), .spawnTester(prompt: "t")),
            (call("wait", ""), .wait),
            (call("wait", "{}"), .wait),
            (call("finish", #"{"message":"done"}"#), .finish(message: "done")),
            (call("update_readme", #"{"content":"r"}"#), .updateReadme(content: "r")),
        ]
        for (call, expected) in cases { #expect(try ActionTools.action(from: call) == expected, "\(call.name)") }
    }

    @Test func malformedArgumentsSayWhatIsWrong() {
        let cases: [(ToolCall, String)] = [
            (call("change", #"{"content": "unterminated"#), "not valid"),
            (call("change", "{}"), "\"content\" is missing"),
            (call("run", #"{"command": 5}"#), "wrong type"),
            (call("create", #"{"entries": []}"#), "at least one"),
            (call("create", #"{"entries": [{"kind": "dir", "path": "x"}]}"#), "invalid"),
            (call("delegate", "{}"), "assignments"),
            (call("write_file", "{}"), "no tool \"write_file\""),
            (call("finish", "[1,2]"), "not valid"),
        ]
        for (call, expected) in cases {
            do {
                _ = try ActionTools.action(from: call)
                Issue.record("\(call.arguments) was accepted")
            } catch {
                #expect(error.message.contains(expected), "\(call.name) \(call.arguments): \(error.message)")
            }
        }
    }
}
