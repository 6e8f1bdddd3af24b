import CQLWire
import Foundation
import Testing

/// Real traffic is the ground truth for the codec: every frame that Cassandra 3.x and its
/// drivers put on the wire in the reference captures must decode, and must come back out of
/// our encoder byte for byte (compressed frames: byte for byte after decompression).
@Suite("Capture conformance: every frame")
struct CaptureConformanceTests {
    struct FileCase: CustomTestStringConvertible, Sendable {
        var file: String
        /// Whole frames in the capture (PcapReaderTests pins these to Wireshark's count).
        var frames: Int
        /// Frames with the compression flag.
        var compressed: Int
        /// Frames in a protocol version other than 4 (refused negotiation attempts and their answers).
        var otherVersion: Int
        var testDescription: String { file }
    }

    static let cases: [FileCase] = [
        .init(file: "captures/cassandra_compressed.pcap", frames: 40, compressed: 38, otherVersion: 0),
        .init(file: "captures/cassandra_create_index.pcap", frames: 16, compressed: 0, otherVersion: 0),
        .init(file: "captures/cassandra_create_keyspace.pcap", frames: 8, compressed: 0, otherVersion: 0),
        .init(file: "captures/cassandra_create_table.pcap", frames: 16, compressed: 0, otherVersion: 0),
        .init(file: "captures/cassandra_insert.pcap", frames: 2, compressed: 0, otherVersion: 0),
        .init(file: "captures/cassandra_mixed_frame.pcap", frames: 34, compressed: 0, otherVersion: 0),
        .init(file: "captures/cassandra_select.pcap", frames: 2, compressed: 0, otherVersion: 0),
        .init(file: "captures/cassandra_select_via_index.pcap", frames: 2, compressed: 0, otherVersion: 0),
        .init(file: "captures/cassandra_trace_err.pcap", frames: 2, compressed: 0, otherVersion: 0),
        .init(file: "captures-c311/auth.pcap", frames: 50, compressed: 0, otherVersion: 0),
        .init(file: "captures-c311/batch.pcap", frames: 46, compressed: 0, otherVersion: 0),
        .init(file: "captures-c311/errors.pcap", frames: 52, compressed: 0, otherVersion: 0),
        .init(file: "captures-c311/events.pcap", frames: 129, compressed: 0, otherVersion: 0),
        .init(file: "captures-c311/lwt.pcap", frames: 52, compressed: 0, otherVersion: 0),
        .init(file: "captures-c311/lz4.pcap", frames: 52, compressed: 46, otherVersion: 0),
        .init(file: "captures-c311/negotiation.pcap", frames: 42, compressed: 0, otherVersion: 6),
        .init(file: "captures-c311/paging.pcap", frames: 100, compressed: 0, otherVersion: 0),
        .init(file: "captures-c311/types.pcap", frames: 48, compressed: 0, otherVersion: 0),
    ]

