import CQLWire
import Foundation
import Testing
@testable import CQLNode

/// What the differential corpus found the node answering differently from Cassandra 3.11.10, one behaviour
/// per test (the corpus replays the same statements; these name each finding).
@Suite("Executor corpus findings")
struct ExecutorCorpusFindingsTests {
    private func harness() async throws -> ExecutorHarness {
        let node = try ExecutorHarness()
        try await node.installSystemKeyspaces()
        try await node.run("CREATE TABLE ev (p int, q text, c1 int, c2 text, v int, s int static, m map<text, int>, "
            + "PRIMARY KEY ((p, q), c1, c2)) WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC)")
        return node
    }

    @Test("m = m + {...} adds the entries to a map")
    func mapAppend() async throws {
        let node = try await harness()
        try await node.run("INSERT INTO ev (p, q, c1, c2, m) VALUES (1, 'a', 1, 'x', {'a': 1})")
        try await node.run("UPDATE ev SET m = m + {'z': 26} WHERE p = 1 AND q = 'a' AND c1 = 1 AND c2 = 'x'")
        let row = try #require(try await node.rows("SELECT m FROM ev WHERE p = 1 AND q = 'a'").first)
        #expect(try CQLValue.decode(try #require(row[0]), as: .map(key: .varchar, value: .int)).cqlLiteral == "{'a': 1, 'z': 26}")
    }

    @Test("an INSERT of only static columns writes the static row without clustering values")
    func staticOnlyInsert() async throws {
        let node = try await harness()
        try await node.run("INSERT INTO ev (p, q, s) VALUES (2, 'b', 5)")
        #expect(try await node.rows("SELECT p, c1, s FROM ev WHERE p = 2 AND q = 'b'") == [[StorageFixture.int(2), nil, StorageFixture.int(5)]])
        #expect(await node.error("INSERT INTO ev (p, q, v) VALUES (2, 'b', 1)")?.message == "Some clustering keys are missing: c1, c2")
        #expect(await node.error("INSERT INTO ev (q, s) VALUES ('b', 1)")?.message == "Some partition key parts are missing: p")
    }

    @Test("a multi-column slice over clustering columns of mixed order compares tuples in value order")
    func mixedOrderTupleSlice() async throws {
        let node = try await harness()
        for (c1, c2) in [(1, "x"), (1, "y"), (2, ""), (2, "z"), (4, "")] {
            try await node.run("INSERT INTO ev (p, q, c1, c2, v) VALUES (3, 'a', \(c1), '\(c2)', 0)")
        }
        let rows = try await node.rows("SELECT c1, c2 FROM ev WHERE p = 3 AND q = 'a' AND (c1, c2) > (1, 'x') AND (c1, c2) < (2, 'z')")
        #expect(rows.map { [V.int($0[0]).map(String.init) ?? "null", V.text($0[1]) ?? "null"] } == [["2", ""], ["1", "y"]])
    }

    @Test("token(...) of key values bounds a token range; the minimum token as upper bound is the ring's end")
    func tokenBounds() async throws {
        let node = try await harness()
        for p in 0..<6 { try await node.run("INSERT INTO ev (p, q, c1, c2) VALUES (\(p), 'a', 0, 'x')") }
        let all = try await node.rows("SELECT p FROM ev WHERE token(p, q) <= -9223372036854775808")
        #expect(all.count == 6)
        let from = try await node.rows("SELECT p FROM ev WHERE token(p, q) >= token(3, 'a')")
        #expect(from.first.map { V.int($0[0]) } == 3)
    }

    @Test("a key column restricted twice with = is refused as Cassandra does")
    func doubleEquality() async throws {
        let node = try await harness()
        #expect(await node.error("SELECT * FROM ev WHERE p = 1 AND p = 2 AND q = 'a'")?.message
            == "p cannot be restricted by more than one relation if it includes an Equal")
    }

    @Test("a counter update with a TTL is refused")
    func counterTTL() async throws {
        let node = try await harness()
        try await node.run("CREATE TABLE hits (k int PRIMARY KEY, n counter)")
        #expect(await node.error("UPDATE hits USING TTL 10 SET n = n + 1 WHERE k = 1")?.message
            == "Cannot provide custom TTL for counter updates")
    }
}
