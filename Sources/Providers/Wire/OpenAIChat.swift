import Foundation

/// OpenAI's Chat Completions API, and every server that speaks it (DeepSeek,
/// xAI, Ollama, vLLM, llama.cpp's server, LM Studio): `POST
/// {base}/chat/completions` with `stream: true` and
/// `stream_options.include_usage`, tools as `{"type":"function",…}`, a
/// bearer key (optional for local servers).
public struct OpenAIChatFormat: WireFormat {
    public let provider: String
    /// OpenAI's own API wants `max_completion_tokens` (its reasoning models
    /// refuse `max_tokens`); compatible servers know `max_tokens`.
    public let usesMaxCompletionTokens: Bool

    public init(provider: String = "openai", usesMaxCompletionTokens: Bool = false) {
        self.provider = provider
        self.usesMaxCompletionTokens = usesMaxCompletionTokens
    }

    public func request(for request: ModelRequest, endpoint: Endpoint) throws(ProviderError) -> WireRequest {
        var messages: [[String: Any]] = []
        if let system = request.system { messages.append(["role": "system", "content": system]) }
        for message in request.messages {
            switch message.role {
            case .user:
                messages.append(["role": "user", "content": message.text])
            case .assistant:
                var turn: [String: Any] = ["role": "assistant", "content": message.text.isEmpty && !message.toolCalls.isEmpty ? NSNull() : message.text]
                if !message.toolCalls.isEmpty {
                    turn["tool_calls"] = message.toolCalls.map { call -> [String: Any] in
                        ["id": call.id, "type": "function", "function": ["name": call.name, "arguments": call.arguments]]
                    }
                }
                messages.append(turn)
            case .tool:
                messages.append(["role": "tool", "tool_call_id": message.toolCallID ?? "", "content": message.text])
            }
        }
        var body: [String: Any] = [
            "model": request.model, "messages": messages, "stream": true,
            "stream_options": ["include_usage": true],
        ]
        if !request.tools.isEmpty {
            body["tools"] = request.tools.map { tool -> [String: Any] in
                ["type": "function", "function": ["name": tool.name, "description": tool.description, "parameters": tool.schemaObject]]
            }
        }
        if let temperature = request.temperature { body["temperature"] = temperature }
        if let limit = request.maxOutputTokens { body[usesMaxCompletionTokens ? "max_completion_tokens" : "max_tokens"] = limit }
        if !request.stop.isEmpty { body["stop"] = request.stop }
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json"), ("Accept", "text/event-stream")]
        if let key = endpoint.apiKey { headers.append(("Authorization", "Bearer \(key.secret)")) }
        return WireRequest(url: endpoint.baseURL + "/chat/completions", headers: headers, body: JSON.data(body))
    }

    public func makeDecoder() -> OpenAIStreamDecoder { OpenAIStreamDecoder(provider: provider) }

    /// `{"error":{"message","type","code"}}` (OpenAI, DeepSeek, xAI, vLLM);
    /// Ollama and llama.cpp send the same shape or a bare `{"error":"…"}`.
    public func error(status: Int, retryAfter: Duration?, body: Data, model: String) -> ProviderError {
        let object = JSON.object(body)
        let error = object?["error"] as? [String: Any]
        let message = error?["message"] as? String ?? object?["error"] as? String ?? JSON.excerpt(body)
        let code = (error?["code"] as? String ?? "") + " " + (error?["type"] as? String ?? "")
        let lowered = message.lowercased()
        if code.contains("context_length_exceeded") || lowered.contains("maximum context length") || lowered.contains("context window")
            || lowered.contains("exceeds the context") {
            return .contextOverflow(provider: provider, message: message)
        }
        switch status {
        case 401: return .authentication(provider: provider, message: message)
        case 403: return .permissionDenied(provider: provider, message: message)
        case 404 where code.contains("model_not_found") || lowered.contains("model"):
            return .unknownModel(provider: provider, model: model, message: message)
        case 402: return .quotaExhausted(provider: provider, message: message)
        case 429 where code.contains("insufficient_quota") || lowered.contains("quota") || lowered.contains("credit"):
            return .quotaExhausted(provider: provider, message: message)
        case 429: return .rateLimited(provider: provider, retryAfter: retryAfter, message: message)
        case 500...599: return .serverError(provider: provider, status: status, message: message)
        default:
            if code.contains("model_not_found") { return .unknownModel(provider: provider, model: model, message: message) }
            return .badRequest(provider: provider, status: status, message: message)
        }
    }
}

