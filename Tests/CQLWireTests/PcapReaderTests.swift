import Foundation
import Testing

/// The test helper that feeds captures to the codec tests must itself be right: these tests pin
/// its frame counts to what Wireshark's CQL dissector finds, and check each link layer, byte
/// order and TCP reordering case on synthetic captures.
@Suite("Pcap reader")
struct PcapReaderTests {
    struct Expected: CustomTestStringConvertible, Sendable {
        var file: String
        var packets: Int
        /// Per connection in first-packet order: (client port, frames client→server, frames server→client).
        var connections: [(port: UInt16, up: Int, down: Int)]
        var testDescription: String { file }
    }

    // Totals agree with `tshark -r FILE -d tcp.port==9042,cql -Y cql -T fields -e cql.opcode`,
    // except where tshark does not dissect: negotiation.pcap's refused versions (3 requests and
    // their 3 errors) and bad_frames.pcap's malformed streams (checked byte by byte below).
    static let expected: [Expected] = [
        .init(file: "captures/cassandra_compressed.pcap", packets: 72, connections: [(50042, 12, 12), (50043, 8, 8)]),
        .init(file: "captures/cassandra_create_index.pcap", packets: 10, connections: [(52749, 8, 8)]),
        .init(file: "captures/cassandra_create_keyspace.pcap", packets: 7, connections: [(52749, 4, 4)]),
        .init(file: "captures/cassandra_create_table.pcap", packets: 10, connections: [(52749, 8, 8)]),
        .init(file: "captures/cassandra_insert.pcap", packets: 2, connections: [(52465, 1, 1)]),
        .init(file: "captures/cassandra_mixed_frame.pcap", packets: 313, connections: [(60301, 14, 14), (60302, 3, 3)]),
        .init(file: "captures/cassandra_select.pcap", packets: 2, connections: [(52465, 1, 1)]),
        .init(file: "captures/cassandra_select_via_index.pcap", packets: 2, connections: [(52465, 1, 1)]),
        .init(file: "captures/cassandra_trace_err.pcap", packets: 2, connections: [(54867, 1, 1)]),
        .init(file: "captures-c311/auth.pcap", packets: 79,
              connections: [(58928, 16, 16), (58944, 4, 4), (58960, 3, 3), (58966, 2, 2)]),
        .init(file: "captures-c311/batch.pcap", packets: 50, connections: [(58930, 15, 15), (58936, 8, 8)]),
        .init(file: "captures-c311/errors.pcap", packets: 57, connections: [(38612, 15, 15), (38614, 11, 11)]),
        .init(file: "captures-c311/events.pcap", packets: 124, connections: [(38618, 36, 39), (38620, 27, 27)]),
        .init(file: "captures-c311/lwt.pcap", packets: 58, connections: [(58894, 15, 15), (58910, 11, 11)]),
        .init(file: "captures-c311/lz4.pcap", packets: 57, connections: [(60928, 15, 15), (60932, 11, 11)]),
        .init(file: "captures-c311/negotiation.pcap", packets: 72,
              connections: [(47612, 1, 1), (47616, 1, 1), (47622, 1, 1), (47632, 15, 15), (47638, 3, 3)]),
        .init(file: "captures-c311/paging.pcap", packets: 107, connections: [(58926, 15, 15), (58928, 35, 35)]),
        .init(file: "captures-c311/types.pcap", packets: 55, connections: [(60944, 15, 15), (60956, 9, 9)]),
    ]

