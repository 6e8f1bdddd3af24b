import CQLWire
import Testing
@testable import CQLNode

@Suite("CQL parser: schema statements")
struct ParserSchemaTests {
    static let cases: [(String, StatementSyntax)] = [
        ("USE ks", .use(keyspace: "ks")),
        ("use \"MyKs\";", .use(keyspace: "MyKs")),
        ("USE key", .use(keyspace: "key")),
        (
            "CREATE KEYSPACE cap WITH replication = {'class':'SimpleStrategy','replication_factor':1}",
            .createKeyspace(CreateKeyspace(name: "cap", ifNotExists: false, properties: [
                Property(name: "replication", value: .map([
                    .init(key: "class", value: "SimpleStrategy"), .init(key: "replication_factor", value: "1"),
                ])),
            ]))
        ),
        (
            "CREATE KEYSPACE IF NOT EXISTS s WITH REPLICATION = { 'class' : 'NetworkTopologyStrategy', 'dc1' : 3 } AND durable_writes = false;",
            .createKeyspace(CreateKeyspace(name: "s", ifNotExists: true, properties: [
                Property(name: "replication", value: .map([
                    .init(key: "class", value: "NetworkTopologyStrategy"), .init(key: "dc1", value: "3"),
                ])),
                Property(name: "durable_writes", value: .constant(.boolean(false))),
            ]))
        ),
        (
            "CREATE SCHEMA s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '1'}",
            .createKeyspace(CreateKeyspace(name: "s", ifNotExists: false, properties: [
                Property(name: "replication", value: .map([
                    .init(key: "class", value: "SimpleStrategy"), .init(key: "replication_factor", value: "1"),
                ])),
            ]))
        ),
        (
            "ALTER KEYSPACE s WITH durable_writes = true",
            .alterKeyspace(AlterKeyspace(name: "s", ifExists: false, properties: [
                Property(name: "durable_writes", value: .constant(.boolean(true))),
            ]))
        ),
        ("DROP KEYSPACE s", .dropKeyspace(name: "s", ifExists: false)),
        ("DROP KEYSPACE IF EXISTS s", .dropKeyspace(name: "s", ifExists: true)),
        (
            "CREATE TABLE pg (p int PRIMARY KEY)",
            .createTable(CreateTable(
                name: QualifiedName(name: "pg"), ifNotExists: false,
                columns: [ColumnDefinition(name: "p", type: .native(.int))],
                primaryKeys: [PrimaryKey(partitionKey: ["p"])]
            ))
        ),
        (
            """
            CREATE TABLE IF NOT EXISTS ks.jobs_sharded (
              shard int, bucket bigint, due_at timestamp, job_id uuid,
              owner text static, "Tags" set<text>, attrs map<text, frozen<list<int>>>, pair tuple<int, text>,
              addr frozen<ks.address>, c counter, d duration, v varchar,
              PRIMARY KEY ((shard, bucket), due_at, job_id),
            ) WITH CLUSTERING ORDER BY (due_at DESC, job_id ASC) AND gc_grace_seconds = 0
              AND compaction = {'class': 'LeveledCompactionStrategy'} AND comment = 'queue'
            """,
            .createTable(CreateTable(
                name: QualifiedName(keyspace: "ks", name: "jobs_sharded"), ifNotExists: true,
                columns: [
                    ColumnDefinition(name: "shard", type: .native(.int)),
                    ColumnDefinition(name: "bucket", type: .native(.bigint)),
                    ColumnDefinition(name: "due_at", type: .native(.timestamp)),
                    ColumnDefinition(name: "job_id", type: .native(.uuid)),
                    ColumnDefinition(name: "owner", type: .native(.text), isStatic: true),
                    ColumnDefinition(name: "Tags", type: .set(.native(.text))),
                    ColumnDefinition(name: "attrs", type: .map(key: .native(.text), value: .frozen(.list(.native(.int))))),
                    ColumnDefinition(name: "pair", type: .tuple([.native(.int), .native(.text)])),
                    ColumnDefinition(name: "addr", type: .frozen(.userDefined(QualifiedName(keyspace: "ks", name: "address")))),
                    ColumnDefinition(name: "c", type: .native(.counter)),
                    ColumnDefinition(name: "d", type: .native(.duration)),
                    ColumnDefinition(name: "v", type: .native(.text)),
                ],
                primaryKeys: [PrimaryKey(partitionKey: ["shard", "bucket"], clustering: ["due_at", "job_id"])],
                clusteringOrder: [
                    ClusteringOrderItem(column: "due_at", descending: true),
                    ClusteringOrderItem(column: "job_id", descending: false),
                ],
                properties: [
                    Property(name: "gc_grace_seconds", value: .constant(.integer("0"))),
                    Property(name: "compaction", value: .map([.init(key: "class", value: "LeveledCompactionStrategy")])),
                    Property(name: "comment", value: .constant(.string("queue"))),
                ]
            ))
        ),
        (
            "CREATE COLUMNFAMILY t (key text, type int, ttl int, count int, status text, time time, date date, text text, PRIMARY KEY (key))",
            .createTable(CreateTable(
                name: QualifiedName(name: "t"), ifNotExists: false,
                columns: [
                    ColumnDefinition(name: "key", type: .native(.text)),
                    ColumnDefinition(name: "type", type: .native(.int)),
                    ColumnDefinition(name: "ttl", type: .native(.int)),
                    ColumnDefinition(name: "count", type: .native(.int)),
                    ColumnDefinition(name: "status", type: .native(.text)),
                    ColumnDefinition(name: "time", type: .native(.time)),
                    ColumnDefinition(name: "date", type: .native(.date)),
                    ColumnDefinition(name: "text", type: .native(.text)),
                ],
                primaryKeys: [PrimaryKey(partitionKey: ["key"])]
            ))
        ),
        (
            "CREATE TABLE t (a int PRIMARY KEY, b int, PRIMARY KEY (b))",
            .createTable(CreateTable(
                name: QualifiedName(name: "t"), ifNotExists: false,
                columns: [ColumnDefinition(name: "a", type: .native(.int)), ColumnDefinition(name: "b", type: .native(.int))],
                primaryKeys: [PrimaryKey(partitionKey: ["a"]), PrimaryKey(partitionKey: ["b"])]
            ))
        ),
        (
            "CREATE TABLE t (k int PRIMARY KEY, v 'org.apache.cassandra.db.marshal.BytesType')",
            .createTable(CreateTable(
                name: QualifiedName(name: "t"), ifNotExists: false,
                columns: [
                    ColumnDefinition(name: "k", type: .native(.int)),
                    ColumnDefinition(name: "v", type: .custom("org.apache.cassandra.db.marshal.BytesType")),
                ],
                primaryKeys: [PrimaryKey(partitionKey: ["k"])]
            ))
        ),
        ("ALTER TABLE ev_tmp ADD v text", .alterTable(AlterTable(name: QualifiedName(name: "ev_tmp"), action: .add([ColumnDefinition(name: "v", type: .native(.text))], ifNotExists: false)))),
        (
            "ALTER TABLE ks.t ADD (a int, b text static)",
            .alterTable(AlterTable(name: QualifiedName(keyspace: "ks", name: "t"), action: .add([
                ColumnDefinition(name: "a", type: .native(.int)), ColumnDefinition(name: "b", type: .native(.text), isStatic: true),
            ], ifNotExists: false)))
        ),
        ("ALTER TABLE t DROP v", .alterTable(AlterTable(name: QualifiedName(name: "t"), action: .drop(["v"], ifExists: false, timestamp: nil)))),
        ("ALTER TABLE t DROP (a, b) USING TIMESTAMP 42", .alterTable(AlterTable(name: QualifiedName(name: "t"), action: .drop(["a", "b"], ifExists: false, timestamp: "42")))),
        ("ALTER TABLE t RENAME a TO b AND c TO d", .alterTable(AlterTable(name: QualifiedName(name: "t"), action: .rename([.init(from: "a", to: "b"), .init(from: "c", to: "d")], ifExists: false)))),
        ("ALTER TABLE t WITH default_time_to_live = 10 AND comment = 'x'", .alterTable(AlterTable(name: QualifiedName(name: "t"), action: .properties([
            Property(name: "default_time_to_live", value: .constant(.integer("10"))),
            Property(name: "comment", value: .constant(.string("x"))),
        ])))),
        ("ALTER TABLE t ALTER v TYPE blob", .alterTable(AlterTable(name: QualifiedName(name: "t"), action: .alterColumnType("v", .native(.blob))))),
        ("DROP TABLE ev_tmp", .dropTable(QualifiedName(name: "ev_tmp"), ifExists: false)),
        ("DROP TABLE IF EXISTS ks.t", .dropTable(QualifiedName(keyspace: "ks", name: "t"), ifExists: true)),
        ("TRUNCATE t", .truncate(QualifiedName(name: "t"))),
        ("TRUNCATE TABLE ks.t;", .truncate(QualifiedName(keyspace: "ks", name: "t"))),
        (
            "CREATE TYPE IF NOT EXISTS ks.address (street text, \"Zip\" int, tags frozen<set<text>>,)",
            .createType(CreateType(name: QualifiedName(keyspace: "ks", name: "address"), ifNotExists: true, fields: [
                .init(name: "street", type: .native(.text)),
                .init(name: "Zip", type: .native(.int)),
                .init(name: "tags", type: .frozen(.set(.native(.text)))),
            ]))
        ),
        ("DROP TYPE address", .dropType(QualifiedName(name: "address"), ifExists: false)),
        ("DROP TYPE IF EXISTS ks.address", .dropType(QualifiedName(keyspace: "ks", name: "address"), ifExists: true)),
        ("CREATE INDEX ON users (lname);", .unsupported(.createIndex)),
        ("CREATE CUSTOM INDEX i ON t (v) USING 'org.x.SASI'", .unsupported(.createIndex)),
        ("DROP INDEX ks.i", .unsupported(.dropIndex)),
        ("CREATE MATERIALIZED VIEW v AS SELECT * FROM t WHERE a IS NOT NULL PRIMARY KEY (a)", .unsupported(.createMaterializedView)),
        ("DROP MATERIALIZED VIEW v", .unsupported(.dropMaterializedView)),
        ("CREATE OR REPLACE FUNCTION f (a int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS 'return a;'", .unsupported(.createFunction)),
        ("CREATE FUNCTION f (a int) CALLED ON NULL INPUT RETURNS int LANGUAGE java AS $$return a;$$", .unsupported(.createFunction)),
        ("CREATE AGGREGATE a (int) SFUNC f STYPE int", .unsupported(.createAggregate)),
        ("DROP FUNCTION f", .unsupported(.dropFunction)),
        ("ALTER TYPE address ADD country text", .unsupported(.alterType)),
        ("CREATE ROLE r WITH PASSWORD = 'p' AND LOGIN = true", .unsupported(.createRole)),
        ("LIST USERS", .unsupported(.listUsers)),
        ("LIST ROLES", .unsupported(.listRoles)),
        ("LIST ALL PERMISSIONS OF r", .unsupported(.listPermissions)),
        ("GRANT SELECT ON KEYSPACE ks TO r", .unsupported(.grant)),
        ("CREATE USER u WITH PASSWORD 'p' SUPERUSER", .unsupported(.createUser)),
        ("CREATE TRIGGER tr ON t USING 'x'", .unsupported(.createTrigger)),
        ("DESCRIBE CLUSTER", .describe(Describe(target: .cluster))),
        ("DESC KEYSPACES", .describe(Describe(target: .keyspaces))),
        ("DESCRIBE KEYSPACE", .describe(Describe(target: .keyspace(nil, only: false)))),
        ("DESCRIBE KEYSPACE scheduler", .describe(Describe(target: .keyspace("scheduler", only: false)))),
        ("DESCRIBE ONLY KEYSPACE scheduler WITH INTERNALS", .describe(Describe(target: .keyspace("scheduler", only: true), withInternals: true))),
        ("DESCRIBE FULL SCHEMA", .describe(Describe(target: .schema(full: true)))),
        ("DESCRIBE SCHEMA", .describe(Describe(target: .schema(full: false)))),
        ("DESCRIBE TABLES", .describe(Describe(target: .tables))),
        ("DESCRIBE TABLE ks.jobs", .describe(Describe(target: .table(QualifiedName(keyspace: "ks", name: "jobs"))))),
        ("DESC COLUMNFAMILY jobs", .describe(Describe(target: .table(QualifiedName(name: "jobs"))))),
        ("DESCRIBE TYPES", .describe(Describe(target: .types))),
        ("DESCRIBE TYPE ks.address", .describe(Describe(target: .type(QualifiedName(keyspace: "ks", name: "address"))))),
        ("DESCRIBE FUNCTIONS", .describe(Describe(target: .functions))),
        ("DESCRIBE AGGREGATES", .describe(Describe(target: .aggregates))),
        ("DESCRIBE INDEX ks.i", .describe(Describe(target: .index(QualifiedName(keyspace: "ks", name: "i"))))),
        ("DESCRIBE MATERIALIZED VIEW v", .describe(Describe(target: .materializedView(QualifiedName(name: "v"))))),
        ("DESCRIBE scheduler", .describe(Describe(target: .named(QualifiedName(name: "scheduler"))))),
        ("DESC scheduler.\"Jobs\" WITH INTERNALS", .describe(Describe(target: .named(QualifiedName(keyspace: "scheduler", name: "Jobs")), withInternals: true))),
        ("DESC type", .describe(Describe(target: .named(QualifiedName(name: "type"))))),
    ]

