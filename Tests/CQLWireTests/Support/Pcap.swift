import Foundation

/// Why a capture file could not be read.
enum PcapError: Error, Equatable, CustomStringConvertible {
    /// The file is shorter than the 24-byte global header.
    case truncatedFileHeader
    /// The magic number is not classic libpcap in either byte order (pcapng is not supported).
    case unknownMagic(UInt32)
    /// The link-layer type is not one this reader understands.
    case unsupportedLinkType(UInt32)
    /// A record header or its captured bytes run past the end of the file.
    case truncatedRecord(offset: Int)

    var description: String {
        switch self {
        case .truncatedFileHeader: "pcap: file shorter than the global header"
        case let .unknownMagic(magic): "pcap: unknown magic 0x\(String(magic, radix: 16)) (only classic libpcap is read)"
        case let .unsupportedLinkType(type): "pcap: unsupported link type \(type)"
        case let .truncatedRecord(offset): "pcap: record at byte \(offset) runs past the end of the file"
        }
    }
}

/// One TCP connection to the CQL server, each direction reassembled in sequence order.
struct TCPConnection: Sendable {
    /// The client's address as text (IPv4 dotted or IPv6 hex groups).
    var clientAddress: String
    /// The client's ephemeral port.
    var clientPort: UInt16
    /// The server's address as text.
    var serverAddress: String
    /// The CQL server's port.
    var serverPort: UInt16
    /// Every byte the client sent, in sequence order, retransmissions removed.
    var clientToServer: [UInt8]
    /// Every byte the server sent, in sequence order, retransmissions removed.
    var serverToClient: [UInt8]
    /// Whether either direction had a hole (bytes never captured); the streams then skip over it.
    var hasGaps: Bool
}

/// A classic libpcap file reduced to the TCP conversations with a CQL server.
///
/// Why a reader of our own: the reference captures are the ground truth for the codec, and
/// the tests must run without tshark or libpcap installed.
struct PcapCapture: Sendable {
    /// The link-layer header type from the global header.
    var linkType: UInt32
    /// Whether timestamps are in nanoseconds (magic 0xa1b23c4d).
    var nanosecondTimestamps: Bool
    /// How many packet records the file holds.
    var packetCount: Int
    /// Connections whose one end is the server port, in order of their first packet.
    var connections: [TCPConnection]

    /// Reads `url`, keeping TCP traffic to or from `serverPort` (CQL's 9042 by default).
    init(contentsOf url: URL, serverPort: UInt16 = 9042) throws {
        try self.init(bytes: [UInt8](Data(contentsOf: url)), serverPort: serverPort)
    }

