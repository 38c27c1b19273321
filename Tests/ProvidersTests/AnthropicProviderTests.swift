import Foundation
import ProviderTesting
import Testing
@testable import Providers

/// The Anthropic client end to end: `HTTPProvider` with the Messages format
/// against a local server that checks the exact request and answers with
/// bodies in the shapes Anthropic's API sends (named SSE events; errors as
/// `{"type":"error","error":{"type","message"},"request_id"}`).
@Suite struct AnthropicProviderTests {
    typealias Event = (event: String?, data: String)
    static let key = "sk-ant-test-1"
    static let request: ModelRequest = {
        var request = sampleRequest
        request.model = "claude-sonnet-4-5"
        return request
    }()

    // MARK: Recorded-shape events

    static func messageStart(input: Int = 25) -> Event {
        ("message_start", #"{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":\#(input),"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}}"#)
    }
    static let ping: Event = ("ping", #"{"type": "ping"}"#)
    static func textStart(_ index: Int) -> Event {
        ("content_block_start", #"{"type":"content_block_start","index":\#(index),"content_block":{"type":"text","text":""}}"#)
    }
    static func text(_ index: Int, _ text: String) -> Event {
        ("content_block_delta", #"{"type":"content_block_delta","index":\#(index),"delta":{"type":"text_delta","text":"\#(text)"}}"#)
    }
    static func toolStart(_ index: Int, id: String, name: String) -> Event {
        ("content_block_start", #"{"type":"content_block_start","index":\#(index),"content_block":{"type":"tool_use","id":"\#(id)","name":"\#(name)","input":{}}}"#)
    }
    /// `json` is the piece as it appears inside the event's JSON string (escaped).
    static func json(_ index: Int, _ json: String) -> Event {
        ("content_block_delta", #"{"type":"content_block_delta","index":\#(index),"delta":{"type":"input_json_delta","partial_json":"\#(json)"}}"#)
    }
    static func blockStop(_ index: Int) -> Event { ("content_block_stop", #"{"type":"content_block_stop","index":\#(index)}"#) }
    static func messageDelta(_ reason: String, output: Int = 15) -> Event {
        ("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"\#(reason)","stop_sequence":null},"usage":{"output_tokens":\#(output)}}"#)
    }
    static let messageStop: Event = ("message_stop", #"{"type":"message_stop"}"#)
    static let hello = [messageStart(), textStart(0), ping, text(0, "Hel"), text(0, "lo"), blockStop(0), messageDelta("end_turn"), messageStop]

    /// An error answer in Anthropic's shape.
    static func apiError(_ status: Int, _ type: String, _ message: String, headers: [(String, String)] = []) -> [ScriptedHTTPServer.Step] {
        errorAnswer(status, #"{"type":"error","error":{"type":"\#(type)","message":"\#(message)"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#,
                    headers: [("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")] + headers)
    }

    func provider(_ server: ScriptedHTTPServer, options: HTTPProviderOptions = testOptions()) throws -> HTTPProvider<AnthropicMessagesFormat> {
        HTTPProvider(format: AnthropicMessagesFormat(),
                     endpoint: Endpoint(baseURL: server.baseURL, apiKey: try APIKey(Self.key, provider: "anthropic")),
                     options: options)
    }

    /// JSON text with sorted keys, so two bodies compare field for field.
    static func canonical(_ data: Data) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: data), options: [.sortedKeys]), as: UTF8.self)
    }

    // MARK: Request and replies

    @Test func sendsTheExactMessagesRequestAndStreamsTheReplyWithAnthropicsUsage() async throws {
        let server = try await ScriptedHTTPServer { _, _ in sseAnswer(Self.hello) }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(Self.request)
        #expect(reply == ModelReply(text: "Hello", toolCalls: [], usage: Usage(inputTokens: 25, outputTokens: 15, estimated: false), finishReason: .stop))

        #expect(server.requests.count == 1)
        let request = try #require(server.requests.first)
        #expect(request.method == "POST" && request.path == "/v1/messages" && request.query == nil)
        #expect(request.headers["x-api-key"] == Self.key)
        #expect(request.headers["anthropic-version"] == "2023-06-01")
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["accept"] == "text/event-stream")
        #expect(request.headers["authorization"] == nil, "Anthropic takes the key in x-api-key only")
        // The whole body: system at the top level, the assistant turn of only a
        // tool call without an empty text block, the result as a user turn.
        #expect(try Self.canonical(request.body) == Self.canonical(Data(#"""
            {"model":"claude-sonnet-4-5","stream":true,"max_tokens":256,"temperature":0.2,
             "system":"You write code.","stop_sequences":["END"],
             "messages":[
               {"role":"user","content":[{"type":"text","text":"Make a file"}]},
               {"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"create_file","input":{"path":"a.txt"}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"created"}]}],
             "tools":[{"name":"create_file","description":"Creates a file",
                       "input_schema":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}]}
            """#.utf8)))
    }

    @Test func aToolCallWhoseArgumentsStreamInPiecesIsDeliveredPieceByPieceThenWhole() async throws {
        let id = "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
        let server = try await ScriptedHTTPServer { _, _ in
            sseAnswer([
                Self.messageStart(), Self.textStart(0), Self.text(0, "I'll create it."), Self.blockStop(0),
                Self.toolStart(1, id: id, name: "create_file"), Self.json(1, ""), Self.json(1, #"{\"path\": \"b"#),
                Self.ping, Self.json(1, #".txt\", \"conte"#), Self.json(1, #"nt\": \"hi\"}"#), Self.blockStop(1),
                Self.messageDelta("tool_use", output: 89), Self.messageStop,
            ])
        }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(Self.request))
        #expect(error == nil)
        let arguments = #"{"path": "b.txt", "content": "hi"}"#
        #expect(events == [
            .textDelta("I'll create it."),
            .toolCallDelta(index: 1, id: id, name: "create_file", argumentsDelta: ""),
            .toolCallDelta(index: 1, id: nil, name: nil, argumentsDelta: #"{"path": "b"#),
            .toolCallDelta(index: 1, id: nil, name: nil, argumentsDelta: #".txt", "conte"#),
            .toolCallDelta(index: 1, id: nil, name: nil, argumentsDelta: #"nt": "hi"}"#),
            .toolCall(ToolCall(id: id, name: "create_file", arguments: arguments)),
            .finish(.toolCalls),
            .usage(Usage(inputTokens: 25, outputTokens: 89, estimated: false)),
        ])

        let reply = try await provider(server).complete(Self.request)
        #expect(reply == ModelReply(text: "I'll create it.", toolCalls: [ToolCall(id: id, name: "create_file", arguments: arguments)],
                                    usage: Usage(inputTokens: 25, outputTokens: 89, estimated: false), finishReason: .toolCalls))
    }

    @Test func parallelToolUseBlocksCompleteAsTwoCallsInOrder() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            sseAnswer([
                Self.messageStart(), Self.textStart(0), Self.text(0, "Reading both."), Self.blockStop(0),
                Self.toolStart(1, id: "toolu_01A", name: "read_file"), Self.json(1, #"{\"path\":"#), Self.json(1, #" \"a.ts\"}"#), Self.blockStop(1),
                Self.toolStart(2, id: "toolu_01B", name: "run"), Self.json(2, #"{\"cmd\": \"npm"#), Self.json(2, #" test\"}"#), Self.blockStop(2),
                Self.messageDelta("tool_use", output: 120), Self.messageStop,
            ])
        }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(Self.request)
        #expect(reply.text == "Reading both.")
        #expect(reply.toolCalls == [ToolCall(id: "toolu_01A", name: "read_file", arguments: #"{"path": "a.ts"}"#),
                                    ToolCall(id: "toolu_01B", name: "run", arguments: #"{"cmd": "npm test"}"#)])
        #expect(reply.finishReason == .toolCalls && reply.usage == Usage(inputTokens: 25, outputTokens: 120, estimated: false))
    }

    // MARK: Refused requests

    static let credit = "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."

    @Test(arguments: [
        (401, "authentication_error", "invalid x-api-key",
         ProviderError.authentication(provider: "anthropic", message: "invalid x-api-key")),
        (403, "permission_error", "Your API key does not have permission to use the specified resource.",
         .permissionDenied(provider: "anthropic", message: "Your API key does not have permission to use the specified resource.")),
        (404, "not_found_error", "model: claude-sonnet-4-5",
         .unknownModel(provider: "anthropic", model: "claude-sonnet-4-5", message: "model: claude-sonnet-4-5")),
        (400, "invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum",
         .contextOverflow(provider: "anthropic", message: "prompt is too long: 208310 tokens > 200000 maximum")),
        (413, "request_too_large", "Request exceeds the maximum allowed number of bytes.",
         .contextOverflow(provider: "anthropic", message: "Request exceeds the maximum allowed number of bytes.")),
        (400, "invalid_request_error", credit, .quotaExhausted(provider: "anthropic", message: credit)),
        (400, "invalid_request_error", "max_tokens: Field required",
         .badRequest(provider: "anthropic", status: 400, message: "max_tokens: Field required")),
    ])
    func refusedRequestsBecomeTypedErrorsWithoutRetryingAndWithoutTheKey(status: Int, type: String, message: String, expected: ProviderError) async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.apiError(status, type, message) }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(Self.request))
        #expect(events.isEmpty)
        let typed = try #require(error as? ProviderError, "\(String(describing: error))")
        #expect(typed == expected)
        #expect(server.requests.count == 1, "not retried")
        #expect(!typed.description.contains(Self.key) && !String(reflecting: typed).contains(Self.key))
    }

    // MARK: Retries

    static let rateLimitMessage = "This request would exceed the rate limit for your organization of 50 input tokens per minute. Please reduce the prompt length or the maximum tokens requested, or try again later."

    @Test func aRateLimitIsRetriedAfterItsRetryAfter() async throws {
        let server = try await ScriptedHTTPServer { _, number in
            number == 0 ? Self.apiError(429, "rate_limit_error", Self.rateLimitMessage,
                                        headers: [("retry-after", "1"), ("anthropic-ratelimit-input-tokens-remaining", "0")])
                : sseAnswer(Self.hello)
        }
        defer { Task { await server.shutdown() } }
        let start = ContinuousClock.now
        let reply = try await provider(server).complete(Self.request)
        #expect(reply.text == "Hello" && server.requests.count == 2)
        #expect(ContinuousClock.now - start >= .seconds(1), "waited as Retry-After asked")
    }

    @Test func aRateLimitWithoutRetryAfterIsRetriedWithBackoff() async throws {
        let server = try await ScriptedHTTPServer { _, number in
            number == 0 ? Self.apiError(429, "rate_limit_error", Self.rateLimitMessage) : sseAnswer(Self.hello)
        }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(Self.request)
        #expect(reply.text == "Hello" && server.requests.count == 2)
    }

    @Test func anInternalServerErrorIsRetriedAndTheRetrySucceeds() async throws {
        let server = try await ScriptedHTTPServer { _, number in
            number == 0 ? Self.apiError(500, "api_error", "Internal server error") : sseAnswer(Self.hello)
        }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(Self.request)
        #expect(reply.text == "Hello" && server.requests.count == 2)
        #expect(server.requests.allSatisfy { $0.body == server.requests[0].body }, "the same request is sent again")
    }

    @Test func anOverloaded529IsRetriedAndTheRetrySucceeds() async throws {
        let server = try await ScriptedHTTPServer { _, number in
            number == 0 ? Self.apiError(529, "overloaded_error", "Overloaded") : sseAnswer(Self.hello)
        }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(Self.request)
        #expect(reply.text == "Hello" && server.requests.count == 2)
    }

    @Test func aPersistent529EndsAsAServerErrorAfterTheLastAttempt() async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.apiError(529, "overloaded_error", "Overloaded") }
        defer { Task { await server.shutdown() } }
        let (_, error) = await collect(try provider(server, options: testOptions(attempts: 3)).stream(Self.request))
        #expect(error as? ProviderError == .serverError(provider: "anthropic", status: 529, message: "Overloaded"))
        #expect(server.requests.count == 3)
    }

    // MARK: Broken replies

    @Test func aStreamCutAfterHalfAToolCallIsAnInterruptionNotAReply() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            sseAnswer([Self.messageStart(), Self.toolStart(0, id: "toolu_01A", name: "create_file"), Self.json(0, ""),
                       Self.json(0, #"{\"path\": \"b"#)], thenEnd: false)
        }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(Self.request))
        #expect(events == [.toolCallDelta(index: 0, id: "toolu_01A", name: "create_file", argumentsDelta: ""),
                           .toolCallDelta(index: 0, id: nil, name: nil, argumentsDelta: #"{"path": "b"#)],
                "what arrived was delivered, and no call was completed")
        await expectInterruptedWithoutRetry(error, server: server) { try await provider(server).complete(Self.request) }
    }

    @Test func toolArgumentsThatAreNotJSONAreReportedAtTheBlockStop() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            sseAnswer([Self.messageStart(), Self.toolStart(0, id: "toolu_01A", name: "run"), Self.json(0, #"{\"cmd\": "#),
                       Self.json(0, "make"), Self.blockStop(0), Self.messageDelta("tool_use"), Self.messageStop])
        }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(Self.request))
        #expect(error as? ProviderError == .malformedToolArguments(name: "run", arguments: #"{"cmd": make"#))
        #expect(!events.contains { if case .toolCall = $0 { true } else { false } })
    }

    @Test func anUnknownStopReasonIsKeptAsWritten() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            sseAnswer([Self.messageStart(), Self.textStart(0), Self.text(0, "ok"), Self.blockStop(0),
                       Self.messageDelta("brand_new_reason"), Self.messageStop])
        }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(Self.request)
        #expect(reply.finishReason == .other("brand_new_reason") && reply.text == "ok")
    }

    @Test func anOverloadedErrorEventMidStreamIsAnInterruption() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            sseAnswer([Self.messageStart(), Self.textStart(0), Self.ping, Self.text(0, "Hel"),
                       ("error", #"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#)])
        }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(Self.request))
        #expect(events == [.textDelta("Hel")])
        #expect(error as? ProviderError == .streamInterrupted(after: "the server reported Overloaded (overloaded_error)"))
        #expect(server.requests.count == 1, "a reply that had begun is not retried")
    }

    @Test func anOverloadedErrorEventBeforeAnyReplyIsRetried() async throws {
        let server = try await ScriptedHTTPServer { _, number in
            number == 0 ? sseAnswer([Self.messageStart(), Self.ping,
                                     ("error", #"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#)])
                : sseAnswer(Self.hello)
        }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(Self.request)
        #expect(reply.text == "Hello" && server.requests.count == 2)
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let server = try await ScriptedHTTPServer { _, _ in [.hang] }
        defer { Task { await server.shutdown() } }
        let start = ContinuousClock.now
        let (_, error) = await collect(try provider(server, options: testOptions(readTimeout: .seconds(2), attempts: 1)).stream(Self.request))
        #expect(error as? ProviderError == .timeout(provider: "anthropic", after: .seconds(2)), "\(String(describing: error))")
        #expect(server.requests.count == 1)
        #expect(ContinuousClock.now - start < .seconds(60), "the read timeout, not a hang")
    }
}
