import Foundation

/// What HMA knows of each model: context window, output limit, prices. Read
/// from a JSON data file (`Resources/models.json`, built in; or the file
/// `HMA_MODELS_FILE` names) so users can add models and fix prices without
/// a rebuild.
public struct ModelCatalogue: Sendable, Equatable {
    public struct Entry: Sendable, Equatable, Codable {
        public var id: String
        public var provider: String
        public var contextWindow: Int
        public var maxOutput: Int
        /// US dollars per million tokens.
        public var inputPerMillion: Double
        public var outputPerMillion: Double
        public var isDefault: Bool

        enum CodingKeys: String, CodingKey {
            case id, provider, contextWindow, maxOutput, inputPerMillion, outputPerMillion
            case isDefault = "default"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            provider = try container.decode(String.self, forKey: .provider)
            contextWindow = try container.decode(Int.self, forKey: .contextWindow)
            maxOutput = try container.decode(Int.self, forKey: .maxOutput)
            inputPerMillion = try container.decode(Double.self, forKey: .inputPerMillion)
            outputPerMillion = try container.decode(Double.self, forKey: .outputPerMillion)
            isDefault = try container.decodeIfPresent(Bool.self, forKey: .isDefault) ?? false
        }
    }

    public struct LoadError: Error, CustomStringConvertible {
        public let file: String
        public let reason: String
        public var description: String { "the model catalogue \(file) cannot be read: \(reason)" }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// Parses a catalogue file's contents.
    public init(json: Data, file: String = "models.json") throws {
        struct File: Decodable { var models: [Entry] }
        do {
            entries = try JSONDecoder().decode(File.self, from: json).models
        } catch {
            throw LoadError(file: file, reason: "\(error)")
        }
    }

    /// The built-in catalogue, or the file `HMA_MODELS_FILE` names.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ModelCatalogue {
        if let path = environment["HMA_MODELS_FILE"], !path.isEmpty {
            guard let data = FileManager.default.contents(atPath: path) else { throw LoadError(file: path, reason: "no such file") }
            return try ModelCatalogue(json: data, file: path)
        }
        return builtIn
    }

    public static let builtIn: ModelCatalogue = {
        guard let url = Bundle.module.url(forResource: "models", withExtension: "json", subdirectory: "Resources"),
              let data = try? Data(contentsOf: url), let catalogue = try? ModelCatalogue(json: data) else {
            return ModelCatalogue(entries: [])
        }
        return catalogue
    }()

    public func entry(provider: String, model: String) -> Entry? {
        entries.first { $0.provider == provider && $0.id == model }
    }

    /// The provider's default model (marked `default`, else its first).
    public func defaultModel(for provider: String) -> String? {
        (entries.first { $0.provider == provider && $0.isDefault } ?? entries.first { $0.provider == provider })?.id
    }

    /// What a call cost in US dollars, or nil for a model the catalogue does not know.
    public func cost(of usage: Usage, provider: String, model: String) -> Double? {
        guard let entry = entry(provider: provider, model: model) else { return nil }
        return (Double(usage.inputTokens) * entry.inputPerMillion + Double(usage.outputTokens) * entry.outputPerMillion) / 1_000_000
    }
}
