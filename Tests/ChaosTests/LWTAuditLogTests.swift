import ChaosKit
import CQLNode
import CQLWire
import Foundation
import Testing

@Suite("LWT audit log of the node")
struct LWTAuditLogTests {
    @Test("logs every applied LWT in commit order, and nothing else")
    func logsAppliedLWTs() async throws {
        let path = NSTemporaryDirectory() + "lwt-audit-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = EmbeddedNode.Configuration()
        configuration.lwtAuditLogPath = path
        let node = try await EmbeddedNode.start(configuration)
        let session = try await CQLSession.connect(.init(contactPoints: [CQLEndpoint(host: node.host, port: node.port)],
                                                         discoverNodes: false))
        do {
            try await session.execute("CREATE KEYSPACE scheduler WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
            try await session.execute("CREATE TABLE scheduler.locks (name text PRIMARY KEY, holder text, fencing_token bigint, expire_at timestamp)")
            let insert = "INSERT INTO scheduler.locks (name, holder, fencing_token, expire_at) VALUES (?, ?, ?, ?) IF NOT EXISTS"
            #expect(try await session.execute(insert, ["shard-1", "w0", Int64(7), Date(timeIntervalSince1970: 1)]).wasApplied)
            // Not applied (the row exists), so not logged.
            #expect(try await !session.execute(insert, ["shard-1", "w1", Int64(8), Date(timeIntervalSince1970: 2)]).wasApplied)
            // A plain write is no LWT.
            try await session.execute("UPDATE scheduler.locks SET fencing_token = 9 WHERE name = 'shard-2'")
            #expect(try await session.execute("UPDATE scheduler.locks SET holder = null WHERE name = ? IF holder = ?",
                                              ["shard-1", "w0"]).wasApplied)
            #expect(try await session.execute("DELETE FROM scheduler.locks WHERE name = ? IF EXISTS", ["shard-1"]).wasApplied)
        } catch {
            session.close()
            try await node.shutdown()
            throw error
        }
        session.close()
        try await node.shutdown()

        let (entries, malformed) = try LWTAuditEntry.read(path: path)
        #expect(malformed == 0)
        try #require(entries.count == 3)
        #expect(entries.map(\.sequence) == [1, 2, 3])
        #expect(entries.allSatisfy { $0.keyspace == "scheduler" && $0.table == "locks" && $0.key["name"] == .text("shard-1") })
        #expect(entries[0].rows.first?.columns["holder"] == .text("w0"))
        #expect(entries[0].rows.first?.columns["fencing_token"] == .int(7))
        #expect(entries[0].rows.first?.columns["expire_at"] == .int(1_000))
        #expect(entries[1].rows.first?.columns["holder"] == .null)
        #expect(entries[2].rows.first?.delete != nil)
        #expect(entries[0].timestamp < entries[1].timestamp && entries[1].timestamp < entries[2].timestamp)
    }
}
