import Foundation
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

extension FrameParserTests {
    /// Reads that never end on a frame boundary once made the parser keep
    /// every byte it had ever parsed (and trap near 4 GiB).
    @Test func twoGibibytesOfOddlyCutFramesKeepItsMemoryBounded() async throws {
        // A long run of 997-byte frames, cut into reads of 65,537 bytes (never on a boundary).
        var pattern = ByteBuffer()
        for index in 0..<200 { var one = frame(.oneWay, Array(repeating: UInt8(index % 251), count: 992)); pattern.writeBuffer(&one) }
        let bytes = Array(pattern.readableBytesView)
        let frameSize = 997, readSize = 65_537
        let (frames, largest) = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Int, Int), any Error>) in
            // Off the concurrency pool: two gibibytes take a while in a debug build.
            Thread.detachNewThread {
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)  // this thread only: the mesh's timing tests run beside it
                continuation.resume(with: Result {
                    var parser = FrameParser(maxFrameLength: 1 << 20)
                    var offset = 0, fed = 0, frames = 0, largest = 0
                    while fed < 2 << 30 {
                        var chunk = ByteBuffer()
                        var remaining = readSize
                        while remaining > 0 {
                            let take = min(remaining, bytes.count - offset)
                            chunk.writeBytes(bytes[offset..<(offset + take)])
                            offset = (offset + take) % bytes.count
                            remaining -= take
                        }
                        parser.append(chunk)
                        fed += readSize
                        while let next = try parser.next() {
                            precondition(next.payload.readableBytes == frameSize - 5)
                            frames += 1
                        }
                        largest = max(largest, parser.storageCapacity)
                    }
                    return (frames, largest)
                })
            }
        }
        #expect(frames >= (2 << 30) / frameSize - 1)
        #expect(largest <= 4 << 20, "storage stayed near one read plus the discard threshold: \(largest) bytes")
    }
}
