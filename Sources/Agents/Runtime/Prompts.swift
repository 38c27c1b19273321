import Foundation

/// The prompt templates, one per role and phase, as data files
/// (`Sources/Agents/Resources/Prompts/*.md`, or a folder named by
/// `HMA_PROMPTS_DIR` to edit them without a rebuild). `{{name}}` is
/// replaced by the value given for `name`.
public struct PromptTemplates: Sendable {
    public let templates: [String: String]

    /// Loads the built-in templates, overridden file by file from `directory`.
    public static func load(directory: String? = ProcessInfo.processInfo.environment["HMA_PROMPTS_DIR"]) throws -> PromptTemplates {
        var templates: [String: String] = [:]
        guard let builtIn = Bundle.module.url(forResource: "Prompts", withExtension: nil) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the built-in prompt templates are missing from the bundle"])
        }
        for folder in [builtIn.path] + (directory.map { [$0] } ?? []) {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where file.hasSuffix(".md") {
                templates[String(file.dropLast(3))] = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            }
        }
        return PromptTemplates(templates: templates)
    }

    public init(templates: [String: String]) { self.templates = templates }

    /// The template's name for a role in a phase.
    static func name(for role: AgentRole, phase: ProjectPhase) -> String {
        role == .master ? "master-\(phase.rawValue)" : role.rawValue
    }

    public func render(_ name: String, _ values: [String: String]) -> String {
        var text = templates[name] ?? ""
        for (key, value) in values { text = text.replacingOccurrences(of: "{{\(key)}}", with: value) }
        return text
    }
}
