import Foundation

/// The demo model: replays recorded conversations so HMA runs end to end
/// with no API key. It never invents: a conversation that leaves its
/// recording gets `ProviderError.leftTheRecording`. Replies stream in small
/// pieces with a pause between them, as a real model's would.
///
/// A recording (a JSON file, format in docs/providers.md) is a list of
/// steps. Step n answers the model call made after n assistant turns; it
/// names text the latest user or tool message must contain, and the reply
/// to give (text and/or tool calls). The recording is chosen by its first
/// step matching the conversation's first user message.
public struct DemoProvider: LanguageModelProvider {
    public struct Transcript: Sendable, Equatable, Decodable {
        public var name: String
        /// A conversation: step n answers the call after n assistant turns.
        public var steps: [Step]
        /// An agent run (docs/agents.md, "The demo model"): each agent's
        /// steps, by the agent named in the system prompt (`agent: coder a.py`).
        public var agents: [String: [Step]]?

        enum CodingKeys: String, CodingKey { case name, steps, agents }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            steps = try container.decodeIfPresent([Step].self, forKey: .steps) ?? []
            agents = try container.decodeIfPresent([String: [Step]].self, forKey: .agents)
        }

        public struct Step: Sendable, Equatable, Decodable {
            /// Pieces of text the latest user or tool message must contain.
            public var expect: [String]
            public var reply: Reply
        }

        public struct Reply: Sendable, Equatable, Decodable {
            public var text: String?
            public var toolCalls: [RecordedCall]?
        }

        public struct RecordedCall: Sendable, Equatable, Decodable {
            public var name: String
            /// The arguments object, kept as JSON text.
            public var arguments: String