    @Test("every capture splits into whole frames with nothing left over", arguments: expected)
    func frameCounts(_ expected: Expected) throws {
        let capture = try PcapCapture(contentsOf: FixturePath.url(expected.file))
        #expect(capture.packetCount == expected.packets)
        let found = capture.connections.map { connection in
            let up = cqlFrameSplit(connection.clientToServer)
            let down = cqlFrameSplit(connection.serverToClient)
            #expect(up.leftover.isEmpty, "client→server leftover on port \(connection.clientPort)")
            #expect(down.leftover.isEmpty, "server→client leftover on port \(connection.clientPort)")
            #expect(!connection.hasGaps)
            #expect(up.frames.allSatisfy { !$0.isResponse })
            #expect(down.frames.allSatisfy { $0.isResponse })
            return "\(connection.clientPort):\(up.frames.count)/\(down.frames.count)"
        }
        #expect(found == expected.connections.map { "\($0.port):\($0.up)/\($0.down)" })
    }

    @Test("HTTP on port 9200 in cassandra_mixed_frame.pcap is not taken for CQL")
    func ignoresOtherPorts() throws {
        let capture = try PcapCapture(contentsOf: FixturePath.url("captures/cassandra_mixed_frame.pcap"))
        #expect(capture.connections.allSatisfy { $0.serverPort == 9042 })
        let http = try PcapCapture(contentsOf: FixturePath.url("captures/cassandra_mixed_frame.pcap"), serverPort: 9200)
        #expect(!http.connections.isEmpty)
        #expect(http.connections.contains { $0.clientToServer.starts(with: Array("GET ".utf8)) || $0.clientToServer.starts(with: Array("POST".utf8)) })
    }

    @Test("negotiation.pcap: refused versions 66, 65, 5 are split by the v4 layout and marked")
    func refusedVersions() throws {
        let capture = try PcapCapture(contentsOf: FixturePath.url("captures-c311/negotiation.pcap"))
        let attempts = capture.connections.prefix(3)
        #expect(attempts.map { cqlFrames($0.clientToServer).first?.versionByte } == [0x42, 0x41, 0x05])
        for attempt in attempts {
            let request = try #require(cqlFrames(attempt.clientToServer).first)
            #expect(!request.isSupportedVersion)
            #expect(request.opcode == 0x05)
            let answer = try #require(cqlFrames(attempt.serverToClient).first)
            // Cassandra answers a version it does not speak with its own highest (v5 beta) and USE_BETA.
            #expect(answer.versionByte == 0x85)
            #expect(answer.flags == 0x10)
            #expect(answer.opcode == 0x00)
            #expect(!answer.isSupportedVersion)
        }
        let v4 = capture.connections[3]
        #expect(cqlFrames(v4.clientToServer).allSatisfy { $0.isSupportedVersion && $0.protocolVersion == 4 })
    }

    @Test("bad_frames.pcap: malformed streams come through as raw bytes, whole frames as frames")
    func badFrames() throws {
        let capture = try PcapCapture(contentsOf: FixturePath.url("captures-c311/bad_frames.pcap"))
        #expect(capture.connections.map(\.clientPort) == [41920, 41926, 41928, 45454, 45462, 45478, 45484])
        let byPort = Dictionary(uniqueKeysWithValues: capture.connections.map { ($0.clientPort, $0) })

        let http = try #require(byPort[41920])
        #expect(http.clientToServer == Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(cqlFrameSplit(http.clientToServer).leftover == http.clientToServer)
        let httpAnswer = try #require(cqlFrames(http.serverToClient).first)
        #expect([httpAnswer.versionByte, httpAnswer.flags, httpAnswer.opcode] == [0x85, 0x10, 0x00])

        let badOpcode = try #require(byPort[41926])
        #expect(cqlFrames(badOpcode.clientToServer).map(\.opcode) == [0x01, 0x42])
        #expect(cqlFrames(badOpcode.serverToClient).map(\.opcode) == [0x02, 0x00])

        let huge = try #require(byPort[41928])
        #expect(huge.clientToServer == [0x04, 0x00, 0x00, 0x01, 0x05, 0x12, 0xC0, 0x00, 0x00])
        #expect(huge.serverToClient.isEmpty)

        let truncated = try #require(byPort[45454])
        #expect(truncated.clientToServer.count == 19)
        #expect(cqlFrameSplit(truncated.clientToServer).frames.isEmpty)

        let wrongDirection = try #require(byPort[45478])
        let request = try #require(cqlFrames(wrongDirection.clientToServer).first)
        #expect(request.isResponse)

        let negative = try #require(byPort[45484])
        #expect(negative.clientToServer == [0x04, 0x00, 0x00, 0x01, 0x05, 0xFF, 0xFF, 0xFF, 0xFB])
        #expect(cqlFrameSplit(negative.clientToServer).leftover.count == 9)
    }

