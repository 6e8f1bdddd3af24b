import CQLWire
import Foundation
import Testing
@testable import CQLNode

/// Native functions and aggregates answer as Cassandra's `AggregateFcts`, `TimeFcts`, `BytesConversionFcts`
/// and `ToJsonFct` do (values worked out from their Java source).
@Suite("Executor functions")
struct ExecutorFunctionTests {
    private func harness() async throws -> ExecutorHarness {
        let node = try ExecutorHarness()
        try await node.installSystemKeyspaces()
        try await node.run("CREATE TABLE nums (p int, c int, de decimal, vi varint, i int, ti tinyint, f float, "
            + "b blob, t text, ts timestamp, tu timeuuid, PRIMARY KEY (p, c))")
        try await node.run("INSERT INTO nums (p, c, de, vi, i, ti, f) VALUES (1, 1, 1.5, 7, 2147483647, 127, 0.1)")
        try await node.run("INSERT INTO nums (p, c, de, vi, i, ti, f) VALUES (1, 2, 2.25, 8, 1, 1, 0.2)")
        try await node.run("INSERT INTO nums (p, c, de, vi, i, ti, f) VALUES (1, 3, 0.001, -100000000000000000000000, 2, 1, 0.3)")
        return node
    }

    private func value(_ bytes: [UInt8]?, _ type: DataType) throws -> String {
        guard let bytes else { return "null" }
        return try CQLValue.decode(bytes, as: type).cqlLiteral
    }

    @Test("sum and avg of decimal are exact decimals: the running mean rounds half-even at the difference's scale")
    func decimalAggregates() async throws {
        let node = try await harness()
        let row = try #require(try await node.rows("SELECT sum(de), avg(de) FROM nums WHERE p = 1").first)
        #expect(try value(row[0], .decimal) == "3.751")
        // avg: 1.5; then 1.5 + (0.75 / 2 = 0.38) = 1.88; then 1.88 + (-1.879 / 3 = -0.626) = 1.254.
        #expect(try value(row[1], .decimal) == "1.254")
    }

    @Test("sum and avg of varint are exact integers; avg truncates toward zero")
    func varintAggregates() async throws {
        let node = try await harness()
        let row = try #require(try await node.rows("SELECT sum(vi), avg(vi) FROM nums WHERE p = 1").first)
        #expect(try value(row[0], .varint) == "-99999999999999999999985")
        #expect(try value(row[1], .varint) == "-33333333333333333333328")
    }

    @Test("int sums wrap like Java's int; int averages sum exactly and truncate")
    func integerAggregates() async throws {
        let node = try await harness()
        let row = try #require(try await node.rows("SELECT sum(i), avg(i), sum(ti), avg(ti) FROM nums WHERE p = 1").first)
        #expect(try value(row[0], .int) == "-2147483646")
        #expect(try value(row[1], .int) == "715827883")
        #expect(try value(row[2], .tinyint) == "-127")
        #expect(try value(row[3], .tinyint) == "43")
    }

    @Test("aggregates over no rows: sum and avg are zero of the type")
    func emptyAggregates() async throws {
        let node = try await harness()
        let row = try #require(try await node.rows("SELECT sum(de), avg(de), sum(vi), avg(vi), min(i) FROM nums WHERE p = 9").first)
        #expect(try value(row[0], .decimal) == "0")
        #expect(try value(row[1], .decimal) == "0")
        #expect(try value(row[2], .varint) == "0")
        #expect(try value(row[3], .varint) == "0")
        #expect(row[4] == nil)
    }

    @Test("minTimeuuid and maxTimeuuid in a selection bound the millisecond, as UUIDGen builds them")
    func timeuuidBoundaries() async throws {
        let node = try await harness()
        let row = try #require(try await node.rows("SELECT minTimeuuid('2013-01-01 00:05+0000'), maxTimeuuid(0) FROM nums WHERE p = 1 LIMIT 1").first)
        #expect(try value(row[0], .timeuuid) == "e23f1e00-53a6-11e2-8080-808080808080")
        #expect(try value(row[1], .timeuuid) == "1381670f-1dd2-11b2-7f7f-7f7f7f7f7f7f")
        let columns = try ExecutorHarness.resultRows(await node.query("SELECT minTimeuuid(0) FROM nums WHERE p = 1 LIMIT 1")).metadata.columns
        #expect(columns.map(\.name) == ["system.mintimeuuid(0)"])
        #expect(columns.map(\.type) == [.timeuuid])
    }

