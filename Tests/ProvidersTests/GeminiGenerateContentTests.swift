import Foundation
import Testing
@testable import Providers

/// Requests, streams and errors in the shapes Google's Gemini API uses.
@Suite struct GeminiGenerateContentTests {
    let format = GeminiFormat()
    let endpoint = Endpoint(baseURL: "https://generativelanguage.googleapis.com/v1beta", apiKey: try! APIKey("AIzaSyTestKey", provider: "gemini"))

    func body(_ request: WireRequest) -> String { String(decoding: request.body, as: UTF8.self) }
    func canonical(_ json: String) -> String { String(decoding: JSON.data(JSON.object(json)!), as: UTF8.self) }

    func decode(_ chunks: [String], end: Bool = true) throws -> [ProviderEvent] {
        var decoder = format.makeDecoder()
        var events: [ProviderEvent] = []
        for chunk in chunks { events += try decoder.decode(ServerSentEvent(data: chunk)) }
        if end { try decoder.end() }
        return events
    }

    // MARK: Recorded-shape chunks

    /// A GenerateContentResponse; `parts` is the JSON array's inside.
    func chunk(_ parts: String, finish: String? = nil, usage: String? = #"{"promptTokenCount":8,"candidatesTokenCount":2,"totalTokenCount":10}"#) -> String {
        let finishField = finish.map { #","finishReason":"\#($0)""# } ?? ""
        let usageField = usage.map { #","usageMetadata":\#($0)"# } ?? ""
        return #"{"candidates":[{"content":{"parts":[\#(parts)],"role":"model"}\#(finishField),"index":0}]\#(usageField),"modelVersion":"gemini-2.5-flash","responseId":"mK9jaLzOBpa-1PIPhbXZkAs"}"#
    }

    func textPart(_ text: String) -> String { #"{"text":"\#(text)"}"# }

    // MARK: Requests

    @Test func requestGoesToStreamGenerateContentWithSSEAndKeyHeader() throws {
        let request = try format.request(for: ModelRequest(model: "gemini-2.5-flash", messages: [.user("Hi")]), endpoint: endpoint)
        #expect(request.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        #expect(request.header("x-goog-api-key") == "AIzaSyTestKey")
        #expect(request.header("content-type") == "application/json")
        #expect(!request.url.contains("key="))
    }

    @Test func requestWithoutKeySendsNoKeyHeader() throws {
        let request = try format.request(for: ModelRequest(model: "gemini-2.5-flash", messages: [.user("Hi")]),
                                         endpoint: Endpoint(baseURL: "http://localhost:9000/v1beta/", apiKey: nil))
        #expect(request.url == "http://localhost:9000/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        #expect(request.header("x-goog-api-key") == nil)
    }

    @Test func modelNameWithModelsPrefixIsNotDoubled() throws {
        let request = try format.request(for: ModelRequest(model: "models/gemini-2.5-pro", messages: [.user("Hi")]), endpoint: endpoint)
        #expect(request.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse")
    }

    @Test func minimalRequestHasOnlyContents() throws {
        let request = try format.request(for: ModelRequest(model: "gemini-2.5-flash", messages: [.user("Hi")]), endpoint: endpoint)
        #expect(body(request) == canonical(#"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}"#))
    }

    @Test func requestCarriesSystemInstructionToolsAndGenerationConfig() throws {
        let tool = ToolDefinition(name: "read_file", description: "Read a file",
                                  parameters: #"{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}"#)
        let request = try format.request(for: ModelRequest(model: "gemini-2.5-pro", system: "Be brief.", messages: [.user("Hi")],
                                                           tools: [tool], temperature: 0.5, maxOutputTokens: 1000, stop: ["END"]),
                                         endpoint: endpoint)
        #expect(body(request) == canonical(#"""
            {"contents":[{"role":"user","parts":[{"text":"Hi"}]}],
             "systemInstruction":{"parts":[{"text":"Be brief."}]},
             "tools":[{"functionDeclarations":[{"name":"read_file","description":"Read a file",
                "parametersJsonSchema":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}]}],
             "generationConfig":{"temperature":0.5,"maxOutputTokens":1000,"stopSequences":["END"]}}
            """#))
    }

    @Test func callsBecomeFunctionCallPartsAndConsecutiveResultsMergeIntoOneTurn() throws {
        let read = ToolCall(id: "call_0", name: "read_file", arguments: #"{"path":"a.txt"}"#, signature: "CiQB0e2Kb7")
        let list = ToolCall(id: "call_1", name: "list_dir", arguments: "")
        let request = try format.request(for: ModelRequest(model: "gemini-2.5-flash", messages: [
            .user("Look around."),
            .assistant("", toolCalls: [read, list]),
            .toolResult(for: read, "hello"),
            .toolResult(for: list, "a.txt b.txt"),
            .assistant("Done.", toolCalls: [read]),
            .toolResult(for: read, "hello again"),
        ]), endpoint: endpoint)
        #expect(body(request) == canonical(#"""
            {"contents":[
              {"role":"user","parts":[{"text":"Look around."}]},
              {"role":"model","parts":[
                {"functionCall":{"name":"read_file","args":{"path":"a.txt"}},"thoughtSignature":"CiQB0e2Kb7"},
                {"functionCall":{"name":"list_dir","args":{}}}]},
              {"role":"user","parts":[
                {"functionResponse":{"name":"read_file","response":{"result":"hello"}}},
                {"functionResponse":{"name":"list_dir","response":{"result":"a.txt b.txt"}}}]},
              {"role":"model","parts":[
                {"text":"Done."},
                {"functionCall":{"name":"read_file","args":{"path":"a.txt"}},"thoughtSignature":"CiQB0e2Kb7"}]},
              {"role":"user","parts":[{"functionResponse":{"name":"read_file","response":{"result":"hello again"}}}]}]}
            """#))
    }

    @Test func toolResultWithoutANameTakesTheNameOfTheCallItAnswers() throws {
        let call = ToolCall(id: "call_0", name: "run", arguments: #"{"cmd":"ls"}"#)
        let request = try format.request(for: ModelRequest(model: "m", messages: [
            .assistant("", toolCalls: [call]), ChatMessage(role: .tool, text: "ok", toolCallID: "call_0"),
        ]), endpoint: endpoint)
        let contents = JSON.object(request.body)?["contents"] as? [[String: Any]] ?? []
        let part = (contents.last?["parts"] as? [[String: Any]])?.first?["functionResponse"] as? [String: Any]
        #expect(part?["name"] as? String == "run")
    }

    // MARK: Streams

    @Test func plainTextStreamEmitsTextThenFinishThenUsageOnce() throws {
        let events = try decode([
            chunk(textPart("Hello"), usage: #"{"promptTokenCount":8,"totalTokenCount":8}"#),
            chunk(textPart(" there")),
            chunk(textPart("!"), finish: "STOP", usage: #"{"promptTokenCount":8,"candidatesTokenCount":3,"totalTokenCount":11,"promptTokensDetails":[{"modality":"TEXT","tokenCount":8}]}"#),
        ])
        #expect(events == [.textDelta("Hello"), .textDelta(" there"), .textDelta("!"), .finish(.stop),
                           .usage(Usage(inputTokens: 8, outputTokens: 3, estimated: false))])
    }

    @Test func thoughtTokensCountAsOutput() throws {
        let events = try decode([
            chunk(textPart("Hi"), finish: "STOP", usage: #"{"promptTokenCount":12,"candidatesTokenCount":5,"thoughtsTokenCount":120,"totalTokenCount":137}"#),
        ])
        #expect(events.last == .usage(Usage(inputTokens: 12, outputTokens: 125, estimated: false)))
    }

    @Test func thoughtPartsAreNotText() throws {
        let events = try decode([
            chunk(#"{"text":"**Planning the reply**","thought":true}"#),
            chunk(#"{"text":"Answer","thoughtSignature":"CiQB0e2Kb7"}"#, finish: "STOP"),
        ])
        #expect(events.filter { if case .textDelta = $0 { true } else { false } } == [.textDelta("Answer")])
    }

    @Test func wholeFunctionCallYieldsDeltaThenCallWithSortedArgumentsAndToolCallsFinish() throws {
        let events = try decode([
            chunk(#"{"functionCall":{"name":"get_weather","args":{"unit":"celsius","location":"Boston, MA"}},"thoughtSignature":"CiQB0e2Kb7"}"#,
                  finish: "STOP"),
        ])
        let arguments = #"{"location":"Boston, MA","unit":"celsius"}"#
        #expect(events == [
            .toolCallDelta(index: 0, id: "call_0", name: "get_weather", argumentsDelta: arguments),
            .toolCall(ToolCall(id: "call_0", name: "get_weather", arguments: arguments, signature: "CiQB0e2Kb7")),
            .finish(.toolCalls),
            .usage(Usage(inputTokens: 8, outputTokens: 2, estimated: false)),
        ])
    }

    @Test func functionCallIdSentByGeminiIsKept() throws {
        let events = try decode([chunk(#"{"functionCall":{"id":"fc_9x2","name":"run","args":{}}}"#, finish: "STOP")])
        #expect(events.contains(.toolCall(ToolCall(id: "fc_9x2", name: "run", arguments: "{}"))))
    }

    @Test func parallelFunctionCallsAreNumberedFromZeroAcrossChunks() throws {
        let events = try decode([
            chunk(#"{"text":"Reading both."},{"functionCall":{"name":"read_file","args":{"path":"a.ts"}}}"#),
            chunk(#"{"functionCall":{"name":"run","args":{"cmd":"npm test"}}}"#, finish: "STOP"),
        ])
        let calls = events.compactMap { if case .toolCall(let call) = $0 { call } else { nil } }
        #expect(calls == [ToolCall(id: "call_0", name: "read_file", arguments: #"{"path":"a.ts"}"#),
                          ToolCall(id: "call_1", name: "run", arguments: #"{"cmd":"npm test"}"#)])
        let indexes = events.compactMap { if case .toolCallDelta(let index, _, _, _) = $0 { index } else { nil } }
        #expect(indexes == [0, 1])
        #expect(events.contains(.finish(.toolCalls)))
    }

    @Test(arguments: [("STOP", FinishReason.stop), ("MAX_TOKENS", .length), ("OTHER", .other("OTHER")),
                      ("BRAND_NEW_REASON", .other("BRAND_NEW_REASON"))])
    func finishReasonMapsWithoutFunctionCalls(raw: String, expected: FinishReason) throws {
        let events = try decode([chunk(textPart("Hi"), finish: raw)])
        #expect(events.filter { if case .finish = $0 { true } else { false } } == [.finish(expected)])
    }

    @Test(arguments: ["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"])
    func blockingFinishReasonThrowsRefusal(reason: String) throws {
        #expect(throws: ProviderError.refusal(provider: "gemini", message: "blocked: \(reason)")) {
            _ = try decode([chunk("", finish: reason)], end: false)
        }
    }

    @Test func blockedPromptThrowsRefusal() throws {
        #expect(throws: ProviderError.refusal(provider: "gemini", message: "blocked: PROHIBITED_CONTENT")) {
            _ = try decode([#"{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":7,"totalTokenCount":7},"modelVersion":"gemini-2.5-flash"}"#],
                           end: false)
        }
    }

    @Test func malformedFunctionCallFinishThrowsMalformedToolArguments() throws {
        let message = "Malformed function call: print(default_api.run(cmd=ls"
        #expect(throws: ProviderError.malformedToolArguments(name: "?", arguments: message)) {
            _ = try decode([#"{"candidates":[{"content":{"parts":[]},"finishReason":"MALFORMED_FUNCTION_CALL","finishMessage":"\#(message)","index":0}]}"#],
                           end: false)
        }
    }

    @Test func streamCutBeforeAFinishReasonThrowsStreamInterrupted() throws {
        #expect(throws: ProviderError.streamInterrupted(after: "5 characters of text")) {
            _ = try decode([chunk(textPart("Hello"))])
        }
        #expect(throws: ProviderError.streamInterrupted(after: "0 characters of text and 1 tool calls")) {
            _ = try decode([chunk(#"{"functionCall":{"name":"run","args":{}}}"#)])
        }
    }

    @Test func errorObjectInTheStreamThrowsStreamInterrupted() throws {
        #expect(throws: ProviderError.streamInterrupted(after: "the server reported The model is overloaded. Please try again later.")) {
            _ = try decode([chunk(textPart("Hel")),
                            #"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#])
        }
    }

    @Test func dataThatIsNotJSONIsAMalformedEvent() throws {
        #expect(throws: ProviderError.malformedEvent("not json")) { _ = try decode(["not json"], end: false) }
    }

    // MARK: Errors

    func error(_ status: Int, _ code: String, _ message: String, details: String = "[]", retryAfter: Duration? = nil) -> ProviderError {
        format.error(status: status, retryAfter: retryAfter,
                     body: Data(#"{"error":{"code":\#(status),"message":"\#(message)","status":"\#(code)","details":\#(details)}}"#.utf8),
                     model: "gemini-x")
    }

    @Test func invalidKeyIsAuthenticationThoughSentAs400() {
        let details = #"[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]"#
        #expect(error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", details: details)
            == .authentication(provider: "gemini", message: "API key not valid. Please pass a valid API key."))
    }

    @Test func status401IsAuthentication() {
        #expect(error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
            == .authentication(provider: "gemini", message: "Request had invalid authentication credentials."))
    }

    @Test func status403IsPermissionDenied() {
        #expect(error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
            == .permissionDenied(provider: "gemini", message: "Method doesn't allow unregistered callers."))
    }

    @Test func status404IsUnknownModel() {
        let message = "models/gemini-x is not found for API version v1beta, or is not supported for generateContent."
        #expect(error(404, "NOT_FOUND", message) == .unknownModel(provider: "gemini", model: "gemini-x", message: message))
    }

    static let perMinute = #"[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"10"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"36s"}]"#
    static let quotaMessage = "You exceeded your current quota, please check your plan and billing details."

    @Test func perMinute429IsRateLimitedWithTheRetryAfterHeader() {
        #expect(error(429, "RESOURCE_EXHAUSTED", Self.quotaMessage, details: Self.perMinute, retryAfter: .seconds(20))
            == .rateLimited(provider: "gemini", retryAfter: .seconds(20), message: Self.quotaMessage))
    }

    @Test func perMinute429WithoutHeaderTakesRetryInfoDelay() {
        #expect(error(429, "RESOURCE_EXHAUSTED", Self.quotaMessage, details: Self.perMinute)
            == .rateLimited(provider: "gemini", retryAfter: .seconds(36), message: Self.quotaMessage))
    }

    @Test func dailyQuotaOrZeroLimit429IsQuotaExhausted() {
        let perDay = #"[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-pro"},"quotaValue":"50"}]}]"#
        #expect(error(429, "RESOURCE_EXHAUSTED", Self.quotaMessage, details: perDay) == .quotaExhausted(provider: "gemini", message: Self.quotaMessage))
        let zero = "Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: gemini-2.5-pro"
        #expect(error(429, "RESOURCE_EXHAUSTED", zero) == .quotaExhausted(provider: "gemini", message: zero))
    }

    @Test func tooManyInputTokensIsContextOverflow() {
        let message = "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
        #expect(error(400, "INVALID_ARGUMENT", message) == .contextOverflow(provider: "gemini", message: message))
    }

    @Test func status5xxIsServerError() {
        #expect(error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
            == .serverError(provider: "gemini", status: 503, message: "The model is overloaded. Please try again later."))
        #expect(error(500, "INTERNAL", "An internal error has occurred.")
            == .serverError(provider: "gemini", status: 500, message: "An internal error has occurred."))
    }

    @Test func otherInvalidArgumentIsBadRequest() {
        #expect(error(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name \\\"foo\\\": Cannot find field.")
            == .badRequest(provider: "gemini", status: 400, message: #"Invalid JSON payload received. Unknown name "foo": Cannot find field."#))
    }

    @Test func errorWrappedInAnArrayIsRead() {
        let body = Data(#"[{"error":{"code":403,"message":"Permission denied on resource project x.","status":"PERMISSION_DENIED"}}]"#.utf8)
        #expect(format.error(status: 403, retryAfter: nil, body: body, model: "m")
            == .permissionDenied(provider: "gemini", message: "Permission denied on resource project x."))
    }

    @Test func bodyThatIsNotJSONIsQuotedAsTheMessage() {
        #expect(format.error(status: 502, retryAfter: nil, body: Data("<html>\nBad Gateway</html>".utf8), model: "m")
            == .serverError(provider: "gemini", status: 502, message: "<html> Bad Gateway</html>"))
    }
}
