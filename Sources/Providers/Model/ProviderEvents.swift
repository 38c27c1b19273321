import Foundation

/// What a language model streams back, the same for every provider.
public enum ProviderEvent: Sendable, Equatable {
    case textDelta(String)
    /// Part of a tool call as it streams: `index` tells calls apart (several
    /// may stream in parallel); id and name come first, arguments in pieces.
    case toolCallDelta(index: Int, id: String?, name: String?, argumentsDelta: String)
    /// A tool call whose arguments are complete (and valid JSON).
    case toolCall(ToolCall)
    case usage(Usage)
    case finish(FinishReason)
}

public struct ToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    /// The arguments as the model wrote them: a JSON object.
    public var arguments: String
    /// An opaque token the provider wants sent back with this call in the
    /// next request's history (Gemini 3's `thoughtSignature`); keep it.
    public var signature: String?

    public init(id: String, name: String, arguments: String, signature: String? = nil) {
        self.id = id
        self.name = name
        self.arguments = arguments
        self.signature = signature
    }
}

public struct Usage: Sendable, Equatable {
    public var inputTokens: Int
    public var outputTokens: Int
    /// True when the provider sent no usage and these are estimates.
    public var estimated: Bool

    public init(inputTokens: Int, outputTokens: Int, estimated: Bool) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.estimated = estimated
    }
}

public enum FinishReason: Sendable, Equatable {
    case stop
    case length
    case toolCalls
    case contentFilter
    /// A reason this client does not know, kept as the provider wrote it.
    case other(String)
}
