import Foundation

/// One call to a language model, the same for every provider: the wire
/// formats translate it into their own request bodies.
public struct ModelRequest: Sendable, Equatable {
    public var model: String
    public var system: String?
    public var messages: [ChatMessage]
    public var tools: [ToolDefinition]
    public var temperature: Double?
    /// The reply's length limit; nil: the provider's default (Anthropic
    /// requires one: 4,096 then).
    public var maxOutputTokens: Int?
    public var stop: [String]

    public init(model: String, system: String? = nil, messages: [ChatMessage], tools: [ToolDefinition] = [],
                temperature: Double? = nil, maxOutputTokens: Int? = nil, stop: [String] = []) {
        self.model = model
        self.system = system
        self.messages = messages
        self.tools = tools
        self.temperature = temperature
        self.maxOutputTokens = maxOutputTokens
        self.stop = stop
    }
}

/// A turn of the conversation.
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable, Equatable {
        case user, assistant
        /// The result of a tool call the assistant made.
        case tool
    }

    public var role: Role
    public var text: String
    /// The calls an assistant turn made (its `text` may be empty then).
    public var toolCalls: [ToolCall]
    /// For a tool result: the id of the call it answers, and the tool's
    /// name (Gemini matches results by name).
    public var toolCallID: String?
    public var toolName: String?

    public init(role: Role, text: String, toolCalls: [ToolCall] = [], toolCallID: String? = nil, toolName: String? = nil) {
        self.role = role
        self.text = text
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.toolName = toolName
    }

    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, text: text) }
    public static func assistant(_ text: String, toolCalls: [ToolCall] = []) -> ChatMessage {
        ChatMessage(role: .assistant, text: text, toolCalls: toolCalls)
    }
    public static func toolResult(for call: ToolCall, _ text: String) -> ChatMessage {
        ChatMessage(role: .tool, text: text, toolCallID: call.id, toolName: call.name)
    }
}

/// A tool the model may call: its arguments are described by a JSON Schema
/// object (`{"type":"object","properties":{…},"required":[…]}`).
public struct ToolDefinition: Sendable, Equatable {
    public var name: String
    public var description: String
    /// The JSON Schema, as JSON text.
    public var parameters: String

    public init(name: String, description: String, parameters: String) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }

    /// The schema as a JSON object (an empty object schema if it is not one).
    var schemaObject: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(parameters.utf8))) as? [String: Any] ?? ["type": "object", "properties": [String: Any]()]
    }
}
