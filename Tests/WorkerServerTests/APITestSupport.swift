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

/// One in-process embedded node with the schema applied, shared by the API tests (each test
/// creates its own jobs, so they do not interfere).
enum SharedDatabase {
    struct Handle: Sendable {
        let node: EmbeddedNode
        let session: CQLSession
    }

    static let keyspace = "scheduler_api_tests"

    private static let started = Task<Handle, any Error> {
        let node = try await EmbeddedNode.start(EmbeddedNode.Configuration())
        let session = try await CQLSession.connect(CQLSession.Configuration(
            contactPoints: [CQLEndpoint(host: node.host, port: node.port)], connectionsPerNode: 1))
        try await SchedulerSchema.applySchema(session: session, keyspace: keyspace)
        return Handle(node: node, session: session)
    }

    static func handle() async throws -> Handle { try await started.value }
}

/// An API over the shared database, with its own metrics registry.
struct APIFixture {
    let api: WorkerAPI
    let jobs: JobService
    let registry: PrometheusCollectorRegistry

    init(apiToken: String? = nil, readinessKeyspace: String = SharedDatabase.keyspace,
         handlers: HandlerRegistry = .builtIns()) async throws {
        let database = try await SharedDatabase.handle()
        registry = PrometheusCollectorRegistry()
        let metrics = DocumentedMetricsFactory(registry: registry)
        let logger = Logger(label: "api-test", factory: { _ in SwiftLogNoOpLogHandler() })
        jobs = JobService(session: database.session, keyspace: SharedDatabase.keyspace,
                          configuration: SchedulerConfiguration(shards: 4), handlers: handlers,
                          logger: logger, metrics: metrics)
        // One probe now; the answers of the (short) tests come from it.
        let readiness = ReadinessMonitor(
            target: ReadinessMonitor.Target(session: database.session, keyspace: readinessKeyspace, consistency: .localQuorum,
                                            serialConsistency: .localSerial, localDatacenter: nil),
            deadline: .seconds(10), logger: logger)
        await readiness.probe()
        api = WorkerAPI(jobs: jobs, registry: registry, metricsFactory: metrics, apiToken: apiToken,
                        readiness: { await readiness.answer() }, logger: logger)
    }

    /// Runs `body` with a client of the router (no sockets).
    func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        let app = Application(router: api.makeRouter())
        return try await app.test(.router, body)
    }
}

extension TestResponse {
    /// The body parsed as JSON; `.null` when it is not JSON (the assertion then names the body).
    var json: JSONValue {
        (try? JSONValue.parse(Array(buffer: body))) ?? .null
    }

    /// The body as text.
    var text: String { String(buffer: body) }
}

extension TestClientProtocol {
    /// Sends a request with a JSON (or any) text body.
    func send(_ method: HTTPRequest.Method, _ uri: String, body: String? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    /// Creates a job and returns its id.
    func createJob(_ body: String = #"{"schedule":"now","payload":"{}","max_duration_seconds":60}"#) async throws -> String {
        let response = try await send(.post, "/jobs", body: body)
        #expect(response.status == .created, "create answered \(response.status): \(response.text)")
        let id = try #require(response.json["job_id"]?.stringValue, "no job_id in \(response.text)")
        return id
    }
}
