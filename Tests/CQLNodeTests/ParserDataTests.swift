import Foundation
import Testing
@testable import CQLNode

/// Short constructors keep the expected ASTs readable.
private func int(_ text: String) -> Term { .literal(.integer(text)) }
private func str(_ value: String) -> Term { .literal(.string(value)) }
private func marker(_ index: Int, _ name: String? = nil) -> Term { .bindMarker(BindMarker(index: index, name: name)) }
private func table(_ name: String, _ keyspace: String? = nil) -> QualifiedName { QualifiedName(keyspace: keyspace, name: name) }

@Suite("CQL parser: data statements")
struct ParserDataTests {
    static let cases: [(String, StatementSyntax)] = [
        // INSERT
        (
            "INSERT INTO pg (p, c, v) VALUES (9, 9, 'x')",
            .insert(Insert(table: table("pg"), values: .columns(["p", "c", "v"], [int("9"), int("9"), str("x")])))
        ),
        (
            "INSERT INTO lock_seq (name, next) VALUES (?, ?) IF NOT EXISTS",
            .insert(Insert(table: table("lock_seq"), values: .columns(["name", "next"], [marker(0), marker(1)]), ifNotExists: true))
        ),
        (
            "INSERT INTO ks.t (k, v) VALUES (:k, :\"V\") IF NOT EXISTS USING TTL 60 AND TIMESTAMP ?",
            .insert(Insert(
                table: table("t", "ks"), values: .columns(["k", "v"], [marker(0, "k"), marker(1, "V")]), ifNotExists: true,
                parameters: UpdateParameters(timestamp: marker(2), timeToLive: int("60"))
            ))
        ),
        (
            "INSERT INTO t JSON '{\"k\": 1}' DEFAULT UNSET",
            .insert(Insert(table: table("t"), values: .json(str("{\"k\": 1}"), defaultUnset: true)))
        ),
        (
            "INSERT INTO t (k, l, s, m, e, tu, u, n, f, b, d, id, blob, neg, udt) VALUES (1, [1, 2], {'a'}, {'a': 1, 'b': 2}, {}, (1, 'x'), now(), null, 1.5, true, 1h30m, 6be2a8d0-2d0e-4c65-9e5a-1a0b2c3d4e5f, 0xCAFE, -NaN, {street: 'x', \"Zip\": 1})",
            .insert(Insert(table: table("t"), values: .columns(
                ["k", "l", "s", "m", "e", "tu", "u", "n", "f", "b", "d", "id", "blob", "neg", "udt"],
                [
                    int("1"), .list([int("1"), int("2")]), .set([str("a")]),
                    .map([.init(key: str("a"), value: int("1")), .init(key: str("b"), value: int("2"))]),
                    .emptyBraces, .tuple([int("1"), str("x")]), .functionCall(FunctionName(name: "now"), []), .null,
                    .literal(.float("1.5")), .literal(.boolean(true)), .literal(.duration("1h30m")),
                    .literal(.uuid(UUID(uuidString: "6be2a8d0-2d0e-4c65-9e5a-1a0b2c3d4e5f") ?? UUID())),
                    .literal(.hex("CAFE")), .literal(.float("NaN")),
                    .userType([.init(field: "street", value: str("x")), .init(field: "Zip", value: int("1"))]),
                ]
            )))
        ),
        (
            "INSERT INTO t (k, ts, h, c) VALUES ((int) ?, toTimestamp(now()), system.token(?), CAST(1 AS text))",
            .insert(Insert(table: table("t"), values: .columns(["k", "ts", "h", "c"], [
                .typeHint(.native(.int), marker(0)),
                .functionCall(FunctionName(name: "totimestamp"), [.functionCall(FunctionName(name: "now"), [])]),
                .functionCall(FunctionName(keyspace: "system", name: "token"), [marker(1)]),
                .cast(int("1"), .text),
            ])))
        ),
        (
            "INSERT INTO t (k, v) VALUES (-(1), 2 * 3 + 1)",
            .insert(Insert(table: table("t"), values: .columns(["k", "v"], [
                .negation(.tuple([int("1")])),
                .arithmetic(.add, .arithmetic(.multiply, int("2"), int("3")), int("1")),
            ])))
        ),
        // UPDATE
        (
            "UPDATE locks SET owner = ?, epoch = ?, expire_at = ? WHERE name = ? IF epoch = ?",
            .update(Update(
                table: table("locks"),
                assignments: [.set("owner", marker(0)), .set("epoch", marker(1)), .set("expire_at", marker(2))],
                whereClause: [.compare("name", .equal, marker(3))],
                condition: .columns([ColumnCondition(column: "epoch", predicate: .compare(.equal, marker(4)))])
            ))
        ),
        (
            "UPDATE locks SET owner=?, fencing_token=?, epoch=? WHERE name=? IF epoch = ?",
            .update(Update(
                table: table("locks"),
                assignments: [.set("owner", marker(0)), .set("fencing_token", marker(1)), .set("epoch", marker(2))],
                whereClause: [.compare("name", .equal, marker(3))],
                condition: .columns([ColumnCondition(column: "epoch", predicate: .compare(.equal, marker(4)))])
            ))
        ),
        (
            "UPDATE c USING TTL 10 AND TIMESTAMP 5 SET n = n + 1, m = m - 2, k = k -3 WHERE id = 1",
            .update(Update(
                table: table("c"), parameters: UpdateParameters(timestamp: int("5"), timeToLive: int("10")),
                assignments: [.add("n", int("1")), .subtract("m", int("2")), .add("k", int("-3"))],
                whereClause: [.compare("id", .equal, int("1"))]
            ))
        ),
        (
            "UPDATE t SET l = l + [1], l2 = [0] + l2, s = s - {'a'}, m = m + {'k': 'v'}, l[0] = 5, m['k'] = 'w', a.street = 'x', n += 2, o -= 1 WHERE k = 1 IF EXISTS",
            .update(Update(
                table: table("t"),
                assignments: [
                    .add("l", .list([int("1")])), .prepend("l2", .list([int("0")])), .subtract("s", .set([str("a")])),
                    .add("m", .map([.init(key: str("k"), value: str("v"))])), .setElement("l", key: int("0"), int("5")),
                    .setElement("m", key: str("k"), str("w")), .setField("a", field: "street", str("x")),
                    .add("n", int("2")), .subtract("o", int("1")),
                ],
                whereClause: [.compare("k", .equal, int("1"))],
                condition: .exists
            ))
        ),
        (
            "UPDATE t SET v = 1 WHERE k = 1 IF a != 1 AND b < 2 AND c <= 3 AND d > 4 AND e >= 5 AND f IN (1, 2) AND g[1] = 'x' AND h.field = 2 AND i CONTAINS 3 AND j CONTAINS KEY 'k' AND l['k'] IN ?",
            .update(Update(
                table: table("t"), assignments: [.set("v", int("1"))],
                whereClause: [.compare("k", .equal, int("1"))],
                condition: .columns([
                    ColumnCondition(column: "a", predicate: .compare(.notEqual, int("1"))),
                    ColumnCondition(column: "b", predicate: .compare(.less, int("2"))),
                    ColumnCondition(column: "c", predicate: .compare(.lessOrEqual, int("3"))),
                    ColumnCondition(column: "d", predicate: .compare(.greater, int("4"))),
                    ColumnCondition(column: "e", predicate: .compare(.greaterOrEqual, int("5"))),
                    ColumnCondition(column: "f", predicate: .in(.terms([int("1"), int("2")]))),
                    ColumnCondition(column: "g", element: .collectionElement(int("1")), predicate: .compare(.equal, str("x"))),
                    ColumnCondition(column: "h", element: .field("field"), predicate: .compare(.equal, int("2"))),
                    ColumnCondition(column: "i", predicate: .contains(int("3"))),
                    ColumnCondition(column: "j", predicate: .containsKey(str("k"))),
                    ColumnCondition(column: "l", element: .collectionElement(str("k")), predicate: .in(.marker(BindMarker(index: 0)))),
                ])
            ))
        ),
        (
            "UPDATE t SET exists = 1 WHERE k = 1 IF exists = 2",
            .update(Update(
                table: table("t"), assignments: [.set("exists", int("1"))], whereClause: [.compare("k", .equal, int("1"))],
                condition: .columns([ColumnCondition(column: "exists", predicate: .compare(.equal, int("2")))])
            ))
        ),
        // DELETE
        (
            "DELETE FROM locks WHERE name='shard-1' IF owner = 'w2'",
            .delete(Delete(
                table: table("locks"), whereClause: [.compare("name", .equal, str("shard-1"))],
                condition: .columns([ColumnCondition(column: "owner", predicate: .compare(.equal, str("w2")))])
            ))
        ),
        (
            "DELETE FROM locks WHERE name='nope' IF EXISTS",
            .delete(Delete(table: table("locks"), whereClause: [.compare("name", .equal, str("nope"))], condition: .exists))
        ),
        (
            "DELETE a, l[0], m['k'], u.street FROM ks.t USING TIMESTAMP 123 WHERE k = ? AND c IN (1, 2)",
            .delete(Delete(
                table: table("t", "ks"),
                targets: [.column("a"), .element("l", int("0")), .element("m", str("k")), .field("u", "street")],
                timestamp: int("123"),
                whereClause: [.compare("k", .equal, marker(0)), .in("c", .terms([int("1"), int("2")]))]
            ))
        ),
        // BATCH
        (
            "BEGIN BATCH INSERT INTO t (k) VALUES (?); UPDATE t SET v = ? WHERE k = ?; DELETE FROM t WHERE k = ? APPLY BATCH",
            .batch(BatchSyntax(kind: .logged, statements: [
                .insert(Insert(table: table("t"), values: .columns(["k"], [marker(0)]))),
                .update(Update(table: table("t"), assignments: [.set("v", marker(1))], whereClause: [.compare("k", .equal, marker(2))])),
                .delete(Delete(table: table("t"), whereClause: [.compare("k", .equal, marker(3))])),
            ]))
        ),
        (
            "BEGIN UNLOGGED BATCH USING TIMESTAMP 7 INSERT INTO t (k) VALUES (1) INSERT INTO t (k) VALUES (2) APPLY BATCH;",
            .batch(BatchSyntax(kind: .unlogged, parameters: UpdateParameters(timestamp: int("7")), statements: [
                .insert(Insert(table: table("t"), values: .columns(["k"], [int("1")]))),
                .insert(Insert(table: table("t"), values: .columns(["k"], [int("2")]))),
            ]))
        ),
        (
            "BEGIN COUNTER BATCH UPDATE c SET n = n + 1 WHERE k = 1; APPLY BATCH",
            .batch(BatchSyntax(kind: .counter, statements: [
                .update(Update(table: table("c"), assignments: [.add("n", int("1"))], whereClause: [.compare("k", .equal, int("1"))])),
            ]))
        ),
        ("BEGIN BATCH APPLY BATCH", .batch(BatchSyntax(kind: .logged, statements: []))),
        // SELECT
        ("SELECT * FROM system.peers_v2", .select(Select(table: table("peers_v2", "system")))),
        (
            "SELECT * FROM system.local WHERE key='local'",
            .select(Select(table: table("local", "system"), whereClause: [.compare("key", .equal, str("local"))]))
        ),
        (
            "select * from system.local where key = 'local'",
            .select(Select(table: table("local", "system"), whereClause: [.compare("key", .equal, str("local"))]))
        ),
        (
            "SELECT peer, data_center, host_id, preferred_ip, rack, release_version, rpc_address, schema_version, tokens FROM system.peers",
            .select(Select(table: table("peers", "system"), selection: [
                "peer", "data_center", "host_id", "preferred_ip", "rack", "release_version", "rpc_address", "schema_version", "tokens",
            ].map { SelectItem(.column($0)) }))
        ),
        (
            "SELECT keyspace_name, table_name, column_name, clustering_order, column_name_bytes, kind, position, type FROM system_schema.columns WHERE keyspace_name = 'x'",
            .select(Select(
                table: table("columns", "system_schema"),
                selection: ["keyspace_name", "table_name", "column_name", "clustering_order", "column_name_bytes", "kind", "position", "type"]
                    .map { SelectItem(.column($0)) },
                whereClause: [.compare("keyspace_name", .equal, str("x"))]
            ))
        ),
        (
            "SELECT * FROM jobs_sharded WHERE shard = ? AND bucket = ? AND due_at <= ? LIMIT 100",
            .select(Select(
                table: table("jobs_sharded"),
                whereClause: [.compare("shard", .equal, marker(0)), .compare("bucket", .equal, marker(1)), .compare("due_at", .lessOrEqual, marker(2))],
                limit: int("100")
            ))
        ),
        (
            "SELECT JSON DISTINCT k, \"Mixed\" AS m FROM t WHERE token(k) > ? AND token(k) <= 100 PER PARTITION LIMIT 2 LIMIT :lim ALLOW FILTERING",
            .select(Select(
                table: table("t"), isJSON: true, isDistinct: true,
                selection: [SelectItem(.column("k")), SelectItem(.column("Mixed"), alias: "m")],
                whereClause: [.token(["k"], .greater, marker(0)), .token(["k"], .lessOrEqual, int("100"))],
                perPartitionLimit: int("2"), limit: marker(1, "lim"), allowFiltering: true
            ))
        ),
        ("SELECT json FROM t", .select(Select(table: table("t"), selection: [SelectItem(.column("json"))]))),
        ("SELECT distinct, json FROM t", .select(Select(table: table("t"), selection: [SelectItem(.column("distinct")), SelectItem(.column("json"))]))),
        ("SELECT JSON * FROM t", .select(Select(table: table("t"), isJSON: true))),
        (
            "SELECT count(*), COUNT(*) AS n, count(1), COUNT(c), writetime(v), ttl(v), token(a, b), now(), uuid(), toTimestamp(now()), min(v), max(v), sum(v), avg(v), CAST(v AS text) FROM t",
            .select(Select(table: table("t"), selection: [
                SelectItem(.countRows), SelectItem(.countRows, alias: "n"),
                SelectItem(.functionCall(FunctionName(name: "count"), [.term(int("1"))])),
                SelectItem(.functionCall(FunctionName(name: "count"), [.column("c")])),
                SelectItem(.writetime("v")), SelectItem(.ttl("v")),
                SelectItem(.functionCall(FunctionName(name: "token"), [.column("a"), .column("b")])),
                SelectItem(.functionCall(FunctionName(name: "now"), [])),
                SelectItem(.functionCall(FunctionName(name: "uuid"), [])),
                SelectItem(.functionCall(FunctionName(name: "totimestamp"), [.functionCall(FunctionName(name: "now"), [])])),
                SelectItem(.functionCall(FunctionName(name: "min"), [.column("v")])),
                SelectItem(.functionCall(FunctionName(name: "max"), [.column("v")])),
                SelectItem(.functionCall(FunctionName(name: "sum"), [.column("v")])),
                SelectItem(.functionCall(FunctionName(name: "avg"), [.column("v")])),
                SelectItem(.cast(.column("v"), .text)),
            ]))
        ),
        (
            "SELECT key, ttl, count, writetime, type, a.b, m['k'], l[1..3], (int) ?, a + 1 FROM t",
            .select(Select(table: table("t"), selection: [
                SelectItem(.column("key")), SelectItem(.column("ttl")), SelectItem(.column("count")),
                SelectItem(.column("writetime")), SelectItem(.column("type")), SelectItem(.field(.column("a"), "b")),
                SelectItem(.element(.column("m"), str("k"))), SelectItem(.slice(.column("l"), from: int("1"), to: int("3"))),
                SelectItem(.typeHint(.native(.int), .term(marker(0)))),
                SelectItem(.arithmetic(.add, .column("a"), .term(int("1")))),
            ]))
        ),
        (
            "SELECT * FROM t WHERE k IN (1, 2) AND c IN ? AND (c1, c2) > (1, 2) AND (c1, c2) <= ? AND (c1, c2) IN ((1, 2), (3, 4)) AND (c1) IN (?, ?) AND (d1, d2) IN ? AND s CONTAINS 'x' AND m CONTAINS KEY 'k' AND m['k'] = 'v' AND e IN ()",
            .select(Select(table: table("t"), whereClause: [
                .in("k", .terms([int("1"), int("2")])),
                .in("c", .marker(BindMarker(index: 0))),
                .multiColumn(["c1", "c2"], .greater, .tuple([int("1"), int("2")])),
                .multiColumn(["c1", "c2"], .lessOrEqual, marker(1)),
                .multiColumnIn(["c1", "c2"], .terms([.tuple([int("1"), int("2")]), .tuple([int("3"), int("4")])])),
                .multiColumnIn(["c1"], .terms([marker(2), marker(3)])),
                .multiColumnIn(["d1", "d2"], .marker(BindMarker(index: 4))),
                .contains("s", str("x")),
                .containsKey("m", str("k")),
                .mapElement("m", key: str("k"), .equal, str("v")),
                .in("e", .terms([])),
            ]))
        ),
        (
            "SELECT * FROM t WHERE (k = 1) AND c != 2 GROUP BY k, c ORDER BY c DESC, d ASC, e",
            .select(Select(
                table: table("t"),
                whereClause: [.compare("k", .equal, int("1")), .compare("c", .notEqual, int("2"))],
                groupBy: ["k", "c"],
                orderBy: [Ordering(column: "c", descending: true), Ordering(column: "d"), Ordering(column: "e")]
            ))
        ),
        (
            "SELECT \"\" FROM \"Ks\".\"Tbl\" WHERE \"Key\" = 'a'",
            .select(Select(table: table("Tbl", "Ks"), selection: [SelectItem(.column(""))], whereClause: [.compare("Key", .equal, str("a"))]))
        ),
        (
            "SELECT * FROM t WHERE k = $$it's$$ -- trailing comment",
            .select(Select(table: table("t"), whereClause: [.compare("k", .equal, str("it's"))]))
        ),
    ]

