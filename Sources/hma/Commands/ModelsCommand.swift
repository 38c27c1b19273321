import ArgumentParser
import Foundation
import Providers

/// `hma models`: the model catalogue, and a check of what a configured
/// model will do before a run.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the model catalogue, or check that a configured model works for HMA.",
        subcommands: [Check.self, List.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that a model answers, whether its native tool calls work, and its context window.",
            discussion: """
                Without --provider, checks every provider configured in the environment \
                (OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_GEMINI_API_KEY, DEEPSEEK_API_KEY, XAI_API_KEY, \
                OLLAMA_HOST, HMA_OPENAI_BASE_URL, …) with its default model. Exits non-zero when a checked \
                model cannot be used.
                """)

        @Option(help: "The provider: \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        var provider: String?

        @Option(help: "The model id (default: the provider's default in the catalogue); needs --provider.")
        var model: String?

        func validate() throws {
            if model != nil && provider == nil {
                throw ValidationError("--model needs --provider (a model id belongs to one provider)")
            }
        }

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let configuration = try ProviderConfiguration.fromEnvironment(environment)
            let catalogue = try ModelCatalogue.load(environment: environment)
            var targets: [ProviderSettings]
            if let provider {
                guard let kind = ProviderKind(rawValue: provider) else {
                    throw ValidationError("unknown provider \(provider); known: \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                guard let settings = configuration.settings(for: kind) else {
                    throw ValidationError("\(provider) is not configured: set \(kind.keyVariable ?? kind.baseURLVariable ?? "its settings") (see docs/providers.md)")
                }
                targets = [settings]
            } else {
                targets = configuration.providers.filter { $0.kind != .demo }
                if targets.isEmpty {
                    print("No provider is configured, so HMA uses the demo model (recorded replies only; nothing to check).")
                    print("Set OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_GEMINI_API_KEY, DEEPSEEK_API_KEY, XAI_API_KEY, OLLAMA_HOST or HMA_OPENAI_BASE_URL (see docs/providers.md).")
                    return
                }
            }
            let probe = CapabilityProbe(catalogue: catalogue)
            var allUsable = true
            for settings in targets {
                guard let model = model ?? catalogue.defaultModel(for: settings.kind.rawValue) else {
                    throw ValidationError("no default model for \(settings.kind.rawValue) in the catalogue; pass --model")
                }
                let client = ProviderConfiguration.makeProvider(settings)
                let ollama = settings.kind == .ollama ? await OllamaModelInfo.fetch(baseURL: settings.baseURL, model: model) : nil
                let report = await probe.check(client, providerName: settings.kind.rawValue, model: model, ollama: ollama)
                var lines = report.lines
                if settings.kind != .demo { lines[0] += " (\(settings.baseURL))" }
                print(lines.joined(separator: "\n"))
                allUsable = allUsable && report.usable
            }
            if !allUsable { throw ExitCode(1) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the model catalogue (HMA_MODELS_FILE or the built-in one).")

        func run() async throws {
            let catalogue = try ModelCatalogue.load()
            func cell(_ text: String, _ width: Int, right: Bool = false) -> String {
                let padding = String(repeating: " ", count: max(0, width - text.count))
                return right ? padding + text : text + padding
            }
            print(cell("provider", 10) + cell("model", 22) + cell("context", 9, right: true) + cell("max out", 9, right: true)
                  + cell("$/M in", 8, right: true) + cell("$/M out", 9, right: true))
            for entry in catalogue.entries {
                print(cell(entry.provider, 10) + cell(entry.id, 22) + cell("\(entry.contextWindow)", 9, right: true) + cell("\(entry.maxOutput)", 9, right: true)
                      + cell(String(format: "%.2f", entry.inputPerMillion), 8, right: true) + cell(String(format: "%.2f", entry.outputPerMillion), 9, right: true)
                      + (entry.isDefault ? "  (default)" : ""))
            }
        }
    }
}
