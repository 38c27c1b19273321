import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// A provider reached over HTTP in its own wire format: sends the request,
/// retries what may succeed on a new attempt (before any of the reply
/// arrived), turns refusals into typed errors, and streams the reply
/// through the SSE parser and the format's decoder.
public final class HTTPProvider<Format: WireFormat>: LanguageModelProvider {
    public var name: String { format.provider }
    public let format: Format
    public let endpoint: Endpoint
    public let options: HTTPProviderOptions
    public let limiter: ConcurrencyLimiter
    private let client: HTTPClient
    private let logger: Logger

    public init(format: Format, endpoint: Endpoint, options: HTTPProviderOptions = .init(), logger: Logger = Logger(label: "hma.providers")) {
        self.format = format
        self.endpoint = endpoint
        self.options = options
        self.logger = logger
        limiter = ConcurrencyLimiter(limit: options.maxConcurrentRequests)
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: TimeAmount(options.connectTimeout), read: TimeAmount(options.readTimeout))
        configuration.decompression = .disabled
        // Provider APIs do not redirect; following one would carry the key
        // (x-api-key, x-goog-api-key survive a cross-origin redirect) elsewhere.
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, options.maxConcurrentRequests)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Keep one provider object per provider and reuse it: it holds the
    /// connection pool. Its last reference may go on any thread (an event
    /// loop's too), so the pool is shut down without blocking.
    deinit {
        let client = self.client
        Task { try? await client.shutdown() }
    }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ProviderEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<ProviderEvent, any Error>.makeStream()
        let task = Task {
            do {
                try await limiter.withSlot { try await self.run(request, into: continuation) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func run(_ request: ModelRequest, into continuation: AsyncThrowingStream<ProviderEvent, any Error>.Continuation) async throws {
        do {
            try await attempt(request, into: continuation)
        } catch let error as ProviderError {
            // Providers sometimes quote the key back ("Consumer 'api_key:…' has been suspended").
            throw endpoint.apiKey.map { error.redacting($0.secret) } ?? error
        }
    }

    /// Sends the request until it succeeds, fails for good, or part of the
    /// reply has reached the caller (then nothing is retried).
    private func attempt(_ request: ModelRequest, into continuation: AsyncThrowingStream<ProviderEvent, any Error>.Continuation) async throws {
        let wire = try format.request(for: request, endpoint: endpoint)
        var attempt = 1
        while true {
            var delivered = false
            do {
                let response = try await send(wire)
                if response.status.code / 100 != 2 {
                    throw format.error(status: Int(response.status.code), retryAfter: Self.retryAfter(response.headers),
                                       body: await Self.collect(response.body, limit: 64 << 10), model: request.model)
                }
                try await relay(response, request: request, into: continuation, delivered: &delivered)
                return
            } catch let error as ProviderError where !delivered {
                // An error event or a cut before any of the reply (Anthropic
                // may answer 200 and then "overloaded") is worth a new attempt.
                let cutBeforeOutput = if case .streamInterrupted = error { true } else { false }
                guard let delay = options.retry.delay(after: error, attempt: attempt, retryable: error.isRetryable || cutBeforeOutput) else {
                    throw error
                }
                logger.notice("retrying a model request", metadata: [
                    "provider": "\(name)", "attempt": "\(attempt + 1)", "delay": "\(delay)", "reason": "\(error)",
                ])
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }

    private func send(_ wire: WireRequest) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: wire.url)
        request.method = .POST
        for header in wire.headers { request.headers.add(name: header.name, value: header.value) }
        request.body = .bytes(ByteBuffer(bytes: wire.body))
        do {
            // The deadline covers the answer's head; the read timeout every
            // silence after it.
            return try await client.execute(request, timeout: TimeAmount(options.readTimeout + options.connectTimeout), logger: logger)
        } catch {
            throw mapped(error)
        }
    }

    /// Streams the body through the parser and decoder; adds an estimated
    /// usage when the provider sent none.
    /// Usage is held back and yielded once, last: some servers repeat it
    /// in every chunk (vLLM's continuous usage, Gemini).
    private func relay(_ response: HTTPClientResponse, request: ModelRequest,
                       into continuation: AsyncThrowingStream<ProviderEvent, any Error>.Continuation, delivered: inout Bool) async throws {
        var parser = ServerSentEventParser(maxLineBytes: options.maxEventBytes)
        var decoder = format.makeDecoder()
        var usage: Usage?
        var text = "", calls: [ToolCall] = []
        func deliver(_ events: [ProviderEvent]) {
            for event in events {
                switch event {
                case .usage(let reported):
                    usage = reported
                    continue
                case .textDelta(let delta): text += delta
                case .toolCall(let call): calls.append(call)
                default: break
                }
                delivered = true
                continuation.yield(event)
            }
        }
        do {
            for try await buffer in response.body {
                let events: [ServerSentEvent]
                do {
                    events = try parser.feed(buffer.readableBytesView)
                } catch {
                    throw ProviderError.malformedEvent("an event line over \(options.maxEventBytes) bytes")
                }
                for event in events { deliver(try decoder.decode(event)) }
            }
        } catch let error as ProviderError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // The connection broke or went silent: the decoder says what was
            // cut (text, a partial tool call) — unless the reply had finished.
            let cause = mapped(error)
            if let cut = Self.cut(decoder, cause: cause) { throw cut }
        }
        _ = parser.finish()  // an event not closed by an empty line is dropped: the decoder then says the reply is cut
        try decoder.end()
        continuation.yield(.usage(usage ?? UsageEstimate.of(request, replyText: text, calls: calls)))
    }

    /// What the decoder says was lost when the body broke off, with why;
    /// nil when the reply had already finished.
    private static func cut(_ decoder: Format.Decoder, cause: any Error) -> ProviderError? {
        do {
            try decoder.end()
            return nil
        } catch {
            guard case .streamInterrupted(let after) = error else { return error }
            return .streamInterrupted(after: "\(after); \(cause)")
        }
    }

    private func mapped(_ error: any Error) -> any Error {
        if error is ProviderError || error is CancellationError { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout, .deadlineExceeded: return ProviderError.timeout(provider: name, after: options.readTimeout)
            case .cancelled: return CancellationError()
            case .connectTimeout: return ProviderError.unreachable(provider: name, message: "no connection to \(endpoint.baseURL) within \(options.connectTimeout)")
            case .remoteConnectionClosed: return ProviderError.connectionFailed(provider: name, message: "the server closed the connection")
            default: return ProviderError.connectionFailed(provider: name, message: "\(error)")
            }
        }
        // Host names connect through happy eyeballs, which reports its own errors.
        if let error = error as? NIOConnectionError {
            if error.dnsAAAAError != nil && error.dnsAError != nil && error.connectionErrors.isEmpty {
                return ProviderError.unreachable(provider: name, message: "cannot resolve \(error.host)")
            }
            let refused = error.connectionErrors.contains { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
            return ProviderError.unreachable(provider: name, message: refused ? "connection refused at \(endpoint.baseURL) (is the server running?)"
                                                                       : "no connection to \(endpoint.baseURL) (\(error))")
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return ProviderError.unreachable(provider: name, message: "no connection to \(endpoint.baseURL) within \(options.connectTimeout)")
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            // AsyncHTTPClient has already kept trying for the connect timeout.
            case ECONNREFUSED: return ProviderError.unreachable(provider: name, message: "connection refused at \(endpoint.baseURL) (is the server running?)")
            case ECONNRESET: return ProviderError.connectionFailed(provider: name, message: "the connection was reset")
            default: break
            }
        }
        return ProviderError.connectionFailed(provider: name, message: "\(error)")
    }

    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        RetryPolicy.retryAfter(headerValue: headers.first(name: "retry-after"), milliseconds: headers.first(name: "retry-after-ms"))
    }

    /// The start of an error body; what arrived if the connection breaks
    /// while it is read (the status alone still names the error).
    static func collect(_ body: HTTPClientResponse.Body, limit: Int) async -> Data {
        var data = Data()
        do {
            for try await buffer in body {
                if data.count < limit { data.append(contentsOf: buffer.readableBytesView.prefix(limit - data.count)) }
            }
        } catch {}
        return data
    }
}

/// How an `HTTPProvider` behaves: retries, concurrency, deadlines.
public struct HTTPProviderOptions: Sendable {
    public var retry = RetryPolicy()
    /// Requests in flight at once to this provider (more wait).
    public var maxConcurrentRequests = 8
    /// AsyncHTTPClient keeps trying to connect (a refused connection too)
    /// until this passes.
    public var connectTimeout: Duration = .seconds(5)
    /// Longest silence — before the answer or between two chunks — before
    /// the request is given up (local models may think a while).
    public var readTimeout: Duration = .seconds(120)
    /// An SSE line (one event's data) longer than this is refused.
    public var maxEventBytes = 8 << 20
    public init() {}
}
