import CQLWire
import Foundation
import Testing
@testable import CQLNode

@Suite("Storage: schema catalog and Cassandra's error messages")
struct StorageSchemaTests {
    typealias F = StorageFixture

    @Test("errors carry Cassandra's wording")
    func messages() throws {
        let storage = try F.storage()
        let cases: [(SchemaMutation, String, Bool)] = [
            (.createKeyspace(F.keyspace, ifNotExists: false), "Cannot add existing keyspace \"ks\"", true),
            (.createTable(F.table, ifNotExists: false), "Cannot add already existing table \"t\" to keyspace \"ks\"", true),
            (.dropKeyspace("x", ifExists: false), "Keyspace 'x' doesn't exist", false),
            (.dropTable(keyspace: "ks", table: "nope", ifExists: false), "Table 'ks.nope' doesn't exist", false),
            (.alterTable(keyspace: "ks", table: "t", .addColumns([ColumnSchema(name: "v", type: .int, kind: .regular)]), ifExists: false),
             "Column with name 'v' already exists", false),
            (.alterTable(keyspace: "ks", table: "t", .dropColumns(["zz"]), ifExists: false), "Column zz was not found in table 'ks.t'", false),
            (.alterTable(keyspace: "ks", table: "t", .dropColumns(["ck"]), ifExists: false), "Cannot drop PRIMARY KEY column ck", false),
            (.truncateTable(keyspace: "ks", table: "nope"), "table nope does not exist", false),
            (.truncateTable(keyspace: "nope", table: "t"), "Keyspace nope does not exist", false),
        ]
        for (change, message, alreadyExists) in cases {
            do {
                _ = try storage.apply(change)
                Issue.record("expected an error: \(message)")
            } catch {
                #expect(error.description == message)
                #expect(error.isAlreadyExists == alreadyExists)
            }
        }
        #expect(StorageError.undefinedColumn("x").description == "Undefined column name x")
        #expect(StorageError.keyspaceNotFoundQuoted("x").description == "Keyspace 'x' does not exist")
        #expect(throws: StorageError.unconfiguredTable(keyspace: "ks", table: "zz")) { try storage.catalog.table(keyspace: "ks", name: "zz") }
    }

    @Test("IF [NOT] EXISTS turns conflicts into no-ops that are not logged")
    func conditional() throws {
        let storage = try F.storage()
        #expect(try storage.apply(.createKeyspace(F.keyspace, ifNotExists: true)) == .unchanged)
        #expect(try storage.apply(.createTable(F.table, ifNotExists: true)) == .unchanged)
        #expect(try storage.apply(.dropTable(keyspace: "ks", table: "nope", ifExists: true)) == .unchanged)
        #expect(try storage.apply(.dropKeyspace("nope", ifExists: true)) == .unchanged)
    }

    @Test("alter table adds and drops columns and options; dropped data does not come back")
    func alter() throws {
        let storage = try F.storage()
        try storage.apply([F.mutation(1, [F.set(1, "v", F.text("a"), ts: 1), F.set(1, "w", F.int(1), ts: 1)])])
        _ = try storage.apply(.alterTable(keyspace: "ks", table: "t", .dropColumns(["v"]), ifExists: false))
        _ = try storage.apply(.alterTable(keyspace: "ks", table: "t", .addColumns([ColumnSchema(name: "v", type: .varchar, kind: .regular)]), ifExists: false))
        _ = try storage.apply(.alterTable(keyspace: "ks", table: "t", .setOptions([("comment", "hello"), ("gc_grace_seconds", "3600")]), ifExists: false))
        let table = try storage.catalog.table(keyspace: "ks", name: "t")
        #expect(table.columns.last?.name == "v")
        #expect(table.option("comment") == "hello")
        #expect(table.gcGraceSeconds == 3600)
        let row = try F.rows(storage, 1).first
        #expect(row?.columns["v"] == nil)
        #expect(row?.columns["w"] != nil)
    }

