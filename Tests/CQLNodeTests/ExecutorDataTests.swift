import CQLWire
import Foundation
import Testing
@testable import CQLNode

@Suite("Executor: reads and writes")
struct ExecutorDataTests {
    @Test("USE answers set_keyspace and later statements resolve unqualified names in it")
    func useKeyspace() async throws {
        let node = try ExecutorHarness(useKeyspace: false)
        #expect(await node.error("SELECT * FROM kv")?.message
            == "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
        #expect(await node.query("USE cap") == .result(.setKeyspace("cap")))
        #expect(try await node.rows("SELECT * FROM kv").isEmpty)
        #expect(await node.error("USE nope")?.message == "Keyspace 'nope' does not exist")
    }

    @Test("the last write wins by timestamp, whatever the arrival order")
    func lastWriteWins() async throws {
        let node = try ExecutorHarness()
        try await node.run("INSERT INTO kv (k, v) VALUES (1, 10) USING TIMESTAMP 2000")
        try await node.run("INSERT INTO kv (k, v) VALUES (1, 20) USING TIMESTAMP 1000")
        #expect(try await node.rows("SELECT v, writetime(v) FROM kv WHERE k = 1") == [[StorageFixture.int(10), StorageFixture.bigint(2000)]])
        try await node.run("UPDATE kv SET v = 30 WHERE k = 1", timestamp: 3000)
        #expect(try await node.rows("SELECT v FROM kv WHERE k = 1") == [[StorageFixture.int(30)]])
    }

    @Test("server timestamps are strictly increasing, so back-to-back writes never tie")
    func serverTimestampsIncrease() async throws {
        let node = try ExecutorHarness()
        for value in 1...5 { try await node.run("INSERT INTO kv (k, v) VALUES (1, \(value))") }
        #expect(try await node.rows("SELECT v FROM kv WHERE k = 1") == [[StorageFixture.int(5)]])
    }

    @Test("TTL expires cells; ttl() counts down and writetime() reports the write")
    func timeToLive() async throws {
        let node = try ExecutorHarness()
        try await node.run("INSERT INTO kv (k, v) VALUES (1, 7) USING TTL 100 AND TIMESTAMP 42")
        #expect(try await node.rows("SELECT ttl(v), writetime(v) FROM kv WHERE k = 1") == [[StorageFixture.int(100), StorageFixture.bigint(42)]])
        node.clock.advance(seconds: 40)
        #expect(try await node.rows("SELECT ttl(v) FROM kv WHERE k = 1") == [[StorageFixture.int(60)]])
        node.clock.advance(seconds: 60)
        #expect(try await node.rows("SELECT * FROM kv WHERE k = 1").isEmpty)
    }

    @Test("USING TTL 0 writes without a TTL even where the table has a default_time_to_live, as Cassandra does")
    func explicitZeroTTL() async throws {
        let node = try ExecutorHarness()
        _ = try node.storage.apply(.alterTable(keyspace: "cap", table: "kv", .setOptions([("default_time_to_live", "100")]), ifExists: false))
        try await node.run("INSERT INTO kv (k, v) VALUES (1, 7)")
        try await node.run("INSERT INTO kv (k, v) VALUES (2, 8) USING TTL 0")
        #expect(try await node.rows("SELECT ttl(v) FROM kv WHERE k = 1") == [[StorageFixture.int(100)]])
        #expect(try await node.rows("SELECT ttl(v) FROM kv WHERE k = 2") == [[nil]])
        node.clock.advance(seconds: 200)
        #expect(try await node.rows("SELECT v FROM kv WHERE k = 1").isEmpty)
        #expect(try await node.rows("SELECT v FROM kv WHERE k = 2") == [[StorageFixture.int(8)]])
    }

