import Foundation
@testable import CQLWire

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
