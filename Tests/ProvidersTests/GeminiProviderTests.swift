import Foundation
import ProviderTesting
import Testing
@testable import Providers

/// The Gemini client end to end: `HTTPProvider` with the Gemini format
/// against a local server that checks the exact request and answers with
/// bodies in the shapes Google's API sends (`streamGenerateContent?alt=sse`
/// chunks, each a whole GenerateContentResponse, events ended by CRLF CRLF;
/// errors as pretty-printed `{"error":{"code","message","status","details"}}`).
@Suite struct GeminiProviderTests {
    static let key = "AIzaSyTest-gemini-key-0123456789abcdefg"
    static let request: ModelRequest = {
        var request = sampleRequest
        request.model = "gemini-2.5-flash"
        return request
    }()

    // MARK: Recorded-shape chunks

    static let promptUsage = #"{"promptTokenCount": 12,"totalTokenCount": 12,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 12}]}"#
    static func finalUsage(candidates: Int, thoughts: Int) -> String {
        #"{"promptTokenCount": 12,"candidatesTokenCount": \#(candidates),"totalTokenCount": \#(12 + candidates + thoughts),"promptTokensDetails": [{"modality": "TEXT","tokenCount": 12}],"thoughtsTokenCount": \#(thoughts)}"#
    }

    /// A GenerateContentResponse as the stream carries it; `parts` is the inside of the parts array.
    static func chunk(_ parts: String, finish: String? = nil, usage: String = promptUsage) -> String {
        let finishField = finish.map { #","finishReason": "\#($0)""# } ?? ""
        return #"{"candidates": [{"content": {"parts": [\#(parts)],"role": "model"}\#(finishField),"index": 0}],"usageMetadata": \#(usage),"modelVersion": "gemini-2.5-flash","responseId": "mK9jaLzOBpa-1PIPhbXZkAs"}"#
    }

    static let hello = [chunk(#"{"text": "Hel"}"#), chunk(#"{"text": "lo"}"#, finish: "STOP", usage: finalUsage(candidates: 2, thoughts: 26))]

    /// A 200 event stream as Gemini writes it: `data: …` then CRLF CRLF.
    static func answer(_ chunks: [String], then tail: String = "", thenEnd: Bool = true) -> [ScriptedHTTPServer.Step] {
        [.head(status: 200, headers: [("content-type", "text/event-stream")]),
         .text(chunks.map { "data: \($0)\r\n\r\n" }.joined() + tail)] + (thenEnd ? [.end] : [.close])
    }

    func provider(_ server: ScriptedHTTPServer, options: HTTPProviderOptions = testOptions()) throws -> HTTPProvider<GeminiFormat> {
        HTTPProvider(format: GeminiFormat(),
                     endpoint: Endpoint(baseURL: server.baseURL + "/v1beta", apiKey: try APIKey(Self.key, provider: "gemini")),
                     options: options)
    }

    /// JSON text with sorted keys, so two bodies compare field for field.
    static func canonical(_ data: Data) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: data), options: [.sortedKeys]), as: UTF8.self)
    }

    // MARK: Request and replies

    @Test func sendsTheExactStreamGenerateContentRequestAndStreamsTheReplyWithGeminisUsage() async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.answer(Self.hello) }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(Self.request)
        // Output tokens are the candidates' plus the thinking ones (2 + 26).
        #expect(reply == ModelReply(text: "Hello", toolCalls: [], usage: Usage(inputTokens: 12, outputTokens: 28, estimated: false), finishReason: .stop))

        #expect(server.requests.count == 1)
        let request = try #require(server.requests.first)
        #expect(request.method == "POST")
        #expect(request.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent")
        #expect(request.query == "alt=sse", "SSE framing asked for, and the key not in the URL")
        #expect(request.headers["x-goog-api-key"] == Self.key)
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["authorization"] == nil, "Gemini takes the key in x-goog-api-key only")
        // The whole body: the assistant as role "model", the result as a
        // functionResponse named after its call, limits in generationConfig.
        #expect(try Self.canonical(request.body) == Self.canonical(Data(#"""
            {"contents":[
               {"role":"user","parts":[{"text":"Make a file"}]},
               {"role":"model","parts":[{"functionCall":{"name":"create_file","args":{"path":"a.txt"}}}]},
               {"role":"user","parts":[{"functionResponse":{"name":"create_file","response":{"result":"created"}}}]}],
             "systemInstruction":{"parts":[{"text":"You write code."}]},
             "tools":[{"functionDeclarations":[{"name":"create_file","description":"Creates a file",
                "parametersJsonSchema":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}]}],
             "generationConfig":{"temperature":0.2,"maxOutputTokens":256,"stopSequences":["END"]}}
            """#.utf8)))
    }

    @Test func aWholeFunctionCallIsDeliveredAsOneDeltaAndOneCallWithToolCallsFinish() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            Self.answer([Self.chunk(#"{"functionCall": {"name": "create_file","args": {"path": "b.txt","content": "hi"}},"thoughtSignature": "CiQB0e2Kb7Vx3k4DSmzZ"}"#,
                                    finish: "STOP", usage: Self.finalUsage(candidates: 18, thoughts: 40))])
        }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(Self.request))
        #expect(error == nil)
        let arguments = #"{"content":"hi","path":"b.txt"}"#
        #expect(events == [
            .toolCallDelta(index: 0, id: "call_0", name: "create_file", argumentsDelta: arguments),
            .toolCall(ToolCall(id: "call_0", name: "create_file", arguments: arguments, signature: "CiQB0e2Kb7Vx3k4DSmzZ")),
            .finish(.toolCalls),
            .usage(Usage(inputTokens: 12, outputTokens: 58, estimated: false)),
        ])
    }

    @Test func parallelFunctionCallsBecomeTwoCallsInOrder() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            Self.answer([
                Self.chunk(#"{"text": "Reading both."}"#),
                Self.chunk(#"{"functionCall": {"name": "read_file","args": {"path": "a.ts"}},"thoughtSignature": "CiQB0e2Kb7"},{"functionCall": {"name": "run","args": {"cmd": "npm test"}}}"#,
                           finish: "STOP", usage: Self.finalUsage(candidates: 30, thoughts: 0)),
            ])
        }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(Self.request)
        #expect(reply.text == "Reading both.")
        #expect(reply.toolCalls == [ToolCall(id: "call_0", name: "read_file", arguments: #"{"path":"a.ts"}"#, signature: "CiQB0e2Kb7"),
                                    ToolCall(id: "call_1", name: "run", arguments: #"{"cmd":"npm test"}"#)])
        #expect(reply.finishReason == .toolCalls, "Gemini says STOP after calls too")
        #expect(reply.usage == Usage(inputTokens: 12, outputTokens: 30, estimated: false))
    }

    // MARK: Refused requests

    static let invalidKey = #"""
        {
          "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [
              {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {
                  "service": "generativelanguage.googleapis.com"
                }
              },
              {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": "API key not valid. Please pass a valid API key."
              }
            ]
          }
        }
        """#
    static let unauthenticatedMessage = "API keys are not supported by this API. Expected OAuth2 access token or other authentication credentials that assert a principal. See https://cloud.google.com/docs/authentication"
    static let unauthenticated = #"""
        {
          "error": {
            "code": 401,
            "message": "\#(Self.unauthenticatedMessage)",
            "status": "UNAUTHENTICATED",
            "details": [
              {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "CREDENTIALS_MISSING",
                "domain": "googleapis.com",
                "metadata": {
                  "method": "google.ai.generativelanguage.v1beta.GenerativeService.StreamGenerateContent",
                  "service": "generativelanguage.googleapis.com"
                }
              }
            ]
          }
        }
        """#
    static let serviceDisabledMessage = "Generative Language API has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=123456789012 then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry."
    static let serviceDisabled = #"""
        {
          "error": {
            "code": 403,
            "message": "\#(Self.serviceDisabledMessage)",
            "status": "PERMISSION_DENIED",
            "details": [
              {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com",
                "metadata": {
                  "consumer": "projects/123456789012",
                  "service": "generativelanguage.googleapis.com"
                }
              }
            ]
          }
        }
        """#
    static let notFoundMessage = "models/gemini-2.5-flash is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."
    static let notFound = #"""
        {
          "error": {
            "code": 404,
            "message": "\#(Self.notFoundMessage)",
            "status": "NOT_FOUND"
          }
        }
        """#
    static let tooLong = #"""
        {
          "error": {
            "code": 400,
            "message": "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
            "status": "INVALID_ARGUMENT"
          }
        }
        """#
    static let perDayMessage = "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 250\nPlease retry in 37.190137s."
    static let perDay = #"""
        {
          "error": {
            "code": 429,
            "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 250\nPlease retry in 37.190137s.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
              {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                  {
                    "description": "Learn more about Gemini API quotas",
                    "url": "https://ai.google.dev/gemini-api/docs/rate-limits"
                  }
                ]
              },
              {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                  {
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                    "quotaDimensions": {
                      "location": "global",
                      "model": "gemini-2.5-flash"
                    },
                    "quotaValue": "250"
                  }
                ]
              },
              {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": "37s"
              }
            ]
          }
        }
        """#
    static let zeroLimitMessage = "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_input_token_count, limit: 0, model: gemini-2.5-pro\nPlease retry in 11.5s."
    static let zeroLimit = #"""
        {
          "error": {
            "code": 429,
            "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_input_token_count, limit: 0, model: gemini-2.5-pro\nPlease retry in 11.5s.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
              {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                  {
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_input_token_count",
                    "quotaId": "GenerateContentInputTokensPerModelPerMinute-FreeTier",
                    "quotaDimensions": {
                      "location": "global",
                      "model": "gemini-2.5-pro"
                    }
                  }
                ]
              },
              {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": "11s"
              }
            ]
          }
        }
        """#
    static let unknownFieldMessage = #"Invalid JSON payload received. Unknown name "foo" at 'generation_config': Cannot find field."#
    static let unknownField = #"""
        {
          "error": {
            "code": 400,
            "message": "Invalid JSON payload received. Unknown name \"foo\" at 'generation_config': Cannot find field.",
            "status": "INVALID_ARGUMENT",
            "details": [
              {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [
                  {
                    "field": "generation_config",
                    "description": "Invalid JSON payload received. Unknown name \"foo\" at 'generation_config': Cannot find field."
                  }
                ]
              }
            ]
          }
        }
        """#

    @Test(arguments: [
        (400, invalidKey, ProviderError.authentication(provider: "gemini", message: "API key not valid. Please pass a valid API key.")),
        (401, unauthenticated, .authentication(provider: "gemini", message: unauthenticatedMessage)),
        (403, serviceDisabled, .permissionDenied(provider: "gemini", message: serviceDisabledMessage)),
        (404, notFound, .unknownModel(provider: "gemini", model: "gemini-2.5-flash", message: notFoundMessage)),
        (400, tooLong, .contextOverflow(provider: "gemini", message: "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).")),
        (429, perDay, .quotaExhausted(provider: "gemini", message: perDayMessage)),
        (429, zeroLimit, .quotaExhausted(provider: "gemini", message: zeroLimitMessage)),
        (400, unknownField, .badRequest(provider: "gemini", status: 400, message: unknownFieldMessage)),
    ])
    func refusedRequestsBecomeTypedErrorsWithoutRetryingAndWithoutTheKey(status: Int, body: String, expected: ProviderError) async throws {
        let server = try await ScriptedHTTPServer { _, _ in errorAnswer(status, body) }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(Self.request))
        #expect(events.isEmpty)
        let typed = try #require(error as? ProviderError, "\(String(describing: error))")
        #expect(typed == expected)
        #expect(server.requests.count == 1, "not retried")
        #expect(!typed.description.contains(Self.key) && !String(reflecting: typed).contains(Self.key))
    }

    /// Google names a suspended key in the message itself
    /// ("Consumer 'api_key:AIza…' has been suspended").
    @Test func aKeyTheServerEchoesInItsMessageIsNotInTheErrorsDescription() async throws {
        let body = #"""
            {
              "error": {
                "code": 403,
                "message": "Permission denied: Consumer 'api_key:\#(Self.key)' has been suspended.",
                "status": "PERMISSION_DENIED",
                "details": [
                  {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "CONSUMER_SUSPENDED",
                    "domain": "googleapis.com",
                    "metadata": {
                      "consumer": "projects/123456789012",
                      "service": "generativelanguage.googleapis.com",
                      "containerInfo": "api_key:\#(Self.key)"
                    }
                  }
                ]
              }
            }
            """#
        let server = try await ScriptedHTTPServer { _, _ in errorAnswer(403, body) }
        defer { Task { await server.shutdown() } }
        let (_, error) = await collect(try provider(server).stream(Self.request))
        let typed = try #require(error as? ProviderError, "\(String(describing: error))")
        guard case .permissionDenied(provider: "gemini", _) = typed else {
            Issue.record("expected permissionDenied, got \(typed)")
            return
        }
        #expect(server.requests.count == 1, "not retried")
        #expect(!typed.description.contains(Self.key))
        #expect(typed.description.contains("<redacted>"))
    }

    // MARK: Retries

    static func perMinute(retryDelay: String) -> String {
        #"""
        {
          "error": {
            "code": 429,
            "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: gemini-2.5-flash\nPlease retry in \#(retryDelay).",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
              {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                  {
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    "quotaDimensions": {
                      "location": "global",
                      "model": "gemini-2.5-flash"
                    },
                    "quotaValue": "10"
                  }
                ]
              },
              {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": "\#(retryDelay)"
              }
            ]
          }
        }
        """#
    }

    @Test func aRateLimitIsRetriedAfterItsRetryAfterHeaderWhichWinsOverTheBodysDelay() async throws {
        let server = try await ScriptedHTTPServer { _, number in
            number == 0 ? errorAnswer(429, Self.perMinute(retryDelay: "36s"), headers: [("retry-after", "1")]) : Self.answer(Self.hello)
        }
        defer { Task { await server.shutdown() } }
        let start = ContinuousClock.now
        let reply = try await provider(server).complete(Self.request)
        let waited = ContinuousClock.now - start
        #expect(reply.text == "Hello" && server.requests.count == 2)
        #expect(waited >= .seconds(1), "waited as Retry-After asked")
        #expect(waited < .seconds(30), "the header's 1 s, not the body's 36 s")
    }

    @Test func aRateLimitWithoutTheHeaderWaitsTheRetryInfoDelay() async throws {
        let server = try await ScriptedHTTPServer { _, number in
            number == 0 ? errorAnswer(429, Self.perMinute(retryDelay: "1s")) : Self.answer(Self.hello)
        }
        defer { Task { await server.shutdown() } }
        let start = ContinuousClock.now
        let reply = try await provider(server).complete(Self.request)
        #expect(reply.text == "Hello" && server.requests.count == 2)
        #expect(ContinuousClock.now - start >= .seconds(1), "waited as google.rpc.RetryInfo asked")
    }

    @Test func aRateLimitWithNoRetryHintIsRetriedWithBackoff() async throws {
        let body = #"""
            {
              "error": {
                "code": 429,
                "message": "Resource has been exhausted (e.g. check quota).",
                "status": "RESOURCE_EXHAUSTED"
              }
            }
            """#
        let server = try await ScriptedHTTPServer { _, number in number == 0 ? errorAnswer(429, body) : Self.answer(Self.hello) }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(Self.request)
        #expect(reply.text == "Hello" && server.requests.count == 2)
    }

    static let internalError = #"""
        {
          "error": {
            "code": 500,
            "message": "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
            "status": "INTERNAL"
          }
        }
        """#
    static let overloaded = #"""
        {
          "error": {
            "code": 503,
            "message": "The model is overloaded. Please try again later.",
            "status": "UNAVAILABLE"
          }
        }
        """#

    @Test(arguments: [(500, internalError), (503, overloaded)])
    func aServerErrorIsRetriedAndTheRetrySucceeds(status: Int, body: String) async throws {
        let server = try await ScriptedHTTPServer { _, number in number == 0 ? errorAnswer(status, body) : Self.answer(Self.hello) }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(Self.request)
        #expect(reply.text == "Hello" && server.requests.count == 2)
        #expect(server.requests.allSatisfy { $0.uri == server.requests[0].uri && $0.body == server.requests[0].body },
                "the same request is sent again")
    }

    @Test func aPersistentOverloadEndsAsAServerErrorAfterTheLastAttempt() async throws {
        let server = try await ScriptedHTTPServer { _, _ in errorAnswer(503, Self.overloaded) }
        defer { Task { await server.shutdown() } }
        let (_, error) = await collect(try provider(server, options: testOptions(attempts: 3)).stream(Self.request))
        #expect(error as? ProviderError == .serverError(provider: "gemini", status: 503, message: "The model is overloaded. Please try again later."))
        #expect(server.requests.count == 3)
    }

    // MARK: Broken replies

    @Test func aStreamCutInsideTheChunkOfASecondCallIsAnInterruptionNotAReply() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            Self.answer([Self.chunk(#"{"text": "Reading both."},{"functionCall": {"name": "read_file","args": {"path": "a.ts"}}}"#)],
                        then: #"data: {"candidates": [{"content": {"parts": [{"functionCall": {"name": "run","args": {"cmd": "ma"#,
                        thenEnd: false)
        }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(Self.request))
        let first = ToolCall(id: "call_0", name: "read_file", arguments: #"{"path":"a.ts"}"#)
        #expect(events == [.textDelta("Reading both."),
                           .toolCallDelta(index: 0, id: "call_0", name: "read_file", argumentsDelta: first.arguments), .toolCall(first)],
                "what arrived was delivered; the cut call and no finish were not")
        await expectInterruptedWithoutRetry(error, server: server) { try await provider(server).complete(Self.request) }
    }

    @Test func aMalformedFunctionCallIsReportedWithGeminisMessage() async throws {
        let message = #"Malformed function call: print(default_api.create_file(path=\"b.txt\", content=hi"#
        let server = try await ScriptedHTTPServer { _, _ in
            Self.answer([#"{"candidates": [{"content": {},"finishReason": "MALFORMED_FUNCTION_CALL","finishMessage": "\#(message)","index": 0}],"usageMetadata": {"promptTokenCount": 12,"totalTokenCount": 12},"modelVersion": "gemini-2.5-flash","responseId": "mK9jaLzOBpa-1PIPhbXZkAs"}"#])
        }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(Self.request))
        #expect(events.isEmpty)
        #expect(error as? ProviderError == .malformedToolArguments(name: "?", arguments: #"Malformed function call: print(default_api.create_file(path="b.txt", content=hi"#))
    }

    @Test func anUnknownFinishReasonIsKeptAsWritten() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            Self.answer([Self.chunk(#"{"text": "ok"}"#, finish: "BRAND_NEW_REASON", usage: Self.finalUsage(candidates: 1, thoughts: 0))])
        }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(Self.request)
        #expect(reply.finishReason == .other("BRAND_NEW_REASON") && reply.text == "ok")
    }

    @Test func anErrorObjectMidStreamIsAnInterruption() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            Self.answer([Self.chunk(#"{"text": "Hel"}"#),
                         #"{"error": {"code": 503,"message": "The model is overloaded. Please try again later.","status": "UNAVAILABLE"}}"#])
        }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(Self.request))
        #expect(events == [.textDelta("Hel")])
        #expect(error as? ProviderError == .streamInterrupted(after: "the server reported The model is overloaded. Please try again later."))
        #expect(server.requests.count == 1, "a reply that had begun is not retried")
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let server = try await ScriptedHTTPServer { _, _ in [.hang] }
        defer { Task { await server.shutdown() } }
        let start = ContinuousClock.now
        let (_, error) = await collect(try provider(server, options: testOptions(readTimeout: .seconds(2), attempts: 1)).stream(Self.request))
        #expect(error as? ProviderError == .timeout(provider: "gemini", after: .seconds(2)), "\(String(describing: error))")
        #expect(server.requests.count == 1)
        #expect(ContinuousClock.now - start < .seconds(60), "the read timeout, not a hang")
    }
}
