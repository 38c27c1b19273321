import Foundation

/// A provider's native HTTP API, as pure functions with no I/O: the request
/// for a `ModelRequest`, a decoder for the streamed reply, and the typed
/// error for a refused request. `HTTPProvider` does the I/O for all of them.
public protocol WireFormat: Sendable {
    associatedtype Decoder: StreamDecoding
    /// Names the provider in errors and logs ("openai", "anthropic", …).
    var provider: String { get }
    func request(for request: ModelRequest, endpoint: Endpoint) throws(ProviderError) -> WireRequest
    func makeDecoder() -> Decoder
    /// The error for a non-2xx answer (`body` is the start of the error body).
    func error(status: Int, retryAfter: Duration?, body: Data, model: String) -> ProviderError
}

/// Turns a provider's server-sent events into `ProviderEvent`s.
public protocol StreamDecoding: Sendable {
    mutating func decode(_ event: ServerSentEvent) throws(ProviderError) -> [ProviderEvent]
    /// The HTTP body ended: fine after the provider said it finished, an
    /// interruption otherwise.
    func end() throws(ProviderError)
}

/// Where a provider is reached, and with which key.
public struct Endpoint: Sendable {
    /// Without a trailing slash, e.g. `https://api.openai.com/v1`.
    public var baseURL: String
    public var apiKey: APIKey?

    public init(baseURL: String, apiKey: APIKey?) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.apiKey = apiKey
    }
}

/// An HTTP request to send: method POST, a JSON body, and headers (the key
/// among them — never log a WireRequest's headers).
public struct WireRequest: Sendable {
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: Data

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// An API key: checked when made (no whitespace or line break inside —
/// surrounding whitespace, as from `$(cat key.txt)`, is removed), and
/// never printed: its description is redacted.
public struct APIKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The key itself, for the request header only.
    public let secret: String

    public init(_ raw: String, provider: String) throws(ProviderError) {
        let key = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty else { throw .invalidKey(provider: provider, reason: "it is empty") }
        if key.unicodeScalars.contains(where: { CharacterSet.whitespacesAndNewlines.contains($0) }) {
            throw .invalidKey(provider: provider, reason: "it has a space or a line break inside (was it pasted with another line?)")
        }
        if key.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value > 0x7e }) {
            throw .invalidKey(provider: provider, reason: "it has a character that cannot go in an HTTP header")
        }
        secret = key
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}

/// JSON helpers the formats share.
enum JSON {
    static func data(_ object: [String: Any]) -> Data {
        // Sorted keys: requests are stable (and comparable in tests).
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }

    static func object(_ data: Data) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    static func object(_ text: String) -> [String: Any]? { object(Data(text.utf8)) }

    /// A short, single-line form of an error body for messages.
    static func excerpt(_ data: Data) -> String {
        String(decoding: data.prefix(300), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
    }
}
