import CQLWire
import Foundation
import Testing
@testable import CQLNode

@Suite("System keyspaces: the tables drivers read, kept in sync with DDL")
struct SchemaSystemTablesTests {
    @Test("system.local describes a Cassandra 4.1 node of datacenter1")
    func local() async throws {
        let node = try await SchemaHarness()
        let result = try await node.rows("SELECT * FROM system.local WHERE key = 'local'")
        let row = try #require(result.rows.first)
        let values = Dictionary(uniqueKeysWithValues: zip(result.columns.map(\.name), row))
        #expect(values["cluster_name"] == .text("Test Cluster"))
        #expect(values["data_center"] == .text("datacenter1"))
        #expect(values["rack"] == .text("rack1"))
        #expect(values["release_version"]?.textValue?.hasPrefix("4.1.") == true)
        #expect(values["partitioner"] == .text("org.apache.cassandra.dht.Murmur3Partitioner"))
        #expect(values["native_protocol_version"] == .text("4"))
        #expect(values["bootstrapped"] == .text("COMPLETED"))
        #expect(values["rpc_port"] == .int(9042))
        if case let .set(tokens)? = values["tokens"] { #expect(tokens.count == 16) } else { Issue.record("no tokens") }
        if case .uuid? = values["host_id"] {} else { Issue.record("no host_id") }
        #expect(try await node.rows("SELECT * FROM system.peers").rows.isEmpty)
        #expect(try await node.rows("SELECT * FROM system.peers_v2").rows.isEmpty)
    }

    @Test("system_schema.columns rows carry Cassandra's kinds, positions, clustering orders and type text")
    func columns() async throws {
        let node = try await SchemaHarness()
        try await node.run(SchemaExecutorTests.createKeyspace)
        try await node.run("CREATE TYPE ks.addr (street text, zip int)")
        try await node.run("""
            CREATE TABLE ks.t (a int, b text, c timeuuid, d bigint, s set<text> static, l frozen<list<int>>,
                m map<text, frozen<list<int>>>, u addr, fu frozen<addr>, tu tuple<int, text>, v varchar,
                PRIMARY KEY ((a, b), c, d)) WITH CLUSTERING ORDER BY (c DESC, d ASC)
            """)
        let result = try await node.rows("""
            SELECT column_name, kind, position, clustering_order, type FROM system_schema.columns
            WHERE keyspace_name = 'ks' AND table_name = 't'
            """)
        let rows = result.rows.map { $0.map { value -> String in
            switch value {
            case let .text(text): text
            case let .int(number): String(number)
            default: "\(value)"
            }
        } }
        #expect(rows == [
            ["a", "partition_key", "0", "none", "int"],
            ["b", "partition_key", "1", "none", "text"],
            ["c", "clustering", "0", "desc", "timeuuid"],
            ["d", "clustering", "1", "asc", "bigint"],
            ["fu", "regular", "-1", "none", "frozen<addr>"],
            ["l", "regular", "-1", "none", "frozen<list<int>>"],
            ["m", "regular", "-1", "none", "map<text, frozen<list<int>>>"],
            ["s", "static", "-1", "none", "set<text>"],
            ["tu", "regular", "-1", "none", "frozen<tuple<int, text>>"],
            ["u", "regular", "-1", "none", "addr"],
            ["v", "regular", "-1", "none", "text"],
        ])
        let types = try await node.rows("SELECT type_name, field_names, field_types FROM system_schema.types WHERE keyspace_name = 'ks'")
        #expect(types.rows == [[.text("addr"), .list([.text("street"), .text("zip")]), .list([.text("text"), .text("int")])]])
    }

    @Test("system_schema.keyspaces and tables follow CREATE, ALTER and DROP")
    func keyspacesAndTables() async throws {
        let node = try await SchemaHarness()
        try await node.run(SchemaExecutorTests.createKeyspace)
        try await node.run("CREATE TABLE ks.t (k int PRIMARY KEY) WITH comment = 'one' AND gc_grace_seconds = 10")
        let keyspace = try await node.rows("SELECT durable_writes, replication FROM system_schema.keyspaces WHERE keyspace_name = 'ks'")
        #expect(keyspace.rows == [[.boolean(true), .map([
            CQLMapEntry(key: .text("class"), value: .text("org.apache.cassandra.locator.SimpleStrategy")),
            CQLMapEntry(key: .text("replication_factor"), value: .text("1")),
        ])]])
        let table = try await node.rows("""
            SELECT comment, gc_grace_seconds, default_time_to_live, flags, read_repair FROM system_schema.tables
            WHERE keyspace_name = 'ks' AND table_name = 't'
            """)
        #expect(table.rows == [[.text("one"), .int(10), .int(0), .set([.text("compound")]), .text("BLOCKING")]])
        try await node.run("ALTER TABLE ks.t WITH comment = 'two'")
        #expect(try await node.rows("SELECT comment FROM system_schema.tables WHERE keyspace_name = 'ks' AND table_name = 't'").rows
            == [[.text("two")]])
        try await node.run("ALTER TABLE ks.t ADD v text")
        #expect(try await node.rows("SELECT column_name FROM system_schema.columns WHERE keyspace_name = 'ks' AND table_name = 't'").rows
            == [[.text("k")], [.text("v")]])
        try await node.run("DROP TABLE ks.t")
        #expect(try await node.rows("SELECT * FROM system_schema.tables WHERE keyspace_name = 'ks'").rows.isEmpty)
        #expect(try await node.rows("SELECT * FROM system_schema.columns WHERE keyspace_name = 'ks'").rows.isEmpty)
        try await node.run("DROP KEYSPACE ks")
        #expect(try await node.rows("SELECT * FROM system_schema.keyspaces WHERE keyspace_name = 'ks'").rows.isEmpty)
    }

    @Test("system keyspaces are listed in system_schema, the virtual one in system_virtual_schema")
    func systemKeyspacesListed() async throws {
        let node = try await SchemaHarness()
        let names = try await node.rows("SELECT keyspace_name FROM system_schema.keyspaces").rows.compactMap { $0.first?.textValue }
        #expect(Set(names) == ["system", "system_schema", "system_auth", "system_distributed", "system_traces"])
        let virtual = try await node.rows("SELECT keyspace_name FROM system_virtual_schema.keyspaces").rows.compactMap { $0.first?.textValue }
        #expect(virtual == ["system_virtual_schema"])
        let tables = try await node.rows("SELECT table_name FROM system_virtual_schema.tables WHERE keyspace_name = 'system_virtual_schema'")
        #expect(tables.rows.compactMap { $0.first?.textValue } == ["columns", "keyspaces", "tables"])
    }

    @Test("every DDL changes system.local's schema_version; a no-op does not")
    func schemaVersion() async throws {
        let node = try await SchemaHarness()
        let initial = try await node.schemaVersion()
        try await node.run(SchemaExecutorTests.createKeyspace)
        let afterCreate = try await node.schemaVersion()
        #expect(afterCreate != initial)
        try await node.run("CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        #expect(try await node.schemaVersion() == afterCreate)
        try await node.run("CREATE TABLE ks.t (k int PRIMARY KEY)")
        #expect(try await node.schemaVersion() != afterCreate)
    }

    @Test("installing again keeps host_id and user schema, and repairs nothing that is intact")
    func reinstall() async throws {
        let node = try await SchemaHarness()
        try await node.run(SchemaExecutorTests.createKeyspace)
        try await node.run("CREATE TABLE ks.t (k int PRIMARY KEY)")
        let hostID = try await node.rows("SELECT host_id FROM system.local").rows.first?.first
        try await SystemKeyspaces.install(in: node.storage, identity: NodeIdentity(nativePort: 19042))
        #expect(try await node.rows("SELECT host_id FROM system.local").rows.first?.first == hostID)
        #expect(try await node.rows("SELECT rpc_port FROM system.local").rows == [[.int(19042)]])
        #expect(try await node.rows("SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'ks'").rows == [[.text("t")]])
    }

    @Test("type text follows Cassandra: nested types frozen, tuples frozen, top-level frozen only when declared", arguments: [
        (DataType.varchar, false, "text"),
        (.list(.int), false, "list<int>"),
        (.list(.int), true, "frozen<list<int>>"),
        (.map(key: .varchar, value: .set(.int)), false, "map<text, frozen<set<int>>>"),
        (.tuple([.int, .list(.varchar)]), true, "frozen<tuple<int, frozen<list<text>>>>"),
        (.udt(UserType(keyspace: "ks", name: "Addr", fields: [])), false, "\"Addr\""),
        (.list(.udt(UserType(keyspace: "ks", name: "a", fields: []))), false, "list<frozen<a>>"),
        (.duration, false, "duration"),
        (.custom("org.example.Foo"), false, "'org.example.Foo'"),
    ])
    func typeText(type: DataType, frozen: Bool, expected: String) {
        #expect(SchemaTypeText.column(type, frozen: frozen) == expected)
    }
}
