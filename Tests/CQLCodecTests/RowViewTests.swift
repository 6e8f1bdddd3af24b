import Foundation
import Testing
@testable import CQLCodec

@Suite("RowView: zero-copy rows")
struct RowViewTests {
    @Test("cells by index and name, nulls as nil ranges")
    func access() throws {
        let rows = try RowFixtures.rows(RowFixtures.jobColumns, [RowFixtures.jobRow(7, score: .double(2.5)), RowFixtures.jobRow(8)])
        let views = Array(rows)
        #expect(views.count == 2)
        let row = views[0]
        #expect(row.count == 7)
        #expect(row.columns.map(\.name) == RowFixtures.jobColumns.map(\.name))
        #expect(try row.decode(UUID.self, at: 0) == ValueFixtures.randomUUID)
        #expect(try row.decode(String.self, named: "name") == "job")
        #expect(try row.decode(Int64.self, named: "attempt") == 7, "int widens to Int64")
        #expect(try row.decode(Double?.self, named: "score") == 2.5)
        #expect(try row.decode([String].self, named: "tags") == ["a", "b"])
        #expect(try row.decode(Date.self, named: "created").timeIntervalSince1970 == 1_704_164_645.678)
        #expect(try row.value(named: "home") == RowFixtures.jobRow(7)[5])
        #expect(try views[1].bytes(at: 3) == nil)
        #expect(try views[1].decode(Double?.self, at: 3) == nil)
        let range = try #require(try row.bytes(at: 1))
        #expect(Array(row.buffer[range]) == Array("job".utf8))
        #expect(try row.values() == RowFixtures.jobRow(7, score: .double(2.5)))
        #expect(try row[2] == .int(7))
        #expect(try row["name"] == .text("job"))
        #expect(try views[1]["score"] == .null)
        #expect(row.cells.map(\.index) == Array(0..<7))
        #expect(row.cells.map { $0.range == nil } == [false, false, false, false, false, false, false])
    }

