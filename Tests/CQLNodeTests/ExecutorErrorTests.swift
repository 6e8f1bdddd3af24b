import CQLWire
import Foundation
import Testing
@testable import CQLNode

@Suite("Executor: errors as Cassandra answers them")
struct ExecutorErrorTests {
    @Test("Invalid requests carry Cassandra's messages", arguments: [
        ("SELECT * FROM no_such_table", "table no_such_table does not exist"),
        ("SELECT * FROM nope.t", "Keyspace nope does not exist"),
        ("SELECT * FROM pg WHERE c = 1", "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING"),
        ("SELECT * FROM pg WHERE v = 'x'", "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING"),
        ("INSERT INTO kv (k, v) VALUES (1, 'x')", "Invalid STRING constant (x) for \"v\" of type int"),
        ("INSERT INTO locks (name, owner) VALUES ('a', 5)", "Invalid INTEGER constant (5) for \"owner\" of type text"),
        ("INSERT INTO pg (p, v) VALUES (1, 'x')", "Some clustering keys are missing: c"),
        ("INSERT INTO kv (k, x) VALUES (1, 2)", "Undefined column name x in table cap.kv"),
        ("SELECT x FROM kv", "Undefined column name x in table cap.kv"),
        ("UPDATE pg SET v = 'a' WHERE p = 1", "Some clustering keys are missing: c"),
        ("UPDATE pg SET v = 'a' WHERE c = 1", "Some partition key parts are missing: p"),
        ("UPDATE kv SET k = 1 WHERE k = 1", "PRIMARY KEY part k found in SET part"),
        ("DELETE FROM kv WHERE v = 1", "Non PRIMARY KEY columns found in where clause: v"),
        ("SELECT * FROM kv LIMIT 0", "LIMIT must be strictly positive"),
        ("SELECT * FROM kv ORDER BY v", "Order by is currently only supported on the clustered columns of the PRIMARY KEY, got v"),
        ("SELECT * FROM pg ORDER BY c DESC", "ORDER BY is only supported when the partition key is restricted by an EQ or an IN."),
        ("INSERT INTO kv (k, v) VALUES (1, 99999999999)", "Unable to make int from '99999999999'"),
        ("INSERT INTO kv (k, v) VALUES (1, 1) USING TTL -1", "A TTL must be greater or equal to 0, but was -1"),
        ("BEGIN COUNTER BATCH INSERT INTO kv (k, v) VALUES (1, 1) APPLY BATCH", "Cannot include non-counter statement in a counter batch"),
        ("BEGIN BATCH UPDATE counts SET n = n + 1 WHERE k = 'a' APPLY BATCH", "Cannot include a counter statement in a logged batch"),
        ("BEGIN UNLOGGED BATCH UPDATE counts SET n = n + 1 WHERE k = 'a' INSERT INTO kv (k, v) VALUES (1, 1) APPLY BATCH", "Counter and non-counter mutations cannot exist in the same batch"),
        ("CREATE INDEX ON kv (v)", "CREATE INDEX statements are not supported by this node"),
    ])
    func invalid(cql: String, message: String) async throws {
        let node = try ExecutorHarness()
        let error = await node.error(cql)
        #expect(error?.code == 0x2200, "\(cql)")
        #expect(error?.message == message, "\(cql)")
    }

    @Test("a statement that does not parse is a Syntax error")
    func syntax() async throws {
        let node = try ExecutorHarness()
        let error = await node.error("SELEKT * FROM pg")
        #expect(error?.code == 0x2000)
        #expect(error?.message == "line 1:0 no viable alternative at input 'SELEKT' ([SELEKT]...)")
    }

    @Test("bound values are checked against their column types", arguments: [
        ([WireValue.bytes([0, 0, 1])], "Expected 4 or 0 byte int (3)"),
        ([WireValue.bytes([1, 2])], "Expected 4 or 0 byte int (2)"),
    ])
    func boundValues(values: [WireValue], message: String) async throws {
        let node = try ExecutorHarness()
        #expect(await node.error("INSERT INTO kv (k, v) VALUES (1, ?)", values)?.message == message)
    }

    @Test("the number of bound values must match the markers")
    func valueCount() async throws {
        let node = try ExecutorHarness()
        #expect(await node.error("INSERT INTO kv (k, v) VALUES (?, ?)", [V.int(1)])?.message == "Invalid amount of bind variables")
    }

    @Test("consistency levels beyond the replication factor answer Unavailable with required and alive", arguments: [
        (Consistency.two, "kv", Int32(2), Int32(1)),
        (.three, "kv", 3, 1),
        (.quorum, "rf3.kv", 2, 1),
        (.all, "rf3.kv", 3, 1),
        (.localQuorum, "rf3.kv", 2, 1),
    ])
    func unavailable(consistency: Consistency, table: String, required: Int32, alive: Int32) async throws {
        let node = try ExecutorHarness()
        for cql in ["SELECT * FROM \(table) WHERE k = 1", "INSERT INTO \(table) (k, v) VALUES (9, 9)"] {
            let error = await node.error(cql, consistency: consistency)
            #expect(error?.kind == .unavailable(consistency: consistency, required: required, alive: alive), "\(cql)")
            #expect(error?.message == "Cannot achieve consistency level \(consistency)")
        }
    }

