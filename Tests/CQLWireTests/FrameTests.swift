import Foundation
import Testing
@testable import CQLCodec
@testable import CQLWire

@Suite("Frames: header, streaming decoder, envelope (specification section 2)")
struct FrameTests {
    static let pixie = "Fixtures/vectors/pixie_cql_captured.hex"
    static let shotover = "Fixtures/vectors/shotover_codec_frames.hex"

    /// Frames of several shapes, for stream and truncation sweeps.
    static func sampleFrames() throws -> [[UInt8]] {
        var frames = MessageSamples.requests.enumerated().map { index, sample in
            sample.1.encodeFrame(stream: Int16(index), customPayload: index % 3 == 0 ? [("x", [1])] : nil)
        }
        // Unknown error codes keep whatever follows their message, so no prefix of them is malformed.
        let responses = try MessageSamples.responses.filter { sample in
            if case let .error(error) = sample.1, case .unknown = error.kind { false } else { true }
        }
        frames += responses.enumerated().map { index, sample in
            sample.1.encodeFrame(stream: Int16(-index), tracingID: index % 2 == 0 ? MessageSamples.uuid : nil,
                                 warnings: index % 5 == 0 ? ["careful"] : [])
        }
        return frames
    }

    @Test("a header round-trips, keeping the direction bit, raw opcode and negative stream")
    func headerRoundTrip() throws {
        let header = FrameHeader(version: 4, isResponse: true, flags: [.tracing, .useBeta], stream: -1, opcode: 0x42,
                                 length: -7)
        var writer = ByteWriter()
        header.encode(into: &writer)
        #expect(writer.bytes == [0x84, 0x12, 0xFF, 0xFF, 0x42, 0xFF, 0xFF, 0xFF, 0xF9])
        var reader = ByteReader(writer.bytes)
        #expect(try FrameHeader(decoding: &reader) == header)
        for length in 0..<FrameHeader.size {
            var short = ByteReader(Array(writer.bytes.prefix(length)))
            #expect(throws: WireError.self) { try FrameHeader(decoding: &short) }
        }
    }

