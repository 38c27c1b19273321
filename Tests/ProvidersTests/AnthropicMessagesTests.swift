import Foundation
import Testing
@testable import Providers

/// Requests, streams and errors in the shapes Anthropic's Messages API uses.
@Suite struct AnthropicMessagesTests {
    let format = AnthropicMessagesFormat()
    let endpoint = Endpoint(baseURL: "https://api.anthropic.com/", apiKey: try! APIKey("sk-ant-test-key", provider: "anthropic"))

    /// The body as sorted JSON text, to compare with an expected literal.
    func body(_ request: WireRequest) -> String { String(decoding: request.body, as: UTF8.self) }
    func canonical(_ json: String) -> String { String(decoding: JSON.data(JSON.object(json)!), as: UTF8.self) }

    func decode(_ events: [(String?, String)], end: Bool = true) throws -> [ProviderEvent] {
        var decoder = format.makeDecoder()
        var out: [ProviderEvent] = []
        for (name, data) in events { out += try decoder.decode(ServerSentEvent(event: name, data: data)) }
        if end { try decoder.end() }
        return out
    }

    // MARK: Recorded-shape events

    func messageStart(input: Int = 25, cacheRead: Int = 0, cacheCreation: Int = 0) -> (String?, String) {
        ("message_start", #"{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":\#(input),"cache_creation_input_tokens":\#(cacheCreation),"cache_read_input_tokens":\#(cacheRead),"output_tokens":1}}}"#)
    }
    let ping: (String?, String) = ("ping", #"{"type": "ping"}"#)
    func textStart(_ index: Int) -> (String?, String) {
        ("content_block_start", #"{"type":"content_block_start","index":\#(index),"content_block":{"type":"text","text":""}}"#)
    }
    func text(_ index: Int, _ text: String) -> (String?, String) {
        ("content_block_delta", #"{"type":"content_block_delta","index":\#(index),"delta":{"type":"text_delta","text":"\#(text)"}}"#)
    }
    func toolStart(_ index: Int, id: String, name: String) -> (String?, String) {
        ("content_block_start", #"{"type":"content_block_start","index":\#(index),"content_block":{"type":"tool_use","id":"\#(id)","name":"\#(name)","input":{}}}"#)
    }
    /// `json` is the partial JSON as it appears inside the event's string (escaped).
    func json(_ index: Int, _ json: String) -> (String?, String) {
        ("content_block_delta", #"{"type":"content_block_delta","index":\#(index),"delta":{"type":"input_json_delta","partial_json":"\#(json)"}}"#)
    }
    func stop(_ index: Int) -> (String?, String) { ("content_block_stop", #"{"type":"content_block_stop","index":\#(index)}"#) }
    func messageDelta(_ reason: String, output: Int = 15) -> (String?, String) {
        ("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"\#(reason)","stop_sequence":null},"usage":{"output_tokens":\#(output)}}"#)
    }
    let messageStop: (String?, String) = ("message_stop", #"{"type":"message_stop"}"#)

    func textReply(_ reason: String) -> [(String?, String)] {
        [messageStart(), textStart(0), text(0, "Hi"), stop(0), messageDelta(reason), messageStop]
    }

    // MARK: Requests

    @Test func requestGoesToV1MessagesWithKeyVersionAndStreamHeaders() throws {
        let request = try format.request(for: ModelRequest(model: "claude-sonnet-4-5", messages: [.user("Hi")]), endpoint: endpoint)
        #expect(request.url == "https://api.anthropic.com/v1/messages")
        #expect(request.header("x-api-key") == "sk-ant-test-key")
        #expect(request.header("anthropic-version") == "2023-06-01")
        #expect(request.header("content-type") == "application/json")
        #expect(request.header("accept") == "text/event-stream")
        #expect(request.header("authorization") == nil)
    }

    @Test func requestWithoutKeySendsNoKeyHeader() throws {
        let request = try format.request(for: ModelRequest(model: "claude-sonnet-4-5", messages: [.user("Hi")]),
                                         endpoint: Endpoint(baseURL: "http://localhost:8080", apiKey: nil))
        #expect(request.url == "http://localhost:8080/v1/messages")
        #expect(request.header("x-api-key") == nil)
        #expect(request.header("anthropic-version") == "2023-06-01")
    }

    @Test func minimalRequestHasTextBlocksAndDefaultMaxTokensAndNoOptionalFields() throws {
        let request = try format.request(for: ModelRequest(model: "claude-haiku-4-5", messages: [.user("Hi")]), endpoint: endpoint)
        #expect(body(request) == canonical(#"""
            {"model":"claude-haiku-4-5","max_tokens":4096,"stream":true,
             "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}
            """#))
    }

    @Test func requestCarriesSystemToolsTemperatureStopAndMaxTokens() throws {
        let tool = ToolDefinition(name: "read_file", description: "Read a file",
                                  parameters: #"{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}"#)
        let request = try format.request(for: ModelRequest(model: "claude-opus-4-1", system: "Be brief.", messages: [.user("Hi")],
                                                           tools: [tool], temperature: 0.5, maxOutputTokens: 1000, stop: ["END"]),
                                         endpoint: endpoint)
        #expect(body(request) == canonical(#"""
            {"model":"claude-opus-4-1","max_tokens":1000,"stream":true,"system":"Be brief.","temperature":0.5,
             "stop_sequences":["END"],
             "tools":[{"name":"read_file","description":"Read a file",
                       "input_schema":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}],
             "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}
            """#))
    }

    @Test func toolCallsBecomeToolUseBlocksAndConsecutiveResultsMergeIntoOneUserTurn() throws {
        let read = ToolCall(id: "toolu_01A", name: "read_file", arguments: #"{"path":"a.txt"}"#)
        let list = ToolCall(id: "toolu_01B", name: "list_dir", arguments: "")
        let request = try format.request(for: ModelRequest(model: "claude-sonnet-4-5", messages: [
            .user("Look around."),
            .assistant("", toolCalls: [read, list]),
            .toolResult(for: read, "hello"),
            .toolResult(for: list, "a.txt b.txt"),
            .assistant("Done.", toolCalls: [read]),
            .toolResult(for: read, "hello again"),
        ]), endpoint: endpoint)
        let messages = JSON.object(request.body)?["messages"] as? [[String: Any]] ?? []
        #expect(String(decoding: JSON.data(["messages": messages]), as: UTF8.self) == canonical(#"""
            {"messages":[
              {"role":"user","content":[{"type":"text","text":"Look around."}]},
              {"role":"assistant","content":[
                {"type":"tool_use","id":"toolu_01A","name":"read_file","input":{"path":"a.txt"}},
                {"type":"tool_use","id":"toolu_01B","name":"list_dir","input":{}}]},
              {"role":"user","content":[
                {"type":"tool_result","tool_use_id":"toolu_01A","content":"hello"},
                {"type":"tool_result","tool_use_id":"toolu_01B","content":"a.txt b.txt"}]},
              {"role":"assistant","content":[
                {"type":"text","text":"Done."},
                {"type":"tool_use","id":"toolu_01A","name":"read_file","input":{"path":"a.txt"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01A","content":"hello again"}]}]}
            """#))
    }

    @Test func toolResultAfterUserTextStartsItsOwnTurn() throws {
        let call = ToolCall(id: "toolu_01A", name: "run", arguments: "{}")
        let request = try format.request(for: ModelRequest(model: "m", messages: [
            .assistant("", toolCalls: [call]), .user("wait"), .toolResult(for: call, "ok"),
        ]), endpoint: endpoint)
        let messages = JSON.object(request.body)?["messages"] as? [[String: Any]] ?? []
        #expect(messages.count == 3)
        #expect((messages[2]["content"] as? [[String: Any]])?.first?["type"] as? String == "tool_result")
    }

    @Test func toolCallWhoseArgumentsAreNotAnObjectIsNotSent() throws {
        let call = ToolCall(id: "toolu_01A", name: "run", arguments: "[1,2]")
        #expect(throws: ProviderError.malformedToolArguments(name: "run", arguments: "[1,2]")) {
            _ = try format.request(for: ModelRequest(model: "m", messages: [.assistant("", toolCalls: [call])]), endpoint: endpoint)
        }
    }

    // MARK: Streams

    @Test func plainTextStreamEmitsTextThenFinishThenUsage() throws {
        let events = try decode([
            messageStart(input: 25), textStart(0), ping, text(0, "Hello"), text(0, "!"), stop(0),
            messageDelta("end_turn", output: 15), messageStop,
        ])
        #expect(events == [.textDelta("Hello"), .textDelta("!"), .finish(.stop),
                           .usage(Usage(inputTokens: 25, outputTokens: 15, estimated: false))])
    }

    @Test func singleToolCallWithStreamedJSONCompletesAtBlockStop() throws {
        let events = try decode([
            messageStart(), textStart(0), text(0, "Checking."), stop(0),
            toolStart(1, id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather"),
            json(1, ""), json(1, #"{\"location\": \"San Fra"#), json(1, #"ncisco, CA\"}"#), stop(1),
            messageDelta("tool_use", output: 89), messageStop,
        ])
        #expect(events == [
            .textDelta("Checking."),
            .toolCallDelta(index: 1, id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather", argumentsDelta: ""),
            .toolCallDelta(index: 1, id: nil, name: nil, argumentsDelta: #"{"location": "San Fra"#),
            .toolCallDelta(index: 1, id: nil, name: nil, argumentsDelta: #"ncisco, CA"}"#),
            .toolCall(ToolCall(id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather", arguments: #"{"location": "San Francisco, CA"}"#)),
            .finish(.toolCalls),
            .usage(Usage(inputTokens: 25, outputTokens: 89, estimated: false)),
        ])
    }

    @Test func parallelToolUseBlocksCompleteAsTwoCallsKeyedByBlockIndex() throws {
        let events = try decode([
            messageStart(),
            toolStart(0, id: "toolu_A", name: "read_file"), json(0, #"{\"path\":"#), json(0, #"\"a.ts\"}"#), stop(0),
            toolStart(1, id: "toolu_B", name: "run"), json(1, #"{\"cmd\":\"npm test\"}"#), stop(1),
            messageDelta("tool_use"), messageStop,
        ])
        let calls = events.compactMap { if case .toolCall(let call) = $0 { call } else { nil } }
        #expect(calls == [ToolCall(id: "toolu_A", name: "read_file", arguments: #"{"path":"a.ts"}"#),
                          ToolCall(id: "toolu_B", name: "run", arguments: #"{"cmd":"npm test"}"#)])
        let starts = events.compactMap { if case .toolCallDelta(let index, let id?, _, _) = $0 { "\(index):\(id)" } else { nil } }
        #expect(starts == ["0:toolu_A", "1:toolu_B"])
        #expect(events.suffix(2).first == .finish(.toolCalls))
    }

    @Test func toolCallWithoutInputDeltasHasEmptyObjectArguments() throws {
        let events = try decode([messageStart(), toolStart(0, id: "toolu_A", name: "list_dir"), stop(0), messageDelta("tool_use"), messageStop])
        #expect(events.contains(.toolCall(ToolCall(id: "toolu_A", name: "list_dir", arguments: "{}"))))
    }

    @Test func usageCountsCachedInputAndIsEmittedExactlyOnce() throws {
        let events = try decode([
            messageStart(input: 10, cacheRead: 2000, cacheCreation: 300), textStart(0), text(0, "x"), stop(0),
            messageDelta("end_turn", output: 42), messageStop, messageStop,
        ])
        let usages = events.filter { if case .usage = $0 { true } else { false } }
        #expect(usages == [.usage(Usage(inputTokens: 2310, outputTokens: 42, estimated: false))])
    }

    @Test func cumulativeInputTokensInMessageDeltaReplaceThoseOfMessageStart() throws {
        // Some Anthropic-compatible gateways send 0 at message_start and the count at the end.
        let events = try decode([
            messageStart(input: 0), textStart(0), text(0, "x"), stop(0),
            ("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":31,"output_tokens":7}}"#),
            messageStop,
        ])
        #expect(events.last == .usage(Usage(inputTokens: 31, outputTokens: 7, estimated: false)))
    }

    @Test(arguments: [
        ("end_turn", FinishReason.stop), ("stop_sequence", .stop), ("max_tokens", .length),
        ("tool_use", .toolCalls), ("pause_turn", .other("pause_turn")), ("brand_new_reason", .other("brand_new_reason")),
    ])
    func stopReasonMapsToFinishReason(raw: String, expected: FinishReason) throws {
        let events = try decode(textReply(raw))
        #expect(events.contains(.finish(expected)))
        #expect(events.filter { if case .finish = $0 { true } else { false } }.count == 1)
    }

    @Test func refusalStopReasonThrowsRefusal() throws {
        let error = #expect(throws: ProviderError.self) { _ = try decode(textReply("refusal")) }
        guard case .refusal(provider: "anthropic", _)? = error else {
            Issue.record("expected a refusal, got \(String(describing: error))")
            return
        }
    }

    @Test func toolArgumentsThatAreNotAnObjectThrowAtBlockStop() throws {
        #expect(throws: ProviderError.malformedToolArguments(name: "run", arguments: #"{"cmd": npm"#)) {
            _ = try decode([messageStart(), toolStart(0, id: "toolu_A", name: "run"), json(0, #"{\"cmd\": npm"#), stop(0)], end: false)
        }
        #expect(throws: ProviderError.malformedToolArguments(name: "run", arguments: "42")) {
            _ = try decode([messageStart(), toolStart(0, id: "toolu_A", name: "run"), json(0, "42"), stop(0)], end: false)
        }
    }

    @Test func streamCutBeforeMessageStopThrowsStreamInterrupted() throws {
        #expect(throws: ProviderError.streamInterrupted(after: "5 characters of text")) {
            _ = try decode([messageStart(), textStart(0), text(0, "Hello")])
        }
        #expect(throws: ProviderError.streamInterrupted(after: "a partial tool call")) {
            _ = try decode([messageStart(), toolStart(0, id: "toolu_A", name: "run"), json(0, #"{\"cmd\": \"np"#)])
        }
        // message_delta alone is not the end: message_stop is.
        #expect(throws: ProviderError.streamInterrupted(after: "2 characters of text")) {
            _ = try decode(Array(textReply("end_turn").dropLast()))
        }
    }

    @Test func inStreamErrorEventThrowsStreamInterrupted() throws {
        #expect(throws: ProviderError.streamInterrupted(after: "the server reported Overloaded (overloaded_error)")) {
            _ = try decode([messageStart(), textStart(0), text(0, "Hel"),
                            ("error", #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)])
        }
    }

    @Test func eventTypeComesFromTheJSONWhenTheSSEEventNameIsMissing() throws {
        let events = try decode(textReply("end_turn").map { (nil, $0.1) })
        #expect(events == [.textDelta("Hi"), .finish(.stop), .usage(Usage(inputTokens: 25, outputTokens: 15, estimated: false))])
    }

    @Test func thinkingDeltasAndUnknownEventsAreIgnored() throws {
        let events = try decode([
            messageStart(),
            ("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#),
            ("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think."}}"#),
            ("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}"#),
            stop(0), ("brand_new_event", #"{"type":"brand_new_event","detail":1}"#),
            textStart(1), text(1, "Answer"), stop(1), messageDelta("end_turn"), messageStop,
        ])
        #expect(events == [.textDelta("Answer"), .finish(.stop), .usage(Usage(inputTokens: 25, outputTokens: 15, estimated: false))])
    }

    @Test func dataThatIsNotJSONIsAMalformedEvent() throws {
        #expect(throws: ProviderError.malformedEvent("not json")) { _ = try decode([("message_start", "not json")], end: false) }
    }

    // MARK: Errors

    func error(_ status: Int, _ type: String, _ message: String, retryAfter: Duration? = nil) -> ProviderError {
        format.error(status: status, retryAfter: retryAfter,
                     body: Data(#"{"type":"error","error":{"type":"\#(type)","message":"\#(message)"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#.utf8),
                     model: "claude-x")
    }

    @Test func status401IsAuthentication() {
        #expect(error(401, "authentication_error", "invalid x-api-key") == .authentication(provider: "anthropic", message: "invalid x-api-key"))
    }

    @Test func status403IsPermissionDenied() {
        #expect(error(403, "permission_error", "Your API key does not have permission to use the specified resource.")
            == .permissionDenied(provider: "anthropic", message: "Your API key does not have permission to use the specified resource."))
    }

    @Test func status404NamingTheModelIsUnknownModelAndOtherwiseBadRequest() {
        #expect(error(404, "not_found_error", "model: claude-x") == .unknownModel(provider: "anthropic", model: "claude-x", message: "model: claude-x"))
        #expect(error(404, "not_found_error", "Not found") == .badRequest(provider: "anthropic", status: 404, message: "Not found"))
    }

    @Test func status429IsRateLimitedWithRetryAfter() {
        #expect(error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", retryAfter: .seconds(12))
            == .rateLimited(provider: "anthropic", retryAfter: .seconds(12), message: "Number of request tokens has exceeded your per-minute rate limit"))
    }

    @Test func overloaded529AndApiError500AreServerErrors() {
        #expect(error(529, "overloaded_error", "Overloaded") == .serverError(provider: "anthropic", status: 529, message: "Overloaded"))
        #expect(error(500, "api_error", "Internal server error") == .serverError(provider: "anthropic", status: 500, message: "Internal server error"))
    }

    @Test func promptTooLongAndRequestTooLargeAreContextOverflow() {
        #expect(error(400, "invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum")
            == .contextOverflow(provider: "anthropic", message: "prompt is too long: 208310 tokens > 200000 maximum"))
        let limit = "input length and `max_tokens` exceed context limit: 197010 + 8192 > 200000, decrease input length or `max_tokens` and try again"
        #expect(error(400, "invalid_request_error", limit) == .contextOverflow(provider: "anthropic", message: limit))
        #expect(error(413, "request_too_large", "Request exceeds the maximum allowed number of bytes.")
            == .contextOverflow(provider: "anthropic", message: "Request exceeds the maximum allowed number of bytes."))
    }

    @Test func lowCreditBalanceAndBillingErrorAreQuotaExhausted() {
        let credit = "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."
        #expect(error(400, "invalid_request_error", credit) == .quotaExhausted(provider: "anthropic", message: credit))
        #expect(error(402, "billing_error", "payment required") == .quotaExhausted(provider: "anthropic", message: "payment required"))
    }

    @Test func otherInvalidRequestIsBadRequest() {
        #expect(error(400, "invalid_request_error", "messages.0.content: Field required")
            == .badRequest(provider: "anthropic", status: 400, message: "messages.0.content: Field required"))
    }

    @Test func bodyThatIsNotJSONIsQuotedAsTheMessage() {
        let error = format.error(status: 502, retryAfter: nil, body: Data("<html>\nBad Gateway</html>".utf8), model: "m")
        #expect(error == .serverError(provider: "anthropic", status: 502, message: "<html> Bad Gateway</html>"))
    }
}