            enum CodingKeys: String, CodingKey { case name, arguments }

            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                name = try container.decode(String.self, forKey: .name)
                let value = try container.decode(JSONValue.self, forKey: .arguments)
                arguments = value.text
            }
        }
    }

    public struct RecordingError: Error, CustomStringConvertible {
        public let file: String
        public let reason: String
        public var description: String { "the demo recording \(file) cannot be read: \(reason)" }
    }

    public let name = "demo (recorded replies)"
    public let transcripts: [Transcript]
    /// Characters per streamed piece, and the pause between pieces.
    public var pieceLength = 16
    public var pause: Duration = .milliseconds(25)

    public init(transcripts: [Transcript], pause: Duration = .milliseconds(25)) {
        self.transcripts = transcripts
        self.pause = pause
    }

    /// Reads every `*.json` recording in `folder`.
    public static func load(folder: URL) throws -> [Transcript] {
        let files = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
        return try files.filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }.map { file in
            do {
                return try JSONDecoder().decode(Transcript.self, from: Data(contentsOf: file))
            } catch {
                throw RecordingError(file: file.path, reason: "\(error)")
            }
        }
    }

    /// The recordings that ship with HMA (`Resources/demo`).
    public static func bundled() -> DemoProvider {
        let folder = Bundle.module.url(forResource: "demo", withExtension: nil, subdirectory: "Resources")
        return DemoProvider(transcripts: folder.flatMap { try? load(folder: $0) } ?? [])
    }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ProviderEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<ProviderEvent, any Error>.makeStream()
        let task = Task {
            do {
                let step = try self.step(for: request)
                try await play(step, number: request.messages.filter { $0.role == .assistant }.count, request: request, into: continuation)
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// The recorded step that answers this conversation, or why there is none.
    func step(for request: ModelRequest) throws(ProviderError) -> Transcript.Step {
        if let agent = Self.agent(in: request) { return try agentStep(for: agent, request: request) }
        let firstUser = request.messages.first { $0.role == .user }?.text ?? ""
        guard let transcript = transcripts.first(where: { $0.steps.first.map { Self.matches(firstUser, $0) } ?? false }) else {
            let known = transcripts.compactMap { $0.steps.first?.expect.first }.map { "\"\($0)\"" }
            throw .leftTheRecording(transcript: "(none)", step: 0,
                                    expected: known.isEmpty ? "no recordings are installed" : "a first request about one of \(known.joined(separator: ", "))")
        }
        let number = request.messages.filter { $0.role == .assistant }.count
        guard number < transcript.steps.count else {
            throw .leftTheRecording(transcript: transcript.name, step: number, expected: "the end of the recording after step \(transcript.steps.count - 1)")
        }
        let step = transcript.steps[number]
        let latest = request.messages.last { $0.role != .assistant }?.text ?? ""
        guard Self.matches(latest, step) else {
            throw .leftTheRecording(transcript: transcript.name, step: number,
                                    expected: "a message containing " + step.expect.map { "\"\($0)\"" }.joined(separator: " and "))
        }
        return step
    }

    /// The agent a request is for: the `agent: …` line of an agent's system prompt.
    public static func agent(in request: ModelRequest) -> String? {
        guard let line = request.system?.split(separator: "\n").first(where: { $0.contains("agent: ") }),
              let range = line.range(of: "agent: ") else { return nil }
        return String(line[range.upperBound...].prefix { $0 != ")" })
    }

    /// An agent's step: among its recorded steps whose texts all appear in
    /// the latest message, the one nearest its call number (`# Now (call N)`),
    /// preferring later ones. Reports that arrive together or apart, in any
    /// order, land on the step the recording made for that situation.
    func agentStep(for agent: String, request: ModelRequest) throws(ProviderError) -> Transcript.Step {
        let latest = request.messages.last { $0.role != .assistant }?.text ?? ""
        let call = latest.range(of: "(call ").flatMap { Int(latest[$0.upperBound...].prefix { $0.isNumber }) } ?? 1
        for transcript in transcripts {
            guard let steps = transcript.agents?[agent] else { continue }
            let matching = steps.indices.filter { Self.matches(latest, steps[$0]) }
            let target = call - 1
            if let best = matching.filter({ $0 >= target }).min() ?? matching.max() { return steps[best] }
        }
        let recorded = transcripts.filter { $0.agents?[agent] != nil }.map(\.name)
        throw .leftTheRecording(transcript: recorded.first ?? "(no recording has \(agent))", step: call,
                                expected: recorded.isEmpty ? "an agent the recordings contain" : "a prompt one of \(agent)'s recorded steps expects")
    }

    static func matches(_ text: String, _ step: Transcript.Step) -> Bool {
        step.expect.allSatisfy { text.contains($0) }
    }

    private func play(_ step: Transcript.Step, number: Int, request: ModelRequest,
                      into continuation: AsyncThrowingStream<ProviderEvent, any Error>.Continuation) async throws {
        let text = step.reply.text ?? ""
        var index = text.startIndex
        while index < text.endIndex {
            let end = text.index(index, offsetBy: pieceLength, limitedBy: text.endIndex) ?? text.endIndex
            continuation.yield(.textDelta(String(text[index..<end])))
            index = end
            if pause > .zero { try await Task.sleep(for: pause) }
        }
        var calls: [ToolCall] = []
        for (position, recorded) in (step.reply.toolCalls ?? []).enumerated() {
            let call = ToolCall(id: "call_demo_\(number)_\(position)", name: recorded.name, arguments: recorded.arguments)
            continuation.yield(.toolCallDelta(index: position, id: call.id, name: call.name, argumentsDelta: call.arguments))
            continuation.yield(.toolCall(call))
            calls.append(call)
            if pause > .zero { try await Task.sleep(for: pause) }
        }
        continuation.yield(.finish(calls.isEmpty ? .stop : .toolCalls))
        continuation.yield(.usage(UsageEstimate.of(request, replyText: text, calls: calls)))
    }
}

/// Any JSON value, to keep a recorded argument object as text.
enum JSONValue: Decodable {
    case object([String: JSONValue]), array([JSONValue]), string(String), number(Double), bool(Bool), null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    var any: Any {
        switch self {
        case .object(let value): return value.mapValues(\.any)
        case .array(let value): return value.map(\.any)
        case .string(let value): return value
        case .number(let value): return value == value.rounded() && abs(value) < 1e15 ? Int(value) as Any : value
        case .bool(let value): return value
        case .null: return NSNull()
        }
    }

    var text: String {
        guard case .object = self, let data = try? JSONSerialization.data(withJSONObject: any, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
