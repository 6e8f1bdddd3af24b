import CQLWire
import Foundation

/// One frame from a reference capture, with what is needed to decode it.
struct CapturedFrame: Sendable, CustomStringConvertible {
    /// The capture file under `Fixtures/`.
    var file: String
    /// The client's port, naming the connection.
    var clientPort: UInt16
    /// The frame as cut from the reassembled stream.
    var raw: RawFrame
    /// The compression the connection's STARTUP negotiated, if any.
    var compression: FrameCompression?

    /// The codec's view of the same bytes.
    var frame: Frame {
        Frame(header: FrameHeader(version: raw.protocolVersion, isResponse: raw.isResponse,
                                  flags: FrameFlags(rawValue: raw.flags), stream: raw.stream,
                                  opcode: raw.opcode, length: raw.length),
              body: raw.body)
    }

    var description: String {
        "\(file) port \(clientPort) \(raw.isResponse ? "response" : "request") stream \(raw.stream) "
            + "opcode 0x\(String(raw.opcode, radix: 16)) at byte \(raw.offset): \(Hex.string(raw.bytes.prefix(96)))"
    }
}

/// A connection's frames in stream order, each direction separately.
struct CapturedConnection: Sendable {
    var clientPort: UInt16
    var requests: [CapturedFrame]
    var responses: [CapturedFrame]
}

/// The reference captures as frames, with per-connection compression worked out from STARTUP.
enum CaptureCorpus {
    /// Every capture of real CQL traffic (bad_frames.pcap holds malformed streams and is tested on its own).
    static let files: [String] = [
        "captures/cassandra_compressed.pcap",
        "captures/cassandra_create_index.pcap",
        "captures/cassandra_create_keyspace.pcap",
        "captures/cassandra_create_table.pcap",
        "captures/cassandra_insert.pcap",
        "captures/cassandra_mixed_frame.pcap",
        "captures/cassandra_select.pcap",
        "captures/cassandra_select_via_index.pcap",
        "captures/cassandra_trace_err.pcap",
        "captures-c311/auth.pcap",
        "captures-c311/batch.pcap",
        "captures-c311/errors.pcap",
        "captures-c311/events.pcap",
        "captures-c311/lwt.pcap",
        "captures-c311/lz4.pcap",
        "captures-c311/negotiation.pcap",
        "captures-c311/paging.pcap",
        "captures-c311/types.pcap",
    ]

    /// Reads a capture and cuts every connection into frames.
    static func connections(_ file: String) throws -> [CapturedConnection] {
        let capture = try PcapCapture(contentsOf: FixturePath.url(file))
        return capture.connections.map { connection in
            let up = cqlFrames(connection.clientToServer)
            let down = cqlFrames(connection.serverToClient)
            let compression = up.lazy.compactMap { frame -> FrameCompression? in
                guard frame.isSupportedVersion, frame.opcode == Opcode.startup.rawValue,
                      case let .startup(startup)? = try? CapturedFrame(file: file, clientPort: 0, raw: frame)
                          .frame.decodeRequest(compression: nil).message,
                      let name = startup.compression else { return nil }
                return FrameCompression(rawValue: name.lowercased())
            }.first
            return CapturedConnection(
                clientPort: connection.clientPort,
                requests: up.map { CapturedFrame(file: file, clientPort: connection.clientPort, raw: $0, compression: compression) },
                responses: down.map { CapturedFrame(file: file, clientPort: connection.clientPort, raw: $0, compression: compression) }
            )
        }
    }

    /// Every frame of a capture, requests then responses per connection.
    static func frames(_ file: String) throws -> [CapturedFrame] {
        try connections(file).flatMap { $0.requests + $0.responses }
    }

    /// Decoded requests of a connection with their stream ids, skipping frames that do not decode.
    static func requests(_ connection: CapturedConnection) -> [(stream: Int16, message: RequestMessage)] {
        connection.requests.compactMap { frame in
            (try? frame.frame.decodeRequest(compression: frame.compression)).map { (frame.raw.stream, $0.message) }
        }
    }

    /// Decoded responses of a connection with their stream ids, skipping frames that do not decode.
    static func responses(_ connection: CapturedConnection) -> [(stream: Int16, envelope: Envelope<ResponseMessage>)] {
        connection.responses.compactMap { frame in
            (try? frame.frame.decodeResponse(compression: frame.compression)).map { (frame.raw.stream, $0) }
        }
    }

    /// The rows of a RESULT as column name → value, decoded with the column types.
    static func namedRows(_ rows: Rows) throws -> [[String: CQLValue]] {
        try rows.cellValues().map { cells in
            var row: [String: CQLValue] = [:]
            for (column, cell) in zip(rows.metadata.columns, cells) {
                row[column.name] = try cell.map { try CQLValue.decode($0, as: column.type) } ?? .null
            }
            return row
        }
    }
}

/// Hex text helpers for fixtures and failure messages.
enum Hex {
    /// Lowercase hex of bytes, for failure messages that show what differed.
    static func string(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Bytes from hex text; nil for odd length or a non-hex digit.
    static func bytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
