import Foundation
import ProviderTesting
import Testing
@testable import Providers

/// The OpenAI client against a local server that checks the exact request
/// and answers in Chat Completions' streaming shape.
@Suite struct OpenAIProviderTests {
    static func chunk(_ delta: String, finish: String? = nil) -> (event: String?, data: String) {
        (nil, #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-test","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish.map { "\"\($0)\"" } ?? "null")}]}"#)
    }
    static let usage: (event: String?, data: String) = (nil, #"{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":31,"completion_tokens":5,"total_tokens":36}}"#)
    static let done: (event: String?, data: String) = (nil, "[DONE]")
    static let hello = [chunk(#"{"role":"assistant","content":""}"#), chunk(#"{"content":"Hel"}"#), chunk(#"{"content":"lo"}"#),
                        chunk("{}", finish: "stop"), usage, done]

    func provider(_ server: ScriptedHTTPServer, key: String? = "sk-test-123", options: HTTPProviderOptions = testOptions(),
                  ownAPI: Bool = true) throws -> HTTPProvider<OpenAIChatFormat> {
        HTTPProvider(format: OpenAIChatFormat(provider: "openai", usesMaxCompletionTokens: ownAPI),
                     endpoint: Endpoint(baseURL: server.baseURL + "/v1/", apiKey: try key.map { try APIKey($0, provider: "openai") }),
                     options: options)
    }

    @Test func sendsTheExactChatCompletionsRequestAndStreamsTheReply() async throws {
        let server = try await ScriptedHTTPServer { _, _ in sseAnswer(Self.hello) }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(sampleRequest)
        #expect(reply == ModelReply(text: "Hello", toolCalls: [], usage: Usage(inputTokens: 31, outputTokens: 5, estimated: false), finishReason: .stop))

        let request = try #require(server.requests.first)
        #expect(request.method == "POST" && request.path == "/v1/chat/completions")
        #expect(request.headers["authorization"] == "Bearer sk-test-123")
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["accept"] == "text/event-stream")
        let body = try #require(request.json)
        #expect(body["model"] as? String == "gpt-test" && body["stream"] as? Bool == true)
        #expect((body["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        #expect(body["temperature"] as? Double == 0.2 && body["max_completion_tokens"] as? Int == 256 && body["max_tokens"] == nil)
        #expect(body["stop"] as? [String] == ["END"])
        let messages = try #require(body["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["system", "user", "assistant", "tool"])
        #expect(messages[0]["content"] as? String == "You write code." && messages[1]["content"] as? String == "Make a file")
        let call = try #require((messages[2]["tool_calls"] as? [[String: Any]])?.first)
        #expect(call["id"] as? String == "call_1" && call["type"] as? String == "function")
        #expect((call["function"] as? [String: Any])?["name"] as? String == "create_file")
        #expect((call["function"] as? [String: Any])?["arguments"] as? String == #"{"path":"a.txt"}"#)
        #expect(messages[2]["content"] is NSNull, "an assistant turn of only tool calls has null content")
        #expect(messages[3]["tool_call_id"] as? String == "call_1" && messages[3]["content"] as? String == "created")
        let tool = try #require((body["tools"] as? [[String: Any]])?.first)
        #expect(tool["type"] as? String == "function")
        let function = try #require(tool["function"] as? [String: Any])
        #expect(function["name"] as? String == "create_file" && function["description"] as? String == "Creates a file")
        #expect((function["parameters"] as? [String: Any])?["required"] as? [String] == ["path"])
    }

    @Test func compatibleServersGetMaxTokensAndNoKeyWhenNoneIsConfigured() async throws {
        let server = try await ScriptedHTTPServer { _, _ in sseAnswer(Self.hello) }
        defer { Task { await server.shutdown() } }
        _ = try await provider(server, key: nil, ownAPI: false).complete(sampleRequest)
        let request = try #require(server.requests.first)
        #expect(request.headers["authorization"] == nil)
        #expect(request.json?["max_tokens"] as? Int == 256 && request.json?["max_completion_tokens"] == nil)
    }

    @Test func parallelToolCallsStreamAndComplete() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            sseAnswer([
                Self.chunk(#"{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"read_file","arguments":""}}]}"#),
                Self.chunk(#"{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"run","arguments":"{\"cmd\":"}}]}"#),
                Self.chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\":\"a.ts\"}"}}]}"#),
                Self.chunk(#"{"tool_calls":[{"index":1,"function":{"arguments":"\"make\"}"}}]}"#),
                Self.chunk("{}", finish: "tool_calls"), Self.usage, Self.done,
            ])
        }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(sampleRequest)
        #expect(reply.toolCalls == [ToolCall(id: "call_a", name: "read_file", arguments: #"{"path":"a.ts"}"#),
                                    ToolCall(id: "call_b", name: "run", arguments: #"{"cmd":"make"}"#)])
        #expect(reply.finishReason == .toolCalls)
    }

