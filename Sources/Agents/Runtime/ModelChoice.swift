import Foundation
import Providers

/// Picks and builds the model a run uses, the same way for `hma new` and
/// the gateway (docs/agents.md, "Choosing the model"): the named provider
/// (or the first configured; the demo without any), its catalogue default
/// model, native tool calls for hosted models with a key, and the context
/// window a local server really serves.
public enum ModelChoice {
    public struct Request: Sendable {
        public var provider: String?
        public var model: String?
        public var textCommands = false
        public var contextWindow: Int?
        /// A key the person gave for this provider (overrides the environment's).
        public var apiKey: String?
        public init(provider: String? = nil, model: String? = nil) {
            self.provider = provider
            self.model = model
        }
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public struct Chosen: Sendable {
        public var model: AgentModel
        public var kind: ProviderKind
        public var modelID: String
        public var isDemo: Bool { kind == .demo }
        /// e.g. "the demo model (recorded replies)" or "openai gpt-4.1 (text commands)".
        public var summary: String
        /// What to tell the person before the run starts (a served context window).
        public var notes: [String]
    }

    /// The demo model as this node runs it: the recorded replies, at
    /// HMA_DEMO_PAUSE_MS between streamed pieces (25 by default). It needs
    /// no key, so every node may run it (docs/agents.md, "On the mesh").
    public static func demoProvider(environment: [String: String]) -> DemoProvider {
        var demo = DemoProvider.bundled()
        if let pause = environment["HMA_DEMO_PAUSE_MS"].flatMap(Int.init), (0...10_000).contains(pause) {
            demo.pause = .milliseconds(pause)
        }
        return demo
    }

    public static func choose(_ request: Request, environment: [String: String]) async throws -> Chosen {
        let catalogue = (try? ModelCatalogue.load(environment: environment)) ?? .builtIn
        let providers: ProviderConfiguration
        do { providers = try ProviderConfiguration.fromEnvironment(environment) } catch { throw Failure(description: "\(error)") }
        var chosen: ProviderSettings
        if let name = request.provider {
            guard let kind = ProviderKind(rawValue: name) else {
                throw Failure(description: "unknown provider \(name); known: \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if let key = request.apiKey {
                do { chosen = ProviderSettings(kind: kind, baseURL: providers.settings(for: kind)?.baseURL, apiKey: try APIKey(key, provider: name)) }
                catch { throw Failure(description: "\(error)") }
            } else if let configured = providers.settings(for: kind) {
                chosen = configured
            } else {
                throw Failure(description: "\(name) is not configured: set \(kind.keyVariable ?? kind.baseURLVariable ?? "its settings") (see docs/providers.md)")
            }
        } else {
            chosen = providers.preferred
        }
        let modelID = request.model ?? catalogue.defaultModel(for: chosen.kind.rawValue) ?? (chosen.kind == .demo ? "demo" : "default")
        let entry = catalogue.entry(provider: chosen.kind.rawValue, model: modelID)
        // Hosted models (with a key) get native tool calls; local servers and
        // the demo the text commands (local servers' tool-call streaming varies).
        let native = !request.textCommands && chosen.apiKey != nil && chosen.kind != .demo
        var notes: [String] = []
        var window = entry?.contextWindow ?? 8192
        // A local server (Ollama, vLLM, llama.cpp, … — no key) may serve far less than the model could.
        if chosen.kind == .ollama || (chosen.apiKey == nil && chosen.kind != .demo),
           let served = await ServedContextWindow.fetch(baseURL: chosen.baseURL, model: modelID) {
            notes.append("the server serves \(modelID) with a context window of \(served) tokens")
            window = entry == nil ? served : min(window, served)
        }
        if let given = request.contextWindow {
            guard given >= 1024 else { throw Failure(description: "the context window must be at least 1024 tokens") }
            window = given
        }
        let provider = chosen.kind == .demo ? demoProvider(environment: environment) : ProviderConfiguration.makeProvider(chosen)
        let model = AgentModel(provider: provider, providerName: chosen.kind.rawValue, model: modelID,
                               contextWindow: window, maxOutputTokens: min(entry?.maxOutput ?? 4096, 16_384, window / 2),
                               nativeTools: native, catalogue: catalogue)
        let summary = (chosen.kind == .demo ? "the demo model (recorded replies)" : "\(chosen.kind.rawValue) \(modelID)")
            + (native ? "" : " (text commands)")
        return Chosen(model: model, kind: chosen.kind, modelID: modelID, summary: summary, notes: notes)
    }
}
