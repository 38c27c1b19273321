import Agents
import Foundation
import Storage
import Mesh
import Providers

extension ClientSession {
    func settings(_ message: IncomingMessage) async throws -> ServerFrame {
        switch message.type {
        case "llm_config":
            let provider = message.string("provider")
            guard ProviderKind(rawValue: provider) != nil else {
                throw ProtocolError(.invalidField, "unknown provider \(provider); known: \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var config: [String: JSONValue] = ["provider": .string(provider), "model": .string(message.string("model"))]
            if let temperature = message.double("temperature") { config["temperature"] = .double(temperature) }
            if let maxTokens = message.optionalInt("maxTokens") { config["maxTokens"] = .int(maxTokens) }
            if let budget = message.double("budgetUsd") { config["budgetUsd"] = .double(budget) }
            try await gateway.store.setUserSecret(userId: user.id, name: "llm_config", sealed: Data(JSONValue.object(config).jsonText.utf8))
            return ServerFrame("llm_config_update", ["config": .object(config)])

        case "set_api_key":
            let provider = message.string("provider")
            guard let kind = ProviderKind(rawValue: provider), kind != .demo else {
                throw ProtocolError(.invalidField, "unknown provider \(provider)")
            }
            do {
                _ = try APIKey(message.string("apiKey"), provider: provider)
            } catch {
                throw ProtocolError(.invalidField, "\(error)")
            }
            let name = "key." + provider
            let sealed = try gateway.keys.seal(message.string("apiKey"), context: "\(user.id)/\(name)")
            try await gateway.store.setUserSecret(userId: user.id, name: name, sealed: sealed)
            return ServerFrame("api_key_update", ["provider": .string(provider), "success": true])

        case "list_models":
            let catalogue: ModelCatalogue
            do { catalogue = try ModelCatalogue.load(environment: gateway.environment) } catch {
                throw ProtocolError(.provider, "\(error)")
            }
            let server = (try? ProviderConfiguration.fromEnvironment(gateway.environment))
            var configured = Set(ProviderKind.allCases.filter { server?.settings(for: $0) != nil }.map(\.rawValue))
            for name in try await gateway.store.userSecretNames(userId: user.id) where name.hasPrefix("key.") {
                configured.insert(String(name.dropFirst(4)))
            }
            configured.insert("demo")
            let choice = try await modelChoice()
            let provider = choice.provider ?? server?.preferred.kind.rawValue ?? "demo"
            let model = choice.model ?? catalogue.defaultModel(for: provider) ?? "demo"
            return ServerFrame("model_catalogue", [
                "models": .array(catalogue.entries.map { entry in
                    ["provider": .string(entry.provider), "id": .string(entry.id), "contextWindow": .int(Int64(entry.contextWindow)),
                     "maxOutput": .int(Int64(entry.maxOutput)), "inputPerMillion": .double(entry.inputPerMillion),
                     "outputPerMillion": .double(entry.outputPerMillion), "isDefault": .bool(entry.isDefault)]
                }),
                "configured": .array(configured.sorted().map(JSONValue.string)),
                "current": ["provider": .string(provider), "model": .string(model)],
            ])

        case "check_model":
            let provider = message.string("provider"), model = message.string("model")
            guard provider != "demo" else {
                return ServerFrame("model_check", ["provider": "demo", "model": .string(model), "usable": true,
                                                   "verdict": "the demo model answers from recordings: nothing to check", "lines": []])
            }
            var request = ModelChoice.Request(provider: provider, model: model)
            if let sealed = try await gateway.store.userSecret(userId: user.id, name: "key." + provider) {
                request.apiKey = try? gateway.keys.open(sealed, context: "\(user.id)/key.\(provider)")
            }
            let chosen: ModelChoice.Chosen
            do { chosen = try await ModelChoice.choose(request, environment: gateway.environment) } catch {
                return ServerFrame("model_check", ["provider": .string(provider), "model": .string(model), "usable": false,
                                                   "verdict": .string("\(error)"), "lines": []])
            }
            let report = await CapabilityProbe(catalogue: chosen.model.catalogue)
                .check(chosen.model.provider, providerName: provider, model: chosen.modelID)
            return ServerFrame("model_check", [
                "provider": .string(provider), "model": .string(chosen.modelID), "usable": .bool(report.usable),
                "verdict": .string(String(report.verdict.prefix(1000))), "lines": .array(report.lines.prefix(64).map { .string(String($0.prefix(1000))) }),
            ])

        case "cluster_status":
            let members = gateway.mesh.cluster.members
            return ServerFrame("cluster_status", [
                "nodes": .array(members.map { member in
                    var roles: [JSONValue] = []
                    if member.roles.contains(.gateway) { roles.append("gateway") }
                    if member.roles.contains(.worker) { roles.append("worker") }
                    if member.roles.contains(.observer) { roles.append("observer") }
                    return ["name": .string(member.node.name.rawValue), "roles": .array(roles), "state": .string("\(member.status)")]
                }),
            ])

        default:
            throw ProtocolError(.unknownType, message.type)
        }
    }
}