/// Turns the server-sent events of an OpenAI Chat Completions stream
/// (`stream: true`, `stream_options.include_usage`) into `ProviderEvent`s —
/// a state machine with no I/O. The same wire format is spoken by DeepSeek,
/// xAI, Ollama, vLLM, llama.cpp's server and LM Studio.
///
/// Tool calls stream as deltas keyed by `index`; each is completed (and its
/// arguments checked to be a JSON object) when the choice finishes. A
/// stream that ends without `[DONE]` or a finish reason is interrupted,
/// never a complete reply.
public struct OpenAIStreamDecoder: StreamDecoding {
    /// Partial calls by slot; `slots` maps the wire's `index` to a slot.
    /// Usually the same number — but Ollama sends `index: 0` for every one
    /// of several parallel calls, so a new id at a taken index opens a slot.
    private var calls: [Int: StreamedToolCall] = [:]
    private var slots: [Int: Int] = [:]
    private var finished = false
    private var receivedText = 0
    private let provider: String

    public init(provider: String = "openai") { self.provider = provider }

    public mutating func decode(_ event: ServerSentEvent) throws(ProviderError) -> [ProviderEvent] {
        if event.data == "[DONE]" { return [] }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(event.data.utf8))) as? [String: Any] else {
            throw .malformedEvent(String(event.data.prefix(200)))
        }
        if let error = object["error"] as? [String: Any] {
            // An error after the stream began (e.g. vLLM, Ollama): the reply is cut.
            throw .streamInterrupted(after: "the server reported \(error["message"] as? String ?? "an error")")
        }
        var events: [ProviderEvent] = []
        for choice in object["choices"] as? [[String: Any]] ?? [] {
            if let delta = choice["delta"] as? [String: Any] {
                if let refusal = delta["refusal"] as? String, !refusal.isEmpty {
                    throw .refusal(provider: provider, message: refusal)
                }
                if let text = delta["content"] as? String, !text.isEmpty {
                    receivedText += text.count
                    events.append(.textDelta(text))
                }
                for call in delta["tool_calls"] as? [[String: Any]] ?? [] {
                    let wireIndex = call["index"] as? Int ?? 0
                    let function = call["function"] as? [String: Any] ?? [:]
                    let id = (call["id"] as? String).flatMap { $0.isEmpty ? nil : $0 }
                    var index = slots[wireIndex] ?? calls.count
                    if let id, let taken = calls[index], !taken.id.isEmpty, taken.id != id { index = calls.count }
                    slots[wireIndex] = index
                    var partial = calls[index] ?? StreamedToolCall()
                    let name = (function["name"] as? String).flatMap { $0.isEmpty ? nil : $0 }
                    let arguments = function["arguments"] as? String ?? ""
                    if let id { partial.id = id }
                    if let name { partial.name = name }
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

    /// The HTTP body ended: fine after a finish reason (`[DONE]` follows it
    /// on OpenAI, not on every compatible server), an interruption otherwise.
    public func end() throws(ProviderError) {
        guard finished else {
            throw .streamInterrupted(after: calls.isEmpty ? "\(receivedText) characters of text" : "a partial tool call")
        }
    }

    private mutating func completeCalls() throws(ProviderError) -> [ProviderEvent] {
        defer { calls.removeAll(); slots.removeAll() }
        var events: [ProviderEvent] = []
        for (_, call) in calls.sorted(by: { $0.key < $1.key }) {
            events.append(.toolCall(try call.completed()))
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
