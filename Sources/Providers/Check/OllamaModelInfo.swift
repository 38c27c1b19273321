import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// What Ollama's native API says of a model's context: the window it was
/// trained with, and the `num_ctx` its Modelfile sets. Ollama serves a model
/// with a context of `num_ctx`, else the server's default (2,048 or 4,096
/// tokens unless `OLLAMA_CONTEXT_LENGTH` is set) and silently drops what
/// does not fit — the usual reason a local model "forgets" its task halfway
/// through a run. Its OpenAI-compatible API cannot change it per request.
public struct OllamaModelInfo: Sendable, Equatable {
    public var trainedContext: Int?
    public var numCtx: Int?

    /// Asks `POST {root}/api/show` (root: the base URL without `/v1`).
    public static func fetch(baseURL: String, model: String, timeout: Duration = .seconds(10)) async -> OllamaModelInfo? {
        var root = baseURL
        if root.hasSuffix("/v1") { root.removeLast(3) }
        var request = HTTPClientRequest(url: root + "/api/show")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: JSON.data(["model": model])))
        guard let response = try? await HTTPClient.shared.execute(request, timeout: TimeAmount(timeout)),
              response.status == .ok, let body = try? await response.body.collect(upTo: 4 << 20) else { return nil }
        return parse(Data(body.readableBytesView))
    }

    /// Reads an `/api/show` answer: `model_info` holds `<architecture>.context_length`;
    /// `parameters` is the Modelfile's parameter lines (`num_ctx 8192`).
    static func parse(_ data: Data) -> OllamaModelInfo? {
        guard let object = JSON.object(data) else { return nil }
        let info = object["model_info"] as? [String: Any] ?? [:]
        let trained = info.first { $0.key.hasSuffix(".context_length") }.flatMap { $0.value as? Int }
        let parameters = (object["parameters"] as? String ?? "").split(separator: "\n")
        let numCtx = parameters.lazy.compactMap { line -> Int? in
            let fields = line.split(whereSeparator: \.isWhitespace)
            return fields.count == 2 && fields[0] == "num_ctx" ? Int(fields[1]) : nil
        }.first
        return OllamaModelInfo(trainedContext: trained, numCtx: numCtx)
    }
}
