import CQLNode
import CQLWire
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Scheduler
import Testing
@testable import WorkerServer

/// An API on its own embedded node whose requests a test makes fail as a cluster's would.
struct FaultyDatabaseFixture: Sendable {
    static let keyspace = "scheduler_faults"

    let faults: FaultInjection
    let api: WorkerAPI

    /// Runs `body` with a fixture on a fresh node and a client of its router (no sockets). `requestTimeout`
    /// bounds each statement: short where a test makes the node stay silent, long enough otherwise for a loaded machine.
    static func test(requestTimeout: Duration = .seconds(10),
                     _ body: @Sendable @escaping (FaultyDatabaseFixture, any TestClientProtocol) async throws -> Void) async throws {
        try await FaultyNode.with(schemaIn: keyspace) { _, faults, session in
            let registry = PrometheusCollectorRegistry()
            let metrics = PrometheusMetricsFactory(registry: registry)
            let logger = Logger(label: "fault-test", factory: { _ in SwiftLogNoOpLogHandler() })
            let jobs = JobService(session: session, keyspace: keyspace,
                                  configuration: SchedulerConfiguration(shards: 4, requestTimeout: requestTimeout),
                                  handlers: HandlerRegistry.builtIns(), logger: logger, metrics: metrics)
            let fixture = FaultyDatabaseFixture(
                faults: faults, api: WorkerAPI(jobs: jobs, registry: registry, metricsFactory: metrics, readiness: { nil }, logger: logger))
            let app = Application(router: fixture.api.makeRouter())
            try await app.test(.router) { client in try await body(fixture, client) }
        }
    }

    /// Lets the next `count` EXECUTEs through (the reads before the write under test), then applies `action` to every later one.
    func failExecutes(after count: Int = 0, with action: FaultInjection.Action) {
        if count > 0 { faults.add(FaultInjection.Rule(match: .opcode(.execute), action: .delay(.zero), count: count)) }
        faults.add(FaultInjection.Rule(match: .opcode(.execute), action: action))
    }
}

/// Server errors as a cluster under replica trouble answers them.
enum ClusterError {
    static func writeTimeout(_ writeType: String) -> FaultInjection.Action {
        .answer(ServerError(.writeTimeout(consistency: .localQuorum, received: 1, blockFor: 2, writeType: writeType),
                            message: "Operation timed out - received only 1 responses."))
    }

    static let readTimeout = FaultInjection.Action.answer(
        ServerError(.readTimeout(consistency: .localQuorum, received: 1, blockFor: 2, dataPresent: false),
                    message: "Operation timed out - received only 1 responses."))

    static let overloaded = FaultInjection.Action.answer(ServerError(.overloaded, message: "Too many in flight hints"))
}

/// Asserts a database-fault answer: 503, a whole-second `Retry-After`, `retry_safe` and the cause.
func expectDatabaseFault(_ response: TestResponse, retrySafe: Bool, cause: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == .serviceUnavailable, "expected 503, got \(response.status.code): \(response.text)",
            sourceLocation: sourceLocation)
    let retryAfter = response.headers[.retryAfter].flatMap { Int($0) }
    #expect(retryAfter.map { $0 >= 1 } == true, "no Retry-After seconds: \(response.headers)", sourceLocation: sourceLocation)
    #expect(response.json["retry_safe"] == .bool(retrySafe), "expected retry_safe \(retrySafe): \(response.text)",
            sourceLocation: sourceLocation)
    #expect(response.json["cause"]?.stringValue == cause, "expected cause \(cause): \(response.text)", sourceLocation: sourceLocation)
    #expect(response.json["error"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
}

@Suite("Database faults answer 503 with Retry-After, never 500")
struct DatabaseFaultTests {
    static let createBody = #"{"schedule":"@every 1h","payload":"{}","max_duration_seconds":60}"#

