@testable import CQLNode
import CQLWire
import Foundation
import Metrics
import MetricsTestKit
import Testing

/// The default retry policy's decisions against the embedded node's real executor, whose fault
/// injection answers the replica timeouts a cluster gives; each decision counted in
/// `cql_retry_decisions_total{error, decision}`.
@Suite("Retry policy: the DataStax default decisions against replica faults")
struct RetryPolicyTests {
    /// A node with its faults and a session on it, with a keyspace `rp` and a table `kv`.
    struct Bed {
        let node: EmbeddedNode
        let faults: FaultInjection
        let session: CQLSession
        let metrics: TestMetrics

        static func start() async throws -> Bed {
            let faults = FaultInjection()
            let node = try await EmbeddedNode.start(.init(faultInjection: faults))
            let metrics = TestMetrics()
            let session = try await CQLSession.connect(CQLSession.Configuration(
                contactPoints: [CQLEndpoint(host: node.host, port: node.port)], consistency: .one,
                reconnection: ReconnectionPolicy(baseDelay: .milliseconds(20), maxDelay: .milliseconds(200)), metricsFactory: metrics))
            _ = try await session.execute("CREATE KEYSPACE rp WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
            _ = try await session.execute("CREATE TABLE rp.kv (k int PRIMARY KEY, v int)")
            return Bed(node: node, faults: faults, session: session, metrics: metrics)
        }

        func stop() async {
            session.close()
            try? await node.shutdown()
        }

        func decisions(_ error: String, _ decision: String) -> Int64 {
            (try? metrics.expectCounter("cql_retry_decisions_total", [("error", error), ("decision", decision)]).totalValue) ?? -1
        }

        func value(of key: Int32) async throws -> Int32? {
            try await session.execute("SELECT v FROM rp.kv WHERE k = ?", [key]).first?.decode(Int32?.self, named: "v")
        }
    }

    static func isWriteTimeout(_ writeType: String) -> @Sendable (any Error) -> Bool {
        { error in
            if case let .writeTimeout(_, _, _, type)? = (error as? ServerError)?.kind { return type == writeType }
            return false
        }
    }