    // MARK: - Synthetic captures

    static let cqlFrameA: [UInt8] = [0x04, 0, 0, 1, 0x05, 0, 0, 0, 0]
    static let cqlFrameB: [UInt8] = [0x04, 0, 0, 2, 0x07, 0, 0, 0, 3, 0xAA, 0xBB, 0xCC]

    struct LinkCase: CustomTestStringConvertible, Sendable {
        var linkType: UInt32
        var ipv6: Bool
        var littleEndian: Bool
        var nanoseconds: Bool
        var testDescription: String { "link \(linkType) ipv6=\(ipv6) le=\(littleEndian) ns=\(nanoseconds)" }
    }

    static let linkCases: [LinkCase] = [
        .init(linkType: 0, ipv6: false, littleEndian: true, nanoseconds: false),
        .init(linkType: 0, ipv6: true, littleEndian: false, nanoseconds: true),
        .init(linkType: 1, ipv6: false, littleEndian: false, nanoseconds: false),
        .init(linkType: 1, ipv6: true, littleEndian: true, nanoseconds: true),
        .init(linkType: 113, ipv6: false, littleEndian: true, nanoseconds: false),
        .init(linkType: 113, ipv6: true, littleEndian: false, nanoseconds: false),
        .init(linkType: 276, ipv6: false, littleEndian: true, nanoseconds: true),
        .init(linkType: 276, ipv6: true, littleEndian: true, nanoseconds: false),
        .init(linkType: 101, ipv6: false, littleEndian: false, nanoseconds: false),
        .init(linkType: 101, ipv6: true, littleEndian: true, nanoseconds: false),
        .init(linkType: 228, ipv6: false, littleEndian: true, nanoseconds: false),
        .init(linkType: 229, ipv6: true, littleEndian: true, nanoseconds: false),
    ]

    @Test("each link layer, IP version, byte order and timestamp precision", arguments: linkCases)
    func linkLayers(_ link: LinkCase) throws {
        var writer = PcapWriter(linkType: link.linkType, littleEndian: link.littleEndian, nanoseconds: link.nanoseconds)
        writer.add(tcp: TestSegment(ipv6: link.ipv6, fromClient: true, sequence: 1000, syn: true, payload: []))
        writer.add(tcp: TestSegment(ipv6: link.ipv6, fromClient: true, sequence: 1001, payload: Self.cqlFrameA))
        writer.add(tcp: TestSegment(ipv6: link.ipv6, fromClient: false, sequence: 5000, payload: Self.cqlFrameB))
        let capture = try PcapCapture(bytes: writer.bytes)
        #expect(capture.linkType == link.linkType)
        #expect(capture.nanosecondTimestamps == link.nanoseconds)
        let connection = try #require(capture.connections.first)
        #expect(capture.connections.count == 1)
        #expect(connection.clientPort == 40000)
        #expect(connection.clientToServer == Self.cqlFrameA)
        #expect(connection.serverToClient == Self.cqlFrameB)
        #expect(connection.clientAddress == (link.ipv6 ? "fd00:0:0:0:0:0:0:1" : "10.0.0.1"))
    }

