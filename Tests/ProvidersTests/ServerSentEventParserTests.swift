import Testing
@testable import Providers

@Suite struct ServerSentEventParserTests {
    func parse(_ text: String, splitEvery size: Int) throws -> [ServerSentEvent] {
        var parser = ServerSentEventParser()
        var events: [ServerSentEvent] = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            events += try parser.feed(bytes[index..<min(index + size, bytes.count)])
            index += size
        }
        return events
    }

    @Test func eventsSurviveAnySplitOfTheBytes() throws {
        let stream = """
            : keep-alive\r
            event: message_start\r
            data: {"type":"message_start"}\r
            \r
            data: first line\n\
            data:second line\n\
            id: 7\n\
            \n\
            :ping\n\
            \n\
            data: héllo wörld ✓\r\r\
            event: done\n\
            data:\n\
            \n
            """
        let expected = [
            ServerSentEvent(event: "message_start", data: #"{"type":"message_start"}"#),
            ServerSentEvent(data: "first line\nsecond line", id: "7"),
            // The last event id stays until another is set (as in browsers).
            ServerSentEvent(data: "héllo wörld ✓", id: "7"),
            ServerSentEvent(event: "done", data: "", id: "7"),
        ]
        for size in [1, 2, 3, 5, 7, 64, 10_000] {
            #expect(try parse(stream, splitEvery: size) == expected, "split every \(size) bytes")
        }
    }

    @Test func anOverlongLineIsAnErrorNotUnboundedMemory() throws {
        var parser = ServerSentEventParser(maxLineBytes: 1 << 20)
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 10 << 20)
        #expect(throws: ServerSentEventParser.ParseError.lineTooLong(limit: 1 << 20)) { _ = try parser.feed(Array("data: ".utf8) + big) }
    }

    @Test func manyShortDataLinesAreBoundedLikeOneLongOne() throws {
        var parser = ServerSentEventParser(maxLineBytes: 1 << 16)
        let lines = Array(String(repeating: "data: 0123456789\n", count: 10_000).utf8)
        #expect(throws: ServerSentEventParser.ParseError.lineTooLong(limit: 1 << 16)) { _ = try parser.feed(lines) }
        var roomy = ServerSentEventParser(maxLineBytes: 1 << 16)
        #expect(try roomy.feed(Array(String(repeating: "data: 0123456789\n", count: 100).utf8) + [10]).first?.data.count == 100 * 11 - 1)
    }

    @Test func aStreamCutMidEventIsReportedAsIncomplete() throws {
        var parser = ServerSentEventParser()
        let events = try parser.feed(Array("data: {\"partial\": tr".utf8))
        #expect(events.isEmpty)
        let incomplete = parser.finish()
        #expect(incomplete, "the cut event is not returned as complete")
        var clean = ServerSentEventParser()
        _ = try clean.feed(Array("data: x\n\n".utf8))
        let cleanEnd = clean.finish()
        #expect(!cleanEnd)
    }
}
