import NIOCore
import Testing
@testable import Mesh

@Suite struct CallCodecTests {
    let recipient = WireRecipient(incarnation: 42, path: "/agents/session-1/coder/3f9a")
    let target = "$s4Mesh10TestWorkerC5greetyS2SYaKFTE"

    func parse(_ buffer: ByteBuffer) throws -> [Frame] {
        var parser = FrameParser(maxFrameLength: 1 << 20)
        parser.append(buffer)
        var frames: [Frame] = []
        while let frame = try parser.next() { frames.append(frame) }
        return frames
    }

    @Test func namesAreSentOnceThenReferenced() throws {
        var encoder = CallFrameEncoder()
        var first = ByteBuffer(), second = ByteBuffer()
        encoder.writeCall(oneWay: false, callID: 1, timeoutMillis: 5000, recipient: recipient, target: target, arguments: [[1, 2, 3], []], into: &first)
        encoder.writeCall(oneWay: true, callID: 2, timeoutMillis: 0, recipient: recipient, target: target, arguments: [[9]], into: &second)
        #expect(second.readableBytes < first.readableBytes - recipient.path.utf8.count - target.utf8.count)
        #expect(second.readableBytes == 4 + 1 + 8 + 4 + 4 + 4 + 1 + 1 + 4 + 1)

        var decoder = CallFrameDecoder()
        let one = try decoder.read(try parse(first)[0])
        #expect(one.head.callID == 1 && one.head.timeoutMillis == 5000)
        #expect(one.recipient == recipient && one.target == target)
        #expect(one.arguments.map { Array($0.readableBytesView) } == [[1, 2, 3], []])
        let frames = try parse(second)
        #expect(frames[0].kind == .oneWay)
        let two = try decoder.read(frames[0])
        #expect(two.recipient == recipient && two.target == target && two.head.callID == 2)
    }

    @Test func aReferenceNeverDefinedIsAnError() throws {
        var encoder = CallFrameEncoder()
        var first = ByteBuffer(), second = ByteBuffer()
        encoder.writeCall(oneWay: false, callID: 1, timeoutMillis: 0, recipient: recipient, target: target, arguments: [], into: &first)
        encoder.writeCall(oneWay: false, callID: 2, timeoutMillis: 0, recipient: recipient, target: target, arguments: [], into: &second)
        var fresh = CallFrameDecoder()  // missed the definitions (e.g. a new connection)
        #expect(throws: WireError.unknownReference(1)) { try fresh.read(try parse(second)[0]) }
    }

    /// A raw call frame defining `path` under reference `ref` (as a hostile peer would).
    func definition(ref: UInt32, path: String) -> Frame {
        var payload = ByteBuffer()
        payload.writeInteger(UInt64(1))
        payload.writeInteger(UInt32(0))
        payload.writeInteger(ref | 0x8000_0000)
        payload.writeInteger(UInt64(42))
        payload.writeShortString(path)
        payload.writeInteger(UInt32(0x8000_0000))
        payload.writeShortString("t")
        payload.writeInteger(UInt8(0))
        payload.writeInteger(UInt8(0))
        return Frame(kind: .call, payload: payload)
    }

    @Test func aNameLongerThanTheInternLimitIsAlwaysInline() throws {
        let long = WireRecipient(incarnation: 42, path: "/" + String(repeating: "l", count: InternLimits.maxNameBytes))
        var encoder = CallFrameEncoder()
        var decoder = CallFrameDecoder()
        for id in 1...2 as ClosedRange<UInt64> {
            var buffer = ByteBuffer()
            encoder.writeCall(oneWay: false, callID: id, timeoutMillis: 0, recipient: long, target: target, arguments: [], into: &buffer)
            #expect(buffer.readableBytes > long.path.utf8.count, "call \(id) carries the name")
            #expect(try decoder.read(try parse(buffer)[0]).recipient == long)
        }
        // A peer that defines one anyway is malformed.
        var fresh = CallFrameDecoder()
        #expect(throws: WireError.self) { try fresh.read(definition(ref: 1, path: long.path)) }
    }

    @Test func internTablesAreBoundedInBytes() throws {
        // 60 KiB paths under 65,536 references would be ~4 GiB: the byte
        // budget stops a peer long before.
        var decoder = CallFrameDecoder()
        let path = "/" + String(repeating: "b", count: InternLimits.maxNameBytes - 10)  // + a digit + 8 bytes of incarnation
        var accepted = 0
        var failure: WireError?
        for ref in 1...UInt32(InternLimits.maxBytes / InternLimits.maxNameBytes + 1) {
            do {
                _ = try decoder.read(definition(ref: ref, path: path + "\(ref % 10)"))
                accepted += 1
            } catch {
                failure = error
                break
            }
        }
        #expect(accepted == InternLimits.maxBytes / InternLimits.maxNameBytes)
        #expect(failure != nil)
        // Our own encoder stays within the budget: past it, names go inline.
        var table = OutboundInternTable<String>(byteBudget: 10)
        var buffer = ByteBuffer()
        for name in ["abcd", "efgh", "ijkl"] { table.write(name, to: &buffer) { name, buffer in buffer.writeShortString(name) } }
        var refs: [UInt32] = []
        while buffer.readableBytes > 0 {
            refs.append(buffer.readInteger(as: UInt32.self)! & 0x7FFF_FFFF)
            _ = buffer.readShortString()
        }
        #expect(refs == [1, 2, 0])
    }

    @Test func truncatedOrPaddedCallsAreMalformed() throws {
        var encoder = CallFrameEncoder()
        var buffer = ByteBuffer()
        encoder.writeCall(oneWay: false, callID: 7, timeoutMillis: 0, recipient: recipient, target: target, arguments: [[1, 2, 3, 4]], into: &buffer)
        let frame = try parse(buffer)[0]
        let bytes = Array(frame.payload.readableBytesView)
        for cut in 0..<bytes.count {
            var decoder = CallFrameDecoder()
            #expect(throws: WireError.self) { try decoder.read(Frame(kind: .call, payload: ByteBuffer(bytes: bytes[0..<cut]))) }
        }
        var decoder = CallFrameDecoder()
        #expect(throws: WireError.self) { try decoder.read(Frame(kind: .call, payload: ByteBuffer(bytes: bytes + [0]))) }
    }

    @Test func repliesAndFailuresRoundTrip() throws {
        var buffer = ByteBuffer()
        ReplyMessage.write(callID: 9, value: [5, 6], into: &buffer)
        ReplyMessage.write(callID: 10, value: nil, into: &buffer)
        buffer.writeFrame(.failure) {
            FailureMessage(callID: 11, code: WireErrorCode.remote.rawValue, typeName: "Greeter.Error", message: "nope", payload: ByteBuffer(bytes: [1])).write(to: &$0)
        }
        let frames = try parse(buffer)
        #expect(try ReplyMessage.read(from: frames[0]) == ReplyMessage(callID: 9, value: ByteBuffer(bytes: [5, 6])))
        #expect(try ReplyMessage.read(from: frames[1]) == ReplyMessage(callID: 10, value: nil))
        var payload = frames[2].payload
        let failure = try FailureMessage.read(from: &payload)
        #expect(failure.callID == 11 && failure.typeName == "Greeter.Error" && failure.message == "nope")
        #expect(failure.payload == ByteBuffer(bytes: [1]))
        #expect(throws: WireError.self) { try ReplyMessage.read(from: Frame(kind: .reply, payload: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 1, 0, 9]))) }
    }
}
