import CQLWire
import Foundation
@testable import CQLNode

/// Serialized values and a small fixture schema shared by the storage tests.
enum StorageFixture {
    static func int(_ value: Int32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * Int32($0))) }
    }

    static func bigint(_ value: Int64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * Int64($0))) }
    }

    static func text(_ value: String) -> [UInt8] { Array(value.utf8) }

    static func decodeInt(_ bytes: [UInt8]?) -> Int32? {
        guard let bytes, bytes.count == 4 else { return nil }
        return bytes.reduce(0) { $0 << 8 | Int32($1) }
    }

    static func decodeBigint(_ bytes: [UInt8]?) -> Int64? {
        guard let bytes, bytes.count == 8 else { return nil }
        return bytes.reduce(0) { $0 << 8 | Int64($1) }
    }

    /// A collection value as the protocol serializes it (`[int n]` then `[bytes]` each).
    static func collection(_ elements: [[UInt8]]) -> [UInt8] {
        var writer = ByteWriter()
        writer.writeInt32(Int32(elements.count))
        for element in elements { writer.writeBytes(element) }
        return writer.bytes
    }

    static let keyspace = KeyspaceSchema(name: "ks", replication: [("class", "SimpleStrategy"), ("replication_factor", "1")])

    /// `CREATE TABLE ks.t (pk int, ck int, s text static, v text, w int, l list<text>, st set<int>, m map<text,int>,
    /// PRIMARY KEY (pk, ck))`.
    static let table = TableSchema(keyspace: "ks", name: "t", columns: [
        ColumnSchema(name: "pk", type: .int, kind: .partitionKey(position: 0)),
        ColumnSchema(name: "ck", type: .int, kind: .clustering(position: 0, order: .ascending)),
        ColumnSchema(name: "s", type: .varchar, kind: .static),
        ColumnSchema(name: "v", type: .varchar, kind: .regular),
        ColumnSchema(name: "w", type: .int, kind: .regular),
        ColumnSchema(name: "l", type: .list(.varchar), kind: .regular),
        ColumnSchema(name: "st", type: .set(.int), kind: .regular),
        ColumnSchema(name: "m", type: .map(key: .varchar, value: .int), kind: .regular),
    ])

    /// A storage with `ks` and `ks.t` created.
    static func storage(_ options: StorageOptions = StorageOptions()) throws -> Storage {
        let storage = try Storage(options: options)
        _ = try storage.apply(.createKeyspace(keyspace, ifNotExists: true))
        _ = try storage.apply(.createTable(table, ifNotExists: true))
        return storage
    }

    static func mutation(_ pk: Int32, _ operations: [MutationOperation], now: Int32 = 1_000, table: TableSchema = table) -> Mutation {
        Mutation(tableID: table.id, partitionKey: int(pk), operations: operations, nowInSeconds: now)
    }

    static func set(_ ck: Int32, _ column: String, _ value: [UInt8], ts: Int64, ttl: Int32? = nil) -> MutationOperation {
        .setColumn(clustering: [int(ck)], column: column, value: value, timestamp: ts, ttl: ttl)
    }

    static func rows(_ storage: Storage, _ pk: Int32, query: ReadQuery = ReadQuery(now: 1_000)) throws -> [StoredRow] {
        try storage.read(table: table.id, partitionKey: int(pk), query: query).rows
    }

    static func text(of row: StoredRow?, _ column: String) -> String? {
        guard case let .cell(cell)? = row?.columns[column] else { return nil }
        return String(decoding: cell.value, as: UTF8.self)
    }

    static func elements(of row: StoredRow?, _ column: String) -> [[UInt8]] {
        guard case let .cells(cells)? = row?.columns[column] else { return [] }
        return cells.map { $0.cell.value }
    }

    static func paths(of row: StoredRow?, _ column: String) -> [[UInt8]] {
        guard case let .cells(cells)? = row?.columns[column] else { return [] }
        return cells.map(\.path)
    }
}