    @Test("Shotover's frames decode to the expected messages and re-encode byte for byte")
    func shotoverFrames() throws {
        let vectors = try FrameFixtures.hexVectors(Self.shotover)
        let expected: [(String, Bool, RequestMessage?, ResponseMessage?)] = [
            ("test_codec_startup", false, .startup(Startup()), nil),
            ("test_codec_options", false, .options, nil),
            ("test_codec_ready", true, nil, .ready),
            ("test_codec_register", false,
             .register(Register(events: ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"])), nil),
            ("test_codec_query_select", false, .query(Query(query: "SELECT * FROM system.local WHERE key = 'local'",
                                                            parameters: .init(consistency: .one))), nil),
            ("test_codec_query_insert", false, .query(Query(query: "INSERT INTO system.foo (bar) VALUES ('bar2')",
                                                            parameters: .init(consistency: .one))), nil),
            ("test_codec_result", true, nil, nil),
        ]
        for (name, isResponse, request, response) in expected {
            let bytes = try #require(vectors[name], "missing \(name)")
            let frame = try FrameFixtures.frame(bytes)
            #expect(frame.header.isResponse == isResponse && frame.header.version == 4)
            if isResponse {
                let envelope = try frame.decodeResponse(compression: nil)
                if let response { #expect(envelope.message == response, "\(name)") }
                if case let .result(.rows(rows)) = envelope.message {
                    #expect(rows.rowCount == 0 && rows.metadata.columns.count == 9 && rows.metadata.columns[0].name == "peer")
                } else if response == nil {
                    Issue.record("\(name): expected rows, got \(envelope.message)")
                }
                let again = envelope.message.encodeFrame(stream: envelope.stream)
                #expect(again == bytes, "\(name): \(FrameFixtures.hex(again))")
            } else {
                let envelope = try frame.decodeRequest(compression: nil)
                #expect(envelope.message == request, "\(name)")
                let again = envelope.message.encodeFrame(stream: envelope.stream)
                #expect(again == bytes, "\(name): \(FrameFixtures.hex(again))")
            }
        }
    }

    @Test("Pixie's full frames decode; its deliberately bad frames are refused")
    func pixieFrames() throws {
        let vectors = try FrameFixtures.hexVectors(Self.pixie)
        for name in ["kQueryFrame", "kOptionsFrame", "kSupportedFrame"] {
            let bytes = try #require(vectors[name], "missing \(name)")
            let frame = try FrameFixtures.frame(bytes)
            let again: [UInt8]
            if frame.header.isResponse {
                again = try frame.decodeResponse(compression: nil).message.encodeFrame(stream: frame.header.stream)
            } else {
                again = try frame.decodeRequest(compression: nil).message.encodeFrame(stream: frame.header.stream)
            }
            #expect(again == bytes, "\(name)")
        }
        // Each is 11 bytes claiming a body it does not have, or a bad opcode or version.
        let bad: [(String, WireError)] = [
            ("kBadOpcodeFrame", .unknownOpcode(0xFF)),
            ("kBadLengthFrame_6", .unsupportedVersion(2)),
            ("kBadLengthFrame_7", .unsupportedVersion(5)),
        ]
        for (name, error) in bad {
            let bytes = try #require(vectors[name], "missing \(name)")
            #expect(throws: error, "\(name)") { try FrameFixtures.frame(bytes).decodeRequest(compression: nil) }
        }
        for name in ["kBadLengthFrame", "kBadLengthFrame_5"] {
            let bytes = try #require(vectors[name], "missing \(name)")
            var decoder = FrameDecoder()
            decoder.append(bytes)
            // Lengths 0x20000000 and 0xF0000000 (512 MiB, negative): refused from the header alone.
            #expect(throws: WireError.self, "\(name)") { try decoder.nextFrame() }
        }
    }

    @Test("a stream fed one byte at a time and in big chunks yields the same frames")
    func streamingSplits() throws {
        let frames = try Self.sampleFrames()
        let stream = frames.flatMap { $0 }
        func decodeAll(chunk: Int) throws -> [Frame] {
            var decoder = FrameDecoder()
            var out: [Frame] = []
            var index = 0
            while index < stream.count {
                let end = min(index + chunk, stream.count)
                decoder.append(stream[index..<end])
                index = end
                while let frame = try decoder.nextFrame() { out.append(frame) }
            }
            #expect(decoder.bufferedCount == 0)
            return out
        }
        let whole = try decodeAll(chunk: stream.count)
        #expect(whole.map(\.bytes) == frames)
        for chunk in [1, 2, 7, 9, 10, 4096] {
            #expect(try decodeAll(chunk: chunk) == whole, "chunk \(chunk)")
        }
        var pointerDecoder = FrameDecoder()
        stream.withUnsafeBytes { pointerDecoder.append($0) }
        var count = 0
        while try pointerDecoder.nextFrame() != nil { count += 1 }
        #expect(count == frames.count)
    }

    @Test("a long stream through the decoder keeps every frame intact across buffer compaction")
    func longStream() throws {
        let frames = (0..<2000).map { index in
            RequestMessage.query(Query(query: String(repeating: "x", count: index % 97),
                                       parameters: .init(consistency: .one, pageSize: Int32(index))))
                .encodeFrame(stream: Int16(index % 32768))
        }
        let stream = frames.flatMap { $0 }
        var decoder = FrameDecoder()
        var decoded: [[UInt8]] = []
        var index = 0
        while index < stream.count {
            let end = min(index + 1000, stream.count)
            decoder.append(stream[index..<end])
            index = end
            while let frame = try decoder.nextFrame() { decoded.append(frame.bytes) }
        }
        #expect(decoded == frames && decoder.bufferedCount == 0)
    }

    @Test("a compressed body that would inflate past the limit is refused")
    func decompressionLimit() throws {
        let query = RequestMessage.query(Query(query: String(repeating: "SELECT ", count: 200),
                                               parameters: .init(consistency: .one)))
        for compression in FrameCompression.allCases {
            let frame = try FrameFixtures.frame(query.encodeFrame(stream: 0, compression: compression))
            #expect(frame.body.count < 1400)
            #expect(throws: WireError.self, "\(compression)") {
                try frame.decodeRequest(compression: compression, maxBodyLength: 1000)
            }
            #expect(try frame.decodeRequest(compression: compression, maxBodyLength: 2000).message == query)
        }
    }

    @Test("an oversized or negative length is refused as soon as the header is in")
    func oversizeRefusedEarly() throws {
        let oversize = FrameHeader(isResponse: true, stream: 1, opcode: Opcode.result.rawValue, length: 1025)
        var writer = ByteWriter()
        oversize.encode(into: &writer)
        var decoder = FrameDecoder(maxBodyLength: 1024)
        decoder.append(writer.bytes.prefix(8))
        #expect(try decoder.nextFrame() == nil)
        decoder.append(writer.bytes.suffix(1))
        #expect(throws: WireError.frameTooLarge(length: 1025, limit: 1024)) { try decoder.nextFrame() }
        decoder.append([UInt8](repeating: 0, count: 2000))
        #expect(throws: WireError.frameTooLarge(length: 1025, limit: 1024)) { try decoder.nextFrame() }

        var negative = ByteWriter()
        FrameHeader(isResponse: false, stream: 0, opcode: 7, length: -1).encode(into: &negative)
        var negativeDecoder = FrameDecoder()
        negativeDecoder.append(negative.bytes)
        #expect(throws: WireError.negativeLength(what: "frame body length", length: -1)) { try negativeDecoder.nextFrame() }

        var defaultLimit = FrameDecoder()
        var huge = ByteWriter()
        FrameHeader(isResponse: false, stream: 0, opcode: 7, length: 300 * 1024 * 1024).encode(into: &huge)
        defaultLimit.append(huge.bytes)
        #expect(throws: WireError.frameTooLarge(length: 300 * 1024 * 1024, limit: 256 * 1024 * 1024)) {
            try defaultLimit.nextFrame()
        }
        var exact = FrameDecoder(maxBodyLength: 3)
        exact.append(Frame(header: oversize, body: [1, 2, 3]).bytes)
        #expect(try exact.nextFrame()?.body == [1, 2, 3])
    }

    @Test("truncating an encoded frame at every byte throws a WireError and never traps")
    func truncationEverywhere() throws {
        for bytes in try Self.sampleFrames() {
            let frame = try FrameFixtures.frame(bytes)
            for cut in 0..<frame.body.count {
                let short = Frame(header: frame.header, body: Array(frame.body.prefix(cut)))
                if frame.header.isResponse {
                    #expect(throws: WireError.self, "cut \(cut) of \(FrameFixtures.hex(bytes))") {
                        try short.decodeResponse(compression: nil)
                    }
                } else {
                    #expect(throws: WireError.self, "cut \(cut) of \(FrameFixtures.hex(bytes))") {
                        try short.decodeRequest(compression: nil)
                    }
                }
            }
            var decoder = FrameDecoder()
            decoder.append(bytes.dropLast())
            #expect(try decoder.nextFrame() == nil)
        }
    }

