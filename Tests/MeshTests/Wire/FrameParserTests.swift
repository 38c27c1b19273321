import NIOCore
import Testing
@testable import Mesh

@Suite struct FrameParserTests {
    func frame(_ kind: FrameKind, _ payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeFrame(kind) { $0.writeBytes(payload) }
        return buffer
    }

    @Test func writesTheDocumentedLayout() {
        let bytes = Array(frame(.heartbeat, [0xAA, 0xBB]).readableBytesView)
        #expect(bytes == [0, 0, 0, 3, 0x20, 0xAA, 0xBB])
    }

    @Test func returnsFramesWhateverTheChunking() throws {
        var stream = ByteBuffer()
        var first = frame(.call, Array(repeating: 7, count: 300))
        var second = frame(.heartbeat, [1, 2, 3, 4, 5, 6, 7, 8])
        stream.writeBuffer(&first)
        stream.writeBuffer(&second)
        let all = Array(stream.readableBytesView)
        for chunkSize in [1, 2, 3, 5, 64, 1000] {
            var parser = FrameParser(maxFrameLength: 1 << 20)
            var frames: [Frame] = []
            var offset = 0
            while offset < all.count {
                let end = min(offset + chunkSize, all.count)
                parser.append(ByteBuffer(bytes: all[offset..<end]))
                while let frame = try parser.next() { frames.append(frame) }
                offset = end
            }
            #expect(frames.map(\.kind) == [.call, .heartbeat])
            #expect(frames[0].payload.readableBytes == 300)
            #expect(Array(frames[1].payload.readableBytesView) == [1, 2, 3, 4, 5, 6, 7, 8])
            #expect(parser.bufferedBytes == 0)
        }
    }

    @Test func refusesAnOversizeLengthBeforeItsBytesArrive() {
        var parser = FrameParser(maxFrameLength: 1024)
        parser.append(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF]))  // 4 GiB - 1
        #expect(throws: WireError.frameTooLarge(length: 0xFFFF_FFFF, limit: 1024)) { try parser.next() }
        var exact = FrameParser(maxFrameLength: 1024)
        exact.append(ByteBuffer(bytes: [0, 0, 4, 1]))  // 1025
        #expect(throws: WireError.frameTooLarge(length: 1025, limit: 1024)) { try exact.next() }
    }

    @Test func refusesEmptyFramesAndUnknownKinds() {
        var empty = FrameParser(maxFrameLength: 1024)
        empty.append(ByteBuffer(bytes: [0, 0, 0, 0]))
        #expect(throws: WireError.emptyFrame) { try empty.next() }
        var unknown = FrameParser(maxFrameLength: 1024)
        unknown.append(ByteBuffer(bytes: [0, 0, 0, 1, 0x7E]))
        #expect(throws: WireError.unknownFrameKind(0x7E)) { try unknown.next() }
    }

    @Test func waitsForATruncatedFrame() throws {
        var parser = FrameParser(maxFrameLength: 1024)
        parser.append(ByteBuffer(bytes: [0, 0, 0, 10, 0x10, 1, 2]))
        #expect(try parser.next() == nil)
        #expect(parser.bufferedBytes == 7)
    }
}