    /// Parses a capture already in memory.
    init(bytes: [UInt8], serverPort: UInt16 = 9042) throws {
        guard bytes.count >= 24 else { throw PcapError.truncatedFileHeader }
        let magic = Self.u32(bytes, 0, littleEndian: false)
        let littleEndian: Bool
        switch magic {
        case 0xA1B2_C3D4: littleEndian = false; nanosecondTimestamps = false
        case 0xD4C3_B2A1: littleEndian = true; nanosecondTimestamps = false
        case 0xA1B2_3C4D: littleEndian = false; nanosecondTimestamps = true
        case 0x4D3C_B2A1: littleEndian = true; nanosecondTimestamps = true
        default: throw PcapError.unknownMagic(magic)
        }
        // The top bits of the link type field may carry FCS information (pcap-linktype(7)).
        linkType = Self.u32(bytes, 20, littleEndian: littleEndian) & 0x0FFF_FFFF
        guard Self.supportedLinkTypes.contains(linkType) else { throw PcapError.unsupportedLinkType(linkType) }

        var assembler = ConnectionAssembler(serverPort: serverPort)
        var offset = 24
        var count = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 16 else { throw PcapError.truncatedRecord(offset: offset) }
            let captured = Int(Self.u32(bytes, offset + 8, littleEndian: littleEndian))
            let start = offset + 16
            guard captured <= bytes.count - start else { throw PcapError.truncatedRecord(offset: offset) }
            let packet = bytes[start ..< start + captured]
            if let segment = Self.tcpSegment(linkType: linkType, packet: packet) {
                assembler.add(segment)
            }
            offset = start + captured
            count += 1
        }
        packetCount = count
        connections = assembler.connections()
    }

    static let supportedLinkTypes: Set<UInt32> = [0, 1, 101, 113, 228, 229, 276]

    static func u16(_ b: some RandomAccessCollection<UInt8>, _ at: Int) -> UInt16 {
        let i = b.index(b.startIndex, offsetBy: at)
        return UInt16(b[i]) << 8 | UInt16(b[b.index(after: i)])
    }

    static func u32(_ b: some RandomAccessCollection<UInt8>, _ at: Int, littleEndian: Bool) -> UInt32 {
        let i = b.index(b.startIndex, offsetBy: at)
        var value: UInt32 = 0
        for k in 0 ..< 4 {
            value = value << 8 | UInt32(b[b.index(i, offsetBy: k)])
        }
        return littleEndian ? value.byteSwapped : value
    }

    /// Strips the link layer and hands the network packet on; nil for anything but IP.
    static func tcpSegment(linkType: UInt32, packet: ArraySlice<UInt8>) -> TCPSegment? {
        let network: ArraySlice<UInt8>
        switch linkType {
        case 0:
            // BSD loopback: a 4-byte address family in the capturing host's byte order.
            guard packet.count >= 4 else { return nil }
            network = packet.dropFirst(4)
        case 1:
            guard packet.count >= 14 else { return nil }
            var etherType = u16(packet, 12)
            var headerLength = 14
            // 802.1Q / 802.1ad tags push the EtherType back four bytes each.
            while etherType == 0x8100 || etherType == 0x88A8 {
                guard packet.count >= headerLength + 4 else { return nil }
                etherType = u16(packet, headerLength + 2)
                headerLength += 4
            }
            guard etherType == 0x0800 || etherType == 0x86DD else { return nil }
            network = packet.dropFirst(headerLength)
        case 113:
            guard packet.count >= 16 else { return nil }
            let proto = u16(packet, 14)
            guard proto == 0x0800 || proto == 0x86DD else { return nil }
            network = packet.dropFirst(16)
        case 276:
            guard packet.count >= 20 else { return nil }
            let proto = u16(packet, 0)
            guard proto == 0x0800 || proto == 0x86DD else { return nil }
            network = packet.dropFirst(20)
        default:
            network = packet
        }
        return ipPacket(network)
    }

    /// Parses an IPv4 or IPv6 packet down to its TCP segment.
    static func ipPacket(_ ip: ArraySlice<UInt8>) -> TCPSegment? {
        guard let first = ip.first else { return nil }
        switch first >> 4 {
        case 4:
            guard ip.count >= 20 else { return nil }
            let headerLength = Int(first & 0x0F) * 4
            let totalLength = Int(u16(ip, 2))
            guard headerLength >= 20, totalLength >= headerLength, totalLength <= ip.count else { return nil }
            let fragment = u16(ip, 6)
            // Fragments other than a whole datagram carry no TCP header we can trust.
            guard fragment & 0x3FFF == 0, ip[ip.startIndex + 9] == 6 else { return nil }
            let source = ip[ip.startIndex + 12 ..< ip.startIndex + 16].map(String.init).joined(separator: ".")
            let destination = ip[ip.startIndex + 16 ..< ip.startIndex + 20].map(String.init).joined(separator: ".")
            // Ethernet pads short frames: the IP total length says where the packet really ends.
            let tcp = ip[ip.startIndex + headerLength ..< ip.startIndex + totalLength]
            return tcpHeader(tcp, source: source, destination: destination)
        case 6:
            guard ip.count >= 40 else { return nil }
            let payloadLength = Int(u16(ip, 4))
            guard payloadLength <= ip.count - 40 else { return nil }
            var next = ip[ip.startIndex + 6]
            let source = ipv6Text(ip[ip.startIndex + 8 ..< ip.startIndex + 24])
            let destination = ipv6Text(ip[ip.startIndex + 24 ..< ip.startIndex + 40])
            var rest = ip[ip.startIndex + 40 ..< ip.startIndex + 40 + payloadLength]
            // Hop-by-hop, routing and destination options precede TCP; a fragment header ends the walk.
            while next == 0 || next == 43 || next == 60 {
                guard rest.count >= 8 else { return nil }
                let length = (Int(rest[rest.startIndex + 1]) + 1) * 8
                guard length <= rest.count else { return nil }
                next = rest[rest.startIndex]
                rest = rest.dropFirst(length)
            }
            guard next == 6 else { return nil }
            return tcpHeader(rest, source: source, destination: destination)
        default:
            return nil
        }
    }

    static func ipv6Text(_ bytes: ArraySlice<UInt8>) -> String {
        stride(from: 0, to: 16, by: 2).map { String(u16(bytes, $0), radix: 16) }.joined(separator: ":")
    }

    static func tcpHeader(_ tcp: ArraySlice<UInt8>, source: String, destination: String) -> TCPSegment? {
        guard tcp.count >= 20 else { return nil }
        let dataOffset = Int(tcp[tcp.startIndex + 12] >> 4) * 4
        guard dataOffset >= 20, dataOffset <= tcp.count else { return nil }
        let flags = tcp[tcp.startIndex + 13]
        return TCPSegment(
            source: source, sourcePort: u16(tcp, 0),
            destination: destination, destinationPort: u16(tcp, 2),
            sequence: u32(tcp, 4, littleEndian: false),
            syn: flags & 0x02 != 0,
            payload: [UInt8](tcp.dropFirst(dataOffset))
        )
    }
}

