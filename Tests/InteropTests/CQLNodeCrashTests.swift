import CQLWire
import Foundation
import Synchronization
import Testing

/// Durability as a user sees it: a `cqlnode` process killed with SIGKILL in the middle of a write
/// storm comes back from its commit log with every write it acknowledged.
@Suite("cqlnode crash recovery", .serialized)
struct CQLNodeCrashTests {
    /// The keys whose INSERT the node acknowledged, recorded as the answers arrive.
    final class Acknowledged: Sendable {
        private let keys = Mutex<Set<Int32>>([])
        func insert(_ key: Int32) { keys.withLock { _ = $0.insert(key) } }
        var count: Int { keys.withLock { $0.count } }
        var all: Set<Int32> { keys.withLock { $0 } }
    }

    @Test("every acknowledged write survives kill -9 during a write storm")
    func killDuringWriteStorm() async throws {
        let binary = try #require(CQLNodeExecutableTests.binary, "the cqlnode product was not built next to the tests")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cqlnode-crash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let first = try await CQLNodeExecutableTests.RunningNode(binary: binary, arguments: ["--port", "0", "--data-dir", directory])
        let port = try await first.waitUntilListening()
        let session = try await CQLSession.connect(.init(contactPoints: [CQLEndpoint(host: "127.0.0.1", port: port)]))
        _ = try await session.execute("CREATE KEYSPACE storm WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        _ = try await session.execute("CREATE TABLE storm.t (k int PRIMARY KEY, v text)")
        let insert = try await session.prepare("INSERT INTO storm.t (k, v) VALUES (?, ?)")

        // 16 writers insert distinct keys until the node dies under them.
        let acknowledged = Acknowledged()
        let writers = Task {
            await withTaskGroup(of: Void.self) { group in
                for writer in Int32(0)..<16 {
                    group.addTask {
                        var key = writer
                        while !Task.isCancelled {
                            do {
                                _ = try await session.execute(try insert.bind(key, "value-\(key)"))
                                acknowledged.insert(key)
                            } catch {
                                return
                            }
                            key += 16
                        }
                    }
                }
            }
        }
        for _ in 0..<600 where acknowledged.count < 2_000 { try await Task.sleep(for: .milliseconds(20)) }
        let killed = try await first.stop(SIGKILL)
        #expect(killed != 0, "cqlnode should have died from SIGKILL")
        await writers.value
        session.close()
        let written = acknowledged.all
        #expect(written.count >= 2_000, "the storm was acknowledged only \(written.count) writes before the kill")

        let second = try await CQLNodeExecutableTests.RunningNode(binary: binary, arguments: ["--port", "0", "--data-dir", directory])
        let secondPort = try await second.waitUntilListening()
        let reader = try await CQLSession.connect(.init(contactPoints: [CQLEndpoint(host: "127.0.0.1", port: secondPort)]))
        var recovered = Set<Int32>()
        var scan = try CQLStatement("SELECT k FROM storm.t")
        scan.pageSize = 5_000
        for try await row in reader.rows(scan) { recovered.insert(try row.decode(Int32.self, at: 0)) }
        reader.close()
        let lost = written.subtracting(recovered)
        #expect(lost.isEmpty, "\(lost.count) of \(written.count) acknowledged writes were lost, e.g. \(lost.sorted().prefix(10))")
        #expect(try await second.stop(SIGTERM) == 0, "\(second.output)")
    }
}
