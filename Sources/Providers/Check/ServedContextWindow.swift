import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The context window a local OpenAI-compatible server really serves a
/// model with — which can be far smaller than the model's own (Ollama's
/// default is a few thousand tokens) and which no catalogue can know.
/// Agents trim their prompts to it (docs/agents.md, "Prompts").
public enum ServedContextWindow {
    /// Asks the server in turn: Ollama's `POST /api/show` (`num_ctx`, else
    /// Ollama's smallest default, 2,048), vLLM's `GET /v1/models`
    /// (`max_model_len` of the model), llama.cpp's `GET /props`
    /// (`default_generation_settings.n_ctx`). Nil when none answers.
    public static func fetch(baseURL: String, model: String, timeout: Duration = .seconds(5)) async -> Int? {
        var root = baseURL
        if root.hasSuffix("/") { root.removeLast() }
        if root.hasSuffix("/v1") { root.removeLast(3) }
        if let info = await OllamaModelInfo.fetch(baseURL: root, model: model, timeout: timeout), info.trainedContext != nil || info.numCtx != nil {
            return info.numCtx ?? 2048
        }
        if let data = await get(root + "/v1/models", timeout: timeout), let window = parseModels(data, model: model) { return window }
        if let data = await get(root + "/props", timeout: timeout), let window = parseProps(data) { return window }
        return nil
    }

    /// vLLM's model list: `{"data": [{"id": "…", "max_model_len": 32768}]}`.
    static func parseModels(_ data: Data, model: String) -> Int? {
        guard let object = JSON.object(data), let models = object["data"] as? [[String: Any]] else { return nil }
        let entry = models.first { $0["id"] as? String == model } ?? (models.count == 1 ? models.first : nil)
        return (entry?["max_model_len"] as? Int).flatMap { $0 > 0 ? $0 : nil }
    }

    /// llama.cpp's server properties: `{"default_generation_settings": {"n_ctx": 4096}}`.
    static func parseProps(_ data: Data) -> Int? {
        guard let object = JSON.object(data), let settings = object["default_generation_settings"] as? [String: Any] else { return nil }
        return (settings["n_ctx"] as? Int).flatMap { $0 > 0 ? $0 : nil }
    }

    private static func get(_ url: String, timeout: Duration) async -> Data? {
        let request = HTTPClientRequest(url: url)
        guard let response = try? await HTTPClient.shared.execute(request, timeout: TimeAmount(timeout)), response.status == .ok,
              let body = try? await response.body.collect(upTo: 4 << 20) else { return nil }
        return Data(body.readableBytesView)
    }
}
