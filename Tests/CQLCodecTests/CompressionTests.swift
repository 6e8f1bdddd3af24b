import Foundation
import TestSupport
import Testing
@testable import CQLCodec

/// Reads the `name<TAB>uncompressed-hex<TAB>compressed-hex` vectors written by
/// `Fixtures/compression/generate.py`.
enum CompressionVectors {
    struct Vector: CustomTestStringConvertible, Sendable {
        let name: String
        let plain: [UInt8]
        let compressed: [UInt8]
        var testDescription: String { name }
    }

    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/compression")

    static func load(_ file: String) -> [Vector] {
        guard let text = try? String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8) else {
            return []
        }
        return text.split(separator: "\n").compactMap { line in
            if line.hasPrefix("#") { return nil }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3, let plain = hex(fields[1]), let compressed = hex(fields[2]) else { return nil }
            return Vector(name: String(fields[0]), plain: plain, compressed: compressed)
        }
    }

    static func hex(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    static let lz4Python = load("lz4_python.hex")
    static let lz4Capture = load("lz4_capture.hex")
    static let snappyCapture = load("snappy_capture.hex")
}

/// SplitMix64: a tiny seeded generator, so every random input can be reproduced from its seed.
struct CompressionRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

/// Inputs the compressors must round-trip, from trivial to frame-sized.
enum CompressionSamples {
    struct Input: CustomTestStringConvertible, Sendable {
        let name: String
        let bytes: [UInt8]
        /// The largest compressed size that still counts as real compression, if the input compresses.
        let compressesBelow: Int?
        var testDescription: String { "\(name) (\(bytes.count) bytes)" }
    }

