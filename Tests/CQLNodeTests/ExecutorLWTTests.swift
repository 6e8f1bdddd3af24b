import CQLWire
import Foundation
import Testing
@testable import CQLNode

/// RESULT bodies recorded from Apache Cassandra 3.11.10 (captures-c311 `lwt.pcap` and `batch.pcap`, Apache-2.0,
/// see ../shared/reference/README.md), for the same schema and statements as the tests run.
enum CapturedResults {
    static let applied = "000000020000000100000001000363617000056c6f636b7300095b6170706c6965645d0004000000010000000101"
    static let insertNotApplied = "000000020000000100000006000363617000056c6f636b7300095b6170706c6965645d000400046e616d65000d"
        + "000565706f6368000200096578706972655f6174000b000d66656e63696e675f746f6b656e000200056f776e6572000d00000001000000010000"
        + "00000773686172642d3100000008000000000000000100000008000001b8dac5b400000000080000000000000001000000027731"
    static let prepareUpdate = "00000004001017cc4b4d0c2a1df82a8a34d197c353510000000100000005000000010003000363617000056c6f"
        + "636b7300056f776e6572000d000d66656e63696e675f746f6b656e0002000565706f6368000200046e616d65000d000565706f636800020000000400000000"
    static let updateNotApplied = "000000020000000100000002000363617000056c6f636b7300095b6170706c6965645d0004000565706f636800020000"
        + "00010000000100000000080000000000000002"
    static let selectLock = "000000020000000100000005000363617000056c6f636b7300046e616d65000d000565706f6368000200096578706972655f"
        + "6174000b000d66656e63696e675f746f6b656e000200056f776e6572000d000000010000000773686172642d31000000080000000000000002000000"
        + "08000001b8dac5b400000000080000000000000002000000027732"
    static let deleteMissing = "000000020000000100000001000363617000056c6f636b7300095b6170706c6965645d0004000000010000000100"
    static let preparePgInsert = "000000040010d7dd994f8874d76f7934621fd8af2a15000000010000000300000001000000036361700002706700017000"
        + "090001630009000176000d0000000400000000"
    static let batchApplied = "00000002000000010000000100036361700002706700095b6170706c6965645d0004000000010000000101"
    static let batchNotApplied = "00000002000000010000000400036361700002706700095b6170706c6965645d000400017000090001630009000176"
        + "000d000000010000000100000000040000000200000004000000000000000178"
}

@Suite("Executor: lightweight transactions")
struct ExecutorLWTTests {
    private func hex(_ message: ResponseMessage) -> String {
        guard case let .result(result) = message else { return "not a RESULT: \(message)" }
        var writer = ByteWriter()
        result.encode(into: &writer)
        return writer.bytes.map { String(format: "%02x", $0) }.joined()
    }

