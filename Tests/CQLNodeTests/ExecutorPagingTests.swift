import CQLWire
import Foundation
import Testing
@testable import CQLNode

@Suite("Executor: paging")
struct ExecutorPagingTests {
    /// Reads a whole query page by page; returns the pages' first cells.
    private func pages(_ node: ExecutorHarness, _ cql: String, pageSize: Int32, values: [WireValue] = []) async throws -> [[[UInt8]?]] {
        var state: [UInt8]?
        var pages: [[[UInt8]?]] = []
        repeat {
            let rows = try ExecutorHarness.resultRows(await node.query(cql, values, pageSize: pageSize, pagingState: state))
            let cells = try rows.cellValues()
            #expect(cells.count <= Int(pageSize))
            pages.append(cells.map { $0.first ?? nil })
            state = rows.metadata.pagingState
        } while state != nil && pages.count < 10_000
        return pages
    }

    @Test("1,000 rows over several partitions come back exactly once at every page size", arguments: [1, 7, 100, 999, 1000, 5000])
    func everyRowOnce(pageSize: Int32) async throws {
        let node = try ExecutorHarness()
        for p in 0..<10 {
            for c in 0..<100 { try await node.run("INSERT INTO pg (p, c, v) VALUES (\(p), \(c), 'x')") }
        }
        let rows = try await pages(node, "SELECT c FROM pg", pageSize: pageSize).flatMap { $0 }
        #expect(rows.count == 1000)
        let single = try await pages(node, "SELECT c FROM pg WHERE p = 3 ORDER BY c DESC", pageSize: pageSize).flatMap { $0 }
        #expect(single.map(V.int) == (0..<100).reversed().map { Int32($0) })
        let inList = try await pages(node, "SELECT c FROM pg WHERE p IN (1, 2) AND c < 10", pageSize: pageSize).flatMap { $0 }
        #expect(inList.count == 20)
    }

    @Test("LIMIT and PER PARTITION LIMIT hold across pages")
    func limitsAcrossPages() async throws {
        let node = try ExecutorHarness()
        for p in 0..<5 { for c in 0..<10 { try await node.run("INSERT INTO pg (p, c, v) VALUES (\(p), \(c), 'x')") } }
        #expect(try await pages(node, "SELECT c FROM pg LIMIT 23", pageSize: 5).flatMap { $0 }.count == 23)
        let perPartition = try await pages(node, "SELECT c FROM pg PER PARTITION LIMIT 3", pageSize: 2).flatMap { $0 }
        #expect(perPartition.map(V.int) == Array(repeating: [0, 1, 2] as [Int32?], count: 5).flatMap { $0 })
    }

    @Test("a paging state resumes on another connection and a damaged one is refused")
    func resumeElsewhere() async throws {
        let node = try ExecutorHarness()
        for k in 0..<30 { try await node.run("INSERT INTO kv (k, v) VALUES (\(k), \(k))") }
        let first = try ExecutorHarness.resultRows(await node.query("SELECT k FROM kv", pageSize: 10))
        let state = try #require(first.metadata.pagingState)
        let other = RequestContext(stream: 9, session: ClientSession(keyspace: "cap"))
        let parameters = ExecutorHarness.parameters(pageSize: 10, pagingState: state)
        let second = await node.executor.handle(.query(Query(query: "SELECT k FROM kv", parameters: parameters)), context: other).message
        let firstKeys = try first.cellValues().map { $0[0] }
        let secondKeys = try ExecutorHarness.rows(of: second).map { $0[0] }
        #expect(secondKeys.count == 10)
        #expect(Set(firstKeys).isDisjoint(with: Set(secondKeys)))
        guard case let .error(error) = await node.query("SELECT k FROM kv", pageSize: 10, pagingState: [1, 2, 3]) else {
            Issue.record("a damaged paging state was accepted")
            return
        }
        #expect(error.code == 0x000A)
    }

    @Test("skip_metadata is honoured for EXECUTE and never for LWT results")
    func skipMetadata() async throws {
        let node = try ExecutorHarness()
        try await node.run("INSERT INTO kv (k, v) VALUES (1, 1)")
        guard case let .result(.prepared(select)) = await node.executor.handle(.prepare(Prepare(query: "SELECT v FROM kv WHERE k = ?")), context: node.context).message,
              case let .result(.prepared(lwt)) = await node.executor.handle(.prepare(Prepare(query: "UPDATE kv SET v = 2 WHERE k = ? IF v = 9")), context: node.context).message else {
            Issue.record("PREPARE failed")
            return
        }
        #expect(select.resultMetadata.columns.map(\.name) == ["v"])
        #expect(select.metadata.pkIndices == [0])
        let parameters = ExecutorHarness.parameters([V.int(1)], skipMetadata: true)
        let rows = try ExecutorHarness.resultRows(await node.executor.handle(.execute(Execute(id: select.id, parameters: parameters)), context: node.context).message)
        #expect(rows.metadata.noMetadata && rows.metadata.columnCount == 1)
        let cas = try ExecutorHarness.resultRows(await node.executor.handle(.execute(Execute(id: lwt.id, parameters: parameters)), context: node.context).message)
        #expect(!cas.metadata.noMetadata && cas.metadata.columns.map(\.name) == ["[applied]", "v"])
    }

    @Test("prepared metadata names markers as Cassandra does", arguments: [
        ("INSERT INTO kv (k, v) VALUES (?, ?) USING TTL ? AND TIMESTAMP ?", ["k", "v", "[ttl]", "[timestamp]"], [DataType.int, .int, .int, .bigint]),
        ("SELECT * FROM pg WHERE p = ? AND c IN ? LIMIT ?", ["p", "in(c)", "[limit]"], [.int, .list(.int), .int]),
        ("SELECT * FROM kv WHERE token(k) > ?", ["partition key token"], [.bigint]),
        ("UPDATE t SET m[?] = ?, l = l + ? WHERE pk = :key AND ck = ?", ["key(m)", "value(m)", "l", "key", "ck"],
         [.varchar, .int, .list(.varchar), .int, .int]),
    ])
    func preparedMetadata(cql: String, names: [String], types: [DataType]) async throws {
        let node = try ExecutorHarness()
        guard case let .result(.prepared(prepared)) = await node.executor.handle(.prepare(Prepare(query: cql)), context: node.context).message else {
            Issue.record("PREPARE failed for \(cql)")
            return
        }
        #expect(prepared.metadata.columns.map(\.name) == names)
        #expect(prepared.metadata.columns.map(\.type) == types)
    }
}
