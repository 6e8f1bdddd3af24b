import Foundation
@testable import CQLCodec
@testable import CQLWire

/// Byte vectors from `Fixtures/` (provenance in `Fixtures/MANIFEST.md`), located from this file.
enum FrameFixtures {
    /// The repository root: three levels above `Tests/CQLWireTests/FrameFixtures.swift`.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Why a fixture could not be used.
    struct FixtureError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses a `.hex` vectors file: a `# name …` comment line followed by one line of hex.
    static func hexVectors(_ relativePath: String) throws -> [String: [UInt8]] {
        let url = repositoryRoot.appendingPathComponent(relativePath)
        let text = try String(contentsOf: url, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var vectors: [String: [UInt8]] = [:]
        for (index, line) in lines.enumerated() where line.hasPrefix("# ") && index + 1 < lines.count {
            let next = lines[index + 1].trimmingCharacters(in: .whitespaces)
            guard !next.hasPrefix("#"), let name = line.dropFirst(2).split(separator: " ").first else { continue }
            let key = String(name).trimmingCharacters(in: CharacterSet(charactersIn: ":"))
            guard let bytes = bytes(hex: next) else { throw FixtureError(description: "\(relativePath): bad hex for \(key)") }
            vectors[key] = bytes
        }
        return vectors
    }

    /// One vector by name, or an error naming what is missing.
    static func vector(_ name: String, in relativePath: String) throws -> [UInt8] {
        guard let bytes = try hexVectors(relativePath)[name] else {
            throw FixtureError(description: "\(relativePath) has no vector \(name)")
        }
        return bytes
    }

    /// Bytes from hex text; nil when the text is not hex.
    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
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

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Hex text of bytes, for readable failure messages.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    /// A frame parsed from complete frame bytes.
    static func frame(_ bytes: [UInt8]) throws -> Frame {
        var decoder = FrameDecoder()
        decoder.append(bytes)
        guard let frame = try decoder.nextFrame(), decoder.bufferedCount == 0 else {
            throw FixtureError(description: "not exactly one frame: \(hex(bytes))")
        }
        return frame
    }

    /// A request frame around a body, as a client would send it.
    static func requestFrame(_ opcode: Opcode, body: [UInt8], flags: FrameFlags = [], stream: Int16 = 0) -> Frame {
        Frame(header: FrameHeader(isResponse: false, flags: flags, stream: stream, opcode: opcode.rawValue,
                                  length: Int32(body.count)), body: body)
    }

    /// A response frame around a body, as a server would send it.
    static func responseFrame(_ opcode: Opcode, body: [UInt8], flags: FrameFlags = [], stream: Int16 = 0) -> Frame {
        Frame(header: FrameHeader(isResponse: true, flags: flags, stream: stream, opcode: opcode.rawValue,
                                  length: Int32(body.count)), body: body)
    }
}
