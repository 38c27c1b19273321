import Foundation
import ProviderTesting
import Testing
@testable import Providers

/// What a local server says about the context it serves a model with.
@Suite struct ServedContextWindowTests {
    @Test func eachServersAnswerIsRead() {
        #expect(ServedContextWindow.parseModels(Data(#"{"object":"list","data":[{"id":"qwen","max_model_len":32768},{"id":"other","max_model_len":8192}]}"#.utf8), model: "qwen") == 32768)
        #expect(ServedContextWindow.parseModels(Data(#"{"data":[{"id":"only","max_model_len":4096}]}"#.utf8), model: "asked-by-another-name") == 4096)
        #expect(ServedContextWindow.parseModels(Data(#"{"data":[{"id":"gpt-5"}]}"#.utf8), model: "gpt-5") == nil, "OpenAI's own list has no window")
        #expect(ServedContextWindow.parseProps(Data(#"{"default_generation_settings":{"n_ctx":4096},"total_slots":1}"#.utf8)) == 4096)
        for bad in ["", "[]", "{", #"{"default_generation_settings":{"n_ctx":-1}}"#, #"{"data":"x"}"#] {
            #expect(ServedContextWindow.parseProps(Data(bad.utf8)) == nil && ServedContextWindow.parseModels(Data(bad.utf8), model: "m") == nil, "\(bad)")
        }
    }

    @Test func aLlamaCppServerIsAskedAfterTheOthersDoNotAnswer() async throws {
        let server = try await ScriptedHTTPServer { request, _ in
            guard request.path == "/props" else { return [.head(status: 404), .text("not found"), .end] }
            return [.head(status: 200, headers: [("content-type", "application/json")]), .text(#"{"default_generation_settings":{"n_ctx":4096}}"#), .end]
        }
        #expect(await ServedContextWindow.fetch(baseURL: server.baseURL + "/v1", model: "gemma") == 4096)
        #expect(server.requests.map(\.path) == ["/api/show", "/v1/models", "/props"])
        #expect(await ServedContextWindow.fetch(baseURL: "http://127.0.0.1:1/v1", model: "gemma", timeout: .seconds(2)) == nil)
    }
}
