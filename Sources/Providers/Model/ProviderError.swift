import Foundation

/// Why a provider call failed, in terms a person can act on. The provider's
/// own message is kept (trimmed); an API key never appears in one.
public enum ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configured key cannot be sent (whitespace or a line break inside).
    case invalidKey(provider: String, reason: String)
    /// The provider refused the key (401, or Gemini's API_KEY_INVALID).
    case authentication(provider: String, message: String)
    /// The key is valid but may not use this model or endpoint (403).
    case permissionDenied(provider: String, message: String)
    case unknownModel(provider: String, model: String, message: String)
    /// The conversation is longer than the model's context window.
    case contextOverflow(provider: String, message: String)
    /// The model or the provider's filter declined to answer.
    case refusal(provider: String, message: String)
    /// The account is out of credit or over its quota (retrying will not help).
    case quotaExhausted(provider: String, message: String)
    /// Too many requests, still after the retries.
    case rateLimited(provider: String, retryAfter: Duration?, message: String)
    /// 5xx (or Anthropic's 529 overloaded), still after the retries.
    case serverError(provider: String, status: Int, message: String)
    /// Any other refused request (a 4xx this client has no better name for).
    case badRequest(provider: String, status: Int, message: String)
    /// Nothing arrived for the read timeout (a server that accepted the
    /// connection and never answered, or stalled mid-reply).
    case timeout(provider: String, after: Duration)
    /// The connection broke (a reset); worth another attempt.
    case connectionFailed(provider: String, message: String)
    /// No connection could be made within the connect timeout (refused,
    /// or no answer): not retried, the connect attempts already were.
    case unreachable(provider: String, message: String)
    /// The stream ended before the provider said it had finished.
    case streamInterrupted(after: String)
    case malformedEvent(String)
    case malformedToolArguments(name: String, arguments: String)
    /// The demo model was asked something its recording does not contain.
    case leftTheRecording(transcript: String, step: Int, expected: String)
    /// No provider is configured or known under that name.
    case notConfigured(String)

    /// The same error with `secret` removed from every message in it.
    public func redacting(_ secret: String) -> ProviderError {
        guard !secret.isEmpty else { return self }
        func clean(_ text: String) -> String { text.replacingOccurrences(of: secret, with: "<redacted>") }
        switch self {
        case .authentication(let provider, let message): return .authentication(provider: provider, message: clean(message))
        case .permissionDenied(let provider, let message): return .permissionDenied(provider: provider, message: clean(message))
        case .unknownModel(let provider, let model, let message): return .unknownModel(provider: provider, model: model, message: clean(message))
        case .contextOverflow(let provider, let message): return .contextOverflow(provider: provider, message: clean(message))
        case .refusal(let provider, let message): return .refusal(provider: provider, message: clean(message))
        case .quotaExhausted(let provider, let message): return .quotaExhausted(provider: provider, message: clean(message))
        case .rateLimited(let provider, let retryAfter, let message): return .rateLimited(provider: provider, retryAfter: retryAfter, message: clean(message))
        case .serverError(let provider, let status, let message): return .serverError(provider: provider, status: status, message: clean(message))
        case .badRequest(let provider, let status, let message): return .badRequest(provider: provider, status: status, message: clean(message))
        case .connectionFailed(let provider, let message): return .connectionFailed(provider: provider, message: clean(message))
        case .unreachable(let provider, let message): return .unreachable(provider: provider, message: clean(message))
        case .streamInterrupted(let after): return .streamInterrupted(after: clean(after))
        case .malformedEvent(let detail): return .malformedEvent(clean(detail))
        case .invalidKey, .timeout, .malformedToolArguments, .leftTheRecording, .notConfigured: return self
        }
    }

    /// Whether a new attempt may succeed (before any of the reply arrived).
    public var isRetryable: Bool {
        switch self {
        case .rateLimited, .serverError, .connectionFailed: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .invalidKey(let provider, let reason): return "the \(provider) API key is not usable: \(reason)"
        case .authentication(let provider, let message): return "\(provider) refused the API key (check it): \(message)"
        case .permissionDenied(let provider, let message): return "\(provider) does not allow this key to do that: \(message)"
        case .unknownModel(let provider, let model, let message): return "\(provider) has no model \"\(model)\": \(message)"
        case .contextOverflow(let provider, let message): return "the conversation is too long for the model's context window (\(provider)): \(message)"
        case .refusal(let provider, let message): return "the model declined to answer (\(provider)): \(message)"
        case .quotaExhausted(let provider, let message): return "the \(provider) account is out of credit or quota: \(message)"
        case .rateLimited(let provider, let retryAfter, let message):
            return "\(provider) is rate limiting requests\(retryAfter.map { " (retry after \($0))" } ?? ""): \(message)"
        case .serverError(let provider, let status, let message): return "\(provider) had a server error (\(status)): \(message)"
        case .badRequest(let provider, let status, let message): return "\(provider) refused the request (\(status)): \(message)"
        case .timeout(let provider, let after): return "\(provider) sent nothing for \(after)"
        case .connectionFailed(let provider, let message): return "the connection to \(provider) failed: \(message)"
        case .unreachable(let provider, let message): return "could not reach \(provider): \(message)"
        case .streamInterrupted(let after): return "the reply stream broke off before it finished (after \(after))"
        case .malformedEvent(let detail): return "the provider sent an event this client cannot read: \(detail)"
        case .malformedToolArguments(let name, let arguments):
            return "the model called \(name) with arguments that are not a JSON object: \(arguments.prefix(200))"
        case .leftTheRecording(let transcript, let step, let expected):
            return "the demo model only replays its recordings; this conversation left \"\(transcript)\" at step \(step) (it expected \(expected)). Configure a real provider to go further."
        case .notConfigured(let name): return "no provider \(name) is configured"
        }
    }
}