    @Test("corrupting any byte of a body either decodes or throws, and trailing bytes are refused")
    func corruptedBodies() throws {
        for bytes in try Self.sampleFrames() {
            let frame = try FrameFixtures.frame(bytes)
            for index in frame.body.indices {
                for value: UInt8 in [0xFF, 0x7F, 0x80, 0x00] {
                    var body = frame.body
                    body[index] = value
                    let corrupted = Frame(header: frame.header, body: body)
                    // Reaching the end of either call without trapping is the property under test.
                    _ = try? corrupted.decodeRequest(compression: nil)
                    _ = try? corrupted.decodeResponse(compression: nil)
                }
            }
            let padded = Frame(header: frame.header, body: frame.body + [0])
            #expect(throws: WireError.self, "trailing byte after \(FrameFixtures.hex(bytes))") {
                if frame.header.isResponse {
                    _ = try padded.decodeResponse(compression: nil)
                } else {
                    _ = try padded.decodeRequest(compression: nil)
                }
            }
        }
    }

    @Test("direction bit, version, opcode and compression are validated")
    func envelopeValidation() throws {
        let query = RequestMessage.query(Query(query: "SELECT 1", parameters: .init(consistency: .one)))
        let request = try FrameFixtures.frame(query.encodeFrame(stream: 1))
        #expect(throws: WireError.self) { try request.decodeResponse(compression: nil) }
        let ready = try FrameFixtures.frame(ResponseMessage.ready.encodeFrame(stream: 1))
        #expect(throws: WireError.self) { try ready.decodeRequest(compression: nil) }
        var wrongDirectionOpcode = request
        wrongDirectionOpcode.header.opcode = Opcode.result.rawValue
        #expect(throws: WireError.invalidValue(what: "opcode", detail: "RESULT cannot travel in a request")) {
            try wrongDirectionOpcode.decodeRequest(compression: nil)
        }
        var unknown = request
        unknown.header.opcode = 0x42
        #expect(throws: WireError.unknownOpcode(0x42)) { try unknown.decodeRequest(compression: nil) }
        var v3 = request
        v3.header.version = 3
        #expect(throws: WireError.unsupportedVersion(3)) { try v3.decodeRequest(compression: nil) }
        let refusal = ResponseMessage.error(ServerError(.protocolError, message: "Invalid or unsupported protocol version (5)"))
        for version: UInt8 in [3, 5] {
            let frame = try FrameFixtures.frame(refusal.encodeFrame(stream: 0, version: version, useBeta: true))
            #expect(throws: WireError.unsupportedVersion(version)) { try frame.decodeResponse(compression: nil) }
            #expect(try frame.decodeVersionRefusal() == ServerError(.protocolError, message: "Invalid or unsupported protocol version (5)"))
        }
        let v3Ready = try FrameFixtures.frame(ResponseMessage.ready.encodeFrame(stream: 0, version: 3))
        #expect(throws: WireError.unsupportedVersion(3)) { try v3Ready.decodeResponse(compression: nil) }
        #expect(try v3Ready.decodeVersionRefusal() == nil)
        let compressed = try FrameFixtures.frame(query.encodeFrame(stream: 1, compression: .lz4))
        #expect(compressed.header.flags.contains(.compression))
        #expect(throws: WireError.self) { try compressed.decodeRequest(compression: nil) }
        #expect(try compressed.decodeRequest(compression: .lz4).message == query)
        let startup = try FrameFixtures.frame(RequestMessage.startup(Startup(compression: "lz4")).encodeFrame(stream: 0, compression: .lz4))
        #expect(!startup.header.flags.contains(.compression))
        let event = ResponseMessage.event(.statusChange(.up, InetEndpoint(address: MessageSamples.ipv4, port: 9042)))
        let eventFrame = try FrameFixtures.frame(event.encodeFrame(stream: -1))
        #expect(eventFrame.header.stream == -1 && eventFrame.bytes.prefix(5) == [0x84, 0x00, 0xFF, 0xFF, 0x0C])
    }
}
