import Logging
import Providers

/// Says at start-up which language model HMA will use — plainly so when it
/// is the demo model, with how to configure a real one — and reports a
/// configured key that cannot be used (without showing it).
enum LanguageModelAnnouncement {
    static func log(environment: [String: String], to logger: Logger) {
        do {
            let configuration = try ProviderConfiguration.fromEnvironment(environment)
            let preferred = configuration.preferred
            let catalogue = (try? ModelCatalogue.load(environment: environment)) ?? .builtIn
            if preferred.kind == .demo {
                logger.notice("language model: the demo model (recorded replies only); set OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_GEMINI_API_KEY, DEEPSEEK_API_KEY, XAI_API_KEY or OLLAMA_HOST to use a real one (docs/providers.md)")
            } else {
                logger.info("language model", metadata: [
                    "provider": "\(preferred.kind.rawValue)", "model": "\(catalogue.defaultModel(for: preferred.kind.rawValue) ?? "?")",
                    "base_url": "\(preferred.baseURL)", "configured": "\(configuration.providers.map(\.kind.rawValue).joined(separator: ","))",
                ])
            }
        } catch {
            logger.error("language model configuration is not usable: \(error)")
        }
    }
}
