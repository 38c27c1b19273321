// make bench-llm: what the provider client adds to each streamed token, and
// how many tokens a second it takes in over 100 concurrent streams — against
// OpenAI's official Python SDK reading the same streams in the same run.
//
// A local server (ScriptedHTTPServer) streams Chat Completions chunks whose
// text is the CLOCK_MONOTONIC time at which the server wrote them; the
// client's delay for a token is from that write to the `.textDelta` event
// reaching the caller (loopback, HTTP, SSE parsing, JSON decoding and the
// AsyncStream hop all included). Tokens are written 1 ms apart, as a fast
// model would, so each is read on its own.
import BenchmarkReport
import Foundation
import Providers
import ProviderTesting

func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
}
func chunk(_ content: String, finish: Bool = false) -> String {
    finish ? #"{"id":"b","object":"chat.completion.chunk","model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#
        : #"{"id":"b","object":"chat.completion.chunk","model":"bench","choices":[{"index":0,"delta":{"content":"\#(content)"},"finish_reason":null}]}"#
}

let latencyTokens = 3000, throughputStreams = 100, throughputTokens = 500
let ending = ScriptedHTTPServer.sse([
    (nil, chunk("", finish: true)),
    (nil, #"{"id":"b","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#),
    (nil, "[DONE]"),
])
let server = try await ScriptedHTTPServer { request, _ in
    var steps: [ScriptedHTTPServer.Step] = [.head(status: 200, headers: [("content-type", "text/event-stream")])]
    if request.json?["model"] as? String == "latency" {
        for _ in 0..<latencyTokens {
            steps.append(.bodyNow { ScriptedHTTPServer.sse([(nil, chunk("\(monotonicNanos())"))]) })
            steps.append(.pause(.milliseconds(1)))
        }
    } else {
        // As fast as the connection takes them, in 8 KiB writes.
        var pending = Data()
        for index in 0..<throughputTokens {
            pending.append(ScriptedHTTPServer.sse([(nil, chunk("t\(index) "))]))
            if pending.count > 8 << 10 { steps.append(.body(pending)); pending = Data() }
        }
        steps.append(.body(pending))
    }
    return steps + [.body(ending), .end]
}
let baseURL = server.baseURL + "/v1"
var options = HTTPProviderOptions()
options.maxConcurrentRequests = throughputStreams
options.retry = .none
let client = HTTPProvider(format: OpenAIChatFormat(provider: "openai"), endpoint: Endpoint(baseURL: baseURL, apiKey: try APIKey("sk-bench", provider: "openai")),
                          options: options)

func hmaLatency() async throws -> [Double] {
    var delays: [Double] = []
    for try await event in client.stream(ModelRequest(model: "latency", messages: [.user("go")])) {
        if case .textDelta(let text) = event, let sent = UInt64(text) { delays.append(Double(monotonicNanos() - sent) / 1000) }
    }
    return delays
}

func hmaThroughput() async throws -> (tokens: Int, seconds: Double) {
    let start = ContinuousClock.now
    let tokens = try await withThrowingTaskGroup(of: Int.self) { group in
        for _ in 0..<throughputStreams {
            group.addTask {
                var count = 0
                for try await event in client.stream(ModelRequest(model: "throughput", messages: [.user("go")])) {
                    if case .textDelta = event { count += 1 }
                }
                return count
            }
        }
        return try await group.reduce(0, +)
    }
    let elapsed = ContinuousClock.now - start
    return (tokens, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

/// Runs the Python peer; nil (and a note) when it is not installed.
func peer(_ arguments: [String]) throws -> Data? {
    guard let folder = ProcessInfo.processInfo.environment["BENCH_PYTHON_PEER"] else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", folder + "/openai_peer.py"] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment["PYTHONPATH"] = folder + "/site"
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return process.terminationStatus == 0 ? data : nil
}

// Warm up both clients (connections, JIT-less but cached imports).
_ = try await hmaLatency()
_ = try peer(["latency", baseURL])

var rows: [String] = []
let hmaDelays = try await hmaLatency()
let peerDelays = try peer(["latency", baseURL]).flatMap { try? JSONDecoder().decode([Double].self, from: $0) }?.map { $0 / 1000 }
let hmaRun = try await hmaThroughput()
let peerRun = try peer(["throughput", baseURL, "\(throughputStreams)"]).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Double] }

let hmaP50 = percentile(hmaDelays, 0.5), hmaP99 = percentile(hmaDelays, 0.99)
let hmaRate = Double(hmaRun.tokens) / hmaRun.seconds
rows.append("| client | overhead per token p50 | p99 | \(throughputStreams) concurrent streams |")
rows.append("|---|---|---|---|")
rows.append(String(format: "| HMA (AsyncHTTPClient + SSE state machine) | %.0f µs | %.0f µs | %.0f tokens/s (%d tokens in %.2f s) |",
                   hmaP50, hmaP99, hmaRate, hmaRun.tokens, hmaRun.seconds))
var ratios: [String] = []
if let peerDelays, let peerRun, let tokens = peerRun["tokens"], let seconds = peerRun["seconds"] {
    let peerP50 = percentile(peerDelays, 0.5), peerP99 = percentile(peerDelays, 0.99), peerRate = tokens / seconds
    rows.append(String(format: "| openai-python 1.109.1 (httpx) | %.0f µs | %.0f µs | %.0f tokens/s (%.0f tokens in %.2f s) |",
                       peerP50, peerP99, peerRate, tokens, seconds))
    ratios.append(String(format: "overhead p50 %.2f× the Python SDK's, throughput %.1f× its", hmaP50 / peerP50, hmaRate / peerRate))
} else {
    rows.append("| openai-python | not run (BENCH_PYTHON_PEER unset or the peer failed) | | |")
}
rows.append("")
rows.append("Per-token overhead: \(hmaDelays.count) tokens streamed 1 ms apart on one connection, after a warm-up stream; "
            + "throughput: \(throughputStreams) streams of \(throughputTokens) tokens each, written as fast as the connections take them, all at once.")

let closing = String(format: "client overhead per streamed token p50 %.0f µs", hmaP50)
for line in rows + ratios { print(line) }
try writeBenchmarkSection(name: "llm", command: "make bench-llm", detail: "local server on 127.0.0.1, same run for both clients",
                          summary: [closing] + ratios, table: rows)
await server.shutdown()
print(closing)
