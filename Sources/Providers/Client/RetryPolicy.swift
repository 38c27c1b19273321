import Foundation

/// When to try a request again: on 429, 5xx and broken connections, before
/// any of the reply arrived; exponential backoff with jitter, or the
/// provider's `Retry-After` when it sends one.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all (1 = no retry).
    public var maxAttempts = 4
    public var initialDelay: Duration = .milliseconds(500)
    public var maxDelay: Duration = .seconds(20)
    /// A `Retry-After` longer than this is not waited for: the error goes
    /// to the caller (a budget or a person decides).
    public var maxRetryAfter: Duration = .seconds(60)

    public init() {}

    public static let none: RetryPolicy = { var policy = RetryPolicy(); policy.maxAttempts = 1; return policy }()

    /// The wait before attempt `attempt + 1` (attempt counts from 1), or nil
    /// not to retry. `jitter` is in 0...1 (random in use; fixed in tests).
    /// - Parameter retryable: whether this error may be retried (by default
    ///   `error.isRetryable`; the client also retries a stream that broke
    ///   before any of the reply reached the caller).
    public func delay(after error: ProviderError, attempt: Int, retryable: Bool? = nil, jitter: Double = Double.random(in: 0...1)) -> Duration? {
        guard retryable ?? error.isRetryable, attempt < maxAttempts else { return nil }
        if case .rateLimited(_, let retryAfter?, _) = error {
            return retryAfter <= maxRetryAfter ? retryAfter : nil
        }
        // Full exponential step, then "equal jitter": half fixed, half random,
        // so many clients that failed together do not return together.
        let step = min(maxDelay, initialDelay * Int(1 << min(attempt - 1, 20)))
        return step / 2 + step / 2 * jitter
    }

    /// `Retry-After` (seconds or an HTTP date) or OpenAI's `retry-after-ms`.
    public static func retryAfter(headerValue seconds: String?, milliseconds: String?, now: Date = Date()) -> Duration? {
        // A day at most: a server's "inf" or "1e300" must not trap the conversion.
        func bounded(_ milliseconds: Double) -> Duration? {
            guard milliseconds.isFinite, milliseconds >= 0 else { return nil }
            return .milliseconds(Int(min(milliseconds, 86_400_000)))
        }
        if let milliseconds, let value = Double(milliseconds.trimmingCharacters(in: .whitespaces)) { return bounded(value) }
        guard let seconds = seconds?.trimmingCharacters(in: .whitespaces), !seconds.isEmpty else { return nil }
        if let value = Double(seconds) { return bounded(value * 1000) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: seconds) else { return nil }
        return .milliseconds(max(0, Int(date.timeIntervalSince(now) * 1000)))
    }
}