    @Test("out-of-order, duplicated and overlapping segments reassemble by sequence number")
    func reordering() throws {
        let stream = Self.cqlFrameA + Self.cqlFrameB + Self.cqlFrameA
        // Sequence numbers straddle 2^32 so the wrap-around path is exercised too.
        let isn: UInt32 = 0xFFFF_FFF8
        let pieces: [(Int, Int)] = [(12, 25), (0, 5), (5, 12), (0, 5), (3, 15), (25, 30)]
        var writer = PcapWriter(linkType: 1)
        writer.add(tcp: TestSegment(ipv6: false, fromClient: true, sequence: isn &- 1, syn: true, payload: []))
        for (start, end) in pieces {
            writer.add(tcp: TestSegment(ipv6: false, fromClient: true, sequence: isn &+ UInt32(start),
                                        payload: Array(stream[start ..< end])))
        }
        let connection = try #require(try PcapCapture(bytes: writer.bytes).connections.first)
        #expect(connection.clientToServer == stream)
        #expect(!connection.hasGaps)
        let frames = cqlFrames(connection.clientToServer)
        #expect(frames.map(\.stream) == [1, 2, 1])
        #expect(frames[1].body == [0xAA, 0xBB, 0xCC])
        #expect(frames.map(\.bytes) == [Self.cqlFrameA, Self.cqlFrameB, Self.cqlFrameA])
    }

    @Test("without a SYN, the earliest sequence number starts the stream; a hole is reported")
    func noSynAndGaps() throws {
        var writer = PcapWriter(linkType: 1)
        writer.add(tcp: TestSegment(ipv6: false, fromClient: false, sequence: 109, payload: Array(Self.cqlFrameB[9...])))
        writer.add(tcp: TestSegment(ipv6: false, fromClient: false, sequence: 100, payload: Array(Self.cqlFrameB[..<9])))
        writer.add(tcp: TestSegment(ipv6: false, fromClient: true, sequence: 7, payload: [1, 2]))
        writer.add(tcp: TestSegment(ipv6: false, fromClient: true, sequence: 20, payload: [3]))
        let connection = try #require(try PcapCapture(bytes: writer.bytes).connections.first)
        #expect(connection.serverToClient == Self.cqlFrameB)
        #expect(connection.clientToServer == [1, 2, 3])
        #expect(connection.hasGaps)
    }

    @Test("a frame split over segments and many frames in one segment")
    func splitting() {
        let split = cqlFrameSplit(Self.cqlFrameB + Self.cqlFrameA + Self.cqlFrameB + Array(Self.cqlFrameB.prefix(10)))
        #expect(split.frames.map(\.opcode) == [0x07, 0x05, 0x07])
        #expect(split.frames.map(\.offset) == [0, 12, 21])
        #expect(split.leftover == Array(Self.cqlFrameB.prefix(10)))
        #expect(cqlFrameSplit(Array(Self.cqlFrameA.prefix(8))).leftover.count == 8)
    }

    @Test("unreadable files throw a typed error instead of trapping")
    func malformedFiles() throws {
        #expect(throws: PcapError.truncatedFileHeader) { try PcapCapture(bytes: [0xD4, 0xC3, 0xB2, 0xA1]) }
        #expect(throws: PcapError.unknownMagic(0x0A0D_0D0A)) {
            try PcapCapture(bytes: [0x0A, 0x0D, 0x0D, 0x0A] + [UInt8](repeating: 0, count: 28))
        }
        var writer = PcapWriter(linkType: 1)
        writer.add(tcp: TestSegment(ipv6: false, fromClient: true, sequence: 1, payload: Self.cqlFrameA))
        #expect(throws: PcapError.truncatedRecord(offset: 24)) { try PcapCapture(bytes: Array(writer.bytes.dropLast())) }
        var unknownLink = PcapWriter(linkType: 147)
        unknownLink.add(tcp: TestSegment(ipv6: false, fromClient: true, sequence: 1, payload: []))
        #expect(throws: PcapError.unsupportedLinkType(147)) { try PcapCapture(bytes: unknownLink.bytes) }
        // Every prefix of a real capture either parses or throws: never a trap.
        let real = try [UInt8](Data(contentsOf: FixturePath.url("captures/cassandra_select.pcap")))
        for length in 0 ..< real.count {
            _ = try? PcapCapture(bytes: Array(real.prefix(length)))
        }
    }
}

