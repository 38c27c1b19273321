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
