import Foundation

/// Google's Gemini API: `POST {base}/models/{model}:streamGenerateContent?alt=sse`,
/// the key in `x-goog-api-key`, turns as `contents` of `parts`, the
/// assistant as role "model", tool results as `functionResponse` parts
/// matched to their call by name.
public struct GeminiFormat: WireFormat {
    public let provider = "gemini"

    public init() {}

    public func request(for request: ModelRequest, endpoint: Endpoint) throws(ProviderError) -> WireRequest {
        var contents: [[String: Any]] = []
        var lastResultsAt: Int?  // the index of a turn holding only function responses
        for message in request.messages {
            switch message.role {
            case .user:
                contents.append(["role": "user", "parts": [["text": message.text]]])
                lastResultsAt = nil
            case .assistant:
                var parts: [[String: Any]] = []
                if !message.text.isEmpty { parts.append(["text": message.text]) }
                for call in message.toolCalls {
                    var part: [String: Any] = ["functionCall": ["name": call.name, "args": try call.argumentsObject()]]
                    if let signature = call.signature { part["thoughtSignature"] = signature }
                    parts.append(part)
                }
                // Gemini rejects a turn without parts.
                if !parts.isEmpty { contents.append(["role": "model", "parts": parts]) }
                lastResultsAt = nil
            case .tool:
                let name = message.toolName ?? Self.name(ofCall: message.toolCallID, in: request.messages) ?? ""
                let part: [String: Any] = ["functionResponse": ["name": name, "response": ["result": message.text]]]
                // The results of parallel calls go in one turn, as the calls came in one.
                if let index = lastResultsAt, var parts = contents[index]["parts"] as? [[String: Any]] {
                    parts.append(part)
                    contents[index]["parts"] = parts
                } else {
                    contents.append(["role": "user", "parts": [part]])
                    lastResultsAt = contents.count - 1
                }
            }
        }
        var body: [String: Any] = ["contents": contents]
        if let system = request.system { body["systemInstruction"] = ["parts": [["text": system]]] }
        if !request.tools.isEmpty {
            // parametersJsonSchema takes JSON Schema as it is; `parameters`
            // takes an OpenAPI subset that refuses e.g. additionalProperties, $ref, oneOf.
            body["tools"] = [["functionDeclarations": request.tools.map { tool -> [String: Any] in
                ["name": tool.name, "description": tool.description, "parametersJsonSchema": tool.schemaObject]
            }]]
        }
        var config: [String: Any] = [:]
        if let temperature = request.temperature { config["temperature"] = temperature }
        if let limit = request.maxOutputTokens { config["maxOutputTokens"] = limit }
        if !request.stop.isEmpty { config["stopSequences"] = request.stop }
        if !config.isEmpty { body["generationConfig"] = config }
        var headers: [(name: String, value: String)] = [("content-type", "application/json")]
        if let key = endpoint.apiKey { headers.append(("x-goog-api-key", key.secret)) }
        // Model names are also written "models/gemini-…" (as the API lists them).
        let model = request.model.hasPrefix("models/") ? String(request.model.dropFirst("models/".count)) : request.model
        return WireRequest(url: "\(endpoint.baseURL)/models/\(model):streamGenerateContent?alt=sse", headers: headers, body: JSON.data(body))
    }

    /// A tool result without its tool's name: the name of the call it answers.
    private static func name(ofCall id: String?, in messages: [ChatMessage]) -> String? {
        guard let id else { return nil }
        return messages.lazy.flatMap(\.toolCalls).first { $0.id == id }?.name
    }

    public func makeDecoder() -> GeminiStreamDecoder { GeminiStreamDecoder() }

    /// `{"error":{"code","message","status","details":[…]}}`, sometimes
    /// wrapped in a one-element array.
    public func error(status: Int, retryAfter: Duration?, body: Data, model: String) -> ProviderError {
        let parsed = try? JSONSerialization.jsonObject(with: body)
        let object = parsed as? [String: Any] ?? (parsed as? [Any])?.first as? [String: Any]
        let error = object?["error"] as? [String: Any]
        let message = error?["message"] as? String ?? JSON.excerpt(body)
        let code = error?["status"] as? String ?? ""
        let details = error?["details"] as? [[String: Any]] ?? []
        let reasons = details.compactMap { $0["reason"] as? String }
        let lowered = message.lowercased()
        // An invalid key comes as 400 INVALID_ARGUMENT, named only by its reason.
        if reasons.contains("API_KEY_INVALID") || status == 401 || code == "UNAUTHENTICATED" {
            return .authentication(provider: provider, message: message)
        }
        if status == 403 || code == "PERMISSION_DENIED" { return .permissionDenied(provider: provider, message: message) }
        if status == 404 || code == "NOT_FOUND" { return .unknownModel(provider: provider, model: model, message: message) }
        if status == 429 || code == "RESOURCE_EXHAUSTED" {
            // The same 429 (and the same "exceeded your current quota… check
            // your plan and billing" text) is sent for a per-minute limit, which
            // a wait cures, and for a spent daily quota or a model the plan has
            // no quota for ("limit: 0"), which it does not. Only the violated
            // quota's id tells them apart: a "PerDay" one, or limit 0, is
            // exhausted; anything else is a rate limit.
            let quotaIDs = details.flatMap { $0["violations"] as? [[String: Any]] ?? [] }.compactMap { $0["quotaId"] as? String }
            if quotaIDs.contains(where: { $0.contains("PerDay") }) || lowered.contains("limit: 0") {
                return .quotaExhausted(provider: provider, message: message)
            }
            return .rateLimited(provider: provider, retryAfter: retryAfter ?? Self.retryDelay(in: details), message: message)
        }
        if lowered.contains("exceeds the maximum number of tokens") || lowered.contains("input token count") {
            return .contextOverflow(provider: provider, message: message)
        }
        if (500...599).contains(status) { return .serverError(provider: provider, status: status, message: message) }
        return .badRequest(provider: provider, status: status, message: message)
    }