    @Test("each schema statement parses to its AST", arguments: cases)
    func parses(cql: String, expected: StatementSyntax) throws {
        let parsed = try CQLParser.parse(cql)
        #expect(parsed.statement == expected)
        #expect(parsed.bindMarkers.isEmpty)
    }

    @Test("types convert to wire types, UDT names through the resolver")
    func typeConversion() throws {
        let address = UserType(keyspace: "ks", name: "address", fields: [.init(name: "street", type: .varchar)])
        let type = CQLTypeName.map(key: .native(.text), value: .frozen(.list(.tuple([.userDefined(QualifiedName(name: "address")), .native(.counter)]))))
        let resolved = try type.dataType { (name: QualifiedName) throws(CQLSyntaxError) -> UserType in
            guard name.name == "address" else { throw CQLSyntaxError(message: "unknown type \(name)") }
            return address
        }
        #expect(resolved == .map(key: .varchar, value: .list(.tuple([.udt(address), .counter]))))
        #expect(try CQLTypeName.custom(DataType.durationClass).dataType { (_: QualifiedName) throws(CQLSyntaxError) -> UserType in address } == .duration)
        for native in NativeType.allCases {
            let parsed = try CQLParser.parse("CREATE TABLE t (k \(native.rawValue) PRIMARY KEY)")
            guard case let .createTable(table) = parsed.statement else {
                Issue.record("not a CREATE TABLE")
                continue
            }
            #expect(table.columns.first?.type == .native(native))
        }
        #expect(type.description == "map<text, frozen<list<tuple<address, counter>>>>")
    }

    static let refusals: [(String, String)] = [
        ("CREATE TABLE t (k int PRIMARY KEY) WITH COMPACT STORAGE", "COMPACT STORAGE tables are not allowed starting with version 4.0"),
        ("CREATE KEYSPACE k WITH replication = {'class': 'S'} AND replication = {'class': 'S'}", "Multiple definition for property replication"),
        ("CREATE KEYSPACE k WITH replication = {'class': 'S', 'class': 'T'}", "Multiple definition for property class"),
        ("CREATE KEYSPACE k WITH replication = {'class': ?}", "Invalid property value: ? for property: class (bind variables are not supported in DDL queries)"),
        ("CREATE TYPE interval (a int)", "Invalid (reserved) user type name interval"),
        ("USE ?", "Bind variables cannot be used for keyspace names"),
    ]

    @Test("the grammar's own refusals keep Cassandra's messages", arguments: refusals)
    func grammarRefusals(cql: String, message: String) {
        #expect(throws: CQLSyntaxError(message: message)) { try CQLParser.parse(cql) }
    }
}