    @Test("POST /jobs without an idempotency key whose first write times out: 503, not safe to retry, says to send a key")
    func createWithoutKey() async throws {
        try await FaultyDatabaseFixture.test { fixture, client in
            // Creation's writes are plain (its status-index entry first), no batch.
            fixture.faults.add(FaultInjection.Rule(match: .opcode(.execute), action: ClusterError.writeTimeout("SIMPLE")))
            let response = try await client.send(.post, "/jobs", body: Self.createBody)
            expectDatabaseFault(response, retrySafe: false, cause: "write_timeout")
            #expect(response.json["error"]?.stringValue?.contains("idempotency_key") == true, "\(response.text)")
        }
    }

    @Test("POST /jobs with an idempotency key whose claim finds too few replicas: 503, safe to retry; the retry creates the job once")
    func createWithKey() async throws {
        try await FaultyDatabaseFixture.test { fixture, client in
            let body = #"{"schedule":"@every 1h","payload":"{}","max_duration_seconds":60,"idempotency_key":"k-1"}"#
            let rule = fixture.faults.add(FaultInjection.Rule(match: .opcode(.execute), action: .unavailable))
            let response = try await client.send(.post, "/jobs", body: body)
            expectDatabaseFault(response, retrySafe: true, cause: "unavailable")
            fixture.faults.remove(rule)
            let retried = try await client.send(.post, "/jobs", body: body)
            #expect(retried.status == .created, "\(retried.text)")
            let replay = try await client.send(.post, "/jobs", body: body)
            #expect(replay.status == .ok, "\(replay.text)")
            #expect(replay.json["job_id"] == retried.json["job_id"])
        }
    }

    @Test("GET /jobs/{id} on a read timeout: 503, safe to retry")
    func getReadTimeout() async throws {
        try await FaultyDatabaseFixture.test { fixture, client in
            let id = try await client.createJob(Self.createBody)
            fixture.failExecutes(with: ClusterError.readTimeout)
            expectDatabaseFault(try await client.send(.get, "/jobs/\(id)"), retrySafe: true, cause: "read_timeout")
        }
    }

    @Test("POST /jobs/{id}/run whose write times out after the read: 503, safe to retry")
    func runWriteTimeout() async throws {
        try await FaultyDatabaseFixture.test { fixture, client in
            let id = try await client.createJob(Self.createBody)
            fixture.failExecutes(after: 1, with: ClusterError.writeTimeout("SIMPLE"))
            expectDatabaseFault(try await client.send(.post, "/jobs/\(id)/run"), retrySafe: true, cause: "write_timeout")
        }
    }

    @Test("DELETE /jobs/{id} whose CAS and its SERIAL read go unanswered: 503 client timeout, safe to retry")
    func cancelTimeout() async throws {
        try await FaultyDatabaseFixture.test(requestTimeout: .seconds(1)) { fixture, client in
            let id = try await client.createJob(Self.createBody)
            fixture.failExecutes(after: 1, with: .timeout)
            expectDatabaseFault(try await client.send(.delete, "/jobs/\(id)"), retrySafe: true, cause: "client_timeout")
        }
    }

    @Test("GET /jobs with too few replicas alive: 503, safe to retry")
    func listUnavailable() async throws {
        try await FaultyDatabaseFixture.test { fixture, client in
            fixture.failExecutes(with: .unavailable)
            expectDatabaseFault(try await client.send(.get, "/jobs?limit=5"), retrySafe: true, cause: "unavailable")
        }
    }

    @Test("GET /jobs/{id}/history when the node never answers: 503 client timeout, safe to retry")
    func historyTimeout() async throws {
        try await FaultyDatabaseFixture.test(requestTimeout: .seconds(1)) { fixture, client in
            let id = try await client.createJob(Self.createBody)
            fixture.failExecutes(with: .timeout)
            expectDatabaseFault(try await client.send(.get, "/jobs/\(id)/history"), retrySafe: true, cause: "client_timeout")
        }
    }

