import CQLNode
import CQLWire
import Foundation
import Logging
import Metrics
import MetricsTestKit
import Testing
import TestSupport
@testable import Scheduler

/// An embedded node in memory with the scheduler schema applied, a session and a job service,
/// all recording metrics into one `TestMetrics`.
struct SchedulerTestBed: Sendable {
    let node: EmbeddedNode
    let session: CQLSession
    let metrics: TestMetrics
    let service: JobService
    let faults: FaultInjection
    let configuration: SchedulerConfiguration

    static let fastConfiguration = SchedulerConfiguration(
        shards: 4, consistency: .localQuorum, serialConsistency: .localSerial, runLease: .seconds(30),
        shardLeaseTTL: .seconds(3), leaseSafetyMargin: .milliseconds(300), baseRetryDelay: .milliseconds(50),
        maximumRetryDelay: .milliseconds(400), workerTTL: .seconds(3), repairInterval: .milliseconds(500),
        maximumConcurrentRuns: 32, pollLookback: .seconds(120), requestTimeout: .seconds(2))

    static func start(_ configuration: SchedulerConfiguration = fastConfiguration,
                      handlers: HandlerRegistry = .builtIns(),
                      clock: any SchedulerClock = SystemSchedulerClock()) async throws -> SchedulerTestBed {
        let faults = FaultInjection()
        let node = try await EmbeddedNode.start(.init(faultInjection: faults))
        let metrics = TestMetrics()
        let session = try await CQLSession.connect(CQLSession.Configuration(
            contactPoints: [CQLEndpoint(host: node.host, port: node.port)], requestTimeout: .seconds(5),
            consistency: .localQuorum, serialConsistency: .localSerial, connectionsPerNode: 2, discoverNodes: false,
            reconnection: ReconnectionPolicy(baseDelay: .milliseconds(20), maxDelay: .milliseconds(200)), metricsFactory: metrics))
        try await SchedulerSchema.applySchema(session: session, keyspace: "scheduler")
        let service = JobService(session: session, keyspace: "scheduler", configuration: configuration, handlers: handlers, clock: clock,
                                 logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), metrics: metrics)
        return SchedulerTestBed(node: node, session: session, metrics: metrics, service: service, faults: faults,
                                configuration: configuration)
    }

    func stop() async {
        session.close()
        try? await node.shutdown()
    }

    /// LWTs sent so far (the client's `cql_lwt_requests_total`).
    var lwts: Int64 { metrics.counterTotal(label: "cql_lwt_requests_total") }
    /// Requests sent so far, prepares excluded (`cql_requests_total`).
    var requests: Int64 {
        metrics.counterTotal(label: "cql_requests_total") - metrics.counterTotal(label: "cql_requests_total", dimensions: [("kind", "prepare")])
    }

    func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Int64 {
        metrics.counterTotal(label: label, dimensions: dimensions)
    }

    /// A validated job request.
    static func job(_ schedule: String, kind: String = "noop", payload: JSONValue? = nil, maxDuration: Int64 = 30,
                    maxAttempts: Int64? = nil, timezone: String? = nil, key: String? = nil, run: Bool = true) throws -> ValidatedJob {
        try JobRequest(schedule: schedule, timezone: timezone, payload: payload, maxDurationSeconds: maxDuration, kind: kind,
                       maxAttempts: maxAttempts, idempotencyKey: key, run: run)
            .validated(kinds: HandlerRegistry.builtIns(shell: ShellHandler()).kinds.union(["flaky"]), now: Date())
    }

    /// The queue entry the job row points at (for tests that claim a run by hand).
    static func queueEntry(_ service: JobService, _ id: UUID) async throws -> QueueEntry {
        let job = try #require(try await service.get(id))
        let rows = try await service.cql.run("SELECT \(QueueEntry.columns) FROM scheduler.jobs_sharded WHERE shard = ? AND bucket = ?",
                                             [Int32(try #require(job.queueShard)), try #require(job.queueBucket)])
        return try #require(try rows.decode(QueueEntry.self).first { $0.jobID == id })
    }
}

extension JobService {
    /// The Cassandra store's CQL, for tests that write rows by hand on the embedded node.
    var cql: SchedulerCQL {
        get throws {
            guard let store = store as? JobStore else { throw CQLError.invalidStatement("the job service has no Cassandra store") }
            return store.cql
        }
    }
}

/// Fails every run whose attempt is below `succeedFrom` (so retries can be counted), then succeeds.
struct FlakyHandler: JobHandler {
    static let kind = "flaky"
    let succeedFrom: Int64

    func run(_ context: JobContext) async throws -> JobResult {
        guard context.attempt >= succeedFrom else { throw JobHandlerError.invalidPayload(kind: Self.kind, problem: "attempt \(context.attempt) fails") }
        return JobResult(output: "attempt \(context.attempt)")
    }
}