    @Test("DELETE writes tombstones: rows, columns, ranges and whole partitions")
    func tombstones() async throws {
        let node = try ExecutorHarness()
        for c in 0..<6 { try await node.run("INSERT INTO pg (p, c, v) VALUES (1, \(c), 'v\(c)')") }
        try await node.run("DELETE FROM pg WHERE p = 1 AND c = 0")
        try await node.run("DELETE v FROM pg WHERE p = 1 AND c = 1")
        try await node.run("DELETE FROM pg WHERE p = 1 AND c >= 4")
        let rows = try await node.rows("SELECT c, v FROM pg WHERE p = 1")
        #expect(rows.map { V.int($0[0]) } == [1, 2, 3])
        #expect(rows[0][1] == nil)
        try await node.run("DELETE FROM pg WHERE p = 1")
        #expect(try await node.rows("SELECT * FROM pg WHERE p = 1").isEmpty)
        // A write older than the partition tombstone stays shadowed.
        try await node.run("INSERT INTO pg (p, c, v) VALUES (1, 9, 'old') USING TIMESTAMP 1")
        #expect(try await node.rows("SELECT * FROM pg WHERE p = 1").isEmpty)
    }

    @Test("clustering order: ASC tables read forward, DESC tables backward, ORDER BY reverses either")
    func clusteringOrder() async throws {
        let node = try ExecutorHarness()
        for c in [3, 1, 2] {
            try await node.run("INSERT INTO pg (p, c, v) VALUES (1, \(c), 'x')")
            try await node.run("INSERT INTO d (k, c, v) VALUES (1, \(c), \(c))")
        }
        let cases: [(String, [Int32])] = [
            ("SELECT c FROM pg WHERE p = 1", [1, 2, 3]),
            ("SELECT c FROM pg WHERE p = 1 ORDER BY c DESC", [3, 2, 1]),
            ("SELECT c FROM d WHERE k = 1", [3, 2, 1]),
            ("SELECT c FROM d WHERE k = 1 ORDER BY c ASC", [1, 2, 3]),
            ("SELECT c FROM d WHERE k = 1 AND c > 1", [3, 2]),
            ("SELECT c FROM d WHERE k = 1 AND c <= 2 ORDER BY c ASC", [1, 2]),
            ("SELECT c FROM pg WHERE p = 1 AND c IN (3, 1)", [1, 3]),
            ("SELECT c FROM pg WHERE p = 1 AND c > 1 AND c < 3", [2]),
            ("SELECT c FROM pg WHERE p = 1 LIMIT 2", [1, 2]),
        ]
        for (cql, expected) in cases {
            #expect(try await node.rows(cql).map { V.int($0[0]) } == expected, "\(cql)")
        }
    }

