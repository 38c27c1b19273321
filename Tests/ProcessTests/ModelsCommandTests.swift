import Foundation
import ProcessTesting
import ProviderTesting
import Testing

/// `hma models check` against local servers that speak the providers'
/// wire formats: what it says, and its exit status.
@Suite struct ModelsCommandTests {
    /// The environment of a machine with no provider configured, plus `extra`.
    func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ["OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": "", "GOOGLE_GEMINI_API_KEY": "", "GEMINI_API_KEY": "",
                           "DEEPSEEK_API_KEY": "", "XAI_API_KEY": "", "OLLAMA_HOST": "", "HMA_OPENAI_BASE_URL": "",
                           "HMA_ANTHROPIC_BASE_URL": "", "HMA_MODELS_FILE": ""]
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    func run(_ arguments: [String], _ extra: [String: String]) async throws -> (status: Int32, output: String) {
        let process = try ChildProcess(ChildProcess.executable("hma"), ["models"] + arguments, environment: environment(extra))
        var lines: [String] = []
        while let line = await process.lines.next() { lines.append(line) }
        let status = await process.exitStatus()
        return (status, (lines + [process.standardError]).joined(separator: "\n"))
    }

    static func openAIChunk(_ delta: String, finish: String? = nil) -> (event: String?, data: String) {
        (nil, #"{"id":"c","object":"chat.completion.chunk","model":"gpt-5","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish.map { "\"\($0)\"" } ?? "null")}]}"#)
    }

    static func openAI(toolCalls: Bool) -> ScriptedHTTPServer.Script {
        { request, _ in
            let usage: (event: String?, data: String) = (nil, #"{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":4,"total_tokens":24}}"#)
            let events: [(event: String?, data: String)]
            if request.json?["tools"] != nil && toolCalls {
                events = [openAIChunk(#"{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"report_status","arguments":"{\"status\":\"ready\"}"}}]}"#),
                          openAIChunk("{}", finish: "tool_calls"), usage, (nil, "[DONE]")]
            } else {
                events = [openAIChunk(#"{"content":"Ready"}"#), openAIChunk(#"{"content":"."}"#), openAIChunk("{}", finish: "stop"), usage, (nil, "[DONE]")]
            }
            return [.head(status: 200, headers: [("content-type", "text/event-stream")]), .body(ScriptedHTTPServer.sse(events)), .end]
        }
    }

    @Test func aWorkingOpenAICompatibleModelIsReportedUsable() async throws {
        let server = try await ScriptedHTTPServer(script: Self.openAI(toolCalls: true))
        defer { Task { await server.shutdown() } }
        let (status, output) = try await run(["check"], ["OPENAI_API_KEY": "sk-check-secret", "HMA_OPENAI_BASE_URL": server.baseURL + "/v1"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("openai gpt-5 (\(server.baseURL)/v1)"))
        #expect(output.contains("ok    answers and streams"))
        #expect(output.contains("20 in, 4 out tokens"))
        #expect(output.contains("ok    native tool calls work"))
        #expect(output.contains("ok    context window 400,000 tokens"))
        #expect(output.contains("HMA can use this model for every agent."))
        #expect(!output.contains("sk-check-secret"), "the key is never printed")
        #expect(server.requests.count == 2)
        #expect(server.requests.allSatisfy { $0.headers["authorization"] == "Bearer sk-check-secret" && $0.path == "/v1/chat/completions" })
        #expect(server.requests.last?.json?["tools"] != nil)
    }

    @Test func aModelWithoutNativeToolCallsIsUsableWithTextCommands() async throws {
        let server = try await ScriptedHTTPServer(script: Self.openAI(toolCalls: false))
        defer { Task { await server.shutdown() } }
        let (status, output) = try await run(["check", "--provider", "openai", "--model", "my-local-model"],
                                            ["HMA_OPENAI_BASE_URL": server.baseURL + "/v1"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("note  answered in text instead of calling the tool"))
        #expect(output.contains("context window unknown"))
        #expect(output.contains("with actions as text commands"))
        #expect(server.requests.first?.headers["authorization"] == nil, "a keyless local server gets no key")
    }

    @Test(arguments: [
        (#"stop "<|im_end|>""#, "note  context: no num_ctx in its Modelfile", "set OLLAMA_CONTEXT_LENGTH=32768", "once its context is raised"),
        ("num_ctx 65536\nstop \"<|im_end|>\"", "ok    context: Ollama serves it with num_ctx 65,536 from its Modelfile (trained for 32,768 tokens)", "=> HMA", "for every agent"),
    ])
    func anOllamaModelsServedContextIsCheckedThroughOllamasOwnAPI(parameters: String, context: String, advice: String, verdict: String) async throws {
        let chat = Self.openAI(toolCalls: true)
        let server = try await ScriptedHTTPServer { request, number in
            guard request.path == "/api/show" else { return chat(request, number) }
            let body = String(decoding: try! JSONSerialization.data(withJSONObject: [
                "parameters": parameters, "model_info": ["general.architecture": "qwen2", "qwen2.context_length": 32768],
            ]), as: UTF8.self)
            return [.head(status: 200, headers: [("content-type", "application/json"), ("content-length", "\(body.utf8.count)")]), .text(body), .end]
        }
        defer { Task { await server.shutdown() } }
        let (status, output) = try await run(["check", "--provider", "ollama", "--model", "qwen2.5-coder:14b"],
                                            ["OLLAMA_HOST": "127.0.0.1:\(server.port)"])
        #expect(status == 0, "\(output)")
        #expect(output.contains(context) && output.contains(advice) && output.contains(verdict), "\(output)")
        #expect(server.requests.contains { $0.path == "/api/show" && $0.json?["model"] as? String == "qwen2.5-coder:14b" })
        #expect(server.requests.contains { $0.path == "/v1/chat/completions" })
    }

    @Test func aRefusedKeyFailsTheCheckInPlainWords() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            let body = #"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#
            return [.head(status: 401, headers: [("content-type", "application/json"), ("content-length", "\(body.utf8.count)")]), .text(body), .end]
        }
        defer { Task { await server.shutdown() } }
        let (status, output) = try await run(["check", "--provider", "anthropic"],
                                            ["ANTHROPIC_API_KEY": "sk-ant-wrong", "HMA_ANTHROPIC_BASE_URL": server.baseURL])
        #expect(status == 1, "\(output)")
        #expect(output.contains("FAIL  does not answer: anthropic refused the API key (check it): invalid x-api-key"))
        #expect(output.contains("HMA cannot use this model"))
        #expect(server.requests.first?.path == "/v1/messages" && server.requests.first?.headers["x-api-key"] == "sk-ant-wrong")
        #expect(server.requests.count == 1, "a refused key is not retried, and the tool check is skipped")
    }

    @Test func withNothingConfiguredItSaysHowToConfigureAProvider() async throws {
        let (status, output) = try await run(["check"], [:])
        #expect(status == 0)
        #expect(output.contains("No provider is configured") && output.contains("OPENAI_API_KEY"))
    }

    @Test(arguments: [
        (["check", "--provider", "anthropic"], [String: String](), "anthropic is not configured: set ANTHROPIC_API_KEY"),
        (["check", "--provider", "watson"], [:], "unknown provider watson"),
        (["check"], ["OPENAI_API_KEY": "sk-one\nsk-two"], "has a space or a line break inside"),
        (["check"], ["HMA_MODELS_FILE": "/nonexistent/models.json"], "no such file"),
    ])
    func badInputGetsAClearErrorAndANonZeroExit(arguments: [String], extra: [String: String], message: String) async throws {
        let (status, output) = try await run(arguments, extra)
        #expect(status != 0)
        #expect(output.contains(message), "\(output)")
        #expect(!output.contains("sk-one"), "the key is never echoed")
    }

    @Test func listPrintsTheCatalogue() async throws {
        let (status, output) = try await run(["list"], [:])
        #expect(status == 0)
        #expect(output.contains("claude-sonnet-4-5") && output.contains("gemini-2.5-pro") && output.contains("(default)"))
    }
}
