public import CQLWire
public import Foundation
public import Hummingbird
public import Logging
public import Metrics
public import Prometheus
public import Scheduler

/// The worker's HTTP API over a ``JobService``: routes, middleware and the JSON shapes of
/// requests and answers. Build it once and hand ``makeRouter()`` to a Hummingbird application.
public struct WorkerAPI: Sendable {
    /// Answers `GET /readyz`: nil when ready, otherwise why not.
    public typealias ReadinessCheck = @Sendable () async -> String?

    /// The largest `limit` of list and history requests.
    public static let maximumPageSize = 1000
    /// The page size when a request sets no `limit`.
    public static let defaultPageSize = 100

    let jobs: JobService
    let registry: PrometheusCollectorRegistry
    let metricsFactory: any MetricsFactory
    let apiToken: String?
    let readiness: ReadinessCheck
    let logger: Logger
    let now: @Sendable () -> Date
    let nodes: @Sendable () -> [CQLNodeState]

    /// An API over `jobs` (whose handler kinds `POST /jobs` accepts). `registry` is what
    /// `GET /metrics` exposes; `metricsFactory` (writing into it) counts requests; `nodes` are the
    /// Cassandra nodes `GET /cluster` and the console show (the session's `nodeStates`).
    public init(jobs: JobService, registry: PrometheusCollectorRegistry,
                metricsFactory: any MetricsFactory, apiToken: String? = nil,
                readiness: @escaping ReadinessCheck, logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() },
                nodes: @escaping @Sendable () -> [CQLNodeState] = { [] }) {
        self.jobs = jobs
        self.registry = registry
        self.metricsFactory = metricsFactory
        self.apiToken = apiToken
        self.readiness = readiness
        self.logger = logger
        self.now = now
        self.nodes = nodes
    }

    /// The router with every route of ``APIRoute/all`` and the error, authentication and metrics middleware.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: RequestMetricsMiddleware(factory: metricsFactory))
        router.add(middleware: HeadMiddleware())
        router.add(middleware: ErrorMiddleware(logger: logger))
        if let apiToken {
            router.add(middleware: BearerTokenMiddleware(token: Array(apiToken.utf8)))
        }
        for route in APIRoute.all {
            let handler = self.handler(for: route)
            router.on(route.routerPath, method: route.method) { request, context in
                try await handler(request, context)
            }
            // HEAD answers as GET without the body (HeadMiddleware drops it).
            if route.method == .get {
                router.on(route.routerPath, method: .head) { request, context in try await handler(request, context) }
            }
        }
        WebConsole(jobs: jobs, apiToken: apiToken.map { Array($0.utf8) }, nodes: nodes, logger: logger, now: now)
            .addRoutes(to: router)
        return router
    }

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    private func handler(for route: APIRoute) -> Handler {
        switch (route.method, route.path) {
        case (.post, "/jobs"): return { request, context in try await createJob(request, context) }
        case (.get, "/jobs"): return { request, _ in try await listJobs(request) }
        case (.get, "/jobs/{id}"): return { request, context in try await getJob(request, context) }
        case (.delete, "/jobs/{id}"): return { request, context in try await cancelJob(request, context) }
        case (.patch, "/jobs/{id}"): return { request, context in try await updateJob(request, context) }
        case (.post, "/jobs/{id}/pause"): return { request, context in try await pauseJob(request, context) }
        case (.post, "/jobs/{id}/resume"): return { request, context in try await resumeJob(request, context) }
        case (.post, "/jobs/{id}/run"): return { request, context in try await runJob(request, context) }
        case (.get, "/jobs/{id}/history"): return { request, context in try await history(request, context) }
        case (.get, "/cluster"): return { _, _ in try await cluster() }
        case (.get, "/metrics"): return { _, _ in metrics() }
        case (.get, "/healthz"): return { _, _ in JSONResponse.make(status: .ok, body: ["status": "ok"]) }
        case (.get, "/readyz"): return { _, _ in await ready() }
        case (.get, "/openapi.yaml"): return { _, _ in openAPI() }
        default:
            // Every route of the table has a case above; the API test requests each one.
            return { _, _ in throw APIError(.notImplemented, "\(route) has no handler") }
        }
    }

    // MARK: Handlers

    private func createJob(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await Self.body(of: request)
        let validated: ValidatedJob
        do {
            validated = try JobRequest.validate(jsonBody: Array(buffer: body), kinds: jobs.handlers.kinds, now: now())
        } catch {
            throw APIError(error)
        }
        let creation: JobCreation
        do {
            creation = try await jobs.create(validated)
        } catch {
            // Whether the job was created is unknown: only an idempotency key makes a retry safe.
            guard let fault = DatabaseFault(error) else { throw error }
            logger.warning("database request failed", metadata: ["error": "\(fault.detail)", "cause": "\(fault.cause)", "path": "/jobs"])
            throw fault.apiError(retrySafe: validated.idempotencyKey != nil)
        }
        return JSONResponse.make(
            status: creation.replayed ? .ok : .created,
            body: creation.apiJSON,
            headers: [.location: "/jobs/\(creation.jobID.uuidString.lowercased())"])
    }

    private func getJob(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try Self.jobID(context)
        guard let view = try await jobs.get(id) else { throw Self.unknownJob(id) }
        return JSONResponse.make(status: .ok, body: APIJob(view: view))
    }

    /// `DELETE /jobs/{id}` cancels; with `purge=true` it deletes a finished job and everything it left.
    private func cancelJob(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try Self.jobID(context)
        let query = try QueryParameters(request, allowed: ["purge"])
        switch query["purge"] {
        case nil, "false"?:
            let view = try await jobs.cancel(id)
            return JSONResponse.make(status: .ok, body: APIJob(view: view))
        case "true"?:
            try await jobs.purge(id)
            return JSONResponse.make(status: .ok, body: JSONValue.object(["job_id": .string(id.uuidString.lowercased()), "purged": .bool(true)]))
        case let text?:
            throw APIError(.badRequest, "purge: must be true or false, got \(Self.quoted(text))", field: "purge")
        }
    }

    private func updateJob(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try Self.jobID(context)
        let body = try await Self.body(of: request)
        let view: JobView
        do {
            let patch = try JobPatch.parse(jsonBody: Array(buffer: body))
            view = try await jobs.update(id, patch: patch)
        } catch let error as JobValidationError {
            throw APIError(error)
        }
        return JSONResponse.make(status: .ok, body: APIJob(view: view))
    }

    private func pauseJob(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let view = try await jobs.pause(try Self.jobID(context))
        return JSONResponse.make(status: .ok, body: APIJob(view: view))
    }

    private func resumeJob(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let view = try await jobs.resume(try Self.jobID(context))
        return JSONResponse.make(status: .ok, body: APIJob(view: view))
    }

    private func runJob(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try Self.jobID(context)
        let view = try await jobs.run(id)
        return JSONResponse.make(status: .ok, body: APIJob(view: view))
    }

    private func listJobs(_ request: Request) async throws -> Response {
        let query = try QueryParameters(request, allowed: ["status", "kind", "idempotency_key", "limit", "page"])
        var status: JobStatus?
        if let text = query["status"] {
            guard let parsed = JobStatus(rawValue: text) else {
                throw APIError(.badRequest,
                               "status: must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", ")), got \(Self.quoted(text))",
                               field: "status")
            }
            status = parsed
        }
        let limit = try query.limit(default: Self.defaultPageSize, maximum: Self.maximumPageSize)
        let page = query["page"]
        if let page, page.isEmpty || page.utf8.count > 1024 {
            throw APIError(.badRequest, "page: must be the next_page value of a previous answer", field: "page")
        }
        if let key = query["idempotency_key"] {
            // At most one job has a key: the answer is that job (when it passes the other filters) or nothing.
            guard page == nil else {
                throw APIError(.badRequest, "page: a listing by idempotency_key has a single page", field: "page")
            }
            let found = try await jobs.job(idempotencyKey: key).flatMap { job in
                (status == nil || job.status == status) && (query["kind"] == nil || job.kind == query["kind"]) ? job : nil
            }
            return JSONResponse.make(status: .ok, body: APIJobPage(jobs: found.map { [$0] } ?? [], nextPage: nil))
        }
        let result = try await jobs.list(status: status, kind: query["kind"], limit: limit, page: page)
        return JSONResponse.make(status: .ok, body: APIJobPage(jobs: result.jobs, nextPage: result.nextPage))
    }

    private func history(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try Self.jobID(context)
        let query = try QueryParameters(request, allowed: ["limit", "page"])
        let limit = try query.limit(default: Self.defaultPageSize, maximum: Self.maximumPageSize)
        let page = query["page"]
        if let page, page.isEmpty || page.utf8.count > 1024 {
            throw APIError(.badRequest, "page: must be the next_page value of a previous answer", field: "page")
        }
        // An unknown job has no history rows either; 404 tells a typo from a job that never ran.
        guard try await jobs.get(id) != nil else { throw Self.unknownJob(id) }
        let result = try await jobs.historyPage(id, limit: limit, page: page)
        return JSONResponse.make(status: .ok, body: APIRunPage(jobID: id, runs: result.runs, nextPage: result.nextPage))
    }

    private func cluster() async throws -> Response {
        let status = try await jobs.clusterStatus()
        return JSONResponse.make(status: .ok, body: status.apiJSON(nodes: nodes()))
    }

    private func metrics() -> Response {
        var buffer = ByteBuffer()
        buffer.writeBytes(registry.emitToBuffer())
        buffer.writeString(ProcessMetrics.read().exposition())
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: buffer))
    }

    private func ready() async -> Response {
        if let problem = await readiness() {
            return JSONResponse.make(status: .serviceUnavailable, body: ["error": problem, "status": "unavailable"])
        }
        return JSONResponse.make(status: .ok, body: ["status": "ready"])
    }

    private func openAPI() -> Response {
        Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
    }

    // MARK: Input

    /// The request body, at most ``JobRequest/maximumBodyBytes`` (413 beyond).
    static func body(of request: Request) async throws -> ByteBuffer {
        var request = request
        do {
            return try await request.collectBody(upTo: JobRequest.maximumBodyBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "body: is larger than \(JobRequest.maximumBodyBytes) bytes", field: "body")
        }
    }

    /// The `{id}` path parameter as a UUID; 400 when it is not one.
    static func jobID(_ context: BasicRequestContext) throws -> UUID {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text) else {
            throw APIError(.badRequest, "id: must be a UUID such as 6f1c2a4e-0d1b-4c55-9a57-3f0e5a1c2b7d, got \(quoted(text))", field: "id")
        }
        return id
    }

    static func unknownJob(_ id: UUID) -> APIError {
        APIError(.notFound, "no job with id \(id.uuidString.lowercased())", field: "id")
    }

    /// Echoes user text in messages safely: quoted, shortened, control characters escaped.
    static func quoted(_ text: String) -> String {
        let shortened = text.count > 64 ? String(text.prefix(64)) + "…" : text
        return JSONValue.string(shortened).jsonText
    }
}

/// A request's query, with unknown and repeated parameters refused.
struct QueryParameters {
    private var values: [String: String] = [:]

    init(_ request: Request, allowed: Set<String>) throws {
        for (key, value) in request.uri.queryParameters {
            let name = String(key)
            guard allowed.contains(name) else {
                throw APIError(.badRequest,
                               "\(WorkerAPI.quoted(name)) is not a known query parameter; known: \(allowed.sorted().joined(separator: ", "))",
                               field: name)
            }
            guard values[name] == nil else {
                throw APIError(.badRequest, "\(name): given more than once", field: name)
            }
            values[name] = String(value)
        }
    }

    subscript(name: String) -> String? { values[name] }

    /// `limit` as a whole number in `1...maximum`.
    func limit(default defaultValue: Int, maximum: Int) throws -> Int {
        guard let text = values["limit"] else { return defaultValue }
        guard let value = Int(text), (1...maximum).contains(value) else {
            throw APIError(.badRequest, "limit: must be a whole number from 1 to \(maximum), got \(WorkerAPI.quoted(text))", field: "limit")
        }
        return value
    }
}