    @Test("errors name the column")
    func errors() throws {
        let rows = try RowFixtures.rows(RowFixtures.jobColumns, [RowFixtures.jobRow(1)])
        let row = try #require(rows.first)
        #expect(throws: WireError.typeMismatch(expected: "String (from text, varchar or ascii)", actual: "int in column \"attempt\"")) {
            try row.decode(String.self, named: "attempt")
        }
        #expect(throws: WireError.invalidValue(what: "column \"score\"", detail: "unexpected null for non-optional Double")) {
            try row.decode(Double.self, named: "score")
        }
        #expect(throws: WireError.self) { try row.decode(Int32.self, named: "missing") }
        #expect(throws: WireError.self) { try row.bytes(at: 7) }
        #expect(throws: WireError.self) { try row.bytes(at: -1) }
        let error = WireError.invalidValue(what: "column \"score\"", detail: "unexpected null for non-optional Double")
        #expect(error.description == "invalid column \"score\": unexpected null for non-optional Double")
    }

    @Test("malformed rows stop iteration and make validate and decode throw")
    func malformed() throws {
        let good = try RowFixtures.rows([RowFixtures.column("n", .int)], [[.int(1)], [.int(2)]])
        try good.validate()
        for cut in 1..<8 {
            var truncated = good
            truncated.contentRange = good.contentRange.lowerBound..<(good.contentRange.upperBound - cut)
            var iterator = truncated.makeIterator()
            var seen = 0
            while iterator.next() != nil { seen += 1 }
            #expect(seen == 1, "cut \(cut)")
            #expect(iterator.error != nil)
            #expect(throws: WireError.self) { try truncated.validate() }
            #expect(throws: WireError.self) { try truncated.decode(Int32.self) }
            #expect(throws: WireError.self) { try truncated.rowViews() }
        }
        var hostile = good
        hostile.buffer[hostile.contentRange.lowerBound] = 0x7F
        #expect(Array(hostile).isEmpty)
        var overcounted = good
        overcounted.rowCount = 3
        #expect(Array(overcounted).count == 2)
        #expect(throws: WireError.self) { try overcounted.validate() }
        let trailing = try RowFixtures.rows([RowFixtures.column("n", .int)], [[.int(1)]], trailing: [0])
        #expect(throws: WireError.trailingBytes(what: "rows content", count: 1)) { try trailing.validate() }
        var outside = good
        outside.contentRange = 0..<(good.buffer.count + 10)
        #expect(throws: WireError.self) { try outside.validate() }
    }

    @Test("a row view can be made and checked from raw offsets")
    func rawView() throws {
        let rows = try RowFixtures.rows([RowFixtures.column("a", .int), RowFixtures.column("b", .varchar)], [[.int(1), .null]])
        let view = try RowView(buffer: rows.buffer, columns: rows.metadata.columns, count: 2, start: rows.contentRange.lowerBound)
        #expect(view.range == rows.contentRange)
        #expect(throws: WireError.self) {
            try RowView(buffer: rows.buffer, columns: rows.metadata.columns, count: 3, start: rows.contentRange.lowerBound)
        }
    }

    @Test("iterating 5000 rows through views")
    func manyRows() throws {
        let columns = [RowFixtures.column("id", .bigint), RowFixtures.column("name", .varchar), RowFixtures.column("flag", .boolean)]
        let input = (0..<5000).map { [CQLValue.bigint(Int64($0)), .text("row \($0)"), $0 % 3 == 0 ? .null : .boolean(true)] }
        let rows = try RowFixtures.rows(columns, input)
        var sum: Int64 = 0
        var nulls = 0
        var nameBytes = 0
        for row in rows {
            sum += try row.decode(Int64.self, at: 0)
            nameBytes += try row.bytes(at: 1)?.count ?? 0
            if try row.decode(Bool?.self, at: 2) == nil { nulls += 1 }
        }
        #expect(sum == 4999 * 5000 / 2)
        #expect(nulls == 1667)
        #expect(nameBytes == input.map { $0[1].cqlLiteral.utf8.count }.reduce(0, +))
        #expect(rows.capacityHint == 5000)
        #expect(Array(rows).count == 5000)
    }
}


/// Hand-built rows results: each cell a `[bytes]`, preceded by unrelated bytes so offsets are non-zero.
enum RowFixtures {
    static func column(_ name: String, _ type: DataType) -> ColumnSpec {
        ColumnSpec(keyspace: "ks", table: "t", name: name, type: type)
    }

    static func rows(_ columns: [ColumnSpec], _ rows: [[CQLValue]], trailing: [UInt8] = []) throws -> Rows {
        var writer = ByteWriter()
        writer.writeRaw([0xDE, 0xAD, 0xBE, 0xEF])
        let start = writer.count
        for row in rows {
            for (value, column) in zip(row, columns) { writer.writeBytes(try value.encode(as: column.type)) }
        }
        writer.writeRaw(trailing)
        return Rows(metadata: RowsMetadata(columns: columns), rowCount: rows.count, buffer: writer.bytes,
                    contentRange: start..<writer.count)
    }

    static let jobColumns = [
        column("job_id", .uuid), column("name", .varchar), column("attempt", .int), column("score", .double),
        column("tags", .list(.varchar)), column("home", .udt(ValueFixtures.address)), column("created", .timestamp),
    ]

    static func jobRow(_ index: Int, name: CQLValue = .text("job"), score: CQLValue = .null) -> [CQLValue] {
        [.uuid(ValueFixtures.randomUUID), name, .int(Int32(index)), score, .list([.text("a"), .text("b")]),
         .udt([CQLUDTField(name: "street", value: .text("Main")), CQLUDTField(name: "zip", value: .int(12345)),
               CQLUDTField(name: "tags", value: .null)]),
         .timestamp(1_704_164_645_678)]
    }
}