    @Test("each data statement parses to its AST", arguments: cases)
    func parses(cql: String, expected: StatementSyntax) throws {
        #expect(try CQLParser.parse(cql).statement == expected)
    }

    @Test("bind markers are numbered across the whole statement and keep their names")
    func markers() throws {
        let parsed = try CQLParser.parse(
            "BEGIN BATCH USING TIMESTAMP ? INSERT INTO t (a, b) VALUES (:a, ?) IF NOT EXISTS; UPDATE t SET v = :v WHERE k IN ? IF c = :a APPLY BATCH"
        )
        #expect(parsed.bindMarkers == [
            BindMarker(index: 0), BindMarker(index: 1, name: "a"), BindMarker(index: 2),
            BindMarker(index: 3, name: "v"), BindMarker(index: 4), BindMarker(index: 5, name: "a"),
        ])
        let select = try CQLParser.parse("SELECT JSON ? FROM t WHERE k = ?")
        #expect(select.bindMarkers.map(\.index) == [0, 1])
    }

    static let schedulerStatements = [
        "INSERT INTO locks (name, owner, fencing_token, epoch, expire_at) VALUES ('shard-1', 'w1', 1, 1, '2030-01-01') IF NOT EXISTS",
        "SELECT * FROM locks WHERE name='shard-1'",
        "INSERT INTO types (id,a,b,bl,bo,de,d,f,i,n,si,ti,t,ts,dt,tm,tu,vi,l,st,m,tp) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        "SELECT * FROM system_schema.tables WHERE keyspace_name = 'cap' AND table_name = 'ev_tmp'",
        "SELECT * FROM system_schema.views WHERE keyspace_name = 'cap' AND view_name = 'ev_tmp'",
        "SELECT cluster_name, data_center, rack, tokens, partitioner, release_version, schema_version FROM system.local WHERE key='local'",
        "SELECT * FROM system_virtual_schema.keyspaces",
        "SELECT * FROM system_schema.keyspaces",
        "SELECT * FROM system_schema.functions",
        "SELECT * FROM system_schema.aggregates",
        "SELECT * FROM system_schema.triggers",
        "SELECT * FROM system_schema.indexes",
        "SELECT * FROM system_schema.types",
        "CREATE TABLE users (\n  user_id int PRIMARY KEY,\n  fname text,\n  lname text\n);",
        "INSERT INTO users (user_id,  fname, lname)\n  VALUES (1745, 'john', 'smith');",
        "SELECT * FROM users WHERE lname = 'smith';",
        "UPDATE jobs SET status = ?, attempt = ?, owner = ? WHERE job_id = ? IF attempt = ? AND status IN ('queued', 'running')",
        "UPDATE jobs USING TTL 86400 SET heartbeat_at = toTimestamp(now()) WHERE job_id = ? IF attempt = ?",
        "INSERT INTO job_history (job_id, run_at, outcome) VALUES (?, ?, ?) USING TTL 604800",
        "DELETE FROM jobs_sharded WHERE shard = ? AND bucket = ? AND due_at = ? AND job_id = ?",
        "SELECT version FROM schema_version WHERE id = 'scheduler' LIMIT 1",
    ]

    @Test("driver metadata queries and scheduler statements parse", arguments: schedulerStatements)
    func realStatements(cql: String) throws {
        _ = try CQLParser.parse(cql)
    }
}
