import Agents
import Foundation
import Logging
import Providers
import Storage

/// A run's event sink on the gateway: it keeps the run's order, stores
/// what must outlive the browser (chat messages; the agent tree and usage
/// are in the run's journal), and publishes to the session's hub.
final class RunEventRouter: AgentEventSink {
    private let continuation: AsyncStream<AgentEvent>.Continuation
    private let task: Task<Void, Never>

    init(translator: EventTranslator, hub: SessionHub, store: Store, metrics: GatewayMetrics, logger: Logger,
         onEnded: @escaping @Sendable (RunOutcome) async -> Void) {
        let (stream, continuation) = AsyncStream<AgentEvent>.makeStream()
        self.continuation = continuation
        task = Task {
            var translator = translator  // it remembers where agents run
            for await event in stream {
                for output in translator.translate(event) {
                    switch output {
                    case .frame(let frame):
                        await hub.publish(frame)
                    case .tokens(let agentId, let filePath, let text):
                        metrics.tokensStreamed(text.utf8.count)
                        await hub.publishTokens(agentId: agentId, filePath: filePath, text: text)
                    case .message(let sender, let content, let agentId, let metadata):
                        do {
                            let stored = try await store.appendMessage(NewMessage(
                                sessionId: translator.sessionId, sender: sender, content: String(content.prefix(1 << 20)),
                                agentId: agentId, metadata: metadata?.jsonText))
                            await hub.publish(ServerFrame("message", MessageJSON.payload(stored)))
                        } catch {
                            logger.error("a run's message was not stored", metadata: ["session": "\(translator.sessionId)", "error": "\(error)"])
                        }
                    }
                }
                if case .usage(_, let usage, let cost, _, _) = event { metrics.usage(usage.inputTokens + usage.outputTokens, costUSD: cost) }
                if case .ended(let outcome) = event { await onEnded(outcome) }
            }
        }
    }

    func record(_ event: AgentEvent) { continuation.yield(event) }

    /// Returns once every event recorded so far is stored and published.
    func drain() async {
        continuation.finish()
        await task.value
    }
}

/// How stored records look on the wire.
enum MessageJSON {
    static func payload(_ message: Storage.ChatMessage) -> [String: JSONValue] {
        [
            "id": .string(message.id), "sessionId": .string(message.sessionId), "content": .string(message.content),
            "sender": .string(message.sender.rawValue), "agentId": .optional(message.agentId),
            "timestamp": .string(timestamp(message.timestamp)),
            "metadata": message.metadata.flatMap { JSONValue.parse($0) } ?? .null,
        ]
    }

    static func session(_ session: ChatSession) -> JSONValue {
        .object([
            "id": .string(session.id), "title": .string(session.title), "createdAt": .string(timestamp(session.createdAt)),
            "lastModified": .string(timestamp(session.lastModified)), "projectId": .optional(session.projectId),
        ].filter { $0.value != .null })
    }

    static func project(_ project: ProjectMeta) -> JSONValue {
        .object([
            "id": .string(project.id), "name": .string(project.name), "language": .string(project.language),
            "status": .string(project.status.rawValue), "sessionId": .optional(project.sessionId),
            "lastActivityAt": .string(timestamp(project.lastActivityAt)),
        ].filter { $0.value != .null })
    }

    static func timestamp(_ date: Date) -> String {
        date.ISO8601Format(.iso8601(timeZone: .gmt, includingFractionalSeconds: true))
    }
}
