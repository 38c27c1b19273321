import Foundation

/// Turns the server-sent events of an OpenAI Chat Completions stream
/// (`stream: true`, `stream_options.include_usage`) into `ProviderEvent`s —
/// a state machine with no I/O. The same wire format is spoken by DeepSeek,
/// xAI, Ollama, vLLM, llama.cpp's server and LM Studio.
///
/// Tool calls stream as deltas keyed by `index`; each is completed (and its
/// arguments checked to be a JSON object) when the choice finishes. A
/// stream that ends without `[DONE]` or a finish reason is interrupted,
/// never a complete reply.
public struct OpenAIStreamDecoder: Sendable {
    private struct PartialCall: Sendable {
        var id = ""
        var name = ""
        var arguments = ""
    }

    private var calls: [Int: PartialCall] = [:]
    private var finished = false
    private var done = false
    private var receivedText = 0

    public init() {}

    public mutating func decode(_ event: ServerSentEvent) throws(ProviderError) -> [ProviderEvent] {
        if event.data == "[DONE]" {
            done = true
            return []
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(event.data.utf8))) as? [String: Any] else {
            throw .malformedEvent(String(event.data.prefix(200)))
        }
        if let error = object["error"] as? [String: Any] {
            throw .malformedEvent("error in stream: \(error["message"] as? String ?? "\(error)")")
        }
        var events: [ProviderEvent] = []
        for choice in object["choices"] as? [[String: Any]] ?? [] {
            if let delta = choice["delta"] as? [String: Any] {
                if let text = delta["content"] as? String, !text.isEmpty {
                    receivedText += text.count
                    events.append(.textDelta(text))
                }
                for call in delta["tool_calls"] as? [[String: Any]] ?? [] {
                    let index = call["index"] as? Int ?? 0
                    let function = call["function"] as? [String: Any] ?? [:]
                    var partial = calls[index] ?? PartialCall()
                    let id = call["id"] as? String
                    let name = function["name"] as? String
                    let arguments = function["arguments"] as? String ?? ""
                    if let id { partial.id = id }
                    if let name { partial.name += name }
                    partial.arguments += arguments
                    calls[index] = partial
                    events.append(.toolCallDelta(index: index, id: id, name: name, argumentsDelta: arguments))
                }
            }
            if let reason = choice["finish_reason"] as? String {
                events += try completeCalls()
                finished = true
                events.append(.finish(Self.reason(reason)))
            }
        }
        if let usage = object["usage"] as? [String: Any], let input = usage["prompt_tokens"] as? Int,
           let output = usage["completion_tokens"] as? Int {
            events.append(.usage(Usage(inputTokens: input, outputTokens: output, estimated: false)))
        }
        return events
    }

    /// The HTTP body ended: fine after a finish reason (and `[DONE]`),
    /// an interruption otherwise.
    public func end() throws(ProviderError) {
        guard finished else {
            throw .streamInterrupted(after: calls.isEmpty ? "\(receivedText) characters of text" : "a partial tool call")
        }
    }

    private mutating func completeCalls() throws(ProviderError) -> [ProviderEvent] {
        defer { calls.removeAll() }
        var events: [ProviderEvent] = []
        for (_, call) in calls.sorted(by: { $0.key < $1.key }) {
            let arguments = call.arguments.isEmpty ? "{}" : call.arguments
            guard (try? JSONSerialization.jsonObject(with: Data(arguments.utf8))) is [String: Any] else {
                throw .malformedToolArguments(name: call.name, arguments: call.arguments)
            }
            events.append(.toolCall(ToolCall(id: call.id, name: call.name, arguments: arguments)))
        }
        return events
    }

    static func reason(_ text: String) -> FinishReason {
        switch text {
        case "stop": return .stop
        case "length": return .length
        case "tool_calls", "function_call": return .toolCalls
        case "content_filter": return .contentFilter
        default: return .other(text)
        }
    }
}
