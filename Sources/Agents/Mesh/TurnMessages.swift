import Providers

/// One model call as it crosses the mesh: what `ModelRequest` carries for
/// an agent's turn, in Codable form.
public struct TurnRequest: Sendable, Codable, Equatable {
    public struct Tool: Sendable, Codable, Equatable {
        public var name: String
        public var description: String
        public var parameters: String
    }

    public var agent: AgentRef
    public var model: String
    public var system: String
    public var user: String
    public var tools: [Tool]
    public var maxOutputTokens: Int?

    init(_ request: ModelRequest, agent: AgentRef) {
        self.agent = agent
        model = request.model
        system = request.system ?? ""
        user = request.messages.last?.text ?? ""
        tools = request.tools.map { Tool(name: $0.name, description: $0.description, parameters: $0.parameters) }
        maxOutputTokens = request.maxOutputTokens
    }

    var modelRequest: ModelRequest {
        ModelRequest(model: model, system: system, messages: [.user(user)],
                     tools: tools.map { ToolDefinition(name: $0.name, description: $0.description, parameters: $0.parameters) },
                     maxOutputTokens: maxOutputTokens)
    }
}

/// A model's whole reply to a turn, with what it cost.
public struct TurnReply: Sendable, Codable, Equatable {
    public struct Call: Sendable, Codable, Equatable {
        public var id: String
        public var name: String
        public var arguments: String
    }

    public var text: String
    public var calls: [Call]
    public var inputTokens: Int
    public var outputTokens: Int
    public var estimatedUsage: Bool
    /// The reply hit the length limit.
    public var cutForLength: Bool
    /// The mesh node that made the call (nil: this process). Absent in a
    /// reply from a node of an earlier minor version.
    public var node: String?

    var usage: Usage { Usage(inputTokens: inputTokens, outputTokens: outputTokens, estimated: estimatedUsage) }
    var toolCalls: [ToolCall] { calls.map { ToolCall(id: $0.id, name: $0.name, arguments: $0.arguments) } }
}

/// Streams one model call, forwarding text as it arrives, and collects the reply.
enum TurnCall {
    static func run(_ request: ModelRequest, on provider: any LanguageModelProvider,
                    forward: (String) -> Void) async throws -> TurnReply {
        var text = "", calls: [ToolCall] = []
        var usage: Usage?
        var finish: FinishReason = .stop
        for try await event in provider.stream(request) {
            try Task.checkCancellation()
            switch event {
            case .textDelta(let delta):
                text += delta
                forward(delta)
            case .toolCallDelta(_, _, _, let fragment): forward(fragment)
            case .toolCall(let call): calls.append(call)
            case .usage(let reported): usage = reported
            case .finish(let reason): finish = reason
            }
        }
        let spent = usage ?? Usage(inputTokens: ProjectRun.estimateTokens(request), outputTokens: max(1, text.count / 4), estimated: true)
        return TurnReply(text: text, calls: calls.map { TurnReply.Call(id: $0.id, name: $0.name, arguments: $0.arguments) },
                         inputTokens: spent.inputTokens, outputTokens: spent.outputTokens, estimatedUsage: spent.estimated,
                         cutForLength: finish == .length)
    }
}
