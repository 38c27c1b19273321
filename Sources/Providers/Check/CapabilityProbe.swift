import Foundation

/// Checks, before a run, what a model will and will not do for HMA: does it
/// answer, does it make native tool calls, how long a conversation fits.
/// Two tiny requests; the result reads as plain sentences.
public struct CapabilityProbe: Sendable {
    public struct Report: Sendable {
        public enum Outcome: Sendable, Equatable {
            case works(String)
            case limited(String)
            case fails(String)
        }

        public var provider: String
        public var model: String
        public var answers: Outcome
        public var toolCalls: Outcome
        public var context: Outcome
        /// What this means for a run, in one sentence.
        public var verdict: String
        public var usable: Bool

        /// The report as the terminal shows it.
        public var lines: [String] {
            func line(_ outcome: Outcome) -> String {
                switch outcome {
                case .works(let text): return "  ok    " + text
                case .limited(let text): return "  note  " + text
                case .fails(let text): return "  FAIL  " + text
                }
            }
            return ["\(provider) \(model)", line(answers), line(toolCalls), line(context), "  => " + verdict]
        }
    }

    public let catalogue: ModelCatalogue

    public init(catalogue: ModelCatalogue) { self.catalogue = catalogue }

    static let tool = ToolDefinition(
        name: "report_status",
        description: "Reports a one-word status.",
        parameters: #"{"type":"object","properties":{"status":{"type":"string","description":"The status word."}},"required":["status"]}"#)

    /// - Parameter ollama: for a model served by Ollama, what its native API
    ///   says of the context (it overrides the catalogue's window).
    public func check(_ provider: any LanguageModelProvider, providerName: String, model: String, ollama: OllamaModelInfo? = nil) async -> Report {
        let entry = catalogue.entry(provider: providerName, model: model)
        let limit = min(entry?.maxOutput ?? 1024, 1024)  // room for models that think before answering

        // 1. A plain answer, streamed.
        let start = ContinuousClock.now
        var firstToken: Duration?
        var text = ""
        var usage: Usage?
        let answers: Report.Outcome
        do {
            let request = ModelRequest(model: model, messages: [.user("Reply with exactly one word: ready")], maxOutputTokens: limit)
            for try await event in provider.stream(request) {
                switch event {
                case .textDelta(let delta):
                    if firstToken == nil { firstToken = ContinuousClock.now - start }
                    text += delta
                case .usage(let reported): usage = reported
                default: break
                }
            }
            let timing = firstToken.map { "first text after \(Self.seconds($0))" } ?? "no text"
            let cost = usage.flatMap { catalogue.cost(of: $0, provider: providerName, model: model) }.map { String(format: "; cost $%.6f", $0) } ?? ""
            let tokens = usage.map { "\($0.inputTokens) in, \($0.outputTokens) out tokens\($0.estimated ? " (estimated: the server reports no usage)" : "")" } ?? ""
            if text.lowercased().contains("ready") {
                answers = .works("answers and streams (\(timing); \(tokens)\(cost))")
            } else {
                answers = .limited("answers, but not as asked (\"\(text.prefix(60))\"; \(timing)) — expect it to follow HMA's instructions poorly")
            }
        } catch {
            answers = .fails("does not answer: \(error)")
            return Report(provider: providerName, model: model, answers: answers, toolCalls: .fails("not checked"), context: contextOutcome(entry),
                          verdict: "HMA cannot use this model until the problem above is fixed.", usable: false)
        }

        // 2. A native tool call.
        let toolCalls: Report.Outcome
        do {
            let request = ModelRequest(model: model, system: "You report status by calling the report_status tool. Do not answer in text.",
                                       messages: [.user("Report the status \"ready\" now.")], tools: [Self.tool], maxOutputTokens: limit)
            let reply = try await provider.complete(request)
            if let call = reply.toolCalls.first(where: { $0.name == Self.tool.name }) {
                let status = (try? JSONSerialization.jsonObject(with: Data(call.arguments.utf8)) as? [String: Any])?["status"] as? String
                toolCalls = status != nil ? .works("native tool calls work (it called \(call.name) with \(call.arguments))")
                    : .limited("makes tool calls, but left out a required argument (\(call.arguments)); HMA will send such mistakes back for a retry")
            } else {
                toolCalls = .limited("answered in text instead of calling the tool: HMA will give this model its actions as a text command language")
            }
        } catch ProviderError.badRequest(_, _, let message) {
            toolCalls = .limited("the server refuses tool definitions (\(message.prefix(120))): HMA will use the text command language")
        } catch {
            toolCalls = .fails("the tool-call request failed: \(error)")
        }

        let context = ollama.map(ollamaContext) ?? contextOutcome(entry)
        var verdict: String
        let usable: Bool
        switch (toolCalls, entry) {
        case (.fails, _):
            verdict = "HMA cannot rely on this model: it failed the tool-call request."
            usable = false
        case (.works, _) where ollama != nil:
            if case .works = context {
                verdict = "HMA can use this model for every agent."
            } else {
                verdict = "HMA can use this model once its context is raised (see above); until then long runs lose their beginning."
            }
            usable = true
        case (.works, let entry?) where entry.contextWindow >= 32_000:
            verdict = "HMA can use this model for every agent."
            usable = true
        case (.works, _):
            verdict = "HMA can use this model; keep projects small (short context)."
            usable = true
        default:
            verdict = "HMA can use this model, with actions as text commands (less reliable than native tool calls)."
            usable = true
        }
        if entry == nil { verdict += " Add it to the model catalogue to get costs and its context window." }
        return Report(provider: providerName, model: model, answers: answers, toolCalls: toolCalls, context: context, verdict: verdict, usable: usable)
    }

    /// Ollama's served context is `num_ctx`, else the server's default.
    private func ollamaContext(_ info: OllamaModelInfo) -> Report.Outcome {
        let trained = info.trainedContext.map { "trained for \($0.formatted(.number.grouping(.automatic))) tokens" } ?? "trained context unknown"
        if let numCtx = info.numCtx {
            let text = "context: Ollama serves it with num_ctx \(numCtx.formatted(.number.grouping(.automatic))) from its Modelfile (\(trained))"
            return numCtx < 32_000 ? .limited(text + " — raise num_ctx to 32768 or more, or long runs lose their beginning") : .works(text)
        }
        return .limited("context: no num_ctx in its Modelfile, so Ollama serves it with the server's default (2,048–4,096 tokens unless OLLAMA_CONTEXT_LENGTH is set on the Ollama server; \(trained)) and silently drops the rest — set OLLAMA_CONTEXT_LENGTH=32768 or more")
    }

    private func contextOutcome(_ entry: ModelCatalogue.Entry?) -> Report.Outcome {
        guard let entry else {
            return .limited("context window unknown: the model is not in the catalogue (HMA assumes 8,192 tokens)")
        }
        let window = entry.contextWindow.formatted(.number.grouping(.automatic)), output = entry.maxOutput.formatted(.number.grouping(.automatic))
        let text = "context window \(window) tokens, replies up to \(output) (from the catalogue)"
        return entry.contextWindow < 32_000 ? .limited(text + " — small for a whole project") : .works(text)
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}