/// One TCP segment as the link and IP layers delivered it.
struct TCPSegment: Sendable {
    var source: String
    var sourcePort: UInt16
    var destination: String
    var destinationPort: UInt16
    var sequence: UInt32
    var syn: Bool
    var payload: [UInt8]
}

/// Collects segments per connection and direction, then orders them by sequence number.
struct ConnectionAssembler {
    struct Key: Hashable {
        var client: String
        var clientPort: UInt16
        var server: String
    }

    /// The segments of one direction, with the sequence number its byte stream starts at.
    struct Direction {
        var initialSequence: UInt32?
        var segments: [(sequence: UInt32, payload: [UInt8])] = []

        /// Orders segments relative to the SYN (or the first segment seen), drops bytes already
        /// delivered (retransmissions, overlaps) and notes holes.
        func reassembled() -> (bytes: [UInt8], hasGaps: Bool) {
            guard let base = initialSequence ?? segments.first?.sequence else { return ([], false) }
            // Signed 32-bit distance from the base keeps wrap-around and early out-of-order segments right.
            let ordered = segments
                .map { (offset: Int(Int32(bitPattern: $0.sequence &- base)), payload: $0.payload) }
                .sorted { $0.offset < $1.offset }
            let start = min(0, ordered.first?.offset ?? 0)
            var bytes: [UInt8] = []
            var gaps = false
            for segment in ordered {
                let end = start + bytes.count
                let segmentEnd = segment.offset + segment.payload.count
                if segmentEnd <= end { continue }
                if segment.offset > end {
                    gaps = true
                    bytes.append(contentsOf: segment.payload)
                } else {
                    bytes.append(contentsOf: segment.payload.dropFirst(end - segment.offset))
                }
            }
            return (bytes, gaps)
        }
    }

    let serverPort: UInt16
    var order: [Key] = []
    var toServer: [Key: Direction] = [:]
    var toClient: [Key: Direction] = [:]

    init(serverPort: UInt16) {
        self.serverPort = serverPort
    }

    mutating func add(_ segment: TCPSegment) {
        let key: Key
        let clientToServer: Bool
        if segment.destinationPort == serverPort {
            key = Key(client: segment.source, clientPort: segment.sourcePort, server: segment.destination)
            clientToServer = true
        } else if segment.sourcePort == serverPort {
            key = Key(client: segment.destination, clientPort: segment.destinationPort, server: segment.source)
            clientToServer = false
        } else {
            return
        }
        if toServer[key] == nil {
            order.append(key)
            toServer[key] = Direction()
            toClient[key] = Direction()
        }
        var direction = (clientToServer ? toServer[key] : toClient[key]) ?? Direction()
        if segment.syn {
            // A SYN consumes one sequence number; data starts after it.
            direction.initialSequence = segment.sequence &+ 1
        }
        if !segment.payload.isEmpty {
            direction.segments.append((segment.syn ? segment.sequence &+ 1 : segment.sequence, segment.payload))
        }
        if clientToServer { toServer[key] = direction } else { toClient[key] = direction }
    }

