import Foundation
import Providers
import Synchronization
@testable import Agents

/// A language model for agent tests: each agent (named by the `agent: …`
/// line of its system prompt) answers from its own script, a function of
/// the request and the agent's turn number. Not a network mock: the
/// providers' wire formats are tested against local servers in
/// ProvidersTests; this stands in for the whole provider.
final class ScriptedModel: LanguageModelProvider {
    enum Reply: Sendable {
        case text(String)
        case tool(String, String)
        /// Never answers until the call is cancelled.
        case hang
        case failure(ProviderError)
    }

    typealias Script = @Sendable (_ request: ModelRequest, _ turn: Int) -> Reply

    let name = "scripted"
    private let scripts: [String: Script]
    private let state = Mutex<State>(State())
    /// Called with each request's agent and turn before it is answered
    /// (tests hold replies back here).
    let onRequest: @Sendable (String, Int) async -> Void

    struct State {
        var turns: [String: Int] = [:]
        var requests: [(agent: String, request: ModelRequest)] = []
        var cancelled = 0
    }

    init(_ scripts: [String: Script], onRequest: @escaping @Sendable (String, Int) async -> Void = { _, _ in }) {
        self.scripts = scripts
        self.onRequest = onRequest
    }

    /// A script that answers these replies in turn (then keeps repeating the last).
    static func sequence(_ replies: [Reply]) -> Script {
        { _, turn in replies[min(turn, replies.count - 1)] }
    }

    static func agent(of request: ModelRequest) -> String {
        let line = request.system?.split(separator: "\n").first { $0.contains("agent: ") } ?? ""
        guard let range = line.range(of: "agent: ") else { return "?" }
        return String(line[range.upperBound...].prefix { $0 != ")" })
    }

    var requests: [(agent: String, request: ModelRequest)] { state.withLock { $0.requests } }
    func prompts(of agent: String) -> [String] { requests.filter { $0.agent == agent }.map { $0.request.messages.last?.text ?? "" } }
    var cancelledCalls: Int { state.withLock { $0.cancelled } }

    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ProviderEvent, any Error> {
        let agent = DemoProvider.agent(in: request) ?? "?"
        let turn = state.withLock { state -> Int in
            state.requests.append((agent, request))
            defer { state.turns[agent, default: 0] += 1 }
            return state.turns[agent, default: 0]
        }
        let reply = scripts[agent].map { $0(request, turn) } ?? .failure(.serverError(provider: "scripted", status: 500, message: "no script for \(agent)"))
        return AsyncThrowingStream { continuation in
            let task = Task {
                await onRequest(agent, turn)
                switch reply {
                case .text(let text):
                    // In pieces, as a server streams.
                    var rest = Substring(text)
                    while !rest.isEmpty {
                        continuation.yield(.textDelta(String(rest.prefix(7))))
                        rest = rest.dropFirst(7)
                    }
                    continuation.yield(.usage(Usage(inputTokens: (request.messages.last?.text.count ?? 0) / 4, outputTokens: max(1, text.count / 4), estimated: false)))
                    continuation.yield(.finish(.stop))
                    continuation.finish()
                case .tool(let name, let arguments):
                    continuation.yield(.toolCall(ToolCall(id: "call-\(turn)", name: name, arguments: arguments)))
                    continuation.yield(.usage(Usage(inputTokens: 100, outputTokens: 10, estimated: false)))
                    continuation.yield(.finish(.toolCalls))
                    continuation.finish()
                case .hang:
                    do {
                        try await Task.sleep(for: .seconds(3600))
                    } catch {
                        self.state.withLock { $0.cancelled += 1 }
                        continuation.finish(throwing: CancellationError())
                    }
                case .failure(let error):
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// Records a run's events in order.
final class RecordingSink: AgentEventSink {
    private let recorded = Mutex<[AgentEvent]>([])
    func record(_ event: AgentEvent) { recorded.withLock { $0.append(event) } }
    var events: [AgentEvent] { recorded.withLock { $0 } }

    func failures(of agent: String) -> [String] {
        events.compactMap { if case .actionFailed(let ref, let message) = $0, ref.description == agent { message } else { nil } }
    }

    func statuses(of agent: String) -> [AgentStatus] {
        events.compactMap { if case .status(let ref, let status) = $0, ref.description == agent { status } else { nil } }
    }
}
