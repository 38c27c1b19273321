import Foundation

/// Anthropic's Messages API: `POST {base}/v1/messages` with `stream: true`,
/// the key in `x-api-key`, a pinned `anthropic-version`, content blocks for
/// text, tool calls (`tool_use`) and tool results (`tool_result`).
public struct AnthropicMessagesFormat: WireFormat {
    public let provider = "anthropic"
    /// Anthropic requires `max_tokens`; used when the request sets none.
    public static let defaultMaxTokens = 4096
    static let version = "2023-06-01"

    public init() {}

    public func request(for request: ModelRequest, endpoint: Endpoint) throws(ProviderError) -> WireRequest {
        var messages: [[String: Any]] = []
        for message in request.messages {
            switch message.role {
            case .user:
                messages.append(["role": "user", "content": [["type": "text", "text": message.text]]])
            case .assistant:
                var blocks: [[String: Any]] = []
                // Anthropic rejects empty text blocks.
                if !message.text.isEmpty { blocks.append(["type": "text", "text": message.text]) }
                for call in message.toolCalls {
                    blocks.append(["type": "tool_use", "id": call.id, "name": call.name, "input": try call.argumentsObject()])
                }
                // A turn with nothing in it is rejected too; dropping it leaves two
                // user turns in a row, which the API combines.
                if !blocks.isEmpty { messages.append(["role": "assistant", "content": blocks]) }
            case .tool:
                let block: [String: Any] = ["type": "tool_result", "tool_use_id": message.toolCallID ?? "", "content": message.text]
                // The results of parallel calls go in one user turn: roles alternate.
                if let last = messages.last, last["role"] as? String == "user",
                   var blocks = last["content"] as? [[String: Any]], blocks.allSatisfy({ $0["type"] as? String == "tool_result" }) {
                    blocks.append(block)
                    messages[messages.count - 1]["content"] = blocks
                } else {
                    messages.append(["role": "user", "content": [block]])
                }
            }
        }
        var body: [String: Any] = [
            "model": request.model, "messages": messages, "stream": true,
            "max_tokens": request.maxOutputTokens ?? Self.defaultMaxTokens,
        ]
        if let system = request.system { body["system"] = system }
        if !request.tools.isEmpty {
            body["tools"] = request.tools.map { tool -> [String: Any] in
                ["name": tool.name, "description": tool.description, "input_schema": tool.schemaObject]
            }
        }
        if let temperature = request.temperature { body["temperature"] = temperature }
        if !request.stop.isEmpty { body["stop_sequences"] = request.stop }
        var headers: [(name: String, value: String)] = [
            ("content-type", "application/json"), ("accept", "text/event-stream"), ("anthropic-version", Self.version),
        ]
        if let key = endpoint.apiKey { headers.append(("x-api-key", key.secret)) }
        return WireRequest(url: endpoint.baseURL + "/v1/messages", headers: headers, body: JSON.data(body))
    }

    public func makeDecoder() -> AnthropicStreamDecoder { AnthropicStreamDecoder() }

    /// `{"type":"error","error":{"type","message"},"request_id"}`.
    public func error(status: Int, retryAfter: Duration?, body: Data, model: String) -> ProviderError {
        let error = JSON.object(body)?["error"] as? [String: Any]
        let type = error?["type"] as? String ?? ""
        let message = error?["message"] as? String ?? JSON.excerpt(body)
        let lowered = message.lowercased()
        // Checked before the status: Anthropic sends both as 400 invalid_request_error.
        if type == "billing_error" || lowered.contains("credit balance") {
            return .quotaExhausted(provider: provider, message: message)
        }
        if status == 413 || type == "request_too_large" || lowered.contains("prompt is too long") || lowered.contains("context window")
            || lowered.contains("context limit") || lowered.contains("too many tokens") {
            return .contextOverflow(provider: provider, message: message)
        }
        switch (status, type) {
        case (401, _), (_, "authentication_error"): return .authentication(provider: provider, message: message)
        case (403, _), (_, "permission_error"): return .permissionDenied(provider: provider, message: message)
        case (404, _), (_, "not_found_error"):
            // "model: claude-x" names a model; other 404s are a wrong path or id.
            if lowered.contains("model") { return .unknownModel(provider: provider, model: model, message: message) }
            return .badRequest(provider: provider, status: status, message: message)
        case (402, _): return .quotaExhausted(provider: provider, message: message)
        case (429, _), (_, "rate_limit_error"): return .rateLimited(provider: provider, retryAfter: retryAfter, message: message)
        case (500...599, _), (_, "overloaded_error"), (_, "api_error"), (_, "timeout_error"):
            return .serverError(provider: provider, status: status, message: message)
        default: return .badRequest(provider: provider, status: status, message: message)
        }
    }
}