    @Test("lwt.pcap's conversation gives Cassandra's RESULT bodies byte for byte")
    func lwtCapture() async throws {
        let node = try ExecutorHarness()
        let insert = "INSERT INTO locks (name, owner, fencing_token, epoch, expire_at) VALUES ('shard-1', '%@', %@, 1, '2030-01-01') IF NOT EXISTS"
        #expect(hex(await node.query(String(format: insert, "w1", "1"))) == CapturedResults.applied)
        #expect(hex(await node.query(String(format: insert, "w2", "2"))) == CapturedResults.insertNotApplied)

        let prepareText = "UPDATE locks SET owner=?, fencing_token=?, epoch=? WHERE name=? IF epoch = ?"
        let prepared = await node.executor.handle(.prepare(Prepare(query: prepareText)), context: node.context).message
        #expect(hex(prepared) == CapturedResults.prepareUpdate)
        guard case let .result(.prepared(statement)) = prepared else { return }
        func execute(_ owner: String, _ epoch: Int64) async -> ResponseMessage {
            let values: [WireValue] = [V.text(owner), V.bigint(epoch), V.bigint(epoch), V.text("shard-1"), V.bigint(1)]
            let parameters = ExecutorHarness.parameters(values, consistency: .quorum, serial: .serial)
            return await node.executor.handle(.execute(Execute(id: statement.id, parameters: parameters)), context: node.context).message
        }
        #expect(hex(await execute("w2", 2)) == CapturedResults.applied)
        #expect(hex(await execute("w3", 3)) == CapturedResults.updateNotApplied)
        #expect(hex(await node.query("SELECT * FROM locks WHERE name='shard-1'", consistency: .serial, pageSize: 5000))
            == CapturedResults.selectLock)
        #expect(hex(await node.query("DELETE FROM locks WHERE name='shard-1' IF owner = 'w2'", consistency: .quorum, serial: .localSerial))
            == CapturedResults.applied)
        #expect(hex(await node.query("DELETE FROM locks WHERE name='nope' IF EXISTS", consistency: .quorum)) == CapturedResults.deleteMissing)
    }

    @Test("batch.pcap's batches, including the conditional ones, give Cassandra's RESULT bodies")
    func batchCapture() async throws {
        let node = try ExecutorHarness()
        let prepared = await node.executor.handle(.prepare(Prepare(query: "INSERT INTO pg (p, c, v) VALUES (?, ?, ?)")), context: node.context).message
        #expect(hex(prepared) == CapturedResults.preparePgInsert)
        guard case let .result(.prepared(statement)) = prepared else { return }
        let logged = CQLWire.Batch(type: .logged, statements: (0..<3).map { c in
            .prepared(statement.id, .positional([V.int(2), V.int(Int32(c)), V.text("b")]))
        } + [.query("INSERT INTO pg (p, c, v) VALUES (2, 99, 'simple')", .none)], consistency: .quorum)
        #expect(await node.executor.handle(.batch(logged), context: node.context).message == .result(.void))
        let unlogged = CQLWire.Batch(type: .unlogged, statements: [.prepared(statement.id, .positional([V.int(3), V.int(0), V.text("u")]))],
                                     consistency: .quorum)
        #expect(await node.executor.handle(.batch(unlogged), context: node.context).message == .result(.void))
        func conditional(_ value: String, _ c: Int) -> CQLWire.Batch {
            CQLWire.Batch(type: .logged, statements: [
                .query("UPDATE pg SET v='\(value)' WHERE p=2 AND c=0 IF v='b'", .none),
                .query("INSERT INTO pg (p, c, v) VALUES (2, \(c), 'cond')", .none),
            ], consistency: .quorum)
        }
        #expect(hex(await node.executor.handle(.batch(conditional("x", 50)), context: node.context).message) == CapturedResults.batchApplied)
        #expect(hex(await node.executor.handle(.batch(conditional("y", 51)), context: node.context).message) == CapturedResults.batchNotApplied)
        let rows = try await node.rows("SELECT c FROM pg WHERE p = 2")
        #expect(rows.map { V.int($0[0]) } == [0, 1, 2, 50, 99])
    }

    @Test("IF conditions: comparison operators, IN, null, element access; a missing row answers [applied] alone")
    func conditions() async throws {
        let node = try ExecutorHarness()
        #expect(hex(await node.query("UPDATE kv SET v = 1 WHERE k = 1 IF v = 0")) == hex(try notAppliedAlone(table: "kv")))
        try await node.run("INSERT INTO kv (k, v) VALUES (1, 5)")
        let cases: [(String, Bool)] = [
            ("IF v = 5", true), ("IF v != 5", false), ("IF v > 4", true), ("IF v >= 6", false),
            ("IF v < 6", true), ("IF v <= 4", false), ("IF v IN (1, 5)", true), ("IF v IN (1, 2)", false),
            ("IF v = null", false), ("IF v != null", true), ("IF EXISTS", true),
        ]
        for (condition, applied) in cases {
            let rows = try ExecutorHarness.rows(of: await node.query("UPDATE kv SET v = 5 WHERE k = 1 \(condition)"))
            #expect(rows.first?.first == [applied ? 1 : 0], "\(condition)")
        }
        try await node.run("INSERT INTO t (pk, ck, l, m) VALUES (1, 1, ['a', 'b'], {'k': 7})")
        let elements: [(String, Bool)] = [("IF l[1] = 'b'", true), ("IF m['k'] = 7", true), ("IF m['z'] = 7", false),
                                         ("IF l CONTAINS 'a'", true), ("IF m CONTAINS KEY 'q'", false)]
        for (condition, applied) in elements {
            let rows = try ExecutorHarness.rows(of: await node.query("UPDATE t SET w = 1 WHERE pk = 1 AND ck = 1 \(condition)"))
            #expect(rows.first?.first == [applied ? 1 : 0], "\(condition)")
        }
        #expect(await node.error("UPDATE kv SET v = 1 WHERE k = 1 IF v > null")?.message == "Invalid comparison with null for operator \">\"")
        #expect(await node.error("INSERT INTO kv (k, v) VALUES (1, 1) IF NOT EXISTS USING TIMESTAMP 5")?.message
            == "Cannot provide custom timestamp for conditional updates")
        #expect(await node.error("UPDATE kv SET v = 1 WHERE k IN (1, 2) IF v = 1")?.message
            == "IN on the partition key is not supported with conditional updates")
        #expect(await node.error("UPDATE kv SET v = 1 WHERE k = 1 IF v = 1", serial: .one)?.message
            == "Invalid consistency for conditional update. Must be one of SERIAL or LOCAL_SERIAL")
        #expect(await node.error("UPDATE counts SET n = n + 1 WHERE k = 'a' IF n = 1")?.message
            == "Conditional updates are not supported on counter tables")
    }

    private func notAppliedAlone(table: String) throws -> ResponseMessage {
        let spec = ColumnSpec(keyspace: "cap", table: table, name: "[applied]", type: .boolean)
        return .result(.rows(try Rows(metadata: RowsMetadata(columns: [spec]), cells: [[[0]]])))
    }

    @Test("conditional batches: one partition and one table only, all or nothing")
    func conditionalBatchRules() async throws {
        let node = try ExecutorHarness()
        #expect(await node.error("BEGIN BATCH UPDATE pg SET v = 'a' WHERE p = 1 AND c = 1 IF v = 'x' INSERT INTO pg (p, c, v) VALUES (2, 1, 'b') APPLY BATCH")?.message
            == "Batch with conditions cannot span multiple partitions")
        #expect(await node.error("BEGIN BATCH UPDATE pg SET v = 'a' WHERE p = 1 AND c = 1 IF v = 'x' INSERT INTO kv (k, v) VALUES (1, 1) APPLY BATCH")?.message
            == "Batch with conditions cannot span multiple tables")
        let message = await node.query("BEGIN BATCH INSERT INTO pg (p, c, v) VALUES (1, 1, 'a') IF NOT EXISTS INSERT INTO pg (p, c, v) VALUES (1, 2, 'b') IF NOT EXISTS APPLY BATCH")
        #expect(try ExecutorHarness.rows(of: message).first?.first == [1])
        let again = await node.query("BEGIN BATCH INSERT INTO pg (p, c, v) VALUES (1, 3, 'c') IF NOT EXISTS INSERT INTO pg (p, c, v) VALUES (1, 2, 'z') IF NOT EXISTS APPLY BATCH")
        let rows = try ExecutorHarness.rows(of: again)
        #expect(rows == [[[0], StorageFixture.int(1), StorageFixture.int(2), Array("b".utf8)]])
        #expect(try await node.rows("SELECT c FROM pg WHERE p = 1").count == 2)
    }

    @Test("16 tasks contending on one lock row: exactly one winner per epoch")
    func contention() async throws {
        let node = try ExecutorHarness()
        try await node.run("INSERT INTO locks (name, epoch) VALUES ('L', 0)")
        let rounds = 8
        let winners = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for worker in 0..<16 {
                group.addTask {
                    var won: [Int64] = []
                    for _ in 0..<rounds {
                        let current = try ExecutorHarness.rows(of: await node.query("SELECT epoch FROM locks WHERE name = 'L'", consistency: .serial))
                        let epoch = V.bigint(current.first?.first ?? nil) ?? -1
                        let message = await node.query("UPDATE locks SET owner = ?, epoch = ? WHERE name = 'L' IF epoch = ?",
                                                       [V.text("w\(worker)"), V.bigint(epoch + 1), V.bigint(epoch)], serial: .serial)
                        if try ExecutorHarness.rows(of: message).first?.first == [1] { won.append(epoch + 1) }
                    }
                    return won
                }
            }
            var all: [Int64] = []
            for try await won in group { all.append(contentsOf: won) }
            return all
        }
        let final = V.bigint(try await node.rows("SELECT epoch FROM locks WHERE name = 'L'").first?.first ?? nil)
        #expect(winners.sorted() == Array(1...(final ?? 0)))
        #expect(!winners.isEmpty)
    }
}