    @Test(arguments: [
        (401, #"{"error":{"message":"Incorrect API key provided: sk-test-123.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#, "authentication"),
        (403, #"{"error":{"message":"You are not allowed to sample from this model","type":"invalid_request_error","param":null,"code":null}}"#, "permissionDenied"),
        (404, #"{"error":{"message":"The model `gpt-nope` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#, "unknownModel"),
        (400, #"{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#, "contextOverflow"),
        (429, #"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#, "quotaExhausted"),
        (400, #"{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error","param":"temperature","code":null}}"#, "badRequest"),
    ])
    func refusedRequestsBecomeTypedErrorsWithoutRetrying(status: Int, body: String, expected: String) async throws {
        let server = try await ScriptedHTTPServer { _, _ in errorAnswer(status, body) }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(sampleRequest))
        #expect(events.isEmpty)
        let typed = try #require(error as? ProviderError, "\(String(describing: error))")
        #expect(Self.kind(typed) == expected, "\(typed)")
        #expect(server.requests.count == 1, "not retried")
        #expect(!typed.description.contains("sk-test-123"), "a key the server quotes back is redacted")
    }

    static func kind(_ error: ProviderError) -> String {
        String(String(describing: Mirror(reflecting: error).children.first?.label ?? "\(error)"))
    }

    @Test func rateLimitsAreRetriedAfterTheirRetryAfter() async throws {
        let server = try await ScriptedHTTPServer { _, number in
            number == 0 ? errorAnswer(429, #"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#,
                                      headers: [("retry-after", "1")])
                : sseAnswer(Self.hello)
        }
        defer { Task { await server.shutdown() } }
        let start = ContinuousClock.now
        let reply = try await provider(server).complete(sampleRequest)
        #expect(reply.text == "Hello" && server.requests.count == 2)
        #expect(ContinuousClock.now - start >= .seconds(1), "waited as Retry-After asked")
    }

    @Test func openAIsRetryAfterMillisecondsIsHonoured() async throws {
        let server = try await ScriptedHTTPServer { _, number in
            number == 0 ? errorAnswer(429, #"{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}"#,
                                      headers: [("retry-after-ms", "400"), ("retry-after", "30")])
                : sseAnswer(Self.hello)
        }
        defer { Task { await server.shutdown() } }
        let start = ContinuousClock.now
        #expect(try await provider(server).complete(sampleRequest).text == "Hello")
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(400) && waited < .seconds(25), "the finer header wins over the 30 s one: \(waited)")
    }

    @Test func aRedirectIsNotFollowedSoTheKeyStaysWithItsHost() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            [.head(status: 307, headers: [("location", "http://127.0.0.2:9/steal"), ("content-length", "0")]), .end]
        }
        defer { Task { await server.shutdown() } }
        let (_, error) = await collect(try provider(server).stream(sampleRequest))
        #expect(error as? ProviderError == .badRequest(provider: "openai", status: 307, message: ""), "\(String(describing: error))")
        #expect(server.requests.count == 1)
    }

    @Test func usageRepeatedInEveryChunkIsReportedOnceAtTheEnd() async throws {
        @Sendable func chunk(_ delta: String, finish: String? = nil, completion: Int) -> (event: String?, data: String) {
            (nil, #"{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish.map { "\"\($0)\"" } ?? "null")}],"usage":{"prompt_tokens":9,"completion_tokens":\#(completion),"total_tokens":\#(9 + completion)}}"#)
        }
        let server = try await ScriptedHTTPServer { _, _ in
            sseAnswer([chunk(#"{"content":"a"}"#, completion: 1), chunk(#"{"content":"b"}"#, completion: 2), chunk("{}", finish: "stop", completion: 2), Self.done])
        }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(sampleRequest))
        #expect(error == nil)
        let usages = events.filter { if case .usage = $0 { true } else { false } }
        #expect(usages == [.usage(Usage(inputTokens: 9, outputTokens: 2, estimated: false))])
        #expect(events.last == usages.last)
    }

    @Test func rateLimitsWithoutRetryAfterBackOffAndServerErrorsAreRetried() async throws {
        let server = try await ScriptedHTTPServer { _, number in
            switch number {
            case 0: return errorAnswer(429, #"{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}"#)
            case 1: return errorAnswer(500, #"{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}"#)
            case 2: return errorAnswer(503, "upstream unavailable")
            default: return sseAnswer(Self.hello)
            }
        }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(sampleRequest)
        #expect(reply.text == "Hello" && server.requests.count == 4)
    }

    @Test func persistentServerErrorsEndAfterTheLastAttempt() async throws {
        let server = try await ScriptedHTTPServer { _, _ in errorAnswer(502, "<html>Bad gateway</html>") }
        defer { Task { await server.shutdown() } }
        let (_, error) = await collect(try provider(server, options: testOptions(attempts: 3)).stream(sampleRequest))
        #expect(error as? ProviderError == .serverError(provider: "openai", status: 502, message: "<html>Bad gateway</html>"))
        #expect(server.requests.count == 3)
    }

    @Test func aRetryAfterLongerThanTheLimitIsNotWaitedFor() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            errorAnswer(429, #"{"error":{"message":"slow down","code":"rate_limit_exceeded"}}"#, headers: [("retry-after", "3600")])
        }
        defer { Task { await server.shutdown() } }
        let (_, error) = await collect(try provider(server).stream(sampleRequest))
        #expect(error as? ProviderError == .rateLimited(provider: "openai", retryAfter: .seconds(3600), message: "slow down"))
        #expect(server.requests.count == 1)
    }

    @Test func aConnectionClosedBeforeAnyAnswerIsRetried() async throws {
        let server = try await ScriptedHTTPServer { _, number in number == 0 ? [.close] : sseAnswer(Self.hello) }
        defer { Task { await server.shutdown() } }
        #expect(try await provider(server).complete(sampleRequest).text == "Hello")
        #expect(server.requests.count == 2)
    }

    @Test func anErrorBodyCutShortStillGivesItsStatusAndIsRetried() async throws {
        let server = try await ScriptedHTTPServer { _, number in
            number == 0 ? [.head(status: 503, headers: [("content-length", "200")]), .text(#"{"error":{"mess"#), .close] : sseAnswer(Self.hello)
        }
        defer { Task { await server.shutdown() } }
        #expect(try await provider(server).complete(sampleRequest).text == "Hello")
        #expect(server.requests.count == 2)
    }

    @Test(arguments: ["127.0.0.1", "localhost"])
    func aServerNobodyListensOnIsUnreachableWithoutExtraAttempts(host: String) async throws {
        let closed = try await ScriptedHTTPServer { _, _ in [] }
        await closed.shutdown()  // its port is now free: connections are refused
        let log = CapturedLog()
        let client = HTTPProvider(format: OpenAIChatFormat(), endpoint: Endpoint(baseURL: "http://\(host):\(closed.port)/v1", apiKey: nil),
                                  options: testOptions(), logger: log.logger)
        let (_, error) = await collect(client.stream(sampleRequest))
        guard case .unreachable(let provider, let message) = error as? ProviderError else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
        #expect(provider == "openai" && message.contains("connection refused"), "\(message)")
        #expect(!log.messages.contains { $0.contains("retrying") }, "one connect timeout, not one per attempt: \(log.messages)")
    }

    @Test func aStreamCutAfterHalfAToolCallIsAnErrorNotAReply() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            sseAnswer([Self.chunk(#"{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"write_file","arguments":"{\"path\":\"a"}}]}"#)],
                      thenEnd: false)
        }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(sampleRequest))
        #expect(events.count == 1, "the delta that arrived was delivered")
        guard case .streamInterrupted(let after) = error as? ProviderError else {
            Issue.record("expected streamInterrupted, got \(String(describing: error))")
            return
        }
        #expect(after.contains("a partial tool call"), "\(after)")
        await #expect(throws: ProviderError.self) { _ = try await provider(server).complete(sampleRequest) }
    }

    @Test func malformedToolArgumentsAreReported() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            sseAnswer([Self.chunk(#"{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"run","arguments":"{\"cmd\": make"}}]}"#),
                       Self.chunk("{}", finish: "tool_calls"), Self.done])
        }
        defer { Task { await server.shutdown() } }
        let (_, error) = await collect(try provider(server).stream(sampleRequest))
        #expect(error as? ProviderError == .malformedToolArguments(name: "run", arguments: #"{"cmd": make"#))
    }

    @Test func anEventLineOfTenMegabytesIsRefused() async throws {
        let huge = String(repeating: "x", count: 10 << 20)
        let server = try await ScriptedHTTPServer { _, _ in sseAnswer([Self.chunk(#"{"content":"\#(huge)"}"#), Self.done]) }
        defer { Task { await server.shutdown() } }
        let (events, error) = await collect(try provider(server).stream(sampleRequest))
        #expect(events.isEmpty)
        #expect(error as? ProviderError == .malformedEvent("an event line over \(8 << 20) bytes"))
    }

    @Test func anUnknownFinishReasonIsKept() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            sseAnswer([Self.chunk(#"{"content":"ok"}"#), Self.chunk("{}", finish: "brand_new_reason"), Self.usage, Self.done])
        }
        defer { Task { await server.shutdown() } }
        #expect(try await provider(server).complete(sampleRequest).finishReason == .other("brand_new_reason"))
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let server = try await ScriptedHTTPServer { _, _ in [.hang] }
        defer { Task { await server.shutdown() } }
        let start = ContinuousClock.now
        let (_, error) = await collect(try provider(server, options: testOptions(readTimeout: .seconds(2), attempts: 1)).stream(sampleRequest))
        #expect(error as? ProviderError == .timeout(provider: "openai", after: .seconds(2)), "\(String(describing: error))")
        #expect(ContinuousClock.now - start < .seconds(60), "the read timeout, not a hang")
    }

    @Test func aStallMidReplyTimesOutAsAnInterruption() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            [.head(status: 200, headers: [("content-type", "text/event-stream")]), .body(ScriptedHTTPServer.sse([Self.chunk(#"{"content":"Hel"}"#)])), .hang]
        }
        defer { Task { await server.shutdown() } }
        // Long enough that the first chunk surely comes first on a loaded machine.
        let (events, error) = await collect(try provider(server, options: testOptions(readTimeout: .seconds(3))).stream(sampleRequest))
        #expect(events == [.textDelta("Hel")])
        guard case .streamInterrupted(let after) = error as? ProviderError else {
            Issue.record("expected streamInterrupted, got \(String(describing: error))")
            return
        }
        #expect(after.contains("3 characters") && after.contains("sent nothing"), "\(after)")
    }

    @Test func cancellingTheConsumerClosesTheRequest() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            [.head(status: 200, headers: [("content-type", "text/event-stream")]), .body(ScriptedHTTPServer.sse([Self.chunk(#"{"content":"Hel"}"#)])),
             .pause(.seconds(60)), .body(ScriptedHTTPServer.sse([Self.chunk(#"{"content":"lo"}"#)])), .end]
        }
        defer { Task { await server.shutdown() } }
        // A read timeout far beyond the bound below: only cancellation can close it in time.
        let client = try provider(server, options: testOptions(readTimeout: .seconds(120)))
        let (first, firstSink) = AsyncStream<ProviderEvent>.makeStream()
        let consumer = Task {
            for try await event in client.stream(sampleRequest) { firstSink.yield(event) }  // blocks in next() after "Hel"
        }
        var firstEvents = first.makeAsyncIterator()
        #expect(await firstEvents.next() == .textDelta("Hel"))
        let cancelled = ContinuousClock.now
        consumer.cancel()
        await server.waitForClosedConnections(1)
        #expect(ContinuousClock.now - cancelled < .seconds(60), "the HTTP request ended with the consumer, long before its 120 s read timeout")
        try await waitUntil("its concurrency slot is free again") { client.limiter.inFlight == 0 }
    }

    @Test func aSlotIsFreedWhenARequestFailsOrIsCancelledRunningOrQueued() async throws {
        let server = try await ScriptedHTTPServer { request, _ in
            switch request.json?["model"] as? String {
            case "fails": return errorAnswer(401, #"{"error":{"message":"bad key","code":"invalid_api_key"}}"#)
            case "slow": return [.head(status: 200, headers: [("content-type", "text/event-stream")]), .pause(.seconds(60)), .end]
            default: return sseAnswer(Self.hello)
            }
        }
        defer { Task { await server.shutdown() } }
        let client = try provider(server, options: testOptions(readTimeout: .seconds(120), concurrency: 1))
        func model(_ name: String) -> ModelRequest { var request = sampleRequest; request.model = name; return request }
        await #expect(throws: ProviderError.self) { _ = try await client.complete(model("fails")) }
        #expect(try await client.complete(model("ok")).text == "Hello", "a failed request gave its slot back")

        let running = Task { try await client.complete(model("slow")) }
        try await waitUntil("the slow request holds the slot") { client.limiter.inFlight == 1 }
        let queued = Task { try await client.complete(model("ok")) }
        try await waitUntil("the next request waits") { client.limiter.waiting == 1 }
        queued.cancel()
        await #expect(throws: CancellationError.self) { _ = try await queued.value }
        #expect(client.limiter.waiting == 0, "a cancelled waiter left the queue")
        running.cancel()
        _ = try? await running.value
        #expect(try await client.complete(model("ok")).text == "Hello", "a cancelled running request gave its slot back")
    }

    @Test func theConcurrencyLimitHoldsRequestsBack() async throws {
        // The first two requests are held by the server until the test lets
        // them go, so "two in flight, four waiting" is a state, not a race.
        let server = try await ScriptedHTTPServer { _, number in
            number < 2 ? [.pause(.seconds(60))] + sseAnswer(Self.hello) : sseAnswer(Self.hello)
        }
        defer { Task { await server.shutdown() } }
        let client = try provider(server, options: testOptions(readTimeout: .seconds(120), concurrency: 2))
        let tasks = (0..<6).map { _ in Task { try await client.complete(sampleRequest).text } }
        try await waitUntil("two requests at the server and four waiting") { server.requests.count == 2 && client.limiter.waiting == 4 }
        #expect(client.limiter.inFlight == 2)
        for task in tasks { task.cancel() }
        for task in tasks { _ = try? await task.value }
        // The slots come back as the cancelled requests' own tasks wind down.
        try await waitUntil("cancelled requests, held or queued, leave no trace") { client.limiter.inFlight == 0 && client.limiter.waiting == 0 }
        #expect(server.requests.count == 2, "the queued ones never reached the server")

        // Answered at once, six requests still go at most two at a time.
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<6 { group.addTask { try await client.complete(sampleRequest).text } }
            for try await text in group { #expect(text == "Hello") }
        }
        #expect(server.requests.count == 8 && server.maxConcurrentRequests <= 2)
    }

    @Test func withoutUsageFromTheServerTheUsageIsEstimatedAndSaysSo() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            sseAnswer([Self.chunk(#"{"content":"Hello there"}"#), Self.chunk("{}", finish: "stop"), Self.done])
        }
        defer { Task { await server.shutdown() } }
        let reply = try await provider(server).complete(sampleRequest)
        #expect(reply.usage.estimated && reply.usage.outputTokens == 3 && reply.usage.inputTokens > 0)
    }
}
