/// One server-sent event (the `text/event-stream` format every provider
/// streams in): its `event` name (nil for the default "message"), its data
/// (several `data:` lines joined by newlines) and its `id`.
public struct ServerSentEvent: Sendable, Equatable {
    public var event: String?
    public var data: String
    public var id: String?

    public init(event: String? = nil, data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// The event-stream parser, as a state machine with no I/O: feed it bytes
/// as they arrive (split anywhere, even inside a UTF-8 sequence or a CRLF)
/// and take the complete events out. Follows the WHATWG rules: lines end in
/// LF, CR or CRLF; `:` lines are comments (keep-alives); `data` lines
/// accumulate; an empty line dispatches; an event with no data is dropped;
/// one leading space after the colon is removed. A line, or an event's
/// data, longer than `maxLineBytes` is an error rather than unbounded memory.
public struct ServerSentEventParser: Sendable {
    public enum ParseError: Error, Equatable, Sendable {
        case lineTooLong(limit: Int)
    }

    public let maxLineBytes: Int
    private var line: [UInt8] = []
    private var lastWasCR = false
    private var event: String?
    private var data: [String] = []
    private var hasData = false
    private var dataBytes = 0
    private var id: String?

    public init(maxLineBytes: Int = 1 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    /// Consumes `bytes`; returns the events they completed.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) throws(ParseError) -> [ServerSentEvent] where Bytes.Element == UInt8 {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if lastWasCR {
                lastWasCR = false
                if byte == UInt8(ascii: "\n") { continue }  // the LF of a CRLF
            }
            switch byte {
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                lastWasCR = byte == UInt8(ascii: "\r")
                if let event = try endLine() { events.append(event) }
            default:
                guard line.count < maxLineBytes else { throw .lineTooLong(limit: maxLineBytes) }
                line.append(byte)
            }
        }
        return events
    }

    /// The stream ended: an event not yet closed by an empty line is
    /// dropped, as the standard says (a cut stream is not a complete reply).
    public mutating func finish() -> Bool {
        let incomplete = hasData || !line.isEmpty
        line.removeAll()
        reset()
        return incomplete
    }

    private mutating func endLine() throws(ParseError) -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard hasData else { reset(); return nil }
            let event = ServerSentEvent(event: self.event, data: data.joined(separator: "\n"), id: id)
            reset()
            return event
        }
        if line.first == UInt8(ascii: ":") { return nil }  // comment / keep-alive
        let text = String(decoding: line, as: UTF8.self)
        let field: Substring, value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            var rest = text[text.index(after: colon)...]
            if rest.first == " " { rest = rest.dropFirst() }
            value = rest
        } else {
            field = text[...]
            value = ""
        }
        switch field {
        case "data":
            // Many short data lines add up to one event: bounded the same.
            dataBytes += value.utf8.count + 1
            guard dataBytes <= maxLineBytes else { throw .lineTooLong(limit: maxLineBytes) }
            data.append(String(value))
            hasData = true
        case "event":
            event = String(value)
        case "id":
            if !value.contains("\0") { id = String(value) }
        default:
            break  // `retry` and unknown fields are ignored
        }
        return nil
    }

    private mutating func reset() {
        event = nil
        data.removeAll()
        dataBytes = 0
        hasData = false
    }
}
