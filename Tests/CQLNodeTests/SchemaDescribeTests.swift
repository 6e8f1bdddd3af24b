import CQLWire
import Foundation
import Testing
@testable import CQLNode

@Suite("Server-side DESCRIBE as Cassandra 4.1 answers cqlsh 6")
struct SchemaDescribeTests {
    static let tableOptions = """
        AND additional_write_policy = '99p'
            AND bloom_filter_fp_chance = 0.01
            AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}
            AND cdc = false
            AND comment = 'events'
            AND compaction = {'class': 'org.apache.cassandra.db.compaction.LeveledCompactionStrategy'}
            AND compression = {'chunk_length_in_kb': '16', 'class': 'org.apache.cassandra.io.compress.LZ4Compressor'}
            AND memtable = 'default'
            AND crc_check_chance = 1.0
            AND default_time_to_live = 60
            AND extensions = {}
            AND gc_grace_seconds = 864000
            AND max_index_interval = 2048
            AND memtable_flush_period_in_ms = 0
            AND min_index_interval = 128
            AND read_repair = 'BLOCKING'
            AND speculative_retry = '99p';
        """

    func node() async throws -> SchemaHarness {
        let node = try await SchemaHarness()
        try await node.run(SchemaExecutorTests.createKeyspace)
        try await node.run("CREATE TYPE ks.addr (street text, zip int)")
        try await node.run("""
            CREATE TABLE ks.events (p int, c int, v text, tags set<text>, home frozen<addr>, s int static,
                PRIMARY KEY (p, c)) WITH CLUSTERING ORDER BY (c DESC) AND comment = 'events'
                AND compaction = {'class': 'LeveledCompactionStrategy'} AND default_time_to_live = 60
            """)
        try await node.run("CREATE TABLE ks.kv (k text PRIMARY KEY, v blob)")
        return node
    }

    @Test("DESCRIBE TABLE: columns in Cassandra's create order, then the clustering order and every option")
    func table() async throws {
        let node = try await node()
        let result = try await node.rows("DESCRIBE TABLE ks.events")
        #expect(result.columns.map(\.name) == ["keyspace_name", "type", "name", "create_statement"])
        #expect(result.columns.allSatisfy { $0.keyspace == "system" && $0.table == "describe" && $0.type == .varchar })
        let row = try #require(result.rows.first)
        #expect(Array(row.prefix(3)) == [.text("ks"), .text("table"), .text("events")])
        #expect(row[3].textValue == """
            CREATE TABLE ks.events (
                p int,
                c int,
                s int static,
                home frozen<addr>,
                v text,
                tags set<text>,
                PRIMARY KEY (p, c)
            ) WITH CLUSTERING ORDER BY (c DESC)
                \(Self.tableOptions)
            """)
    }

    @Test("a single-column primary key is declared inline")
    func inlineKey() async throws {
        let node = try await node()
        let statement = try await node.rows("DESCRIBE TABLE ks.kv").rows.first?[3].textValue
        #expect(statement?.hasPrefix("CREATE TABLE ks.kv (\n    k text PRIMARY KEY,\n    v blob\n) WITH additional_write_policy = '99p'\n") == true)
    }

    @Test("DESCRIBE KEYSPACE: the keyspace, its types, then its tables by name")
    func keyspace() async throws {
        let node = try await node()
        let rows = try await node.rows("DESCRIBE KEYSPACE ks").rows
        #expect(rows.map { [$0[1], $0[2]] } == [
            [.text("keyspace"), .text("ks")], [.text("type"), .text("addr")], [.text("table"), .text("events")], [.text("table"), .text("kv")],
        ])
        #expect(rows.first?[3].textValue == "CREATE KEYSPACE ks WITH replication = {'class': 'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': '1'}  AND durable_writes = true;")
        #expect(rows[1][3].textValue == "CREATE TYPE ks.addr (\n    street text,\n    zip int\n);")
        let only = try await node.rows("DESCRIBE ONLY KEYSPACE ks").rows
        #expect(only.count == 1)
    }

    @Test("listings: KEYSPACES, TABLES and TYPES as keyspace_name, type, name")
    func listings() async throws {
        let node = try await node()
        let keyspaces = try await node.rows("DESCRIBE KEYSPACES")
        #expect(keyspaces.columns.map(\.name) == ["keyspace_name", "type", "name"])
        #expect(keyspaces.rows.compactMap { $0[2].textValue } == ["ks", "system", "system_auth", "system_distributed", "system_schema",
                                                                   "system_traces", "system_virtual_schema"])
        try await node.run("USE ks")
        #expect(try await node.rows("DESCRIBE TABLES").rows == [[.text("ks"), .text("table"), .text("events")],
                                                                [.text("ks"), .text("table"), .text("kv")]])
        #expect(try await node.rows("DESCRIBE TYPES").rows == [[.text("ks"), .text("type"), .text("addr")]])
    }

    @Test("DESCRIBE SCHEMA leaves out system keyspaces; FULL SCHEMA includes them")
    func schema() async throws {
        let node = try await node()
        let user = try await node.rows("DESCRIBE SCHEMA").rows
        #expect(Set(user.compactMap { $0[0].textValue }) == ["ks"])
        let full = try await node.rows("DESCRIBE FULL SCHEMA").rows
        #expect(full.contains { $0[0] == .text("system") && $0[2] == .text("local") })
    }

    @Test("DESCRIBE CLUSTER: cluster, partitioner and snitch; range ownership inside a user keyspace")
    func cluster() async throws {
        let node = try await node()
        let outside = try await node.rows("DESCRIBE CLUSTER")
        #expect(outside.columns.map(\.name) == ["cluster", "partitioner", "snitch"])
        #expect(outside.rows == [[.text("Test Cluster"), .text("Murmur3Partitioner"), .text("SimpleSnitch")]])
        try await node.run("USE ks")
        let inside = try await node.rows("DESCRIBE CLUSTER")
        #expect(inside.columns.map(\.name) == ["cluster", "partitioner", "snitch", "range_ownership"])
        if case let .map(entries) = inside.rows.first?[3] { #expect(entries.count == 16) } else { Issue.record("no range ownership") }
    }

    @Test("refusals", arguments: [
        ("DESCRIBE KEYSPACE nope", "'nope' not found in keyspaces"),
        ("DESCRIBE TABLE ks.nope", "Table 'nope' not found in keyspace 'ks'"),
        ("DESCRIBE TYPE ks.nope", "User defined type 'nope' not found in 'ks'"),
        ("DESCRIBE TABLE nope", "No keyspace specified and no current keyspace"),
        ("DESCRIBE ks.nope", "'nope' not found in keyspace 'ks'"),
    ])
    func refusals(cql: String, message: String) async throws {
        let node = try await node()
        let error = try #require(await node.error(cql))
        #expect(error.kind == .invalid)
        #expect(error.message == message)
    }
}
