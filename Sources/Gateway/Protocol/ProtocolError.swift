/// Why a request failed: the `code` of an `error` event (docs/protocol.md, "Errors").
public enum ErrorCode: String, Sendable, CaseIterable, Codable {
    /// The frame is not a JSON object, or is binary.
    case badFrame = "bad_frame"
    case unknownType = "unknown_type"
    /// A field is missing, has the wrong type, or is out of bounds.
    case invalidField = "invalid_field"
    case notHello = "hello_required"
    /// No such thing for this user (another user's ids get this too).
    case notFound = "not_found"
    case unauthorized
    case rateLimited = "rate_limited"
    /// A per-user or per-project limit (connections, runs, terminals).
    case limitReached = "limit_reached"
    case invalidPath = "invalid_path"
    /// It exists already, or the run is busy.
    case conflict
    /// The request does not fit the current state (no run waits for an answer).
    case invalidState = "invalid_state"
    case workspace
    case git
    case provider
    /// The gateway is shutting down or a worker is unreachable.
    case unavailable
    case `internal`
}

/// An `error` to send back: a code, a plain-language message, and the
/// request it answers.
public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static func notFound(_ what: String, _ id: String) -> ProtocolError {
        ProtocolError(.notFound, "no \(what) \(id)")
    }
}