    @Test("blob conversions: <type>AsBlob, blobAs<type>, and a wrong blob length is an error")
    func blobConversions() async throws {
        let node = try await harness()
        try await node.run("INSERT INTO nums (p, c, b, t) VALUES (2, 1, textAsBlob('hello'), 'hi')")
        let row = try #require(try await node.rows("SELECT blobAsText(b), textAsBlob(t), intAsBlob(3), blobAsInt(0x0000000a) FROM nums WHERE p = 2").first)
        #expect(row == [Array("hello".utf8), Array("hi".utf8), [0, 0, 0, 3], [0, 0, 0, 10]])
        #expect(await node.error("SELECT blobAsInt(0x0a) FROM nums WHERE p = 2")?.message
            == "In call to function system.blobasint, value 0x0a is not a valid binary representation for type int")
        // A blob parameter takes any value's bytes (BytesType is value-compatible with every type).
        #expect(await node.error("SELECT blobAsInt(t) FROM nums WHERE p = 2")?.message
            == "In call to function system.blobasint, value 0x6869 is not a valid binary representation for type int")
        #expect(await node.error("SELECT intAsBlob(t) FROM nums WHERE p = 2")?.message
            == "Type error: t cannot be passed as argument 0 of function system.intasblob of type int")
    }

    @Test("overloads resolve by argument type; a constant that fits two is ambiguous")
    func overloadResolution() async throws {
        let node = try await harness()
        let row = try #require(try await node.rows("SELECT toDate('2020-02-29 10:00:00+0000'), toUnixTimestamp(ts) FROM nums WHERE p = 1 LIMIT 1").first)
        #expect(try value(row[0], .date) == "2020-02-29")
        #expect(row[1] == nil)
        let message = await node.error("SELECT toUnixTimestamp(1) FROM nums WHERE p = 1")?.message ?? ""
        #expect(message.hasPrefix("Ambiguous call to function tounixtimestamp (can be matched by following signatures: "))
        #expect(await node.error("SELECT nosuch(c) FROM nums")?.message == "Unknown function 'nosuch'")
        #expect(await node.error("SELECT c FROM nums WHERE p = nosuch(1)")?.message == "Unknown function nosuch called")
    }

    @Test("toJson and SELECT JSON write values as Cassandra's toJSONString")
    func json() async throws {
        let node = try await harness()
        try await node.run("INSERT INTO nums (p, c, t, ts, f) VALUES (3, 1, 'a\"b', '2020-01-02 03:04:05.678+0000', 1e10)")
        let row = try #require(try await node.rows("SELECT toJson(t), toJson(ts), toJson(f), toJson(de) FROM nums WHERE p = 3").first)
        #expect(row.map { V.text($0) } == ["\"a\\\"b\"", "\"2020-01-02 03:04:05.678Z\"", "1.0E10", "null"])
        let json = try await node.rows("SELECT JSON c, t AS \"Label\" FROM nums WHERE p = 3")
        #expect(json.map { $0.map { V.text($0) } } == [["{\"c\": 1, \"\\\"Label\\\"\": \"a\\\"b\"}"]])
        #expect(await node.error("INSERT INTO nums (p, c, t) VALUES (3, 2, toJson(1))")?.message
            == "toJson() may only be used within the selection clause of SELECT statements")
    }

    @Test("INSERT JSON and fromJson read JSON values into the columns' types")
    func insertJSON() async throws {
        let node = try await harness()
        try await node.run("INSERT INTO nums JSON '{\"p\": 4, \"c\": 1, \"de\": 1.25, \"vi\": 12345678901234567890, \"t\": \"x\", \"i\": \"42\"}'")
        let row = try #require(try await node.rows("SELECT de, vi, t, i FROM nums WHERE p = 4").first)
        #expect(try value(row[0], .decimal) == "1.25")
        #expect(try value(row[1], .varint) == "12345678901234567890")
        #expect(V.text(row[2]) == "x")
        #expect(V.int(row[3]) == 42)
        try await node.run("UPDATE nums SET t = fromJson('\"y\"') WHERE p = 4 AND c = 1")
        #expect(try await node.rows("SELECT t FROM nums WHERE p = 4").first?.first == Array("y".utf8))
    }

    @Test("Java's Double.toString: plain between 10^-3 and 10^7, scientific outside")
    func javaNumberText() {
        #expect(JavaNumberText.double(1.5) == "1.5")
        #expect(JavaNumberText.double(100) == "100.0")
        #expect(JavaNumberText.double(1e7) == "1.0E7")
        #expect(JavaNumberText.double(0.001) == "0.001")
        #expect(JavaNumberText.double(0.0001) == "1.0E-4")
        #expect(JavaNumberText.double(-2.25) == "-2.25")
        #expect(JavaNumberText.double(3.141592653589793) == "3.141592653589793")
        #expect(JavaNumberText.float(0.1) == "0.1")
    }
}