    @Test("An overloaded coordinator and a lost connection are faults too")
    func overloadedAndDropped() async throws {
        try await FaultyDatabaseFixture.test { fixture, client in
            let id = try await client.createJob(Self.createBody)
            let rule = fixture.faults.add(FaultInjection.Rule(match: .opcode(.execute), action: ClusterError.overloaded))
            expectDatabaseFault(try await client.send(.get, "/jobs/\(id)"), retrySafe: true, cause: "overloaded")
            fixture.faults.remove(rule)
            fixture.faults.add(FaultInjection.Rule(match: .opcode(.execute), action: .dropConnection))
            let response = try await client.send(.post, "/jobs", body: Self.createBody)
            #expect(response.status == .serviceUnavailable, "\(response.text)")
            #expect(response.json["retry_safe"] == .bool(false), "\(response.text)")
        }
    }

    @Test("A statement the server cannot parse is our bug: 500 that reveals nothing")
    func syntaxErrorStays500() async throws {
        try await FaultyDatabaseFixture.test { fixture, client in
            let id = try await client.createJob(Self.createBody)
            fixture.failExecutes(with: .answer(ServerError(.syntaxError, message: "line 1:0 no viable alternative")))
            let response = try await client.send(.get, "/jobs/\(id)")
            #expect(response.status == .internalServerError, "\(response.text)")
            #expect(response.json["error"]?.stringValue == "internal error")
            #expect(response.headers[.retryAfter] == nil)
        }
    }
}

@Suite("Database fault classification")
struct DatabaseFaultClassificationTests {
    @Test("Every replica-side and client-side failure is a fault; bugs are not", arguments: [
        (ServerError(.unavailable(consistency: .localSerial, required: 2, alive: 1), message: "") as any Error, "unavailable"),
        (ServerError(.writeTimeout(consistency: .localQuorum, received: 1, blockFor: 2, writeType: "BATCH_LOG"), message: ""), "write_timeout"),
        (ServerError(.readTimeout(consistency: .localSerial, received: 1, blockFor: 2, dataPresent: false), message: ""), "read_timeout"),
        (ServerError(.isBootstrapping, message: ""), "bootstrapping"),
        (ServerError(.invalid, message: "unconfigured table jobs"), "schema_missing"),
        (CQLError.lwtOutcomeUnknown(reason: "CAS timeout"), "outcome_unknown"),
        (CQLError.connectionClosed(endpoint: "n1", reason: "reset"), "connection"),
        (CQLError.noHostAvailable(errors: ["n1: refused"]), "connection"),
        (CQLError.requestTimedOut(endpoint: "n1", timeout: .seconds(1)), "client_timeout"),
        (JobServiceError.schemaMissing("run scripts/init_schema.sh"), "schema_missing"),
    ])
    func faults(error: any Error, cause: String) {
        #expect(DatabaseFault(error)?.cause == cause, "\(error)")
    }

    @Test("A request no node could serve names each distinct reason once, and Unavailable as its cause")
    func noHostAvailable() throws {
        let refused = "cannot connect to 10.0.0.2:9042: connect failed: Connection refused (errno 111)"
        let unavailable = "Unavailable [0x1000]: Cannot achieve consistency level LOCAL_QUORUM"
        let fault = try #require(DatabaseFault(CQLError.noHostAvailable(errors: [
            "10.0.0.1:9042: \(unavailable)", "10.0.0.2:9042: \(refused)", "10.0.0.1:9042: \(unavailable)", "10.0.0.2:9042: \(refused)",
        ])))
        #expect(fault.cause == "unavailable")
        #expect(fault.detail == "no node could serve the request: \(unavailable); \(refused)")
    }

    @Test("Bugs and refusals are no database fault", arguments: [
        ServerError(.syntaxError, message: "no viable alternative") as any Error,
        ServerError(.invalid, message: "Invalid STRING constant"),
        CQLError.invalidStatement("2 values for 3 markers"),
        JobServiceError.conflict(.queued),
    ])
    func notFaults(error: any Error) {
        #expect(DatabaseFault(error) == nil, "\(error)")
    }
}