/// Turns the server-sent events of an Anthropic Messages stream into
/// `ProviderEvent`s — a state machine with no I/O.
///
/// Content arrives as numbered blocks (`content_block_start`, `…_delta`,
/// `…_stop`); a tool call is complete, and its arguments checked to be a
/// JSON object, at its block's stop. The stop reason comes in
/// `message_delta`, and `message_stop` ends the reply: only then are
/// `.finish` and `.usage` emitted, in that order (as the OpenAI decoder
/// does), exactly once. A body that ends before `message_stop` is
/// interrupted, never a complete reply.
public struct AnthropicStreamDecoder: StreamDecoding {

    /// Open tool_use blocks by block index.
    private var calls: [Int: StreamedToolCall] = [:]
    private var completedCalls = 0
    private var stopReason: FinishReason?
    private var inputTokens = 0
    private var outputTokens = 0
    private var stopped = false
    private var receivedText = 0
    private let provider = "anthropic"

    public init() {}

    public mutating func decode(_ event: ServerSentEvent) throws(ProviderError) -> [ProviderEvent] {
        guard let object = JSON.object(event.data) else { throw .malformedEvent(String(event.data.prefix(200))) }
        switch event.event ?? object["type"] as? String ?? "" {
        case "message_start":
            if let usage = (object["message"] as? [String: Any])?["usage"] as? [String: Any] { takeUsage(usage) }
            return []
        case "content_block_start":
            guard let index = object["index"] as? Int, let block = object["content_block"] as? [String: Any],
                  block["type"] as? String == "tool_use" else { return [] }
            let call = StreamedToolCall(id: block["id"] as? String ?? "", name: block["name"] as? String ?? "")
            calls[index] = call
            return [.toolCallDelta(index: index, id: call.id, name: call.name, argumentsDelta: "")]
        case "content_block_delta":
            guard let delta = object["delta"] as? [String: Any] else { return [] }
            let index = object["index"] as? Int ?? 0
            switch delta["type"] as? String {
            case "text_delta":
                guard let text = delta["text"] as? String, !text.isEmpty else { return [] }
                receivedText += text.count
                return [.textDelta(text)]
            case "input_json_delta":
                let json = delta["partial_json"] as? String ?? ""
                guard calls[index] != nil, !json.isEmpty else { return [] }
                calls[index]?.arguments += json
                return [.toolCallDelta(index: index, id: nil, name: nil, argumentsDelta: json)]
            default:
                return []  // thinking_delta, signature_delta, citations_delta, …
            }
        case "content_block_stop":
            guard let index = object["index"] as? Int, let call = calls.removeValue(forKey: index) else { return [] }
            let completed = try call.completed()
            completedCalls += 1
            return [.toolCall(completed)]
        case "message_delta":
            if let reason = (object["delta"] as? [String: Any])?["stop_reason"] as? String {
                if reason == "refusal" {
                    throw .refusal(provider: provider, message: "the model stopped with stop_reason \"refusal\" after \(receivedText) characters")
                }
                stopReason = Self.reason(reason)
            }
            // Counts here are cumulative, so they replace message_start's.
            if let usage = object["usage"] as? [String: Any] { takeUsage(usage) }
            return []
        case "message_stop":
            guard !stopped else { return [] }
            stopped = true
            // A stop without a message_delta is off-spec; infer the likely reason.
            let reason = stopReason ?? (completedCalls > 0 ? .toolCalls : .stop)
            return [.finish(reason), .usage(Usage(inputTokens: inputTokens, outputTokens: outputTokens, estimated: false))]
        case "error":
            let error = object["error"] as? [String: Any]
            let message = error?["message"] as? String ?? "an error"
            let type = (error?["type"] as? String).map { " (\($0))" } ?? ""
            throw .streamInterrupted(after: "the server reported \(message)\(type)")
        default:
            return []  // ping, and event types Anthropic may add
        }
    }

    /// The HTTP body ended: fine after `message_stop`, an interruption otherwise.
    public func end() throws(ProviderError) {
        guard stopped else {
            throw .streamInterrupted(after: calls.isEmpty ? "\(receivedText) characters of text" : "a partial tool call")
        }
    }

    /// Prompt tokens are `input_tokens` plus the cached ones Anthropic counts
    /// apart, so the total is comparable with other providers'.
    private mutating func takeUsage(_ usage: [String: Any]) {
        let input = ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"].compactMap { usage[$0] as? Int }
        if !input.isEmpty { inputTokens = input.reduce(0, +) }
        if let output = usage["output_tokens"] as? Int { outputTokens = output }
    }

    static func reason(_ text: String) -> FinishReason {
        switch text {
        case "end_turn", "stop_sequence": return .stop
        case "max_tokens": return .length
        case "tool_use": return .toolCalls
        default: return .other(text)
        }
    }
}
