import CQLWire
import Foundation
import Testing
@testable import CQLNode

@Suite("EmbeddedNode over TCP")
struct ExecutorNodeTests {
    private func query(_ client: RawClient, _ cql: String, stream: Int16 = 1, pageSize: Int32? = nil,
                       pagingState: [UInt8]? = nil) throws -> ResponseMessage? {
        let parameters = QueryParameters(consistency: .localQuorum, pageSize: pageSize, pagingState: pagingState)
        return try client.roundTrip(.query(Query(query: cql, parameters: parameters)), stream: stream)?.message
    }

    @Test("writes, reads and pages on a real socket; a page resumes on a second connection")
    func roundTrip() async throws {
        let node = try await EmbeddedNode.start(.init())
        _ = try node.storage.apply(.createKeyspace(ExecutorHarness.keyspace, ifNotExists: false))
        _ = try node.storage.apply(.createTable(ExecutorHarness.kv, ifNotExists: false))
        let port = node.port
        let (keys, setKeyspace) = try await RawClient.run { () throws -> ([[UInt8]?], ResponseMessage?) in
            let first = try RawClient(port: port)
            try first.startup()
            let setKeyspace = try self.query(first, "USE cap")
            for k in 0..<25 {
                guard try self.query(first, "INSERT INTO kv (k, v) VALUES (\(k), \(k))", stream: Int16(k + 2)) == .result(.void) else {
                    throw RawClientError(description: "INSERT failed")
                }
            }
            guard case let .result(.rows(page))? = try self.query(first, "SELECT k FROM cap.kv", pageSize: 10),
                  let state = page.metadata.pagingState else { throw RawClientError(description: "no first page") }
            var keys = try page.cellValues().map { $0[0] }
            let second = try RawClient(port: port)
            try second.startup()
            var next: [UInt8]? = state
            while let current = next {
                guard case let .result(.rows(page))? = try self.query(second, "SELECT k FROM cap.kv", pageSize: 10, pagingState: current) else {
                    throw RawClientError(description: "no next page")
                }
                keys += try page.cellValues().map { $0[0] }
                next = page.metadata.pagingState
            }
            return (keys, setKeyspace)
        }
        try await node.shutdown()
        #expect(setKeyspace == .result(.setKeyspace("cap")))
        #expect(keys.count == 25)
        #expect(Set(keys.compactMap { V.int($0) }) == Set(0..<25))
    }

    @Test("an acknowledged write survives a restart on the same data directory")
    func durability() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("h9-node-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await EmbeddedNode.start(.init(dataDirectory: directory))
        _ = try first.storage.apply(.createKeyspace(ExecutorHarness.keyspace, ifNotExists: false))
        let lsn = try first.storage.apply(.createTable(ExecutorHarness.kv, ifNotExists: false))
        if case let .applied(position) = lsn { try await first.storage.awaitDurable(position) }
        let insert = QueryParameters(consistency: .one)
        let answer = await first.executor.handle(.query(Query(query: "INSERT INTO cap.kv (k, v) VALUES (1, 42)", parameters: insert)),
                                                 context: RequestContext(stream: 1))
        #expect(answer.message == .result(.void))
        try await first.shutdown()
        let second = try await EmbeddedNode.start(.init(dataDirectory: directory))
        let read = await second.executor.handle(.query(Query(query: "SELECT v FROM cap.kv WHERE k = 1", parameters: insert)),
                                                context: RequestContext(stream: 1))
        try await second.shutdown()
        #expect(try ExecutorHarness.rows(of: read.message) == [[StorageFixture.int(42)]])
    }
}