/// A TCP segment between 10.0.0.1:40000 (or fd00::1) and 10.0.0.2:9042 (or fd00::2).
struct TestSegment {
    var ipv6: Bool
    var fromClient: Bool
    var sequence: UInt32
    var syn = false
    var payload: [UInt8]
}

/// Writes synthetic classic-libpcap files so every reader path is covered without extra fixtures.
struct PcapWriter {
    let linkType: UInt32
    let littleEndian: Bool
    var bytes: [UInt8]

    init(linkType: UInt32, littleEndian: Bool = true, nanoseconds: Bool = false) {
        self.linkType = linkType
        self.littleEndian = littleEndian
        bytes = []
        put32(nanoseconds ? 0xA1B2_3C4D : 0xA1B2_C3D4)
        put16(2)
        put16(4)
        put32(0)
        put32(0)
        put32(262_144)
        put32(linkType)
    }

    private mutating func put16(_ v: UInt16) {
        let ordered = littleEndian ? v.littleEndian : v.bigEndian
        withUnsafeBytes(of: ordered) { bytes.append(contentsOf: $0) }
    }

    private mutating func put32(_ v: UInt32) {
        let ordered = littleEndian ? v.littleEndian : v.bigEndian
        withUnsafeBytes(of: ordered) { bytes.append(contentsOf: $0) }
    }

    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func be32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }

    mutating func add(tcp segment: TestSegment) {
        let (sourcePort, destinationPort) = segment.fromClient ? (40000, 9042) : (9042, 40000)
        let tcp = Self.be16(sourcePort) + Self.be16(destinationPort) + Self.be32(segment.sequence)
            + Self.be32(0) + [0x50, segment.syn ? 0x02 : 0x18] + Self.be16(65535) + [0, 0, 0, 0] + segment.payload
        let client: [UInt8], server: [UInt8]
        let ip: [UInt8]
        if segment.ipv6 {
            client = [0xFD] + [UInt8](repeating: 0, count: 14) + [1]
            server = [0xFD] + [UInt8](repeating: 0, count: 14) + [2]
            let (source, destination) = segment.fromClient ? (client, server) : (server, client)
            // A destination-options extension header in front of TCP exercises the header walk.
            let options: [UInt8] = [6, 0, 1, 4, 0, 0, 0, 0]
            ip = [0x60, 0, 0, 0] + Self.be16(tcp.count + options.count) + [60, 64] + source + destination + options + tcp
        } else {
            client = [10, 0, 0, 1]
            server = [10, 0, 0, 2]
            let (source, destination) = segment.fromClient ? (client, server) : (server, client)
            ip = [0x45, 0] + Self.be16(20 + tcp.count) + [0, 0, 0x40, 0, 64, 6, 0, 0] + source + destination + tcp
        }
        let etherType: [UInt8] = segment.ipv6 ? [0x86, 0xDD] : [0x08, 0x00]
        let frame: [UInt8]
        switch linkType {
        case 0: frame = (segment.ipv6 ? [30, 0, 0, 0] : [2, 0, 0, 0]) + ip
        // Ethernet with an 802.1Q tag, and padding after the IP packet, as short frames have on the wire.
        case 1: frame = [UInt8](repeating: 0x11, count: 12) + [0x81, 0x00, 0x00, 0x05] + etherType + ip + [0, 0, 0, 0]
        case 113: frame = [0, 0, 0, 1, 0, 6] + [UInt8](repeating: 0, count: 8) + etherType + ip
        case 276: frame = etherType + [0, 0] + [0, 0, 0, 1] + [0, 1, 0, 6] + [UInt8](repeating: 0, count: 8) + ip
        default: frame = ip
        }
        put32(1)
        put32(2)
        put32(UInt32(frame.count))
        put32(UInt32(frame.count))
        bytes += frame
    }
}
