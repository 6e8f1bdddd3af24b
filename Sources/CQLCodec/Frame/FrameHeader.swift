/// The 9-byte header in front of every protocol v4 frame (specification section 2).
///
/// Fields are kept raw (opcode as a byte, length as a signed `[int]`) so that a server can
/// answer a frame it cannot understand with a precise protocol error; callers validate them.
public struct FrameHeader: Hashable, Sendable {
    /// The size of an encoded header.
    public static let size = 9

    /// The protocol version, without the direction bit.
    public var version: UInt8
    /// Whether the direction bit (0x80) is set: the frame flows from server to client.
    public var isResponse: Bool
    /// The frame flags.
    public var flags: FrameFlags
    /// The stream id; negative ids are reserved for server-initiated frames (events use -1).
    public var stream: Int16
    /// The opcode byte as received (see ``Opcode``).
    public var opcode: UInt8
    /// The body length as received; negative or huge values are the caller's to refuse.
    public var length: Int32

    /// A header from its fields.
    public init(version: UInt8 = 4, isResponse: Bool, flags: FrameFlags = [], stream: Int16,
                opcode: UInt8, length: Int32) {
        self.version = version
        self.isResponse = isResponse
        self.flags = flags
        self.stream = stream
        self.opcode = opcode
        self.length = length
    }

    /// Reads a header; throws only when fewer than 9 bytes remain.
    package init(decoding reader: inout ByteReader) throws(WireError) {
        try reader.require(Self.size, "frame header")
        let versionByte = try reader.readUInt8("frame version")
        version = versionByte & 0x7F
        isResponse = versionByte & 0x80 != 0
        flags = FrameFlags(rawValue: try reader.readUInt8("frame flags"))
        stream = Int16(bitPattern: try reader.readUInt16("frame stream"))
        opcode = try reader.readUInt8("frame opcode")
        length = try reader.readInt32("frame length")
    }

    /// The opcode as a known ``Opcode``, or nil.
    public var knownOpcode: Opcode? { Opcode(rawValue: opcode) }

    /// Appends the 9 header bytes.
    package func encode(into writer: inout ByteWriter) {
        writer.writeUInt8((version & 0x7F) | (isResponse ? 0x80 : 0))
        writer.writeUInt8(flags.rawValue)
        writer.writeUInt16(UInt16(bitPattern: stream))
        writer.writeUInt8(opcode)
        writer.writeInt32(length)
    }
}

/// One frame as received: its header and its raw body (compressed when the header says so).
package struct Frame: Hashable, Sendable {
    /// The frame header.
    package var header: FrameHeader
    /// The body bytes exactly as they travelled.
    package var body: [UInt8]

    /// A frame from a header and a body.
    package init(header: FrameHeader, body: [UInt8]) {
        self.header = header
        self.body = body
    }

    /// The frame's bytes on the wire; the header's length is taken from `body`.
    package var bytes: [UInt8] {
        var writer = ByteWriter(capacity: FrameHeader.size + body.count)
        var header = self.header
        header.length = Int32(clamping: body.count)
        header.encode(into: &writer)
        writer.writeRaw(body)
        return writer.bytes
    }
}
