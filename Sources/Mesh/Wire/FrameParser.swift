import NIOCore

/// One frame: its kind and its payload (the bytes after the kind byte).
public struct Frame: Sendable, Equatable {
    public var kind: FrameKind
    public var payload: ByteBuffer

    public init(kind: FrameKind, payload: ByteBuffer) {
        self.kind = kind
        self.payload = payload
    }
}

/// Cuts a byte stream into frames: `u32 length (big-endian) | u8 kind | payload`,
/// where `length` counts the kind byte and the payload.
///
/// A state machine with no I/O: feed it bytes, take frames out. The length is
/// checked against `maxFrameLength` as soon as its four bytes have arrived, so
/// an oversize frame is refused before any of it is buffered or allocated.
public struct FrameParser: Sendable {
    public let maxFrameLength: UInt32
    private var buffer: ByteBuffer?

    public init(maxFrameLength: UInt32) {
        self.maxFrameLength = maxFrameLength
    }

    /// Bytes already returned as frames that may sit before the unread
    /// ones before they are discarded.
    static let discardThreshold = 1 << 20

    /// Appends received bytes. Bytes already returned as frames are dropped
    /// once they pass `discardThreshold` (or outnumber the unread ones), so
    /// a stream whose reads never end on a frame boundary keeps at most
    /// about one frame plus one read in memory, however long it runs.
    public mutating func append(_ bytes: ByteBuffer) {
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = bytes
        } else {
            if buffer!.readerIndex >= Self.discardThreshold || buffer!.readerIndex > buffer!.readableBytes {
                buffer!.discardReadBytes()
            }
            var incoming = bytes
            buffer!.writeBuffer(&incoming)
        }
    }

    /// Bytes of storage the parser holds (for tests of its memory bound).
    var storageCapacity: Int { buffer?.capacity ?? 0 }

    /// The next complete frame, nil when more bytes are needed.
    /// - Throws: `WireError` — the stream cannot be trusted after that.
    public mutating func next() throws(WireError) -> Frame? {
        guard var buffer, buffer.readableBytes >= 4 else { return nil }
        let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self)!
        if length == 0 { throw .emptyFrame }
        if length > maxFrameLength { throw .frameTooLarge(length: length, limit: maxFrameLength) }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        let kindByte = buffer.readInteger(as: UInt8.self)!
        guard let kind = FrameKind(rawValue: kindByte) else { throw .unknownFrameKind(kindByte) }
        let payload = buffer.readSlice(length: Int(length) - 1)!
        if buffer.readableBytes == 0 {
            self.buffer = nil
        } else {
            self.buffer = buffer
        }
        return Frame(kind: kind, payload: payload)
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedBytes: Int { buffer?.readableBytes ?? 0 }
}

extension ByteBuffer {
    /// Writes a whole frame (header and payload) produced by `body`.
    @inlinable
    public mutating func writeFrame(_ kind: FrameKind, _ body: (inout ByteBuffer) -> Void) {
        let start = writerIndex
        writeInteger(UInt32(0))
        writeInteger(kind.rawValue)
        body(&self)
        setInteger(UInt32(writerIndex - start - 4), at: start)
    }
}
