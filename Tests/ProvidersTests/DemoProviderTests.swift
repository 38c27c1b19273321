import Foundation
import Testing
@testable import Providers

/// The demo model replays its recording, streams it in pieces, and refuses
/// conversations the recording does not contain.
@Suite struct DemoProviderTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Recordings")

    func demo(pause: Duration = .zero) throws -> DemoProvider {
        DemoProvider(transcripts: try DemoProvider.load(folder: Self.folder), pause: pause)
    }

    let firstCalls = [
        ToolCall(id: "call_demo_0_0", name: "create_file", arguments: #"{"content":"print(\"hello\")\n","path":"hello.py"}"#),
        ToolCall(id: "call_demo_0_1", name: "run", arguments: #"{"command":["python3","hello.py"]}"#),
    ]

    @Test func replaysEachStepWithItsToolCallsAndStreamsTheTextInPieces() async throws {
        let demo = try demo()
        #expect(demo.name.contains("demo"), "it says what it is")
        let first = ModelRequest(model: "demo", messages: [.user("Write a greeting program in Python")])
        let (events, error) = await collect(demo.stream(first))
        #expect(error == nil)
        let pieces = events.compactMap { if case .textDelta(let text) = $0 { text } else { nil } }
        #expect(pieces.count > 1 && pieces.joined() == "I will write hello.py, then run it.")
        let reply = try await demo.complete(first)
        #expect(reply.toolCalls == firstCalls && reply.finishReason == .toolCalls && reply.usage.estimated)

        let second = ModelRequest(model: "demo", messages: [
            .user("Write a greeting program in Python"), .assistant(reply.text, toolCalls: reply.toolCalls),
            .toolResult(for: firstCalls[0], "created"), .toolResult(for: firstCalls[1], "exit 0\nhello\n"),
        ])
        let done = try await demo.complete(second)
        #expect(done.text == "It prints hello. Done." && done.toolCalls.isEmpty && done.finishReason == .stop)
    }

    @Test func aConversationThatLeavesTheRecordingGetsAClearError() async throws {
        let demo = try demo()
        await #expect(throws: ProviderError.leftTheRecording(transcript: "(none)", step: 0,
                                                            expected: #"a first request about one of "Write a greeting program""#)) {
            _ = try await demo.complete(ModelRequest(model: "demo", messages: [.user("Build a chess engine")]))
        }
        let wrongResult = ModelRequest(model: "demo", messages: [
            .user("Write a greeting program"), .assistant("", toolCalls: firstCalls), .toolResult(for: firstCalls[1], "exit 1: no python3"),
        ])
        await #expect(throws: ProviderError.leftTheRecording(transcript: "greeting", step: 1, expected: #"a message containing "hello""#)) {
            _ = try await demo.complete(wrongResult)
        }
        let beyond = ModelRequest(model: "demo", messages: [
            .user("Write a greeting program"), .assistant("a"), .user("hello"), .assistant("b"), .user("and more?"),
        ])
        await #expect(throws: ProviderError.self) { _ = try await demo.complete(beyond) }
        #expect(ProviderError.leftTheRecording(transcript: "greeting", step: 2, expected: "x").description.contains("Configure a real provider"))
    }

    @Test func repliesArePacedLikeAModelsAndCancellationStopsThem() async throws {
        let demo = try demo(pause: .milliseconds(20))
        let request = ModelRequest(model: "demo", messages: [.user("Write a greeting program")])
        let start = ContinuousClock.now
        _ = try await demo.complete(request)
        #expect(ContinuousClock.now - start >= .milliseconds(60), "three text pieces and two calls, 20 ms apart")
        let task = Task { try await demo.complete(request) }
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }

    @Test func aBrokenRecordingFileIsReportedWithItsName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hma-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"name": "x", "steps": [{"reply": {}}]}"#.utf8).write(to: folder.appendingPathComponent("bad.json"))
        #expect { _ = try DemoProvider.load(folder: folder) } throws: { "\($0)".contains("bad.json") }
    }
}