    /// `google.rpc.RetryInfo`'s `retryDelay` ("37s", "1.5s"), for a 429
    /// without a Retry-After header.
    static func retryDelay(in details: [[String: Any]]) -> Duration? {
        guard let text = details.lazy.compactMap({ $0["retryDelay"] as? String }).first, text.hasSuffix("s"),
              let seconds = Double(text.dropLast()), seconds.isFinite, seconds >= 0 else { return nil }
        return .milliseconds(Int64((min(seconds, 86_400) * 1000).rounded()))
    }
}

/// Turns the server-sent events of a Gemini `streamGenerateContent?alt=sse`
/// stream into `ProviderEvent`s — a state machine with no I/O.
///
/// Each event is a whole `GenerateContentResponse`. Function calls arrive
/// whole, so each yields its delta and its completed call at once. Gemini
/// sends no end marker: the chunk with a `finishReason` is the last, and
/// `.finish` then `.usage` (its usageMetadata, repeated in earlier chunks
/// too) are emitted when it is decoded, once. A body that ends before a
/// finish reason is interrupted.
public struct GeminiStreamDecoder: StreamDecoding {
    private var callCount = 0
    private var usage: Usage?
    private var finished = false
    private var receivedText = 0
    private let provider = "gemini"

    public init() {}

    public mutating func decode(_ event: ServerSentEvent) throws(ProviderError) -> [ProviderEvent] {
        let parsed = try? JSONSerialization.jsonObject(with: Data(event.data.utf8))
        guard let object = parsed as? [String: Any] ?? (parsed as? [Any])?.first as? [String: Any] else {
            throw .malformedEvent(String(event.data.prefix(200)))
        }
        if let error = object["error"] as? [String: Any] {
            throw .streamInterrupted(after: "the server reported \(error["message"] as? String ?? "an error")")
        }
        guard !finished else { return [] }  // finish and usage went out once already
        if let feedback = object["promptFeedback"] as? [String: Any], let reason = feedback["blockReason"] as? String {
            let detail = (feedback["blockReasonMessage"] as? String).map { " (\($0))" } ?? ""
            throw .refusal(provider: provider, message: "blocked: \(reason)\(detail)")
        }
        if let metadata = object["usageMetadata"] as? [String: Any] {
            let output = (metadata["candidatesTokenCount"] as? Int ?? 0) + (metadata["thoughtsTokenCount"] as? Int ?? 0)
            usage = Usage(inputTokens: metadata["promptTokenCount"] as? Int ?? 0, outputTokens: output, estimated: false)
        }
        guard let candidate = (object["candidates"] as? [[String: Any]])?.first else { return [] }
        var events: [ProviderEvent] = []
        for part in (candidate["content"] as? [String: Any])?["parts"] as? [[String: Any]] ?? [] {
            if let text = part["text"] as? String, !text.isEmpty, part["thought"] as? Bool != true {
                receivedText += text.count
                events.append(.textDelta(text))
            }
            if let call = part["functionCall"] as? [String: Any] {
                let name = call["name"] as? String ?? ""
                let args = call["args"] ?? [String: Any]()
                guard args is [String: Any], let data = try? JSONSerialization.data(withJSONObject: args, options: [.sortedKeys, .withoutEscapingSlashes]) else {
                    throw .malformedToolArguments(name: name, arguments: "\(args)")
                }
                let arguments = String(decoding: data, as: UTF8.self)
                let id = call["id"] as? String ?? "call_\(callCount)"
                events.append(.toolCallDelta(index: callCount, id: id, name: name, argumentsDelta: arguments))
                // Gemini 3 wants the call's thought signature back with the history.
                events.append(.toolCall(ToolCall(id: id, name: name, arguments: arguments, signature: part["thoughtSignature"] as? String)))
                callCount += 1
            }
        }
        if let reason = candidate["finishReason"] as? String {
            events.append(.finish(try finishReason(reason, message: candidate["finishMessage"] as? String)))
            finished = true
            if let usage { events.append(.usage(usage)) }
        }
        return events
    }

    /// The HTTP body ended: fine after a finish reason, an interruption otherwise.
    public func end() throws(ProviderError) {
        guard finished else {
            throw .streamInterrupted(after: callCount == 0 ? "\(receivedText) characters of text"
                                            : "\(receivedText) characters of text and \(callCount) tool calls")
        }
    }

    private func finishReason(_ text: String, message: String?) throws(ProviderError) -> FinishReason {
        switch text {
        // Gemini says STOP after function calls too.
        case "STOP": return callCount > 0 ? .toolCalls : .stop
        case "MAX_TOKENS": return .length
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT":
            throw .refusal(provider: provider, message: "blocked: \(text)")
        case "MALFORMED_FUNCTION_CALL":
            throw .malformedToolArguments(name: "?", arguments: message ?? "")
        default: return .other(text)
        }
    }
}