    @Test("the levels a single node of RF 1 achieves succeed", arguments: [Consistency.one, .quorum, .all, .localOne, .localQuorum])
    func achievable(consistency: Consistency) async throws {
        let node = try ExecutorHarness()
        #expect(await node.query("INSERT INTO kv (k, v) VALUES (1, 1)", consistency: consistency) == .result(.void))
        #expect(await node.error("SELECT * FROM kv WHERE k = 1", consistency: consistency) == nil)
        #expect(await node.error("SELECT * FROM rf3.kv WHERE k = 1", consistency: .one) == nil)
    }

    @Test("serial levels cannot write, ANY cannot read")
    func levelMisuse() async throws {
        let node = try ExecutorHarness()
        #expect(await node.error("INSERT INTO kv (k, v) VALUES (1, 1)", consistency: .serial)?.message
            == "You must use conditional updates for serializable writes")
        #expect(await node.error("SELECT * FROM kv", consistency: .any)?.message == "ANY ConsistencyLevel is only supported for writes")
        #expect(await node.query("INSERT INTO kv (k, v) VALUES (1, 1)", consistency: .any) == .result(.void))
        #expect(await node.error("UPDATE counts SET n = n + 1 WHERE k = 'a'", consistency: .any)?.message
            == "Consistency level ANY is not yet supported for counter table counts")
    }

    @Test("EXECUTE of an unknown id answers UNPREPARED with the id, as errors.pcap shows")
    func unprepared() async throws {
        let node = try ExecutorHarness()
        let id = [UInt8](repeating: 0, count: 16)
        let message = await node.executor.handle(.execute(Execute(id: id, parameters: ExecutorHarness.parameters())), context: node.context).message
        // errors.pcap: the ERROR body Cassandra 3.11.10 sent for this id.
        let captured = "0000250000ed" + Array("Prepared query with ID 00000000000000000000000000000000 not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)".utf8).map { String(format: "%02x", $0) }.joined() + "0010" + String(repeating: "00", count: 16)
        #expect(ExecutorHarness.body(message).map { String(format: "%02x", $0) }.joined() == captured)
    }

    @Test("a prepared id is MD5(keyspace + query), as Cassandra computes it")
    func preparedID() async throws {
        let node = try ExecutorHarness()
        let message = await node.executor.handle(.prepare(Prepare(query: "INSERT INTO pg (p, c, v) VALUES (?, ?, ?)")), context: node.context).message
        guard case let .result(.prepared(statement)) = message else {
            Issue.record("not prepared: \(message)")
            return
        }
        // The id Cassandra 3.11 answered in batch.pcap for this query in keyspace `cap`.
        #expect(statement.id.map { String(format: "%02x", $0) }.joined() == "d7dd994f8874d76f7934621fd8af2a15")
    }

    @Test("schema statements reach the schema executor: AlreadyExists carries keyspace and table, new tables take data")
    func schemaThroughExecutor() async throws {
        let node = try ExecutorHarness()
        try await node.installSystemKeyspaces()
        let error = await node.error("CREATE TABLE pg (p int PRIMARY KEY)")
        #expect(error?.kind == .alreadyExists(keyspace: "cap", table: "pg"))
        #expect(error?.message == "Cannot add already existing table \"pg\" to keyspace \"cap\"")
        try await node.run("CREATE TABLE fresh (k int PRIMARY KEY, v text)")
        try await node.run("INSERT INTO fresh (k, v) VALUES (1, 'a')")
        #expect(try await node.rows("SELECT v FROM fresh WHERE k = 1") == [[Array("a".utf8)]])
    }

    @Test("SERIAL reads name one partition; SERIAL is no commit level for an LWT")
    func serialMisuse() async throws {
        let node = try ExecutorHarness()
        #expect(await node.error("SELECT * FROM kv", consistency: .serial)?.message
            == "SERIAL/LOCAL_SERIAL consistency may only be requested for one partition at a time")
        #expect(await node.error("SELECT * FROM kv WHERE k = 1", consistency: .localSerial) == nil)
        #expect(await node.error("UPDATE kv SET v = 1 WHERE k = 1 IF v = 2", consistency: .serial)?.message
            == "SERIAL is not supported as conditional update commit consistency. Use ANY if you mean \"make sure it is accepted but I don't care how many replicas commit it for non-SERIAL reads\"")
    }

    @Test("hostile bound values of every column type are answered, never trapped on")
    func hostileValues() async throws {
        let node = try ExecutorHarness()
        var generator = SystemRandomNumberGenerator()
        let columns = ["s", "v", "w", "l", "st", "m"]
        for _ in 0..<300 {
            let length = Int.random(in: 0...24, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let column = columns.randomElement(using: &generator) ?? "v"
            let message = await node.query("UPDATE t SET \(column) = ? WHERE pk = 1 AND ck = ?", [.bytes(bytes), .bytes(bytes)])
            switch message {
            case .result(.void): break
            case let .error(error): #expect(error.code == 0x2200, "\(error)")
            default: Issue.record("unexpected answer \(message)")
            }
        }
        let state = await node.query("SELECT * FROM t", pageSize: 1, pagingState: [0x43, 0x4E, 0x01, 0xFF, 0xFF, 0xFF, 0xF0])
        if case let .error(error) = state { #expect(error.code == 0x000A) } else { Issue.record("hostile paging state accepted") }
    }
}
