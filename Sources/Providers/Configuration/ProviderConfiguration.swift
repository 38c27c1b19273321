import Foundation
import Logging

/// The providers HMA knows, and how each is reached.
public enum ProviderKind: String, Sendable, CaseIterable, Equatable {
    case openai, anthropic, gemini, deepseek, xai, ollama
    /// Replays recorded conversations; needs no key (see `DemoProvider`).
    case demo

    /// The environment variable holding the key (the names users of the
    /// earlier HMA know), and the one overriding the base URL.
    public var keyVariable: String? {
        switch self {
        case .openai: return "OPENAI_API_KEY"
        case .anthropic: return "ANTHROPIC_API_KEY"
        case .gemini: return "GOOGLE_GEMINI_API_KEY"
        case .deepseek: return "DEEPSEEK_API_KEY"
        case .xai: return "XAI_API_KEY"
        case .ollama, .demo: return nil
        }
    }

    public var baseURLVariable: String? {
        switch self {
        case .openai: return "HMA_OPENAI_BASE_URL"
        case .anthropic: return "HMA_ANTHROPIC_BASE_URL"
        case .gemini: return "HMA_GEMINI_BASE_URL"
        case .deepseek: return "HMA_DEEPSEEK_BASE_URL"
        case .xai: return "HMA_XAI_BASE_URL"
        case .ollama: return "OLLAMA_HOST"
        case .demo: return nil
        }
    }

    public var defaultBaseURL: String {
        switch self {
        case .openai: return "https://api.openai.com/v1"
        case .anthropic: return "https://api.anthropic.com"
        case .gemini: return "https://generativelanguage.googleapis.com/v1beta"
        case .deepseek: return "https://api.deepseek.com/v1"
        case .xai: return "https://api.x.ai/v1"
        case .ollama: return "http://127.0.0.1:11434/v1"
        case .demo: return ""
        }
    }
}

/// One configured provider.
public struct ProviderSettings: Sendable {
    public var kind: ProviderKind
    public var baseURL: String
    public var apiKey: APIKey?
    public var options: HTTPProviderOptions

    public init(kind: ProviderKind, baseURL: String? = nil, apiKey: APIKey? = nil, options: HTTPProviderOptions = .init()) {
        self.kind = kind
        self.baseURL = baseURL ?? kind.defaultBaseURL
        self.apiKey = apiKey
        self.options = options
        // A local server (Ollama, or any provider used without a key: vLLM,
        // llama.cpp, LM Studio) may be loading a model: more time for a first token.
        if kind == .ollama || (apiKey == nil && kind != .demo) { self.options.readTimeout = max(self.options.readTimeout, .seconds(300)) }
    }

    public var endpoint: Endpoint { Endpoint(baseURL: baseURL, apiKey: apiKey) }
}

/// Which providers are configured: from the environment, plus keys users
/// give at run time (kept in memory only). The demo model is always there
/// and is the choice only when no real provider is configured.
public struct ProviderConfiguration: Sendable {
    /// Configured providers in order of preference (real ones first; demo last).
    public private(set) var providers: [ProviderSettings]

    public init(providers: [ProviderSettings]) {
        self.providers = providers.filter { $0.kind != .demo } + [ProviderSettings(kind: .demo)]
    }

    /// Reads the keys and base URLs from `environment`. A provider counts
    /// as configured with its key, or — for OpenAI-compatible servers that
    /// need none (vLLM, llama.cpp, LM Studio) — with just a base URL.
    public static func fromEnvironment(_ environment: [String: String]) throws(ProviderError) -> ProviderConfiguration {
        var providers: [ProviderSettings] = []
        for kind in ProviderKind.allCases where kind != .demo {
            let rawKey = kind.keyVariable.flatMap { environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
                ?? (kind == .gemini ? environment["GEMINI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 } : nil)
            let base = kind.baseURLVariable.flatMap { environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
            if kind == .ollama {
                guard let base else { continue }
                providers.append(ProviderSettings(kind: .ollama, baseURL: Self.ollamaBaseURL(base)))
                continue
            }
            guard rawKey != nil || base != nil else { continue }
            let key = try rawKey.map { raw throws(ProviderError) in try APIKey(raw, provider: kind.rawValue) }
            providers.append(ProviderSettings(kind: kind, baseURL: base, apiKey: key))
        }
        return ProviderConfiguration(providers: providers)
    }

    /// `OLLAMA_HOST` as Ollama's own client reads it: quotes and spaces
    /// trimmed; no scheme means http and port 11434; `http://`/`https://`
    /// without a port mean 80/443; a bare host or `[v6]` gets the default
    /// port. Its OpenAI-compatible API is under `/v1`.
    static func ollamaBaseURL(_ value: String) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        var scheme = "http", rest = Substring(trimmed), defaultPort = "11434"
        if let separator = trimmed.range(of: "://") {
            scheme = String(trimmed[..<separator.lowerBound])
            rest = trimmed[separator.upperBound...]
            if scheme == "http" { defaultPort = "80" } else if scheme == "https" { defaultPort = "443" }
        }
        let hostPort = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        var host = hostPort, port = defaultPort
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
            host = String(hostPort[...close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":"), !after.dropFirst().isEmpty { port = String(after.dropFirst()) }
        } else if let colon = hostPort.lastIndex(of: ":"), hostPort.filter({ $0 == ":" }).count == 1 {
            host = String(hostPort[..<colon])
            port = String(hostPort[hostPort.index(after: colon)...])
        } else if hostPort.contains(":") {
            host = "[\(hostPort)]"  // a bare IPv6 address
        }
        if host.isEmpty { host = "127.0.0.1" }
        if let number = Int(port), (0...65535).contains(number) {} else { port = defaultPort }
        return "\(scheme)://\(host):\(port)/v1"
    }

    public func settings(for kind: ProviderKind) -> ProviderSettings? { providers.first { $0.kind == kind } }

    /// The provider to use when none is named: the first real one, else demo.
    public var preferred: ProviderSettings { providers[0] }

    /// Adds or replaces a provider's key for this process (a user's own key
    /// given in the IDE): in memory only, never written or logged.
    public mutating func setKey(_ raw: String, for kind: ProviderKind) throws(ProviderError) {
        let key = try APIKey(raw, provider: kind.rawValue)
        if let index = providers.firstIndex(where: { $0.kind == kind }) {
            providers[index].apiKey = key
        } else {
            providers.insert(ProviderSettings(kind: kind, apiKey: key), at: providers.count - 1)
        }
    }

    /// The client for a configured provider.
    public static func makeProvider(_ settings: ProviderSettings, logger: Logger = Logger(label: "hma.providers")) -> any LanguageModelProvider {
        switch settings.kind {
        case .openai:
            // OpenAI's own API wants max_completion_tokens; a compatible server elsewhere, max_tokens.
            let own = URL(string: settings.endpoint.baseURL)?.host == "api.openai.com"
            return HTTPProvider(format: OpenAIChatFormat(provider: "openai", usesMaxCompletionTokens: own), endpoint: settings.endpoint,
                                options: settings.options, logger: logger)
        case .deepseek, .xai, .ollama:
            return HTTPProvider(format: OpenAIChatFormat(provider: settings.kind.rawValue), endpoint: settings.endpoint,
                                options: settings.options, logger: logger)
        case .anthropic:
            return HTTPProvider(format: AnthropicMessagesFormat(), endpoint: settings.endpoint, options: settings.options, logger: logger)
        case .gemini:
            return HTTPProvider(format: GeminiFormat(), endpoint: settings.endpoint, options: settings.options, logger: logger)
        case .demo:
            return DemoProvider.bundled()
        }
    }
}
