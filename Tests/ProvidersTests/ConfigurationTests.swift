import Foundation
import Logging
import Testing
@testable import Providers

/// Keys and base URLs from the environment, keys given at run time, the
/// model catalogue and costs.
@Suite struct ConfigurationTests {
    @Test func providersComeFromTheEnvironmentWithTheDemoLast() throws {
        let configuration = try ProviderConfiguration.fromEnvironment([
            "OPENAI_API_KEY": "sk-openai", "ANTHROPIC_API_KEY": "sk-ant", "GOOGLE_GEMINI_API_KEY": "AIza-gem",
            "DEEPSEEK_API_KEY": "sk-deep", "XAI_API_KEY": "xai-key", "OLLAMA_HOST": "0.0.0.0:11500",
        ])
        #expect(configuration.providers.map(\.kind) == [.openai, .anthropic, .gemini, .deepseek, .xai, .ollama, .demo])
        #expect(configuration.preferred.kind == .openai, "a real provider is preferred to the demo")
        #expect(configuration.settings(for: .openai)?.baseURL == "https://api.openai.com/v1")
        #expect(configuration.settings(for: .anthropic)?.apiKey?.secret == "sk-ant")
        #expect(configuration.settings(for: .ollama)?.baseURL == "http://0.0.0.0:11500/v1")
        #expect(configuration.settings(for: .ollama)?.apiKey == nil)
    }

    @Test func withNoKeyOnlyTheDemoIsConfiguredAndChosen() throws {
        let configuration = try ProviderConfiguration.fromEnvironment(["PATH": "/usr/bin"])
        #expect(configuration.providers.map(\.kind) == [.demo])
        #expect(configuration.preferred.kind == .demo)
        #expect(ProviderConfiguration.makeProvider(configuration.preferred).name == "demo (recorded replies)")
    }

    @Test func aBaseURLAloneConfiguresAKeylessCompatibleServer() throws {
        let configuration = try ProviderConfiguration.fromEnvironment(["HMA_OPENAI_BASE_URL": "http://127.0.0.1:8000/v1/"])
        let openai = try #require(configuration.settings(for: .openai))
        #expect(openai.apiKey == nil && openai.endpoint.baseURL == "http://127.0.0.1:8000/v1")
    }

    @Test(arguments: [
        ("localhost", "http://localhost:11434/v1"), ("localhost:11500", "http://localhost:11500/v1"),
        ("http://localhost:11434", "http://localhost:11434/v1"), ("http://localhost:11434/", "http://localhost:11434/v1"),
        ("http://localhost", "http://localhost:80/v1"), ("https://ollama.example.com", "https://ollama.example.com:443/v1"),
        ("\"0.0.0.0:11434\"", "http://0.0.0.0:11434/v1"), ("'gpu-box'", "http://gpu-box:11434/v1"),
        ("[::1]:8080", "http://[::1]:8080/v1"), ("[::1]", "http://[::1]:11434/v1"), ("", "http://127.0.0.1:11434/v1"),
        ("host:notaport", "http://host:11434/v1"),
    ])
    func ollamaHostIsReadAsOllamaReadsIt(host: String, expected: String) {
        #expect(ProviderConfiguration.ollamaBaseURL(host) == expected)
    }

    @Test func localServersWithoutAKeyWaitLongerForAFirstToken() throws {
        let configuration = try ProviderConfiguration.fromEnvironment(["HMA_OPENAI_BASE_URL": "http://127.0.0.1:8000/v1", "ANTHROPIC_API_KEY": "sk-a"])
        #expect(configuration.settings(for: .openai)?.options.readTimeout == .seconds(300))
        #expect(configuration.settings(for: .anthropic)?.options.readTimeout == .seconds(120))
    }