    @Test("every frame decodes and re-encodes to the bytes on the wire", arguments: cases)
    func decodeAndReencode(_ expected: FileCase) throws {
        let frames = try CaptureCorpus.frames(expected.file)
        #expect(frames.count == expected.frames)
        var compressed = 0
        var otherVersion = 0
        for captured in frames {
            let frame = captured.frame
            guard captured.raw.protocolVersion == 4 else {
                otherVersion += 1
                // The codec speaks v4 only and says so with a typed error, never a misparse.
                #expect(throws: WireError.unsupportedVersion(captured.raw.protocolVersion)) {
                    _ = try frame.decodeResponse(compression: nil)
                }
                continue
            }
            let flags = FrameFlags(rawValue: captured.raw.flags)
            let plain: [UInt8]
            if flags.contains(.compression) {
                compressed += 1
                let algorithm = try #require(captured.compression, "compressed frame without negotiation: \(captured)")
                plain = try algorithm.decompress(captured.raw.body, maxLength: 256 * 1024 * 1024)
            } else {
                plain = captured.raw.body
            }
            // The frame as it would look uncompressed: what our encoder, told not to compress, must produce.
            var plainHeader = frame.header
            plainHeader.flags.remove(.compression)
            let expectedBytes = Frame(header: plainHeader, body: plain).bytes

            let reencoded: [UInt8]
            let ourCompressed: [UInt8]?
            do {
                if captured.raw.isResponse {
                    let envelope = try frame.decodeResponse(compression: captured.compression)
                    reencoded = envelope.message.encodeFrame(
                        stream: envelope.stream, tracingID: envelope.tracingID, warnings: envelope.warnings,
                        customPayload: envelope.customPayload, useBeta: envelope.header.flags.contains(.useBeta))
                    ourCompressed = flags.contains(.compression) ? envelope.message.encodeFrame(
                        stream: envelope.stream, tracingID: envelope.tracingID, warnings: envelope.warnings,
                        customPayload: envelope.customPayload, compression: captured.compression) : nil
                    if let ourCompressed {
                        let back = try Self.frame(ourCompressed).decodeResponse(compression: captured.compression)
                        #expect(back.message == envelope.message, "our compressed \(captured)")
                    }
                } else {
                    let envelope = try frame.decodeRequest(compression: captured.compression)
                    reencoded = envelope.message.encodeFrame(
                        stream: envelope.stream, tracing: envelope.header.flags.contains(.tracing),
                        customPayload: envelope.customPayload)
                    ourCompressed = flags.contains(.compression) ? envelope.message.encodeFrame(
                        stream: envelope.stream, tracing: envelope.header.flags.contains(.tracing),
                        customPayload: envelope.customPayload, compression: captured.compression) : nil
                    if let ourCompressed {
                        let back = try Self.frame(ourCompressed).decodeRequest(compression: captured.compression)
                        #expect(back.message == envelope.message, "our compressed \(captured)")
                    }
                }
            } catch {
                Issue.record("decode failed (\(error)): \(captured)")
                continue
            }
            #expect(reencoded == expectedBytes,
                    "re-encoding differs: \(captured)\n  wire: \(Hex.string(expectedBytes))\n  ours: \(Hex.string(reencoded))")
        }
        #expect(compressed == expected.compressed)
        #expect(otherVersion == expected.otherVersion)
    }

    @Test("every cell of every RESULT rows decodes by its column type and re-encodes to the same bytes",
          arguments: cases)
    func everyCell(_ expected: FileCase) throws {
        var cells = 0
        for connection in try CaptureCorpus.connections(expected.file) {
            for (_, envelope) in CaptureCorpus.responses(connection) {
                guard case let .result(.rows(rows)) = envelope.message else { continue }
                let values = try rows.cellValues()
                #expect(values.count == rows.rowCount)
                for row in values {
                    for (column, cell) in zip(rows.metadata.columns, row) {
                        guard let cell else { continue }
                        cells += 1
                        do {
                            let value = try CQLValue.decode(cell, as: column.type)
                            let back = try value.encode(as: column.type)
                            #expect(back == cell, "\(expected.file) \(column.name) \(column.type): \(Hex.string(cell)) → \(value) → \(Hex.string(back ?? []))")
                        } catch {
                            Issue.record("\(expected.file) \(column.name) \(column.type): \(Hex.string(cell)): \(error)")
                        }
                    }
                }
            }
        }
        // Every capture but the request-only ones carries rows.
        if !["cassandra_insert", "cassandra_trace_err"].contains(where: expected.file.contains) {
            #expect(cells > 0)
        }
    }

    @Test("FrameDecoder cuts each stream into the same frames as the independent splitter, however it is chunked",
          arguments: [1, 7, 1460])
    func frameDecoderAgrees(chunk: Int) throws {
        for file in CaptureCorpus.files {
            let capture = try PcapCapture(contentsOf: FixturePath.url(file))
            for connection in capture.connections {
                for stream in [connection.clientToServer, connection.serverToClient] {
                    var decoder = FrameDecoder()
                    var frames: [Frame] = []
                    var offset = 0
                    while offset < stream.count {
                        let end = min(offset + chunk, stream.count)
                        decoder.append(stream[offset ..< end])
                        while let frame = try decoder.nextFrame() { frames.append(frame) }
                        offset = end
                    }
                    let expected = cqlFrames(stream).map { $0.bytes }
                    #expect(frames.map(\.bytes) == expected, "\(file) port \(connection.clientPort)")
                    #expect(decoder.bufferedCount == 0)
                }
            }
        }
    }

    static func frame(_ bytes: [UInt8]) throws -> Frame {
        var decoder = FrameDecoder()
        decoder.append(bytes)
        return try #require(try decoder.nextFrame())
    }
}
