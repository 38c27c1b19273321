import Providers

/// The model a run's agents use.
public struct AgentModel: Sendable {
    public var provider: any LanguageModelProvider
    /// The provider's name in the catalogue ("openai", "anthropic", …), for costs.
    public var providerName: String
    public var model: String
    /// Tokens the model reads; prompts are trimmed to fit with the reply allowance.
    public var contextWindow: Int
    /// The reply allowance (`max_tokens`).
    public var maxOutputTokens: Int
    /// Offer actions as native tool calls (else: the text command language).
    public var nativeTools: Bool
    public var catalogue: ModelCatalogue

    public init(provider: any LanguageModelProvider, providerName: String, model: String, contextWindow: Int = 8192,
                maxOutputTokens: Int = 4096, nativeTools: Bool = false, catalogue: ModelCatalogue = .builtIn) {
        self.provider = provider
        self.providerName = providerName
        self.model = model
        self.contextWindow = contextWindow
        self.maxOutputTokens = maxOutputTokens
        self.nativeTools = nativeTools
        self.catalogue = catalogue
    }

    /// USD for `usage` (0 when the catalogue does not price the model).
    func cost(of usage: Usage) -> Double {
        catalogue.cost(of: usage, provider: providerName, model: model) ?? 0
    }
}

/// How a run behaves; the defaults are docs/agents.md's.
public struct RunConfiguration: Sendable {
    /// Where the master starts: `.understanding` for a new project,
    /// `.implementation` to build straight from the request.
    public var startPhase: ProjectPhase = .understanding
    /// Approve each phase without asking the person (`hma new --yes`).
    public var autoApprove = false
    public var budget = Budget()
    public var policy = ActionPolicy()
    /// RUN's limit (the master's NO_TIMEOUT aside) and the output kept.
    public var runTimeout: Duration = .seconds(120)
    public var runOutputCharacters = 100_000
    /// A coder that has not finished after this many turns asks its parent to re-plan.
    public var coderTurnLimit = 20
    /// Failed replies (unparsable, refused, failed actions) in a row before the parent is asked.
    public var errorLimit = 3
    public var repeatLimit = 3
    public var stallLimit = 15
    /// The longest a file's text is shown in a READ result.
    public var readCharacters = 100_000

    public init() {}
}
