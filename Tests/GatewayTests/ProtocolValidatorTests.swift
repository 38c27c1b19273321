import Foundation
@testable import Gateway
import Testing

/// The protocol's one definition: incoming frames are checked against it,
/// and the committed schema and TypeScript types are generated from it.
@Suite struct ProtocolValidatorTests {
    func failure(_ text: String) -> ProtocolFailure? {
        if case .failure(let failure) = ProtocolValidator.decode(text) { return failure }
        return nil
    }

    @Test func aWellFormedMessageDecodesWithItsIdAndPayload() throws {
        let result = ProtocolValidator.decode(#"{"type":"file_read","id":"c-1","payload":{"projectId":"p1","filePath":"src/a.py"}}"#)
        let message = try result.get()
        #expect(message.type == "file_read")
        #expect(message.id == "c-1")
        #expect(message.string("filePath") == "src/a.py")
    }

    @Test func nonJSONAndNonObjectsAreBadFrames() {
        #expect(failure("hello there")?.error.code == .badFrame)
        #expect(failure("[1,2,3]")?.error.code == .badFrame)
        #expect(failure("")?.error.code == .badFrame)
    }

    @Test func anUnknownTypeIsRefusedWithTheRequestId() {
        let refused = failure(#"{"type":"format_disk","id":"c-9"}"#)
        #expect(refused?.error.code == .unknownType)
        #expect(refused?.replyTo == "c-9")
    }

    @Test func missingWronglyTypedUnknownAndOversizedFieldsAreInvalid() {
        // Missing.
        #expect(failure(#"{"type":"file_read","id":"a","payload":{"projectId":"p1"}}"#)?.error.message.contains("filePath is required") == true)
        // Wrong type.
        #expect(failure(#"{"type":"resume","payload":{"sessionId":"s","lastSeq":"7"}}"#)?.error.message.contains("integer") == true)
        #expect(failure(#"{"type":"git_diff","payload":{"projectId":"p","filePath":"a","staged":"yes"}}"#)?.error.code == .invalidField)
        // Unknown field (strict: a typo is an error, not ignored).
        #expect(failure(#"{"type":"new_chat","payload":{"titel":"x"}}"#)?.error.message.contains("titel") == true)
        // Out of bounds.
        #expect(failure(#"{"type":"load_chat_history","payload":{"limit":100000}}"#)?.error.code == .invalidField)
        let long = String(repeating: "x", count: 300)
        #expect(failure(#"{"type":"new_chat","payload":{"title":"\#(long)"}}"#)?.error.code == .invalidField)
        // Ids are ids.
        #expect(failure(#"{"type":"resume","payload":{"sessionId":"../../etc","lastSeq":0}}"#)?.error.code == .invalidField)
        // The envelope.
        #expect(failure(#"{"type":"new_chat","id":{"x":1}}"#)?.error.code == .invalidField)
        #expect(failure(#"{"type":"new_chat","extra":1}"#)?.error.code == .invalidField)
        #expect(failure(#"{"type":"new_chat","payload":[1]}"#)?.error.code == .invalidField)
        #expect(failure(#"{"id":"c-1"}"#)?.error.code == .invalidField)
    }

    @Test func nullCountsAsAbsentForOptionalFields() throws {
        let message = try ProtocolValidator.decode(#"{"type":"new_chat","payload":{"title":null}}"#).get()
        #expect(message.optionalString("title") == nil)
    }

    @Test func everyAnswerAClientMessageNamesIsAServerEvent() {
        for spec in WebProtocol.clientMessages {
            for answer in spec.answers where !answer.contains(" ") {
                #expect(WebProtocol.server(answer) != nil, "\(spec.type) answers \(answer), which is not an event")
            }
        }
    }

    @Test func theCommittedSchemaAndTypeScriptTypesAreGeneratedFromTheCatalogue() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let schema = try String(contentsOf: root.appendingPathComponent("docs/protocol.schema.json"), encoding: .utf8)
        #expect(schema == SchemaExport.jsonSchemaText() + "\n", "run: .build/debug/hma protocol schema > docs/protocol.schema.json")
        let types = try String(contentsOf: root.appendingPathComponent("frontend/src/protocol.ts"), encoding: .utf8)
        #expect(types == SchemaExport.typescript(), "run: .build/debug/hma protocol typescript > frontend/src/protocol.ts")
        let document = try String(contentsOf: root.appendingPathComponent("docs/protocol.md"), encoding: .utf8)
        let start = try #require(document.range(of: "<!-- generated:start (hma protocol markdown) -->\n"))
        let end = try #require(document.range(of: "<!-- generated:end -->"))
        #expect(String(document[start.upperBound..<end.lowerBound]) == SchemaExport.markdown(),
                "docs/protocol.md's tables are stale: regenerate them with `hma protocol markdown`")
        // And the schema says what the validator does: every client message is in it, strictly.
        let parsed = try #require(JSONValue.parse(schema))
        for spec in WebProtocol.clientMessages {
            let definition = parsed["$defs"]?["client." + spec.type]
            #expect(definition?["properties"]?["payload"]?["additionalProperties"] == .bool(false))
            let required = Set(definition?["properties"]?["payload"]?["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            #expect(required == Set(spec.fields.filter(\.required).map(\.name)))
        }
    }
}

@Suite struct ConnectionPolicyTests {
    @Test func theFirstMessageMustBeHello() {
        var policy = ConnectionPolicy(limits: ConnectionLimits(), now: 0)
        #expect(policy.received(type: "new_chat", at: 0) == .refuse(ProtocolError(.notHello, "send hello first")))
        #expect(policy.received(type: "hello", at: 0) == .accept)
        #expect(policy.received(type: "new_chat", at: 0) == .accept)
    }

    @Test func aBurstAboveTheRateIsRefusedOnceThenDroppedThenClosed() {
        var limits = ConnectionLimits()
        limits.messagesPerSecond = 100
        limits.burst = 10
        limits.maxStrikes = 20
        var policy = ConnectionPolicy(limits: limits, now: 0)
        var decisions: [ConnectionPolicy.Decision] = []
        for _ in 0..<40 { decisions.append(policy.received(type: "hello", at: 0)) }
        #expect(decisions.prefix(10).allSatisfy { $0 == .accept })
        guard case .refuse(let error) = decisions[10] else { Issue.record("\(decisions[10])"); return }
        #expect(error.code == .rateLimited)
        #expect(decisions[11..<30].allSatisfy { $0 == .drop })
        #expect(decisions[30] == .close(reason: "too many refused messages"))
    }

    @Test func theBucketRefillsWithTime() {
        var limits = ConnectionLimits()
        limits.messagesPerSecond = 10
        limits.burst = 1
        var policy = ConnectionPolicy(limits: limits, now: 0)
        #expect(policy.received(type: "hello", at: 0) == .accept)
        #expect(policy.received(type: "hello", at: 0.01) != .accept)
        #expect(policy.received(type: "hello", at: 0.2) == .accept)
    }

    @Test func badFramesAreAnsweredUntilThereAreTooMany() {
        var limits = ConnectionLimits()
        limits.maxStrikes = 3
        limits.strikeWindow = 10
        var policy = ConnectionPolicy(limits: limits, now: 0)
        let bad = ProtocolError(.badFrame, "x")
        for second in 0..<3 { #expect(policy.invalid(bad, at: Double(second)) == .refuse(bad)) }
        #expect(policy.invalid(bad, at: 3) == .close(reason: "too many refused messages"))
        // Strikes older than the window are forgotten.
        var patient = ConnectionPolicy(limits: limits, now: 0)
        for second in stride(from: 0, to: 100, by: 5) { #expect(patient.invalid(bad, at: Double(second)) == .refuse(bad)) }
    }
}