    @Test func keysWithWhitespaceInsideAreRefusedAndSurroundingWhitespaceIsTrimmed() throws {
        #expect(try APIKey("  sk-abc\n", provider: "openai").secret == "sk-abc")
        #expect(throws: ProviderError.invalidKey(provider: "openai", reason: "it has a space or a line break inside (was it pasted with another line?)")) {
            _ = try APIKey("sk-abc\nsk-def", provider: "openai")
        }
        #expect(throws: ProviderError.self) { _ = try APIKey("sk abc", provider: "openai") }
        #expect(throws: ProviderError.self) { _ = try APIKey("sk-\u{7f}abc", provider: "openai") }
        #expect(throws: ProviderError.self) { _ = try APIKey("   ", provider: "openai") }
        #expect(throws: ProviderError.self) { _ = try ProviderConfiguration.fromEnvironment(["ANTHROPIC_API_KEY": "sk-ant\tmore"]) }
    }

    @Test func aKeyIsNeverPrinted() throws {
        let key = try APIKey("sk-secret-value", provider: "openai")
        let settings = ProviderSettings(kind: .openai, apiKey: key)
        for text in ["\(key)", String(describing: key), String(reflecting: key), "\(settings)", String(reflecting: settings)] {
            #expect(!text.contains("sk-secret-value"), "\(text)")
        }
        var dumped = ""
        dump(settings, to: &dumped)
        #expect(!dumped.contains("sk-secret-value"))
    }

    @Test func aUsersOwnKeyGivenAtRunTimeIsUsedFromMemory() throws {
        var configuration = try ProviderConfiguration.fromEnvironment([:])
        try configuration.setKey("sk-user-key\n", for: .anthropic)
        #expect(configuration.preferred.kind == .anthropic && configuration.preferred.apiKey?.secret == "sk-user-key")
        #expect(throws: ProviderError.self) { try configuration.setKey("two words", for: .openai) }
        try configuration.setKey("sk-replaced", for: .anthropic)
        #expect(configuration.providers.filter { $0.kind == .anthropic }.count == 1 && configuration.preferred.apiKey?.secret == "sk-replaced")
    }

    @Test func theCatalogueKnowsEveryProvidersDefaultAndComputesCosts() throws {
        let catalogue = try ModelCatalogue.load(environment: [:])
        for kind in ProviderKind.allCases {
            #expect(catalogue.defaultModel(for: kind.rawValue) != nil, "\(kind)")
        }
        let entry = try #require(catalogue.entry(provider: "anthropic", model: "claude-sonnet-4-5"))
        let cost = try #require(catalogue.cost(of: Usage(inputTokens: 1_000_000, outputTokens: 100_000, estimated: false), provider: "anthropic", model: entry.id))
        #expect(abs(cost - (entry.inputPerMillion + entry.outputPerMillion / 10)) < 1e-9)
        #expect(catalogue.cost(of: Usage(inputTokens: 1, outputTokens: 1, estimated: false), provider: "openai", model: "no-such-model") == nil)
    }

    @Test func aUsersCatalogueFileReplacesTheBuiltInOneAndABrokenOneIsNamed() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hma-models-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"models":[{"id":"my-model","provider":"openai","contextWindow":8192,"maxOutput":2048,"inputPerMillion":1,"outputPerMillion":2,"default":true}]}"#.utf8).write(to: file)
        let catalogue = try ModelCatalogue.load(environment: ["HMA_MODELS_FILE": file.path])
        #expect(catalogue.entries.map(\.id) == ["my-model"] && catalogue.defaultModel(for: "openai") == "my-model")
        try Data(#"{"models":[{"id":"x"}]}"#.utf8).write(to: file)
        #expect { _ = try ModelCatalogue.load(environment: ["HMA_MODELS_FILE": file.path]) } throws: { "\($0)".contains(file.path) }
        #expect { _ = try ModelCatalogue.load(environment: ["HMA_MODELS_FILE": "/nonexistent/models.json"]) } throws: { "\($0)".contains("no such file") }
    }

    @Test func retryDelaysGrowWithJitterAndHonourRetryAfter() {
        var policy = RetryPolicy()
        policy.initialDelay = .milliseconds(100)
        policy.maxDelay = .seconds(1)
        let server = ProviderError.serverError(provider: "p", status: 503, message: "")
        #expect(policy.delay(after: server, attempt: 1, jitter: 0) == .milliseconds(50))
        #expect(policy.delay(after: server, attempt: 1, jitter: 1) == .milliseconds(100))
        #expect(policy.delay(after: server, attempt: 3, jitter: 1) == .milliseconds(400))
        #expect(policy.delay(after: server, attempt: 4, jitter: 1) == nil, "four attempts in all")
        policy.maxAttempts = 10
        #expect(policy.delay(after: server, attempt: 9, jitter: 1) == .seconds(1), "capped")
        #expect(policy.delay(after: .rateLimited(provider: "p", retryAfter: .seconds(7), message: ""), attempt: 1) == .seconds(7))
        #expect(policy.delay(after: .authentication(provider: "p", message: ""), attempt: 1) == nil)
        #expect(policy.delay(after: .quotaExhausted(provider: "p", message: ""), attempt: 1) == nil)
        #expect(RetryPolicy.retryAfter(headerValue: "2", milliseconds: nil) == .seconds(2))
        #expect(RetryPolicy.retryAfter(headerValue: "2", milliseconds: "1500") == .milliseconds(1500))
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(RetryPolicy.retryAfter(headerValue: "Tue, 14 Nov 2023 22:13:40 GMT", milliseconds: nil, now: now) == .seconds(20))
        #expect(RetryPolicy.retryAfter(headerValue: "soon", milliseconds: nil) == nil)
        for hostile in ["inf", "1e300", "-5", "nan"] {
            #expect(RetryPolicy.retryAfter(headerValue: hostile, milliseconds: nil).map { $0 <= .seconds(86_400) } ?? true, "\(hostile) neither traps nor waits for ever")
        }
        #expect(RetryPolicy.retryAfter(headerValue: nil, milliseconds: "1e30") == .seconds(86_400))
        #expect(policy.delay(after: .streamInterrupted(after: "x"), attempt: 1, retryable: true, jitter: 1) == .milliseconds(100))
    }
}
