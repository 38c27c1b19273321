import Foundation
import Logging
import Synchronization
import ProviderTesting
import Testing
@testable import Providers

/// Options for tests: quick retries and a short read timeout, so the
/// failure paths run in well under a second each.
func testOptions(readTimeout: Duration = .seconds(5), attempts: Int = 4, concurrency: Int = 8) -> HTTPProviderOptions {
    var options = HTTPProviderOptions()
    options.retry.maxAttempts = attempts
    options.retry.initialDelay = .milliseconds(10)
    options.retry.maxDelay = .milliseconds(50)
    options.readTimeout = readTimeout
    options.connectTimeout = .seconds(2)
    options.maxConcurrentRequests = concurrency
    return options
}

/// A conversation with a system prompt, a user turn, an earlier tool call
/// and its result, and one tool — every part of a request a format maps.
let sampleRequest = ModelRequest(
    model: "gpt-test",
    system: "You write code.",
    messages: [
        .user("Make a file"),
        .assistant("", toolCalls: [ToolCall(id: "call_1", name: "create_file", arguments: #"{"path":"a.txt"}"#)]),
        .toolResult(for: ToolCall(id: "call_1", name: "create_file", arguments: "{}"), "created"),
    ],
    tools: [ToolDefinition(name: "create_file", description: "Creates a file",
                           parameters: #"{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}"#)],
    temperature: 0.2, maxOutputTokens: 256, stop: ["END"])

/// An answer with the given status and JSON body (no retry header).
func errorAnswer(_ status: Int, _ body: String, headers: [(String, String)] = []) -> [ScriptedHTTPServer.Step] {
    [.head(status: status, headers: [("content-type", "application/json"), ("content-length", "\(body.utf8.count)")] + headers), .text(body), .end]
}

/// A 200 event stream with these events.
func sseAnswer(_ events: [(event: String?, data: String)], thenEnd: Bool = true) -> [ScriptedHTTPServer.Step] {
    [.head(status: 200, headers: [("content-type", "text/event-stream")]), .body(ScriptedHTTPServer.sse(events))] + (thenEnd ? [.end] : [.close])
}

/// Collects a stream's events, or the error that ended it.
func collect(_ stream: AsyncThrowingStream<ProviderEvent, any Error>) async -> (events: [ProviderEvent], error: (any Error)?) {
    var events: [ProviderEvent] = []
    do {
        for try await event in stream { events.append(event) }
        return (events, nil)
    } catch {
        return (events, error)
    }
}

/// A reply that broke off after it had begun: the stream's error is
/// `streamInterrupted`, the server saw one request (nothing retried), and
/// `complete()` on the same script throws the same kind of error.
func expectInterruptedWithoutRetry(_ error: (any Error)?, server: ScriptedHTTPServer, complete: () async throws -> ModelReply,
                                   sourceLocation: SourceLocation = #_sourceLocation) async {
    guard case .streamInterrupted = error as? ProviderError else {
        Issue.record("expected streamInterrupted, got \(String(describing: error))", sourceLocation: sourceLocation)
        return
    }
    #expect(server.requests.count == 1, "a reply that had begun is not retried", sourceLocation: sourceLocation)
    do {
        _ = try await complete()
        Issue.record("complete() returned a reply from a cut stream", sourceLocation: sourceLocation)
    } catch {
        guard case .streamInterrupted = error as? ProviderError else {
            Issue.record("complete() should throw streamInterrupted, threw \(error)", sourceLocation: sourceLocation)
            return
        }
    }
}

/// Waits (checking every 10 ms, at most `seconds`) until `condition` holds:
/// for states with no event to await, such as a queue's length.
func waitUntil(_ what: String, seconds: Double = 10, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("never happened: \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A logger whose messages the test can read (to see, say, whether a
/// request was retried).
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])
    var messages: [String] { lines.withLock { $0 } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(log: self) }
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            log.lines.withLock { $0.append("\(event.message)") }
        }
    }
}
