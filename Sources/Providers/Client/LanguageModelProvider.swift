import Foundation

/// A language model behind some API: a request in, a stream of events out.
/// Every stream ends with a `.finish` and one `.usage` (estimated and marked
/// so when the provider sends none), or throws — a reply that broke off is
/// an error, never a shorter reply. Cancelling the consuming task stops
/// the HTTP request.
public protocol LanguageModelProvider: Sendable {
    /// Names the provider to people ("openai", "demo (recorded replies)").
    var name: String { get }
    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ProviderEvent, any Error>
}

/// A whole reply, collected from the stream.
public struct ModelReply: Sendable, Equatable {
    public var text: String
    public var toolCalls: [ToolCall]
    public var usage: Usage
    public var finishReason: FinishReason
}

extension LanguageModelProvider {
    /// Waits for the whole reply.
    public func complete(_ request: ModelRequest) async throws -> ModelReply {
        var text = "", calls: [ToolCall] = []
        var usage: Usage?
        var finish: FinishReason?
        for try await event in stream(request) {
            switch event {
            case .textDelta(let delta): text += delta
            case .toolCallDelta: break
            case .toolCall(let call): calls.append(call)
            case .usage(let reported): usage = reported
            case .finish(let reason): finish = reason
            }
        }
        try Task.checkCancellation()  // a cancelled caller ends the stream early: that is not a broken reply
        guard let finish else { throw ProviderError.streamInterrupted(after: "\(text.count) characters of text, with no finish") }
        return ModelReply(text: text, toolCalls: calls,
                          usage: usage ?? UsageEstimate.of(request, replyText: text, calls: calls), finishReason: finish)
    }
}

/// Token counts guessed from text when a provider reports none (about four
/// characters a token for English and code; marked `estimated`).
enum UsageEstimate {
    static func tokens(_ characters: Int) -> Int { (characters + 3) / 4 }

    static func of(_ request: ModelRequest, replyText: String, calls: [ToolCall]) -> Usage {
        var input = (request.system?.count ?? 0) + request.tools.reduce(0) { $0 + $1.name.count + $1.description.count + $1.parameters.count }
        for message in request.messages {
            input += message.text.count + message.toolCalls.reduce(0) { $0 + $1.name.count + $1.arguments.count }
        }
        let output = replyText.count + calls.reduce(0) { $0 + $1.name.count + $1.arguments.count }
        return Usage(inputTokens: tokens(input), outputTokens: tokens(output), estimated: true)
    }
}
