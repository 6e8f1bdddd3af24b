import CQLWire
import Foundation
import Testing

/// Real frames cut short or damaged are the hostile input a client or server actually meets
/// (a peer that dies mid-write, a proxy that corrupts). Every v4 body layout is prefix-free,
/// so a strict prefix of a real body must be refused with a typed error; damaged bytes must
/// never trap the decoder.
@Suite("Capture conformance: damaged frames")
struct CaptureRobustnessTests {
    /// Prefix lengths to try: every one for short bodies, the edges and an even spread for long ones.
    static func cuts(_ count: Int) -> [Int] {
        guard count > 96 else { return Array(0 ..< count) }
        let spread = stride(from: 32, to: count - 32, by: max(1, (count - 64) / 64))
        return Array(0 ..< 32) + Array(spread) + Array(count - 32 ..< count)
    }

    /// The decodable v4 frames of a capture, decompressed, one per distinct opcode and body length.
    static func plainFrames(_ file: String) throws -> [(CapturedFrame, Frame)] {
        var seen: Set<[Int]> = []
        return try CaptureCorpus.frames(file).compactMap { captured in
            guard captured.raw.protocolVersion == 4,
                  seen.insert([Int(captured.raw.opcode), captured.raw.body.count, captured.raw.isResponse ? 1 : 0]).inserted
            else { return nil }
            var frame = captured.frame
            if frame.header.flags.contains(.compression) {
                let algorithm = try #require(captured.compression)
                frame.body = try algorithm.decompress(frame.body, maxLength: 1 << 28)
                frame.header.flags.remove(.compression)
            }
            frame.header.length = Int32(frame.body.count)
            return (captured, frame)
        }
    }

    static func decode(_ frame: Frame) throws {
        if frame.header.isResponse {
            _ = try frame.decodeResponse(compression: nil)
        } else {
            _ = try frame.decodeRequest(compression: nil)
        }
    }

    @Test("every strict prefix of a captured body is refused with a WireError", arguments: CaptureCorpus.files)
    func truncatedBodies(_ file: String) throws {
        var tried = 0
        for (captured, frame) in try Self.plainFrames(file) {
            try Self.decode(frame)
            for cut in Self.cuts(frame.body.count) {
                var short = frame
                short.body = Array(frame.body.prefix(cut))
                short.header.length = Int32(cut)
                tried += 1
                do {
                    try Self.decode(short)
                    Issue.record("a \(cut)-byte prefix decoded: \(captured)")
                } catch {
                    // Any typed WireError is the right answer; the type system guarantees the type.
                }
            }
        }
        #expect(tried > 0)
    }

    @Test("bytes overwritten anywhere in a captured body never trap the decoder", arguments: CaptureCorpus.files)
    func damagedBodies(_ file: String) throws {
        var generator = CaptureDamageRandom(seed: 0x5EED_CAFE)
        for (_, frame) in try Self.plainFrames(file) where !frame.body.isEmpty {
            for _ in 0 ..< 32 {
                var damaged = frame
                let position = Int(generator.next() % UInt64(frame.body.count))
                // 0xFF and 0x7F turn lengths and counts negative or huge, the cases that hurt most.
                damaged.body[position] = [0xFF, 0x7F, 0x00, 0x80, UInt8(truncatingIfNeeded: generator.next())][Int(generator.next() % 5)]
                _ = try? Self.decode(damaged)
                if damaged.header.isResponse, case let .result(.rows(rows))? = try? damaged.decodeResponse(compression: nil).message,
                   let cells = try? rows.cellValues() {
                    for row in cells {
                        for (column, cell) in zip(rows.metadata.columns, row) {
                            if let cell { _ = try? CQLValue.decode(cell, as: column.type) }
                        }
                    }
                }
            }
        }
    }
}

/// A small deterministic generator so a failing case can be replayed exactly.
struct CaptureDamageRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