    static func random(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = CompressionRandom(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// A RESULT Rows body (section 4.2.5.2) shaped like the scheduler's `jobs` reads.
    static func rowsBody(rows: Int) -> [UInt8] {
        var writer = ByteWriter()
        writer.writeInt32(0x0002)
        writer.writeInt32(0x0001)
        writer.writeInt32(5)
        writer.writeString("scheduler")
        writer.writeString("jobs")
        for (name, type) in [("id", UInt16(0x000C)), ("shard", 0x0009), ("due", 0x000B), ("state", 0x000D), ("payload", 0x0003)] {
            writer.writeString(name)
            writer.writeShort(type)
        }
        writer.writeInt32(Int32(rows))
        var generator = CompressionRandom(seed: UInt64(rows))
        for row in 0..<rows {
            writer.writeBytes((0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
            writer.writeBytes([0, 0, 0, UInt8(row % 16)])
            writer.writeBytes([0, 0, 1, 0x8F, UInt8(row % 7), UInt8(row % 256), 0x10, 0x00])
            writer.writeBytes(Array((row % 3 == 0 ? "pending" : "running").utf8))
            writer.writeBytes(Array(#"{"kind":"http","url":"https://example.test/hook/\#(row)","retries":3}"#.utf8))
        }
        return writer.bytes
    }

    /// A QUERY body (section 4.1.4) with a bound value.
    static func queryBody() -> [UInt8] {
        var writer = ByteWriter()
        writer.writeLongString("SELECT id, shard, due, state, payload FROM scheduler.jobs WHERE shard = ? AND due <= ?")
        writer.writeConsistency(.localQuorum)
        writer.writeUInt8(0x05)
        writer.writeShort(2)
        writer.writeBytes([0, 0, 0, 7])
        writer.writeBytes([0, 0, 1, 0x8F, 0, 0, 0, 0])
        writer.writeInt32(5000)
        return writer.bytes
    }

    static let all: [Input] = {
        var inputs: [Input] = [
            Input(name: "empty", bytes: [], compressesBelow: nil),
            Input(name: "one byte", bytes: [0x2A], compressesBelow: nil),
            Input(name: "twelve bytes", bytes: Array("abcdefghijkl".utf8), compressesBelow: nil),
            Input(name: "thirteen repeating bytes", bytes: Array("abcdabcdabcda".utf8), compressesBelow: nil),
            Input(name: "query body", bytes: queryBody(), compressesBelow: nil),
        ]
        for count in [1, 5, 13, 17, 100, 1000, 4096, 65_536, 70_000, 300_000] {
            inputs.append(Input(name: "random", bytes: random(count, seed: UInt64(count)), compressesBelow: nil))
        }
        for count in [16, 100, 1000, 65_535, 65_536, 65_537, 1_000_000] {
            inputs.append(Input(name: "zeros", bytes: [UInt8](repeating: 0, count: count), compressesBelow: count / 4 + 16))
        }
        for period in [1, 2, 3, 7, 12, 64, 1000, 70_000] {
            let pattern = random(period, seed: UInt64(period) &+ 77)
            let bytes = (0..<200_000).map { pattern[$0 % period] }
            // A period past 65535 bytes is out of reach of both formats' offsets.
            inputs.append(Input(name: "period \(period)", bytes: bytes, compressesBelow: period < 65_535 ? 100_000 : nil))
        }
        for rows in [0, 1, 10, 100, 1000, 5000] {
            let body = rowsBody(rows: rows)
            inputs.append(Input(name: "rows body, \(rows) rows", bytes: body, compressesBelow: rows >= 10 ? body.count * 3 / 4 : nil))
        }
        return inputs
    }()
}

@Suite("Frame-body compression (specification section 5)")
struct CompressionTests {
    // MARK: Round trips

    @Test("every sample round-trips and repetitive samples really compress", arguments: FrameCompression.allCases, CompressionSamples.all)
    func roundTrip(algorithm: FrameCompression, input: CompressionSamples.Input) throws {
        let compressed = algorithm.compress(input.bytes)
        let decompressed = try algorithm.decompress(compressed, maxLength: input.bytes.count)
        #expect(decompressed == input.bytes, "\(algorithm) round trip differs")
        if let bound = input.compressesBelow {
            #expect(compressed.count < bound, "\(algorithm) compressed \(input.bytes.count) bytes only to \(compressed.count)")
        }
        let bound = switch algorithm {
        case .lz4: 4 + LZ4.maxCompressedLength(input.bytes.count)
        case .snappy: Snappy.maxCompressedLength(input.bytes.count)
        }
        #expect(compressed.count <= bound)
    }

    @Test("LZ4 blocks keep the format's end-of-block rules", arguments: CompressionSamples.all)
    func lz4EndOfBlockRules(input: CompressionSamples.Input) throws {
        let block = LZ4.compressBlock(input.bytes)
        let sequences = try lz4Sequences(block)
        let last = try #require(sequences.last)
        #expect(last.matchLength == 0, "the block must end with a literal-only sequence")
        if sequences.count > 1 {
            #expect(last.literalCount >= LZ4.lastLiterals, "the last \(LZ4.lastLiterals) bytes must be literals")
            let lastMatchStart = sequences[sequences.count - 2].matchStart
            #expect(lastMatchStart <= input.bytes.count - LZ4.matchFindLimit,
                    "the last match starts at \(lastMatchStart), closer than 12 bytes to the end")
        }
    }

    @Test("the lz4 frame body starts with the big-endian uncompressed length")
    func lz4LengthPrefix() throws {
        let body = [UInt8](repeating: 7, count: 0x0102_03)
        let compressed = FrameCompression.lz4.compress(body)
        #expect(Array(compressed.prefix(4)) == [0x00, 0x01, 0x02, 0x03])
        #expect(try LZ4.decompressBlock(Array(compressed.dropFirst(4)), uncompressedLength: body.count) == body)
    }

    @Test("the snappy body starts with the varint uncompressed length")
    func snappyPreamble() throws {
        let compressed = Snappy.compress([UInt8](repeating: 1, count: 300))
        #expect(Array(compressed.prefix(2)) == [0xAC, 0x02])
        #expect(try Snappy.uncompressedLength(compressed) == 300)
    }

    @Test("an empty compressed body is an empty body", arguments: FrameCompression.allCases)
    func emptyBody(algorithm: FrameCompression) throws {
        #expect(try algorithm.decompress([], maxLength: 0) == [])
    }

    // MARK: Overlapping copies, hand-built

    @Test("overlapping back-references repeat their period", arguments: [
        // LZ4: 2 literals "ab", then offset 2 length 10 (token low nibble 6), then an empty final sequence.
        (FrameCompression.lz4, [0, 0, 0, 12, 0x26, 0x61, 0x62, 0x02, 0x00, 0x00], Array("abababababab".utf8)),
        // LZ4: 1 literal, offset 1, length 4 + 15 + 1 = 20, then final literal "z".
        (.lz4, [0, 0, 0, 22, 0x1F, 0x78, 0x01, 0x00, 0x01, 0x10, 0x7A], Array(String(repeating: "x", count: 21).utf8) + [0x7A]),
        // Snappy: length 12, literal "abc", copy-1 offset 3 length 9 (tag 0b101_01 = 0x15).
        (.snappy, [12, 0x08, 0x61, 0x62, 0x63, 0x15, 0x03], Array("abcabcabcabc".utf8)),
        // Snappy: length 65, literal "q", copy-2 offset 1 length 64 (tag 63 << 2 | 2).
        (.snappy, [65, 0x00, 0x71, 0xFE, 0x01, 0x00], [UInt8](repeating: 0x71, count: 65)),
        // Snappy: length 5, literal "ab", copy-4 offset 2 length 3.
        (.snappy, [5, 0x04, 0x61, 0x62, 0x0B, 0x02, 0x00, 0x00, 0x00], Array("ababa".utf8)),
    ] as [(FrameCompression, [UInt8], [UInt8])])
    func overlappingCopies(algorithm: FrameCompression, body: [UInt8], expected: [UInt8]) throws {
        #expect(try algorithm.decompress(body, maxLength: 1000) == expected)
    }

    // MARK: Real peers

    @Test("python lz4 blocks decompress to their inputs", arguments: CompressionVectors.lz4Python)
    func lz4FromPython(vector: CompressionVectors.Vector) throws {
        #expect(try LZ4.decompressBlock(vector.compressed, uncompressedLength: vector.plain.count) == vector.plain)
        let ours = LZ4.compressBlock(vector.plain)
        #expect(try LZ4.decompressBlock(ours, uncompressedLength: vector.plain.count) == vector.plain)
    }

    @Test("Cassandra 3.11 lz4 frame bodies decompress to what liblz4 reads", arguments: CompressionVectors.lz4Capture)
    func lz4FromCassandra(vector: CompressionVectors.Vector) throws {
        #expect(try FrameCompression.lz4.decompress(vector.compressed, maxLength: 256 << 20) == vector.plain)
        let ours = FrameCompression.lz4.compress(vector.plain)
        #expect(try FrameCompression.lz4.decompress(ours, maxLength: vector.plain.count) == vector.plain)
    }

    @Test("Cassandra 3.x snappy frame bodies decompress to what libsnappy reads", arguments: CompressionVectors.snappyCapture)
    func snappyFromCassandra(vector: CompressionVectors.Vector) throws {
        #expect(try FrameCompression.snappy.decompress(vector.compressed, maxLength: 256 << 20) == vector.plain)
        let ours = FrameCompression.snappy.compress(vector.plain)
        #expect(try FrameCompression.snappy.decompress(ours, maxLength: vector.plain.count) == vector.plain)
    }

    @Test("the committed vectors are all there")
    func vectorsPresent() {
        #expect(CompressionVectors.lz4Python.count == 19)
        #expect(CompressionVectors.lz4Capture.count == 46)
        #expect(CompressionVectors.snappyCapture.count == 38)
    }

    @Test("python lz4 and libsnappy read what we write", .enabled { await CompressionPeer.available() })
    func peersReadOurOutput() async throws {
        let inputs = CompressionSamples.all.filter { $0.bytes.count <= 300_000 }
        var request = ""
        for input in inputs {
            let lz4 = FrameCompression.lz4.compress(input.bytes)
            let snappy = FrameCompression.snappy.compress(input.bytes)
            request += "\(hex(lz4)) \(hex(snappy))\n"
        }
        let answers = try await CompressionPeer.run(request).split(separator: "\n", omittingEmptySubsequences: false)
        try #require(answers.count >= inputs.count)
        for (input, answer) in zip(inputs, answers) {
            let halves = answer.split(separator: " ", omittingEmptySubsequences: false)
            try #require(halves.count == 2, "peer answered \(answer.prefix(200)) for \(input.testDescription)")
            #expect(CompressionVectors.hex(halves[0]) == input.bytes, "python lz4 read our \(input.testDescription) differently")
            // libsnappy is a system library; without it ("-") only the lz4 direction is checked.
            if halves[1] != "-" {
                #expect(CompressionVectors.hex(halves[1]) == input.bytes, "libsnappy read our \(input.testDescription) differently")
            }
        }
    }

    // MARK: Hostile input

    @Test("every truncation of a valid body is refused", arguments: FrameCompression.allCases)
    func truncations(algorithm: FrameCompression) throws {
        for input in CompressionSamples.all where input.bytes.count > 0 && input.bytes.count <= 5000 {
            let compressed = algorithm.compress(input.bytes)
            // The empty prefix is the empty body, which is accepted on purpose.
            for length in 1..<compressed.count {
                #expect(throws: WireError.self, "\(input.testDescription) cut to \(length) bytes") {
                    try algorithm.decompress(Array(compressed.prefix(length)), maxLength: input.bytes.count)
                }
            }
        }
    }

    @Test("random bytes never trap and never yield more than declared", arguments: FrameCompression.allCases)
    func randomBytes(algorithm: FrameCompression) {
        var generator = CompressionRandom(seed: 0xC0FFEE)
        for _ in 0..<4000 {
            let count = Int.random(in: 0...300, using: &generator)
            let body = (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            expectDecodesSafely(algorithm, body, maxLength: 4096)
        }
    }

    @Test("randomly corrupted valid bodies never trap", arguments: FrameCompression.allCases)
    func corruptedBodies(algorithm: FrameCompression) {
        var generator = CompressionRandom(seed: 0xBAD5EED)
        let sources = CompressionSamples.all.filter { $0.bytes.count <= 70_000 }.map { algorithm.compress($0.bytes) }
        for round in 0..<3000 {
            var body = sources[round % sources.count]
            guard !body.isEmpty else { continue }
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                body[Int.random(in: 0..<body.count, using: &generator)] = UInt8.random(in: .min ... .max, using: &generator)
            }
            expectDecodesSafely(algorithm, body, maxLength: 1 << 20)
        }
    }

    @Test("output over maxLength is refused before decoding", arguments: FrameCompression.allCases)
    func maxLength(algorithm: FrameCompression) throws {
        let body = [UInt8](repeating: 9, count: 10_000)
        let compressed = algorithm.compress(body)
        #expect(try algorithm.decompress(compressed, maxLength: 10_000) == body)
        #expect {
            try algorithm.decompress(compressed, maxLength: 9_999)
        } throws: { error in
            guard case let .compression(name, detail) = error as? WireError else { return false }
            return name == algorithm.rawValue && detail.contains("exceeds the limit of 9999")
        }
    }

    @Test("malformed bodies are refused with a reason", arguments: [
        (FrameCompression.lz4, [0x00, 0x00, 0x01], "lacks the 4-byte length"),
        (.lz4, [0xFF, 0xFF, 0xFF, 0xFF, 0x00], "exceeds the limit"),
        (.lz4, [0x00, 0x10, 0x00, 0x00, 0x1F, 0x00, 0x01, 0x00, 0xFF], "cannot decode to the declared"),
        (.lz4, [0x00, 0x00, 0x00, 0x05, 0x10, 0x61, 0x00, 0x00], "zero match offset"),
        (.lz4, [0x00, 0x00, 0x00, 0x05, 0x10, 0x61, 0x02, 0x00], "points before the start"),
        (.lz4, [0x00, 0x00, 0x00, 0x06, 0x18, 0x61, 0x01, 0x00], "overflows the declared length"),
        (.lz4, [0x00, 0x00, 0x00, 0x05, 0x10, 0x61, 0x01, 0x00], "without its final literals"),
        (.lz4, [0x00, 0x00, 0x00, 0x02, 0x10, 0x61], "decodes to 1 bytes"),
        (.lz4, [0x00, 0x00, 0x00, 0x02, 0x30, 0x61], "run past the end"),
        (.lz4, [0x00, 0x00, 0x01, 0x00, 0xF0] + [UInt8](repeating: 0xFF, count: 3), "literal length"),
        (.snappy, [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], "longer than 5 bytes"),
        (.snappy, [0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], "exceeds 32 bits"),
        (.snappy, [0x80], "truncated uncompressed length"),
        (.snappy, [0x64, 0x00, 0x61], "cannot decode to the declared"),
        (.snappy, [0x05, 0x00, 0x61, 0x01, 0x00], "zero copy offset"),
        (.snappy, [0x05, 0x00, 0x61, 0x01, 0x02], "points before the start"),
        (.snappy, [0x05, 0x00, 0x61, 0x09, 0x01], "overflows the declared length"),
        (.snappy, [0x05, 0x00, 0x61], "decodes to 1 bytes"),
        (.snappy, [0x02, 0x08, 0x61], "run past the end"),
        (.snappy, [0x02, 0xF4, 0x01], "literal length truncated"),
        (.snappy, [0x02, 0x00, 0x61, 0x03, 0x01, 0x00], "copy offset truncated"),
    ] as [(FrameCompression, [UInt8], String)])
    func malformed(algorithm: FrameCompression, body: [UInt8], reason: String) {
        #expect {
            try algorithm.decompress(body, maxLength: 1 << 20)
        } throws: { error in
            guard case let .compression(name, detail) = error as? WireError else { return false }
            return name == algorithm.rawValue && detail.contains(reason)
        }
    }

    @Test("raw block entry points refuse impossible lengths")
    func rawEntryPoints() {
        #expect(throws: WireError.self) { try LZ4.decompressBlock([0x00], uncompressedLength: -1) }
        #expect(throws: WireError.self) { try LZ4.decompressBlock([], uncompressedLength: 1) }
        #expect(throws: WireError.self) { try Snappy.decompress([0x0A, 0x24] + Array("0123456789".utf8), maxLength: -5) }
        #expect((try? LZ4.decompressBlock([], uncompressedLength: 0)) == [])
        #expect((try? LZ4.decompressBlock([0x00], uncompressedLength: 0)) == [])
    }

    // MARK: Helpers

    private func expectDecodesSafely(_ algorithm: FrameCompression, _ body: [UInt8], maxLength: Int) {
        do {
            let output = try algorithm.decompress(body, maxLength: maxLength)
            #expect(output.count <= maxLength)
            if algorithm == .lz4, body.count >= 4 {
                let declared = Int(body[0]) << 24 | Int(body[1]) << 16 | Int(body[2]) << 8 | Int(body[3])
                #expect(output.count == declared)
            }
        } catch {
            guard case .compression = error else {
                Issue.record("unexpected error \(error)")
                return
            }
        }
    }

    private struct Sequence {
        var literalCount: Int
        var matchStart: Int
        var matchLength: Int
    }

    /// Walks an LZ4 block the way the format document describes it, independently of the decoder.
    private func lz4Sequences(_ block: [UInt8]) throws -> [Sequence] {
        var sequences: [Sequence] = []
        var position = 0
        var out = 0
        func length(_ start: Int) throws -> Int {
            var total = start
            guard start == 15 else { return total }
            while true {
                let byte = try #require(position < block.count ? block[position] : nil)
                position += 1
                total += Int(byte)
                if byte != 255 { return total }
            }
        }
        while position < block.count {
            let token = block[position]
            position += 1
            let literals = try length(Int(token >> 4))
            position += literals
            out += literals
            if position >= block.count {
                sequences.append(Sequence(literalCount: literals, matchStart: out, matchLength: 0))
                break
            }
            position += 2
            let match = try length(Int(token & 15)) + 4
            sequences.append(Sequence(literalCount: literals, matchStart: out, matchLength: match))
            out += match
        }
        return sequences
    }

    private func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// The python `lz4` package (the reference C library) and, when the system has it, Google's
/// libsnappy through ctypes; `scripts/test.sh` installs `lz4`, and the test is skipped without it.
enum CompressionPeer {
    static let script = #"""
import ctypes, ctypes.util, struct, sys
import lz4.block
path = ctypes.util.find_library("snappy")
snappy = ctypes.CDLL(path) if path else None
if snappy:
    snappy.snappy_uncompressed_length.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
    snappy.snappy_uncompress.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t)]
def unsnappy(data):
    if snappy is None: return None
    n = ctypes.c_size_t()
    if snappy.snappy_uncompressed_length(data, len(data), ctypes.byref(n)) != 0: return b"snappy-error"
    out = ctypes.create_string_buffer(max(n.value, 1))
    if snappy.snappy_uncompress(data, len(data), out, ctypes.byref(n)) != 0: return b"snappy-error"
    return out.raw[:n.value]
for line in sys.stdin:
    lz, sn = (bytes.fromhex(part) for part in line.split(" "))
    size = struct.unpack(">I", lz[:4])[0]
    try:
        plain = lz4.block.decompress(lz[4:], uncompressed_size=size) if size else b""
    except Exception as error:
        plain = b"lz4-error"
    snappy_plain = unsnappy(sn)
    print(plain.hex(), "-" if snappy_plain is None else snappy_plain.hex())
"""#

    /// Whether python3 has the lz4 module (scripts/test.sh installs it), checked once.
    static func available() async -> Bool { await probe.value }

    private static let probe = Task {
        (try? await Command.run("python3", ["-c", "import lz4.block; print('ok')"], timeout: .seconds(60)))?.stdout.hasPrefix("ok") == true
    }

    /// The peer's answer lines for request lines `lz4-hex snappy-hex` (empty when the peer failed).
    static func run(_ input: String) async throws -> String {
        let outcome = try await Command.run("python3", ["-c", script], input: input, timeout: .seconds(300))
        return outcome.status == 0 ? outcome.stdout : ""
    }
}
