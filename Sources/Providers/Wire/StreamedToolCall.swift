import Foundation

/// A tool call whose arguments arrive in pieces (OpenAI's deltas by index,
/// Anthropic's `input_json_delta`s by content block).
struct StreamedToolCall: Sendable {
    var id = ""
    var name = ""
    var arguments = ""

    /// The finished call: no arguments mean `{}`; anything but a JSON
    /// object is the model's mistake, reported as such.
    func completed() throws(ProviderError) -> ToolCall {
        let text = arguments.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? "{}" : arguments
        guard JSON.object(text) != nil else { throw .malformedToolArguments(name: name, arguments: arguments) }
        return ToolCall(id: id, name: name, arguments: text)
    }
}

extension ToolCall {
    /// The arguments as a JSON object, for formats that send them as one
    /// (Anthropic's `input`, Gemini's `args`). The decoders only pass
    /// objects on, so anything else is a caller's bug: named here rather
    /// than sent as a silently emptied call.
    func argumentsObject() throws(ProviderError) -> [String: Any] {
        if arguments.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return [:] }
        guard let object = JSON.object(arguments) else { throw .malformedToolArguments(name: name, arguments: arguments) }
        return object
    }
}