    @Test("a WriteTimeout of write type BATCH_LOG is retried once on the same node, idempotent or not, and the batch applies")
    func batchLogRetried() async throws {
        let bed = try await Bed.start()
        let rule = bed.faults.add(.init(match: .opcode(.batch), action: .writeTimeout(.batchLog, received: 0, blockFor: 1), count: 1))
        let insert = try await bed.session.prepare("INSERT INTO rp.kv (k, v) VALUES (?, ?)")
        let result = try await bed.session.batch(.logged, [try insert.bind(Int32(1), Int32(10)), try insert.bind(Int32(2), Int32(20))])
        #expect(result.wasApplied)
        #expect(bed.faults.firedCount(rule) == 1)
        #expect(try await bed.value(of: 1) == 10)
        #expect(try await bed.value(of: 2) == 20)
        #expect(bed.decisions("write_timeout", "retry") == 1)

        // A second BATCH_LOG timeout of the same request is rethrown: retried once only.
        bed.faults.add(.init(match: .opcode(.batch), action: .writeTimeout(.batchLog, received: 0, blockFor: 1), count: 2))
        await #expect(performing: {
            _ = try await bed.session.batch(.logged, [try insert.bind(Int32(3), Int32(30))])
        }, throws: Self.isWriteTimeout("BATCH_LOG"))
        #expect(bed.decisions("write_timeout", "retry") == 2)
        #expect(bed.decisions("write_timeout", "rethrow") == 1)
        await bed.stop()
    }

    @Test("a WriteTimeout of any other write type is rethrown, even for an idempotent statement", arguments: [
        FaultInjection.WriteType.simple, .batch, .unloggedBatch, .counter,
    ])
    func otherWriteTimeoutsRethrown(writeType: FaultInjection.WriteType) async throws {
        let bed = try await Bed.start()
        let rule = bed.faults.add(.init(match: .cqlContains("INSERT"), action: .writeTimeout(writeType, received: 1, blockFor: 2),
                                        count: 2))
        for idempotent in [false, true] {
            await #expect(performing: {
                _ = try await bed.session.execute("INSERT INTO rp.kv (k, v) VALUES (1, 1)", isIdempotent: idempotent)
            }, throws: Self.isWriteTimeout(writeType.rawValue))
        }
        #expect(bed.faults.firedCount(rule) == 2, "a write was sent again")
        #expect(bed.decisions("write_timeout", "rethrow") == 2)
        #expect(bed.decisions("write_timeout", "retry") == 0)
        await bed.stop()
    }

    @Test("a conditional statement hit by WriteTimeout CAS reports an unknown outcome, never retried")
    func casUnknown() async throws {
        let bed = try await Bed.start()
        let rule = bed.faults.add(.init(match: .cqlContains("IF NOT EXISTS"), action: .writeTimeout(.cas, received: 0, blockFor: 1)))
        await #expect(performing: {
            _ = try await bed.session.execute("INSERT INTO rp.kv (k, v) VALUES (5, 5) IF NOT EXISTS", isIdempotent: true)
        }, throws: { error in
            if case .lwtOutcomeUnknown = error as? CQLError { return true }
            return false
        })
        #expect(bed.faults.firedCount(rule) == 1)
        await bed.stop()
    }

    @Test("a ReadTimeout with enough replicas but no data is retried once on the same node; with data present it is rethrown")
    func readTimeout() async throws {
        let bed = try await Bed.start()
        _ = try await bed.session.execute("INSERT INTO rp.kv (k, v) VALUES (1, 7)")
        bed.faults.add(.init(match: .cqlContains("SELECT v"), action: .readTimeout(received: 2, blockFor: 2, dataPresent: false),
                             count: 1))
        #expect(try await bed.value(of: 1) == 7)
        #expect(bed.decisions("read_timeout", "retry") == 1)

        let present = bed.faults.add(.init(match: .cqlContains("SELECT v"),
                                           action: .readTimeout(received: 2, blockFor: 2, dataPresent: true), count: 1))
        await #expect(throws: ServerError.self) { _ = try await bed.value(of: 1) }
        #expect(bed.faults.firedCount(present) == 1)
        // Too few replicas answered: rethrown as well.
        bed.faults.add(.init(match: .cqlContains("SELECT v"), action: .readTimeout(received: 1, blockFor: 2, dataPresent: false),
                             count: 1))
        await #expect(throws: ServerError.self) { _ = try await bed.value(of: 1) }
        #expect(bed.decisions("read_timeout", "rethrow") == 2)
        #expect(bed.decisions("read_timeout", "retry") == 1)
        await bed.stop()
    }

    @Test("an idempotent statement is retried after a client-side timeout; a non-idempotent one is not")
    func requestErrors() async throws {
        let bed = try await Bed.start()
        bed.faults.add(.init(match: .cqlContains("SELECT v"), action: .timeout, count: 1))
        var read = try CQLStatement("SELECT v FROM rp.kv WHERE k = 1", isIdempotent: true)
        read.timeout = .seconds(1)
        _ = try await bed.session.execute(read)
        #expect(bed.decisions("request_error", "retry_next") == 1)

        let silent = bed.faults.add(.init(match: .cqlContains("UPDATE"), action: .timeout, count: 2))
        var write = try CQLStatement("UPDATE rp.kv SET v = 1 WHERE k = 1")
        write.timeout = .milliseconds(300)
        await #expect(performing: { _ = try await bed.session.execute(write) }, throws: { error in
            if case .requestTimedOut = error as? CQLError { return true }
            return false
        })
        #expect(bed.faults.firedCount(silent) == 1)
        #expect(bed.decisions("request_error", "rethrow") == 1)
        await bed.stop()
    }

    @Test("Unavailable is tried once on the next node, and rethrown when that one answers it too")
    func unavailableNextHost() async throws {
        let first = try await TestServer.start(handler: ScriptedHandler())
        let second = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await first.stop(); await second.stop() } }
        let metrics = TestMetrics()
        let session = try await CQLSession.connect(SessionTests.configuration([first.endpoint, second.endpoint], metrics: metrics))
        defer { session.close() }
        #expect(session.nodes.count == 2)
        let refused = first.faults.add(.init(match: .cqlContains("SELECT"), action: .unavailable))
        for index in 0..<6 {
            let result = try await session.execute("SELECT \(index)")
            #expect(result.coordinator == second.endpoint.description)
        }
        let retriedNext = try metrics.expectCounter("cql_retry_decisions_total",
                                                     [("error", "unavailable"), ("decision", "retry_next")]).totalValue
        #expect(retriedNext == Int64(first.faults.firedCount(refused)))
        #expect(retriedNext > 0)

        second.faults.add(.init(match: .cqlContains("SELECT"), action: .unavailable))
        let before = first.faults.firedCount(refused)
        await #expect(throws: ServerError.self) { _ = try await session.execute("SELECT again") }
        #expect(first.faults.firedCount(refused) == before + 1)
        #expect(try metrics.expectCounter("cql_retry_decisions_total",
                                          [("error", "unavailable"), ("decision", "rethrow")]).totalValue == 1)
    }
}