    @Test("user types: create, refuse a duplicate, refuse dropping one in use, drop")
    func userTypes() throws {
        let storage = try F.storage()
        let address = UserTypeSchema(keyspace: "ks", name: "address", fields: [.init(name: "street", type: .varchar)])
        _ = try storage.apply(.createType(address, ifNotExists: false))
        #expect(throws: StorageError.typeAlreadyExists(keyspace: "ks", type: "address")) {
            _ = try storage.apply(.createType(address, ifNotExists: false))
        }
        let table = TableSchema(keyspace: "ks", name: "people", columns: [
            ColumnSchema(name: "id", type: .int, kind: .partitionKey(position: 0)),
            ColumnSchema(name: "home", type: address.dataType, kind: .regular, isFrozen: true),
        ])
        _ = try storage.apply(.createTable(table, ifNotExists: false))
        #expect(throws: StorageError.typeInUse(keyspace: "ks", type: "address", usedBy: "ks.people")) {
            _ = try storage.apply(.dropType(keyspace: "ks", name: "address", ifExists: false))
        }
        _ = try storage.apply(.dropTable(keyspace: "ks", table: "people", ifExists: false))
        _ = try storage.apply(.dropType(keyspace: "ks", name: "address", ifExists: false))
        #expect(storage.catalog.keyspaces["ks"]?.userTypes.isEmpty == true)
    }

    @Test("table definitions Cassandra refuses", arguments: [
        ([ColumnSchema(name: "pk", type: .int, kind: .partitionKey(position: 0)), ColumnSchema(name: "s", type: .int, kind: .static)],
         "Static columns are only useful (and thus allowed) if the table has at least one clustering column"),
        ([ColumnSchema(name: "pk", type: .int, kind: .partitionKey(position: 0)), ColumnSchema(name: "c", type: .counter, kind: .regular),
          ColumnSchema(name: "v", type: .int, kind: .regular)],
         "Cannot mix counter and non counter columns in the same table"),
        ([ColumnSchema(name: "pk", type: .int, kind: .partitionKey(position: 0)), ColumnSchema(name: "pk", type: .int, kind: .regular)],
         "Multiple definition of identifier pk"),
    ])
    func invalidTables(columns: [ColumnSchema], message: String) throws {
        let storage = try F.storage()
        #expect(throws: StorageError.invalidRequest(message)) {
            _ = try storage.apply(.createTable(TableSchema(keyspace: "ks", name: "bad", columns: columns), ifNotExists: false))
        }
    }

    @Test("truncate and drop keyspace remove data; replication factor is read per strategy")
    func truncateAndDrop() throws {
        let storage = try F.storage()
        try storage.apply([F.mutation(1, [F.set(1, "v", F.text("a"), ts: 1)])])
        _ = try storage.apply(.truncateTable(keyspace: "ks", table: "t"))
        #expect(try F.rows(storage, 1).isEmpty)
        #expect(storage.catalog.keyspaces["ks"]?.replicationFactor() == 1)
        let nts = KeyspaceSchema(name: "n", replication: [("class", "NetworkTopologyStrategy"), ("datacenter1", "3")])
        #expect(nts.replicationFactor() == 3)
        _ = try storage.apply(.dropKeyspace("ks", ifExists: false))
        #expect(throws: StorageError.unknownTableID(F.table.id.uuidString)) {
            _ = try storage.read(table: F.table.id, partitionKey: F.int(1), query: ReadQuery(now: 0))
        }
    }
}

@Suite("Storage: partition keys and non-frozen UDTs")
struct StorageKeyTests {
    typealias F = StorageFixture

    @Test("composite partition keys split back into their components")
    func compositeKeys() {
        let table = TableSchema(keyspace: "ks", name: "k", columns: [
            ColumnSchema(name: "a", type: .varchar, kind: .partitionKey(position: 0)),
            ColumnSchema(name: "b", type: .int, kind: .partitionKey(position: 1)),
        ])
        let key = table.partitionKey([F.text("shard"), F.int(7)])
        #expect(table.partitionKeyComponents(key) == [F.text("shard"), F.int(7)])
        #expect(table.partitionKeyComponents(Array(key.dropLast())) == nil)
        #expect(F.table.partitionKeyComponents(F.int(3)) == [F.int(3)])
    }

    @Test("non-frozen UDT fields are cells; the value assembles in field order with nulls")
    func userTypeFields() throws {
        let storage = try F.storage()
        let type = UserTypeSchema(keyspace: "ks", name: "pair", fields: [.init(name: "x", type: .int), .init(name: "y", type: .varchar)])
        _ = try storage.apply(.createType(type, ifNotExists: false))
        let table = TableSchema(keyspace: "ks", name: "u", columns: [
            ColumnSchema(name: "pk", type: .int, kind: .partitionKey(position: 0)),
            ColumnSchema(name: "p", type: type.dataType, kind: .regular),
        ])
        _ = try storage.apply(.createTable(table, ifNotExists: false))
        try storage.apply([F.mutation(1, [.collection(clustering: [], column: "p", .setField(index: 1, value: F.text("hi")), timestamp: 1, ttl: nil)], table: table)])
        let row = try storage.read(table: table.id, partitionKey: F.int(1), query: ReadQuery(now: 1_000)).rows.first
        var expected = ByteWriter()
        expected.writeBytes(nil)
        expected.writeBytes(F.text("hi"))
        #expect(row?.columns["p"]?.serialized(as: type.dataType) == expected.bytes)
    }

    @Test("a data directory is locked against a second open")
    func directoryLock() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cqlnode-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try Storage(options: StorageOptions(dataDirectory: directory))
        #expect(throws: StorageError.self) { _ = try Storage(options: StorageOptions(dataDirectory: directory)) }
        first.close()
        let second = try Storage(options: StorageOptions(dataDirectory: directory))
        second.close()
    }
}