    func connections() -> [TCPConnection] {
        order.map { key in
            let up = (toServer[key] ?? Direction()).reassembled()
            let down = (toClient[key] ?? Direction()).reassembled()
            return TCPConnection(
                clientAddress: key.client, clientPort: key.clientPort,
                serverAddress: key.server, serverPort: serverPort,
                clientToServer: up.bytes, serverToClient: down.bytes,
                hasGaps: up.hasGaps || down.hasGaps
            )
        }
    }
}

/// A CQL frame cut from a byte stream by the 9-byte v3/v4 header layout, not yet decoded.
struct RawFrame: Sendable, Equatable {
    /// The first header byte: direction bit plus protocol version.
    var versionByte: UInt8
    /// The header's flags byte.
    var flags: UInt8
    /// The stream id.
    var stream: Int16
    /// The opcode byte.
    var opcode: UInt8
    /// The body length from the header.
    var length: Int32
    /// The body bytes.
    var body: [UInt8]
    /// Where the frame starts in its stream.
    var offset: Int

    /// The protocol version without the direction bit.
    var protocolVersion: UInt8 { versionByte & 0x7F }
    /// Whether the direction bit says response.
    var isResponse: Bool { versionByte & 0x80 != 0 }
    /// Whether the frame is in a version this project speaks on the wire (3 or 4); others
    /// (refused v5 and DSE attempts, servers' answers to them) are split by the same layout but marked.
    var isSupportedVersion: Bool { protocolVersion == 3 || protocolVersion == 4 }
    /// The whole frame as it was on the wire.
    var bytes: [UInt8] {
        [versionByte, flags, UInt8(truncatingIfNeeded: UInt16(bitPattern: stream) >> 8),
         UInt8(truncatingIfNeeded: UInt16(bitPattern: stream)), opcode]
            + withUnsafeBytes(of: length.bigEndian) { [UInt8]($0) } + body
    }
}

/// The frames found in one stream and whatever did not form a whole frame.
struct CQLStreamSplit: Sendable {
    /// The whole frames, in stream order.
    var frames: [RawFrame]
    /// Bytes after the last whole frame: a truncated frame, a negative length, or non-CQL noise.
    var leftover: [UInt8]
}

/// Splits a reassembled stream into frames; stops at the first header whose body is not all there.
func cqlFrameSplit(_ stream: [UInt8]) -> CQLStreamSplit {
    var frames: [RawFrame] = []
    var offset = 0
    while stream.count - offset >= 9 {
        let length = Int32(bitPattern: PcapCapture.u32(stream, offset + 5, littleEndian: false))
        let bodyStart = offset + 9
        guard length >= 0, Int(length) <= stream.count - bodyStart else { break }
        frames.append(RawFrame(
            versionByte: stream[offset],
            flags: stream[offset + 1],
            stream: Int16(bitPattern: PcapCapture.u16(stream, offset + 2)),
            opcode: stream[offset + 4],
            length: length,
            body: Array(stream[bodyStart ..< bodyStart + Int(length)]),
            offset: offset
        ))
        offset = bodyStart + Int(length)
    }
    return CQLStreamSplit(frames: frames, leftover: Array(stream[offset...]))
}

/// The whole CQL frames in a reassembled stream.
func cqlFrames(_ stream: [UInt8]) -> [RawFrame] {
    cqlFrameSplit(stream).frames
}

/// Locates `Fixtures/` from this source file, so tests never depend on the working directory.
enum FixturePath {
    /// The repository root: three levels above `Tests/CQLWireTests/Support/`.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A file under `Fixtures/`.
    static func url(_ relative: String) -> URL {
        root.appendingPathComponent("Fixtures").appendingPathComponent(relative)
    }
}
