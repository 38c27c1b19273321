import Testing
@testable import Providers

/// Streams in the shape OpenAI's Chat Completions API sends them.
@Suite struct OpenAIStreamDecoderTests {
    func decode(_ lines: [String]) throws -> [ProviderEvent] {
        var decoder = OpenAIStreamDecoder()
        var events: [ProviderEvent] = []
        for line in lines { events += try decoder.decode(ServerSentEvent(data: line)) }
        try decoder.end()
        return events
    }

    func chunk(_ delta: String, finish: String? = nil) -> String {
        #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish.map { "\"\($0)\"" } ?? "null")}]}"#
    }

    @Test func textThenUsage() throws {
        let events = try decode([
            chunk(#"{"role":"assistant","content":""}"#), chunk(#"{"content":"Hel"}"#), chunk(#"{"content":"lo"}"#),
            chunk("{}", finish: "stop"),
            #"{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}"#,
            "[DONE]",
        ])
        #expect(events == [.textDelta("Hel"), .textDelta("lo"), .finish(.stop), .usage(Usage(inputTokens: 12, outputTokens: 2, estimated: false))])
    }

    @Test func parallelToolCallsWithStreamedArguments() throws {
        let events = try decode([
            chunk(#"{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"read_file","arguments":""}}]}"#),
            chunk(#"{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"run","arguments":""}}]}"#),
            chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\": \"src/"}}]}"#),
            chunk(#"{"tool_calls":[{"index":1,"function":{"arguments":"{\"cmd\":\"npm test\"}"}}]}"#),
            chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"a.ts\"}"}}]}"#),
            chunk("{}", finish: "tool_calls"), "[DONE]",
        ])
        let completed = events.compactMap { if case .toolCall(let call) = $0 { call } else { nil } }
        #expect(completed == [ToolCall(id: "call_a", name: "read_file", arguments: #"{"path": "src/a.ts"}"#),
                              ToolCall(id: "call_b", name: "run", arguments: #"{"cmd":"npm test"}"#)])
        #expect(events.last == .finish(.toolCalls))
        #expect(events.filter { if case .toolCallDelta = $0 { true } else { false } }.count == 5)
    }

    @Test func badStreamsAreTypedErrors() throws {
        // Cut after half a tool call: interrupted, not a reply.
        #expect(throws: ProviderError.streamInterrupted(after: "a partial tool call")) {
            _ = try decode([chunk(#"{"tool_calls":[{"index":0,"id":"c","function":{"name":"run","arguments":"{\"cmd\": \"np"}}]}"#)])
        }
        #expect(throws: ProviderError.streamInterrupted(after: "2 characters of text")) { _ = try decode([chunk(#"{"content":"hi"}"#)]) }
        // Arguments that are not JSON.
        #expect(throws: ProviderError.malformedToolArguments(name: "run", arguments: "{cmd: npm")) {
            _ = try decode([chunk(#"{"tool_calls":[{"index":0,"id":"c","function":{"name":"run","arguments":"{cmd: npm"}}]}"#),
                            chunk("{}", finish: "tool_calls")])
        }
        #expect(throws: ProviderError.self) { _ = try decode(["not json"]) }
        #expect(throws: ProviderError.self) { _ = try decode([#"{"error":{"message":"overloaded","type":"server_error"}}"#]) }
        // An unknown finish reason is kept, not guessed.
        #expect(try decode([chunk(#"{"content":"x"}"#), chunk("{}", finish: "brand_new_reason")]).last == .finish(.other("brand_new_reason")))
    }

    @Test func ollamasParallelCallsAllNumberedZeroAreToldApartByTheirIds() throws {
        let events = try decode([
            chunk(#"{"role":"assistant","tool_calls":[{"index":0,"id":"call_x1","type":"function","function":{"name":"write_file","arguments":"{\"path\":\"a\"}"}}]}"#),
            chunk(#"{"tool_calls":[{"index":0,"id":"call_x2","type":"function","function":{"name":"write_file","arguments":"{\"path\":\"b\"}"}}]}"#),
            chunk("{}", finish: "tool_calls"), "[DONE]",
        ])
        let completed = events.compactMap { if case .toolCall(let call) = $0 { call } else { nil } }
        #expect(completed == [ToolCall(id: "call_x1", name: "write_file", arguments: #"{"path":"a"}"#),
                              ToolCall(id: "call_x2", name: "write_file", arguments: #"{"path":"b"}"#)])
        let indexes = events.compactMap { if case .toolCallDelta(let index, _, _, _) = $0 { index } else { nil } }
        #expect(indexes == [0, 1])
    }
}
