import CQLWire
import Foundation
import Testing
@testable import CQLNode

@Suite("Schema executor: DDL results, events and errors as Cassandra 4.1")
struct SchemaExecutorTests {
    static let createKeyspace = "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"

    @Test("each DDL statement answers RESULT schema_change and publishes the same EVENT")
    func resultsAndEvents() async throws {
        let node = try await SchemaHarness()
        let cases: [(String, SchemaChange)] = [
            (Self.createKeyspace, SchemaChange(changeType: .created, target: .keyspace, keyspace: "ks")),
            ("ALTER KEYSPACE ks WITH durable_writes = false", SchemaChange(changeType: .updated, target: .keyspace, keyspace: "ks")),
            ("CREATE TYPE ks.addr (street text, zip int)", SchemaChange(changeType: .created, target: .type, keyspace: "ks", name: "addr")),
            ("CREATE TABLE ks.t (k int PRIMARY KEY, v text, a frozen<addr>)",
             SchemaChange(changeType: .created, target: .table, keyspace: "ks", name: "t")),
            ("ALTER TABLE ks.t ADD w int", SchemaChange(changeType: .updated, target: .table, keyspace: "ks", name: "t")),
            ("ALTER TABLE ks.t DROP w", SchemaChange(changeType: .updated, target: .table, keyspace: "ks", name: "t")),
            ("ALTER TABLE ks.t WITH comment = 'c'", SchemaChange(changeType: .updated, target: .table, keyspace: "ks", name: "t")),
            ("DROP TABLE ks.t", SchemaChange(changeType: .dropped, target: .table, keyspace: "ks", name: "t")),
            ("DROP TYPE ks.addr", SchemaChange(changeType: .dropped, target: .type, keyspace: "ks", name: "addr")),
            ("DROP KEYSPACE ks", SchemaChange(changeType: .dropped, target: .keyspace, keyspace: "ks")),
        ]
        for (cql, expected) in cases {
            let message = await node.query(cql)
            #expect(message == .result(.schemaChange(expected)), "\(cql)")
            #expect(node.takeEvents() == [.schemaChange(expected)], "\(cql)")
        }
    }

    @Test("IF [NOT] EXISTS on a no-op answers Void and publishes nothing")
    func conditionalNoOps() async throws {
        let node = try await SchemaHarness()
        try await node.run(Self.createKeyspace)
        try await node.run("CREATE TABLE ks.t (k int PRIMARY KEY)")
        try await node.run("CREATE TYPE ks.u (f int)")
        _ = node.takeEvents()
        for cql in [
            "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
            "CREATE TABLE IF NOT EXISTS ks.t (k int PRIMARY KEY)",
            "CREATE TYPE IF NOT EXISTS ks.u (f int)",
            "DROP TABLE IF EXISTS ks.nope",
            "DROP TYPE IF EXISTS ks.nope",
            "DROP KEYSPACE IF EXISTS nope",
            "ALTER TABLE ks.t ADD IF NOT EXISTS k int",
            "ALTER TABLE ks.t DROP IF EXISTS nope",
        ] {
            #expect(await node.query(cql) == .result(.void), "\(cql)")
        }
        #expect(node.takeEvents().isEmpty)
    }

    @Test("refusals carry Cassandra's error code and message", arguments: [
        (Self.createKeyspace, ServerError.Kind.alreadyExists(keyspace: "ks", table: ""), "Cannot add existing keyspace \"ks\""),
        ("CREATE TABLE ks.t (k int PRIMARY KEY)", .alreadyExists(keyspace: "ks", table: "t"),
         "Cannot add already existing table \"t\" to keyspace \"ks\""),
        ("CREATE KEYSPACE k2 WITH replication = {'class': 'SimpleStrategy'}", .configError,
         "SimpleStrategy requires a replication_factor strategy option."),
        ("CREATE KEYSPACE k2 WITH replication = {'class': 'NetworkTopologyStrategy', 'dc9': 1}", .configError,
         "Unrecognized strategy option {dc9} passed to NetworkTopologyStrategy for keyspace k2"),
        ("CREATE KEYSPACE k2 WITH replication = {'class': 'FancyStrategy', 'replication_factor': 1}", .configError,
         "Unable to find replication strategy class 'org.apache.cassandra.locator.FancyStrategy'"),
        ("CREATE KEYSPACE k2 WITH durable_writes = true", .invalid, "Missing mandatory option 'replication'"),
        ("CREATE KEYSPACE k2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 'x'}", .configError,
         "Replication factor must be numeric; found x"),
        ("CREATE TABLE ks.u (k int PRIMARY KEY) WITH foo = 1", .syntaxError, "Unknown property 'foo'"),
        ("CREATE TABLE ks.u (k int PRIMARY KEY) WITH default_time_to_live = -1", .configError,
         "default_time_to_live must be greater than or equal to 0 (got -1)"),
        ("CREATE TABLE ks.u (k list<int> PRIMARY KEY)", .invalid, "Invalid non-frozen collection type list<int> for PRIMARY KEY component k"),
        ("CREATE TABLE ks.u (k int, v int)", .invalid, "No PRIMARY KEY specifed for table 'u' (exactly one required)"),
        ("CREATE TABLE ks.u (k int PRIMARY KEY, v list<list<int>>)", .invalid,
         "Non-frozen collections are not allowed inside collections: list<list<int>>"),
        ("CREATE TABLE ks.u (k int PRIMARY KEY, v frozen<int>)", .invalid,
         "frozen<> is only allowed on collections, tuples, and user-defined types (got int)"),
        ("CREATE TABLE ks.u (k int PRIMARY KEY, v nope)", .invalid, "Unknown type ks.nope"),
        ("CREATE TABLE ks.u (k int PRIMARY KEY, s int static)", .invalid,
         "Static columns are only useful (and thus allowed) if the table has at least one clustering column"),
        ("CREATE TABLE ks.u (k int PRIMARY KEY, n counter, v int)", .invalid, "Cannot mix counter and non counter columns in the same table"),
        ("CREATE TABLE nope.u (k int PRIMARY KEY)", .invalid, "Keyspace 'nope' doesn't exist"),
        ("CREATE TABLE u (k int PRIMARY KEY)", .invalid, "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename"),
        ("ALTER TABLE ks.nope ADD v int", .invalid, "Table 'ks.nope' doesn't exist"),
        ("ALTER TABLE ks.t ADD k int", .invalid, "Column with name 'k' already exists"),
        ("ALTER TABLE ks.t DROP k", .invalid, "Cannot drop PRIMARY KEY column k"),
        ("ALTER TABLE ks.t DROP nope", .invalid, "Column nope was not found in table 'ks.t'"),
        ("DROP TABLE ks.nope", .invalid, "Table 'ks.nope' doesn't exist"),
        ("DROP KEYSPACE nope", .invalid, "Keyspace 'nope' doesn't exist"),
        ("DROP KEYSPACE system_schema", .unauthorized, "system_schema keyspace is not user-modifiable."),
        ("CREATE TABLE system.evil (k int PRIMARY KEY)", .unauthorized, "system keyspace is not user-modifiable."),
        ("TRUNCATE system.local", .unauthorized, "system keyspace is not user-modifiable."),
        ("DROP TYPE ks.nope", .invalid, "Type 'ks.nope' doesn't exist"),
        ("DROP TYPE ks.addr", .invalid, "Cannot drop user type 'ks.addr' as it is still used by ks.t"),
    ])
    func refusals(cql: String, kind: ServerError.Kind, message: String) async throws {
        let node = try await SchemaHarness()
        try await node.run(Self.createKeyspace)
        try await node.run("CREATE TYPE ks.addr (street text)")
        try await node.run("CREATE TABLE ks.t (k int PRIMARY KEY, a frozen<addr>)")
        _ = node.takeEvents()
        let error = try #require(await node.error(cql), "\(cql) was accepted")
        #expect(error.kind == kind)
        #expect(error.message == message)
        #expect(node.takeEvents().isEmpty)
    }

