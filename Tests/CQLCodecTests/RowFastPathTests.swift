import Foundation
import Testing
@testable import CQLCodec

/// Keeps the decoder it was made from, to prove a reused row cursor never changes under it.
private struct KeepsDecoder: Decodable {
    var id: Int32
    var decoder: any Decoder

    init(from decoder: any Decoder) throws {
        id = try decoder.container(keyedBy: CodingKeys.self).decode(Int32.self, forKey: .id)
        self.decoder = decoder
    }

    private enum CodingKeys: String, CodingKey { case id }

    /// Reads `id` again through the kept decoder.
    func reread() throws -> Int32 {
        try decoder.container(keyedBy: CodingKeys.self).decode(Int32.self, forKey: .id)
    }
}

/// Two columns read by name, for the duplicate-name cases.
struct FastPathNamed: Decodable, Equatable {
    var a: Int32
    var b: Int32
}

@Suite("Row fast paths")
struct RowFastPathTests {
    static func int(_ value: Int32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    static func rows(_ names: [String], _ cells: [[[UInt8]?]]) throws -> Rows {
        let columns = names.map { ColumnSpec(keyspace: "ks", table: "t", name: $0, type: .int) }
        return try Rows(metadata: RowsMetadata(columns: columns), cells: cells)
    }

    @Test("a decoder kept by a decoded value still reads its own row")
    func escapedDecoder() throws {
        let values = try Self.rows(["id"], [[Self.int(1)], [Self.int(2)], [Self.int(3)]]).decode(KeepsDecoder.self)
        #expect(try values.map { try $0.reread() } == [1, 2, 3])
    }

    @Test("a repeated column name resolves to its first column, in and out of order", arguments: [
        (["a", "b", "a"], FastPathNamed(a: 10, b: 20)),
        (["b", "a", "a"], FastPathNamed(a: 20, b: 10)),
        (["a", "a", "b"], FastPathNamed(a: 10, b: 30)),
    ])
    func duplicateNames(names: [String], expected: FastPathNamed) throws {
        let rows = try Self.rows(names, [[Self.int(10), Self.int(20), Self.int(30)], [Self.int(10), Self.int(20), Self.int(30)]])
        #expect(try rows.decode(FastPathNamed.self) == [expected, expected])
    }

    @Test("text takes the ASCII fast path only when it is ASCII; invalid UTF-8 still throws", arguments: [
        ([UInt8]("plain ascii text, longer than one word".utf8), "plain ascii text, longer than one word" as String?),
        ([UInt8]("café".utf8), "café"),
        ([0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0xFF], nil),
        ([0xC3], nil),
        ([0xED, 0xA0, 0x80], nil),
    ])
    func text(bytes: [UInt8], expected: String?) {
        let padded = [0, 1] + bytes + [2]
        let range = 2..<(2 + bytes.count)
        let decoded = try? String(cqlBytes: padded, range: range, type: .varchar)
        #expect(decoded == expected)
    }

    @Test("a non-ASCII byte in an ascii column is refused")
    func asciiColumn() {
        #expect(throws: WireError.self) { try String(cqlBytes: Array("é".utf8), range: 0..<2, type: .ascii) }
    }

    @Test("row views from hostile lengths end iteration or throw, never trap", arguments: [
        [0x00, 0x00, 0x00, 0x05, 0x01],
        [0x7F, 0xFF, 0xFF, 0xFF],
        [0x00, 0x00],
    ] as [[UInt8]])
    func hostileCells(content: [UInt8]) throws {
        let rows = Rows(metadata: RowsMetadata(columns: [ColumnSpec(keyspace: "k", table: "t", name: "x", type: .blob)]),
                        rowCount: 1, buffer: content, contentRange: 0..<content.count)
        #expect(throws: WireError.self) { try rows.validate() }
        var iterator = rows.makeIterator()
        #expect(iterator.next()?.count == nil)
        #expect(iterator.error != nil)
    }

    @Test("a frame filling the whole buffer is returned intact and the decoder starts afresh")
    func wholeFrame() throws {
        let body: [UInt8] = [0, 0, 0, 1]
        let frame: [UInt8] = [0x84, 0, 0, 7, 0x08, 0, 0, 0, 4] + body
        var decoder = FrameDecoder()
        decoder.append(frame)
        let first = try #require(try decoder.nextFrame())
        #expect(first.body == body)
        #expect(decoder.bufferedCount == 0)
        decoder.append(frame + frame)
        #expect(try decoder.nextFrame()?.body == body)
        #expect(try decoder.nextFrame()?.body == body)
        #expect(try decoder.nextFrame() == nil)
    }
}