    @Test("multi-column clustering restrictions select slices in clustering order")
    func multiColumn() async throws {
        let node = try ExecutorHarness()
        for a in 0..<3 { for b in 0..<3 { try await node.run("INSERT INTO mc (k, a, b, v) VALUES (1, \(a), \(b), \(a * 10 + b))") } }
        let cases: [(String, [Int32])] = [
            ("SELECT v FROM mc WHERE k = 1 AND (a, b) > (1, 1)", [12, 20, 21, 22]),
            // Bounds of different widths make one slice (as Cassandra 3.11 answers): the poller's resume read.
            ("SELECT v FROM mc WHERE k = 1 AND (a, b) > (0, 1) AND (a) <= (1)", [2, 10, 11, 12]),
            ("SELECT v FROM mc WHERE k = 1 AND (a) < (2) AND (a, b) >= (1, 2)", [12]),
            ("SELECT v FROM mc WHERE k = 1 AND (a, b) = (2, 0)", [20]),
            ("SELECT v FROM mc WHERE k = 1 AND (a, b) IN ((0, 1), (2, 2))", [1, 22]),
            ("SELECT v FROM mc WHERE k = 1 AND a = 1 AND b >= 1", [11, 12]),
            ("SELECT v FROM mc WHERE k = 1 AND a = 1 ORDER BY a DESC, b DESC", [12, 11, 10]),
            ("SELECT v FROM mc WHERE k = 1 AND b = 2 ALLOW FILTERING", [2, 12, 22]),
            ("SELECT v FROM mc WHERE k = 1 AND v > 20 ALLOW FILTERING", [21, 22]),
        ]
        for (cql, expected) in cases {
            #expect(try await node.rows(cql).map { V.int($0[0]) } == expected, "\(cql)")
        }
        #expect(await node.error("SELECT v FROM mc WHERE k = 1 AND b = 2")?.message
            == "PRIMARY KEY column \"b\" cannot be restricted as preceding column \"a\" is not restricted")
    }

    @Test("token() returns Murmur3 tokens and full scans come back in token order")
    func tokenOrder() async throws {
        let node = try ExecutorHarness()
        for k in 0..<50 { try await node.run("INSERT INTO kv (k, v) VALUES (\(k), \(k))") }
        let rows = try await node.rows("SELECT k, token(k) FROM kv")
        #expect(rows.count == 50)
        let tokens = rows.map { V.bigint($0[1]) ?? 0 }
        #expect(tokens == tokens.sorted())
        for row in rows {
            #expect(V.bigint(row[1]) == Murmur3Token.token(of: row[0] ?? []))
        }
        let middle = tokens[25]
        let after = try await node.rows("SELECT k FROM kv WHERE token(k) > \(middle)")
        #expect(after.count == 24)
        let bounded = try await node.rows("SELECT k FROM kv WHERE token(k) >= ? AND token(k) <= ?", [V.bigint(tokens[10]), V.bigint(tokens[12])])
        #expect(bounded.map { $0[0] } == rows[10...12].map { $0[0] })
    }

    @Test("partition key IN, DISTINCT, count(*), PER PARTITION LIMIT and aliases")
    func selections() async throws {
        let node = try ExecutorHarness()
        for p in 1...3 { for c in 0..<4 { try await node.run("INSERT INTO pg (p, c, v) VALUES (\(p), \(c), 'x')") } }
        #expect(try await node.rows("SELECT p, c FROM pg WHERE p IN (3, 1) AND c = 2").map { [V.int($0[0]), V.int($0[1])] } == [[1, 2], [3, 2]])
        #expect(try await node.rows("SELECT DISTINCT p FROM pg").count == 3)
        #expect(try await node.rows("SELECT count(*) FROM pg") == [[StorageFixture.bigint(12)]])
        #expect(try await node.rows("SELECT COUNT(*) FROM pg WHERE p = 2 AND c > 0") == [[StorageFixture.bigint(3)]])
        #expect(try await node.rows("SELECT c FROM pg PER PARTITION LIMIT 1").count == 3)
        let aliased = try ExecutorHarness.resultRows(await node.query("SELECT c AS cc, count(*) AS n FROM pg WHERE p = 1"))
        #expect(aliased.metadata.columns.map(\.name) == ["cc", "n"])
        let all = try ExecutorHarness.resultRows(await node.query("SELECT * FROM t"))
        #expect(all.metadata.columns.map(\.name) == ["pk", "ck", "s", "l", "m", "st", "v", "w"])
    }

    @Test("collections: append, prepend, element and key assignment, removal, whole-value overwrite")
    func collections() async throws {
        let node = try ExecutorHarness()
        try await node.run("INSERT INTO t (pk, ck, l, st, m) VALUES (1, 1, ['b'], {3, 1}, {'a': 1})")
        try await node.run("UPDATE t SET l = l + ['c'], st = st + {2}, m['b'] = 2 WHERE pk = 1 AND ck = 1")
        try await node.run("UPDATE t SET l = ['a'] + l, st = st - {3}, m = m - {'a'} WHERE pk = 1 AND ck = 1")
        try await node.run("UPDATE t SET l[1] = 'B' WHERE pk = 1 AND ck = 1")
        let row = try #require(try await node.rows("SELECT l, st, m FROM t WHERE pk = 1 AND ck = 1").first)
        #expect(row[0] == StorageFixture.collection(["a", "B", "c"].map { Array($0.utf8) }))
        #expect(row[1] == StorageFixture.collection([StorageFixture.int(1), StorageFixture.int(2)]))
        #expect(row[2] == [0, 0, 0, 1] + [0, 0, 0, 1] + Array("b".utf8) + [0, 0, 0, 4] + StorageFixture.int(2))
        try await node.run("DELETE l[0], m['b'] FROM t WHERE pk = 1 AND ck = 1")
        try await node.run("UPDATE t SET st = {9, 8} WHERE pk = 1 AND ck = 1")
        let after = try #require(try await node.rows("SELECT l, st, m FROM t WHERE pk = 1 AND ck = 1").first)
        #expect(after[0] == StorageFixture.collection(["B", "c"].map { Array($0.utf8) }))
        #expect(after[1] == StorageFixture.collection([StorageFixture.int(8), StorageFixture.int(9)]))
        #expect(after[2] == nil)
        // A bound set arrives unsorted with a duplicate: it is stored sorted and unique.
        try await node.run("UPDATE t SET st = ? WHERE pk = 1 AND ck = 1",
                           [.bytes(StorageFixture.collection([StorageFixture.int(5), StorageFixture.int(4), StorageFixture.int(5)]))])
        #expect(try await node.rows("SELECT st FROM t WHERE pk = 1 AND ck = 1")
            == [[StorageFixture.collection([StorageFixture.int(4), StorageFixture.int(5)])]])
    }

    @Test("static columns are shared by the partition's rows and survive without rows")
    func staticColumns() async throws {
        let node = try ExecutorHarness()
        try await node.run("INSERT INTO t (pk, ck, s, v) VALUES (1, 1, 'shared', 'a')")
        try await node.run("INSERT INTO t (pk, ck, v) VALUES (1, 2, 'b')")
        #expect(try await node.rows("SELECT ck, s FROM t WHERE pk = 1").map { [V.int($0[0]).map(String.init), V.text($0[1])] }
            == [["1", "shared"], ["2", "shared"]])
        try await node.run("UPDATE t SET s = 'only' WHERE pk = 2")
        #expect(try await node.rows("SELECT pk, ck, s FROM t WHERE pk = 2") == [[StorageFixture.int(2), nil, Array("only".utf8)]])
    }

    @Test("counters add and subtract; a counter cannot be set")
    func counters() async throws {
        let node = try ExecutorHarness()
        try await node.run("UPDATE counts SET n = n + 5 WHERE k = 'a'")
        try await node.run("UPDATE counts SET n = n - 2 WHERE k = 'a'")
        try await node.run("UPDATE counts SET n = n + ? WHERE k = 'a'", [V.bigint(10)])
        #expect(try await node.rows("SELECT n FROM counts WHERE k = 'a'") == [[StorageFixture.bigint(13)]])
        #expect(await node.error("UPDATE counts SET n = 1 WHERE k = 'a'")?.message
            == "Cannot set the value of counter column n (counters can only be incremented/decremented, not set)")
        #expect(await node.error("INSERT INTO counts (k, n) VALUES ('b', 1)")?.message
            == "INSERT statements are not allowed on counter tables, use UPDATE instead")
    }

    @Test("functions: now(), uuid(), toTimestamp(now()), currentTimestamp()")
    func functions() async throws {
        let node = try ExecutorHarness()
        let expected = node.clock.now / 1000
        let rows = try await node.rows("SELECT toTimestamp(now()), currentTimestamp(), now(), uuid() FROM kv LIMIT 1")
        #expect(rows.isEmpty)
        try await node.run("INSERT INTO locks (name, expire_at) VALUES ('x', toTimestamp(now()))")
        #expect(try await node.rows("SELECT expire_at FROM locks WHERE name = 'x'") == [[StorageFixture.bigint(expected)]])
        try await node.run("INSERT INTO kv (k, v) VALUES (1, 1)")
        let row = try #require(try await node.rows("SELECT toTimestamp(now()), currentTimestamp(), now(), uuid() FROM kv WHERE k = 1").first)
        #expect(V.bigint(row[0]) == expected)
        #expect(V.bigint(row[1]) == expected)
        #expect(row[2]?.count == 16 && (row[2]?[6] ?? 0) >> 4 == 1)
        #expect(row[3]?.count == 16 && (row[3]?[6] ?? 0) >> 4 == 4)
    }

    @Test("timestamp literals in Cassandra's formats")
    func timestampLiterals() async throws {
        let node = try ExecutorHarness()
        let cases: [(String, Int64)] = [
            ("2030-01-01", 1_893_456_000_000),
            ("2030-01-01 00:00:01", 1_893_456_001_000),
            ("2030-01-01T00:00:00.250Z", 1_893_456_000_250),
            ("2030-01-01 01:00:00+0100", 1_893_456_000_000),
            ("1893456000000", 1_893_456_000_000),
        ]
        for (literal, millis) in cases {
            try await node.run("INSERT INTO locks (name, expire_at) VALUES ('t', '\(literal)')")
            #expect(try await node.rows("SELECT expire_at FROM locks WHERE name = 't'") == [[StorageFixture.bigint(millis)]], "\(literal)")
        }
    }

    @Test("named values bind by marker name and by column name")
    func namedValues() async throws {
        let node = try ExecutorHarness()
        let parameters = QueryParameters(consistency: .one, values: .named([("v", V.int(3)), ("key", V.int(2))]))
        let message = await node.executor.handle(.query(Query(query: "INSERT INTO kv (k, v) VALUES (:key, ?)", parameters: parameters)),
                                                 context: node.context).message
        #expect(message == .result(.void))
        #expect(try await node.rows("SELECT v FROM kv WHERE k = 2") == [[StorageFixture.int(3)]])
    }

    @Test("min, max, sum and avg aggregate the selected rows in the column's type")
    func aggregates() async throws {
        let node = try ExecutorHarness()
        for c in 1...4 { try await node.run("INSERT INTO d (k, c, v) VALUES (1, \(c), \(c * 10))") }
        let row = try #require(try await node.rows("SELECT min(v), max(v), sum(v), avg(v), count(v) FROM d WHERE k = 1").first)
        #expect(row.map(V.int).prefix(4) == [10, 40, 100, 25])
        #expect(V.bigint(row[4]) == 4)
        let names = try ExecutorHarness.resultRows(await node.query("SELECT max(v) FROM d WHERE k = 1")).metadata.columns.map(\.name)
        #expect(names == ["system.max(v)"])
    }

    @Test("a prepared statement keeps the keyspace it was prepared in, also inside a BATCH from another session")
    func preparedKeyspace() async throws {
        let node = try ExecutorHarness()
        guard case let .result(.prepared(insert)) = await node.executor.handle(.prepare(Prepare(query: "INSERT INTO kv (k, v) VALUES (?, ?)")),
                                                                               context: node.context).message else {
            Issue.record("PREPARE failed")
            return
        }
        let elsewhere = RequestContext(stream: 3, session: ClientSession())
        let batch = CQLWire.Batch(type: .unlogged, statements: [.prepared(insert.id, .positional([V.int(7), V.int(70)])),
                                                               .query("INSERT INTO cap.kv (k, v) VALUES (8, 80)", .none)],
                                  consistency: .one)
        #expect(await node.executor.handle(.batch(batch), context: elsewhere).message == .result(.void))
        let execute = Execute(id: insert.id, parameters: ExecutorHarness.parameters([V.int(9), V.int(90)]))
        #expect(await node.executor.handle(.execute(execute), context: elsewhere).message == .result(.void))
        #expect(try await node.rows("SELECT k FROM kv").count == 3)
    }

    @Test("element selection on maps and sets")
    func elementSelection() async throws {
        let node = try ExecutorHarness()
        try await node.run("INSERT INTO t (pk, ck, st, m) VALUES (1, 1, {1, 2}, {'a': 1, 'b': 2})")
        let rows = try ExecutorHarness.resultRows(await node.query("SELECT m['b'], m['z'], st[2], st[5] FROM t WHERE pk = 1 AND ck = 1"))
        #expect(rows.metadata.columns.map(\.name) == ["m['b']", "m['z']", "st[2]", "st[5]"])
        #expect(try rows.cellValues() == [[StorageFixture.int(2), nil, StorageFixture.int(2), nil]])
    }
}