    @Test("NetworkTopologyStrategy's replication_factor expands to datacenter1; class names are stored in full")
    func replicationIsNormalized() async throws {
        let node = try await SchemaHarness()
        try await node.run("CREATE KEYSPACE n WITH replication = {'class': 'NetworkTopologyStrategy', 'replication_factor': 1}")
        let replication = node.storage.catalog.keyspaces["n"]?.replication.map { "\($0.0)=\($0.1)" }
        #expect(replication == ["class=org.apache.cassandra.locator.NetworkTopologyStrategy", "datacenter1=1"])
    }

    @Test("a replication factor above the node count is accepted with Cassandra's warning")
    func replicationWarning() async throws {
        let node = try await SchemaHarness()
        let response = await node.response("CREATE KEYSPACE r3 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
        #expect(response.message == .result(.schemaChange(SchemaChange(changeType: .created, target: .keyspace, keyspace: "r3"))))
        #expect(response.warnings == ["Your replication factor 3 for keyspace r3 is higher than the number of nodes 1"])
    }

    @Test("unqualified names resolve in the session keyspace")
    func sessionKeyspace() async throws {
        let node = try await SchemaHarness()
        try await node.run(Self.createKeyspace)
        try await node.run("USE ks")
        #expect(await node.query("CREATE TABLE t (k int PRIMARY KEY)")
            == .result(.schemaChange(SchemaChange(changeType: .created, target: .table, keyspace: "ks", name: "t"))))
        #expect(node.storage.catalog.keyspaces["ks"]?.tables["t"] != nil)
    }

    @Test("TRUNCATE empties a table, answers Void and publishes nothing")
    func truncate() async throws {
        let node = try await SchemaHarness()
        try await node.run(Self.createKeyspace)
        try await node.run("CREATE TABLE ks.t (k int PRIMARY KEY, v int)")
        try await node.run("INSERT INTO ks.t (k, v) VALUES (1, 2)")
        _ = node.takeEvents()
        #expect(await node.query("TRUNCATE ks.t") == .result(.void))
        #expect(try await node.rows("SELECT * FROM ks.t").rows.isEmpty)
        #expect(node.takeEvents().isEmpty)
    }

    @Test("schema changes survive a restart through the commit log")
    func durable() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("schema-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let node = try await SchemaHarness(dataDirectory: directory)
            try await node.run(Self.createKeyspace)
            try await node.run("CREATE TYPE ks.addr (street text)")
            try await node.run("CREATE TABLE ks.t (k int, c int, a frozen<addr>, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC)")
            try await node.run("INSERT INTO ks.t (k, c) VALUES (1, 2)")
            node.storage.close()
        }
        let node = try await SchemaHarness(dataDirectory: directory)
        defer { node.storage.close() }
        let table = try #require(node.storage.catalog.keyspaces["ks"]?.tables["t"])
        #expect(table.clusteringColumns.first?.kind == .clustering(position: 0, order: .descending))
        #expect(try await node.rows("SELECT k FROM ks.t").rows == [[.int(1)]])
        let columns = try await node.rows("SELECT column_name FROM system_schema.columns WHERE keyspace_name = 'ks' AND table_name = 't'")
        #expect(columns.rows.compactMap { $0.first?.textValue } == ["a", "c", "k"])
    }
}
