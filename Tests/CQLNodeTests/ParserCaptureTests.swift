import Foundation
import Testing
@testable import CQLNode

/// Statements real clients sent to Apache Cassandra 3.11.10, and its syntax errors, from the
/// reference captures in Fixtures/ (see Fixtures/MANIFEST.md for their provenance).
@Suite("CQL parser against recorded Cassandra traffic")
struct ParserCaptureTests {
    /// A QUERY a client sent, and the ERROR 0x2000 message Cassandra answered it with, if any.
    struct RecordedQuery: Sendable, CustomStringConvertible {
        var file: String
        var query: String
        var syntaxError: String?
        var description: String { "\(file): \(query)" }
    }

    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// Finds v4 QUERY frames and ERROR 0x2000 frames in a capture's bytes by their headers; the
    /// captures are small and each frame sits in one TCP segment, so a byte scan finds them all.
    static func recordedQueries(in file: String) -> [RecordedQuery] {
        guard let data = try? Data(contentsOf: fixtures.appendingPathComponent(file)) else { return [] }
        let bytes = [UInt8](data)
        func int32(_ offset: Int) -> Int {
            Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
        }
        var pendingByStream: [Int: Int] = [:]
        var recorded: [RecordedQuery] = []
        var offset = 0
        while offset + 15 <= bytes.count {
            defer { offset += 1 }
            let stream = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            if bytes[offset] == 0x04, bytes[offset + 1] == 0x00, bytes[offset + 4] == 0x07 {
                let length = int32(offset + 9)
                guard length > 0, length < 100_000, offset + 13 + length <= bytes.count,
                      let query = String(validating: bytes[(offset + 13)..<(offset + 13 + length)], as: UTF8.self),
                      query.first?.isLetter == true else { continue }
                pendingByStream[stream] = recorded.count
                recorded.append(RecordedQuery(file: file, query: query))
            } else if bytes[offset] == 0x84, bytes[offset + 4] == 0x00, int32(offset + 9) == 0x2000,
                      let index = pendingByStream[stream] {
                let length = Int(bytes[offset + 13]) << 8 | Int(bytes[offset + 14])
                guard offset + 15 + length <= bytes.count else { continue }
                recorded[index].syntaxError = String(decoding: bytes[(offset + 15)..<(offset + 15 + length)], as: UTF8.self)
            }
        }
        return recorded
    }

    static let queries: [RecordedQuery] = [
        "captures-c311/errors.pcap", "captures-c311/lwt.pcap", "captures-c311/batch.pcap", "captures-c311/paging.pcap",
        "captures-c311/types.pcap", "captures-c311/events.pcap", "captures-c311/negotiation.pcap",
        "captures/cassandra_create_keyspace.pcap", "captures/cassandra_create_table.pcap", "captures/cassandra_create_index.pcap",
        "captures/cassandra_insert.pcap", "captures/cassandra_select.pcap", "captures/cassandra_select_via_index.pcap",
        "captures/cassandra_mixed_frame.pcap",
    ].flatMap(recordedQueries(in:)).reduce(into: [RecordedQuery]()) { unique, query in
        if !unique.contains(where: { $0.query == query.query }) { unique.append(query) }
    }

    @Test("the captures hold the statements and the syntax error this suite relies on")
    func corpus() {
        #expect(Self.queries.count > 40)
        #expect(Self.queries.contains { $0.syntaxError != nil })
    }

    @Test("what Cassandra accepted parses, and what it refused fails with its message", arguments: queries)
    func recorded(_ recorded: RecordedQuery) {
        if let expected = recorded.syntaxError {
            #expect {
                try CQLParser.parse(recorded.query)
            } throws: { error in
                (error as? CQLSyntaxError)?.message == expected
            }
        } else {
            #expect(throws: Never.self) { try CQLParser.parse(recorded.query) }
        }
    }
}
