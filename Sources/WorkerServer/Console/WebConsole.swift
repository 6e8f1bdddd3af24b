import CQLWire
import Foundation
import Hummingbird
import Logging
import Scheduler

/// The web console every worker serves at `/ui`: pages rendered here from the job service (the same
/// calls the API makes, so a refusal reads as the API's error text), with a style sheet and a script
/// from ``ConsoleAssets``. With an API token, pages need a sign-in (``ConsoleSecurity``).
struct WebConsole: Sendable {
    let jobs: JobService
    /// The API token's bytes, nil when the worker runs without one.
    let apiToken: [UInt8]?
    let nodes: @Sendable () -> [CQLNodeState]
    let logger: Logger
    let now: @Sendable () -> Date

    /// Jobs per page of the list.
    static let pageSize = 50
    /// Runs shown on a job page.
    static let historySize = 50
    /// The request header of the live region's refreshes.
    static let liveHeader = HTTPFields.Element.Name("X-Console-Live")
    /// The value of ``liveHeader`` on a live refresh.
    static let liveHeaderValue = "1"

    /// Whether the console serves `path` (the API's bearer check leaves these to the console's own).
    static func owns(path: String) -> Bool {
        path == "/ui" || path.hasPrefix("/ui/")
    }

    /// Adds the console's routes.
    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/ui") { _, _ in Self.redirect("/ui/jobs") }
        router.get("/ui/assets/:name") { _, context in try Self.asset(context) }
        router.get("/ui/signin") { request, context in
            try await serve(request, context, signInRequired: false) { session in .view(signInView(error: nil, session)) }
        }
        router.post("/ui/signin") { request, context in
            try await serve(request, context, signInRequired: false) { session in signIn(session) }
        }
        router.post("/ui/signout") { request, context in
            try await serve(request, context, signInRequired: false) { _ in
                .redirect("/ui/signin", cookies: [ConsoleSecurity.signOutCookie()])
            }
        }
        router.get("/ui/jobs") { request, context in
            try await serve(request, context) { session in try await listJobs(request, session) }
        }
        router.post("/ui/jobs") { request, context in
            try await serve(request, context) { session in try await createJob(session) }
        }
        router.get("/ui/jobs/:id") { request, context in
            try await serve(request, context) { session in
                if context.parameters.get("id") == "new" { return .view(createView(ConsoleForm(["max_duration_seconds": "60", "kind": "noop", "schedule": "now", "run": "true"]), error: nil, otherError: nil, session)) }
                return try await jobPage(try jobID(context), request: request, session: session, error: nil, status: 200)
            }
        }
        // One template for GET and POST: Hummingbird's trie would not find a constant `edit` beside `:action`.
        router.get("/ui/jobs/:id/:action") { request, context in
            try await serve(request, context) { session in
                guard context.parameters.get("action") == "edit" else { return .view(Self.refusal(404, "There is no such page.")) }
                return try await editForm(try jobID(context), session)
            }
        }
        router.post("/ui/jobs/:id/:action") { request, context in
            try await serve(request, context) { session in
                try await jobAction(try jobID(context), action: context.parameters.get("action") ?? "", request: request, session: session)
            }
        }
        router.get("/ui/cluster") { request, context in
            try await serve(request, context) { _ in try await clusterView() }
        }
    }

    // MARK: Request handling

    /// What a handler decided.
    enum Outcome {
        case view(ConsoleView)
        case redirect(String, cookies: [Cookie] = [])
    }

    /// The request as the console sees it: its CSRF token and, for a POST, its form.
    struct Session {
        var csrf: String
        var form = ConsoleForm()
        var live: Bool
        var signedIn: Bool
    }

    /// Runs a handler with the console's checks: sign-in (a redirect to the sign-in page, or 401 for a
    /// live refresh), the CSRF token of a POST, and the console's headers on every answer. Errors of the
    /// job service become the page's error text, worded as the API words them.
    private func serve(_ request: Request, _ context: BasicRequestContext, signInRequired: Bool = true,
                       _ handler: (Session) async throws -> Outcome) async throws -> Response {
        var request = request
        let presentedCSRF = request.cookies[ConsoleSecurity.csrfCookie]?.value.filter(\.isHexDigit)
        let csrfCookie = presentedCSRF.flatMap { $0.count == 64 ? $0 : nil }
        let csrf = csrfCookie ?? ConsoleSecurity.randomToken()
        let signedIn = apiToken.map { token in
            ConsoleSecurity.matches(request.cookies[ConsoleSecurity.tokenCookie]?.value, Array(ConsoleSecurity.hex(token).utf8))
        } ?? true
        var session = Session(csrf: csrf, live: Self.liveHeader.flatMap { request.headers[$0] } == Self.liveHeaderValue, signedIn: signedIn)

        let outcome: Outcome
        if signInRequired, !signedIn {
            if session.live {
                return JSONResponse.make(status: .unauthorized, body: ["error": "sign in first"],
                                         headers: ConsoleSecurity.headers(contentType: "application/json"))
            }
            outcome = .redirect("/ui/signin")
        } else if request.method == .post, let refusal = try await readForm(&request, into: &session, csrfCookie: csrfCookie) {
            outcome = .view(refusal)
        } else {
            do {
                outcome = try await handler(session)
            } catch {
                let apiError = ErrorMiddleware<BasicRequestContext>.translate(error, request: request, logger: logger)
                outcome = .view(ConsoleView(status: Int(apiError.status.code), title: "Error", section: .jobs,
                                            head: "<h1>Something went wrong</h1>\(ConsolePages.alert(error: apiError.message))"))
            }
        }

        var response: Response
        switch outcome {
        case let .redirect(location, cookies):
            response = Self.redirect(location)
            for cookie in cookies { response.setCookie(cookie) }
        case let .view(view):
            if session.live {
                response = JSONResponse.make(status: .init(code: view.status), body: ["html": view.live?.rendered ?? ""],
                                             headers: ConsoleSecurity.headers(contentType: "application/json"))
            } else {
                let page = ConsolePages.document(view, csrf: csrf, signOut: apiToken != nil && signedIn)
                response = Response(status: .init(code: view.status), headers: ConsoleSecurity.headers(contentType: "text/html; charset=utf-8"),
                                    body: .init(byteBuffer: ByteBuffer(string: page.rendered)))
            }
        }
        if csrfCookie == nil { response.setCookie(ConsoleSecurity.csrfCookie(csrf)) }
        return response
    }

    /// Reads a POST's form into the session; a view refusing it when it is unreadable or its CSRF token
    /// does not match the cookie's.
    private func readForm(_ request: inout Request, into session: inout Session, csrfCookie: String?) async throws -> ConsoleView? {
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Self.maximumFormBytes)
        } catch {
            return Self.refusal(413, "The form is larger than \(Self.maximumFormBytes) bytes.")
        }
        do {
            session.form = try ConsoleForm(body: Array(buffer: body))
        } catch {
            return Self.refusal(400, "The form could not be read (it is not URL-encoded UTF-8).")
        }
        guard let csrfCookie, ConsoleSecurity.matches(session.form[ConsoleSecurity.csrfField], Array(csrfCookie.utf8)) else {
            return Self.refusal(403, "The form expired or came from another site: reload the page and submit it again.")
        }
        return nil
    }

    /// The largest form body: a payload of the API's largest size, percent-encoded.
    static let maximumFormBytes = JobRequest.maximumBodyBytes * 3

    private static func refusal(_ status: Int, _ message: String) -> ConsoleView {
        ConsoleView(status: status, title: "Refused", section: .jobs, head: "<h1>Refused</h1>\(ConsolePages.alert(error: message))")
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    private func jobID(_ context: BasicRequestContext) throws -> UUID {
        try WorkerAPI.jobID(context)
    }

    private static func asset(_ context: BasicRequestContext) throws -> Response {
        guard let name = context.parameters.get("name"), let asset = ConsoleAssets.byName[name] else {
            throw APIError(.notFound, "no such asset", field: "path")
        }
        return Response(status: .ok, headers: ConsoleSecurity.headers(contentType: asset.contentType, cacheable: true),
                        body: .init(byteBuffer: ByteBuffer(string: asset.text)))
    }

    // MARK: Sign-in

    private func signInView(error: String?, _ session: Session) -> ConsoleView {
        ConsoleView(status: error == nil ? 200 : 401, title: "Sign in", section: .signIn,
                    head: ConsolePages.signIn(error: error, csrf: session.csrf))
    }

    private func signIn(_ session: Session) -> Outcome {
        guard let apiToken else { return .redirect("/ui/jobs") }
        guard ConsoleSecurity.matches(session.form["token"], apiToken) else {
            return .view(signInView(error: "That is not this worker's API token.", session))
        }
        return .redirect("/ui/jobs", cookies: [ConsoleSecurity.signInCookie(token: ConsoleSecurity.hex(apiToken))])
    }

    // MARK: Jobs

    private func listJobs(_ request: Request, _ session: Session) async throws -> Outcome {
        // The filter form's GET: `+` is a space there (Hummingbird's query parameters keep it a plus).
        let parameters = (try? ConsoleForm(body: Array((request.uri.query ?? "").utf8))) ?? ConsoleForm()
        func value(_ name: String) -> String? { parameters.nonBlank(name) }
        let query = ConsolePages.ListQuery(status: value("status"), kind: value("kind"), search: value("q"), page: value("page"))
        let kinds = jobs.handlers.kinds.sorted()
        var error: String?
        var listed: [JobView] = []
        var nextPage: String?
        var status: JobStatus?
        if let text = query.status {
            status = JobStatus(rawValue: text)
            if status == nil { error = "status: must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))" }
        }
        if error == nil {
            do {
                if let search = query.search {
                    listed = try await searchJobs(search, status: status, kind: query.kind)
                } else {
                    let result = try await jobs.list(status: status, kind: query.kind, limit: Self.pageSize, page: query.page)
                    listed = result.jobs
                    nextPage = result.nextPage
                }
            } catch let failure as JobServiceError {
                error = JobServiceErrorMapping.apiError(for: failure)?.message ?? failure.description
            }
        }
        return .view(ConsoleView(status: error == nil ? 200 : 400, title: "Jobs", section: .jobs,
                                 head: ConsolePages.jobsHead(query, kinds: kinds, error: error,
                                                             notice: parameters["notice"].flatMap { Self.notices[$0] }),
                                 live: ConsolePages.jobsTable(listed, nextPage: nextPage, query: query, now: now()),
                                 liveURL: query.url(page: query.page)))
    }

    /// The job whose id or idempotency key is `search`, when it passes the other filters.
    private func searchJobs(_ search: String, status: JobStatus?, kind: String?) async throws -> [JobView] {
        let text = search.trimmingCharacters(in: .whitespaces)
        var found: JobView?
        if let id = UUID(uuidString: text) { found = try await jobs.get(id) }
        if found == nil { found = try await jobs.job(idempotencyKey: search) }
        guard let job = found, status.map({ job.status == $0 }) ?? true, kind.map({ job.kind == $0 }) ?? true else { return [] }
        return [job]
    }

    private func createView(_ form: ConsoleForm, error: JobValidationError?, otherError: String?, _ session: Session) -> ConsoleView {
        ConsoleView(status: error == nil && otherError == nil ? 200 : 400, title: "New job", section: .newJob,
                    head: "<h1>New job</h1>",
                    tail: ConsolePages.jobForm(action: "/ui/jobs", submit: "Create job", fields: ConsolePages.createFields,
                                               values: form, kinds: jobs.handlers.kinds.sorted(), error: error,
                                               otherError: otherError, csrf: session.csrf))
    }

    private func createJob(_ session: Session) async throws -> Outcome {
        let validated: ValidatedJob
        do throws(JobValidationError) {
            let json = try JobFormJSON.object(session.form, fields: JobFormJSON.createFields)
            validated = try JobRequest(json: json).validated(kinds: jobs.handlers.kinds, now: now())
        } catch {
            return .view(createView(session.form, error: error, otherError: nil, session))
        }
        do {
            let creation = try await jobs.create(validated)
            return .redirect(ConsoleURL.job(creation.jobID) + "?notice=" + (creation.replayed ? "replayed" : "created"))
        } catch let failure as JobServiceError {
            var view = createView(session.form, error: nil, otherError: JobServiceErrorMapping.apiError(for: failure)?.message ?? failure.description,
                                  session)
            view.status = 409
            return .view(view)
        }
    }

    /// The messages a redirect after an action shows (a fixed set: the URL carries only their key).
    static let notices: [String: String] = [
        "created": "Job created.",
        "replayed": "A job with this idempotency key and request already existed; this is it.",
        "run": "Run requested.",
        "cancel": "Job cancelled.",
        "pause": "Job paused (a running run finishes first).",
        "resume": "Job resumed.",
        "edit": "Job changed.",
        "unchanged": "Nothing was changed.",
        "delete": "Job deleted with its history.",
    ]

    /// The job page's actions that apply in the job's status (the service still has the last word).
    static func actions(for job: JobView) -> [ConsolePages.Action] {
        var actions: [ConsolePages.Action] = []
        switch job.status {
        case .created, .succeeded, .failed, .timedOut:
            actions.append(.init(path: "run", label: "Run now", question: "Run this job now?"))
        case .queued, .running, .paused, .cancelled:
            break
        }
        if job.status == .queued || (job.status == .running && !job.paused) {
            actions.append(.init(path: "pause", label: "Pause", question: "Pause this job? No run is queued until it is resumed."))
        }
        if job.status == .paused || job.paused {
            actions.append(.init(path: "resume", label: "Resume", question: "Resume this job?"))
        }
        // A finished one-shot job has nothing left to cancel (the API answers 409).
        let recurring = (try? Schedule.parse(job.schedule, timeZone: job.timezone).isRecurring) ?? true
        if job.status != .cancelled, !(job.status.isFinished && !recurring) {
            actions.append(.init(path: "cancel", label: "Cancel", question: "Cancel this job? It will not run again.", danger: true))
        }
        if job.status.isFinished {
            actions.append(.init(path: "delete", label: "Delete", question: "Delete this job and its whole history? This cannot be undone.",
                                 danger: true))
        }
        return actions
    }

    private func jobPage(_ id: UUID, request: Request, session: Session, error: String?, status: Int) async throws -> Outcome {
        guard let job = try await jobs.get(id) else {
            return .view(ConsoleView(status: 404, title: "No such job", section: .jobs,
                                     head: "<h1>No such job</h1>\(ConsolePages.alert(error: WorkerAPI.unknownJob(id).message))"))
        }
        let historyPage = request.method == .get ? request.uri.queryParameters["history_page"].map(String.init) : nil
        let history: (runs: [RunRecord], nextPage: String?)
        do {
            history = try await jobs.historyPage(id, limit: Self.historySize, page: historyPage)
        } catch JobServiceError.invalidPageToken {
            history = try await jobs.historyPage(id, limit: Self.historySize, page: nil)
        }
        let notice = request.uri.queryParameters["notice"].flatMap { Self.notices[String($0)] }
        return .view(ConsoleView(
            status: status, title: "Job \(ConsolePages.id(id).prefix(8))", section: .jobs,
            head: ConsolePages.jobHead(job, error: error, notice: error == nil ? notice : nil),
            live: ConsolePages.jobLive(job, actions: Self.actions(for: job), csrf: session.csrf, runs: history.runs,
                                       details: Self.runDetails, nextHistoryPage: history.nextPage, now: now()),
            liveURL: ConsoleURL.make(ConsoleURL.job(id), [("history_page", historyPage)])))
    }

    /// The result and output columns of a run (`exit_code` of a shell run, `http_status` of an http run,
    /// where the history records them).
    static func runDetails(_ run: RunRecord) -> ConsolePages.RunDetails {
        var result: [String] = []
        if let code = run.exitCode { result.append("exit code \(code)") }
        if let status = run.httpStatus { result.append("HTTP \(status)") }
        return ConsolePages.RunDetails(
            result: result.isEmpty ? "<span class=\"muted\">—</span>" : HTML(text: result.joined(separator: ", ")),
            output: ConsolePages.outputCell(attempt: run.attempt, output: run.output, error: run.error))
    }

    private func jobAction(_ id: UUID, action: String, request: Request, session: Session) async throws -> Outcome {
        do {
            switch action {
            case "run": _ = try await jobs.run(id)
            case "cancel": _ = try await jobs.cancel(id)
            case "pause": _ = try await jobs.pause(id)
            case "resume": _ = try await jobs.resume(id)
            case "delete":
                try await jobs.purge(id)
                return .redirect("/ui/jobs?notice=delete")
            case "edit":
                return try await editJob(id, session)
            default:
                return .view(Self.refusal(404, "There is no action \(WorkerAPI.quoted(action)) on jobs."))
            }
        } catch let failure as JobServiceError {
            guard let apiError = JobServiceErrorMapping.apiError(for: failure) else { throw failure }
            let name = ["run": "Run now", "cancel": "Cancel", "pause": "Pause", "resume": "Resume", "delete": "Delete"][action] ?? action
            return try await jobPage(id, request: request, session: session, error: "\(name) refused: \(apiError.message)",
                                     status: Int(apiError.status.code))
        }
        return .redirect(ConsoleURL.job(id) + "?notice=" + action)
    }

    // MARK: Edit

    /// The edit form's values for `job` as it is.
    static func editValues(_ job: JobView) -> ConsoleForm {
        func number(_ value: Double) -> String { String(format: "%g", value) }
        return ConsoleForm([
            "schedule": job.schedule, "timezone": job.timezone, "payload": job.payload,
            "max_duration_seconds": String(job.maxDurationSeconds), "max_attempts": String(job.maxAttempts),
            "backoff.initial_seconds": number(job.backoff.initialSeconds), "backoff.max_seconds": number(job.backoff.maxSeconds),
            "backoff.multiplier": number(job.backoff.multiplier),
        ])
    }

    private func editView(_ job: JobView, values: ConsoleForm, error: JobValidationError?, otherError: String?, status: Int,
                          _ session: Session) -> ConsoleView {
        let jobID = ConsolePages.id(job.jobID)
        return ConsoleView(status: status, title: "Edit job \(jobID.prefix(8))", section: .jobs,
                           head: "<p><a href=\"\(ConsoleURL.job(job.jobID))\">← Back to the job</a></p><h1>Edit job <span class=\"mono\">\(jobID)</span></h1>",
                           tail: ConsolePages.jobForm(action: "/ui/jobs/\(jobID)/edit", submit: "Save changes", fields: ConsolePages.editFields,
                                                      values: values, kinds: [], error: error, otherError: otherError, csrf: session.csrf))
    }

    private func editForm(_ id: UUID, _ session: Session) async throws -> Outcome {
        guard let job = try await jobs.get(id) else { throw JobServiceError.notFound(id) }
        return .view(editView(job, values: Self.editValues(job), error: nil, otherError: nil, status: 200, session))
    }

    /// Sends the fields that differ from the job as it is as a PATCH (the API's validation names the field at fault).
    private func editJob(_ id: UUID, _ session: Session) async throws -> Outcome {
        guard let job = try await jobs.get(id) else { throw JobServiceError.notFound(id) }
        let current = Self.editValues(job)
        let backoffFields = ConsolePages.editFields.map(\.name).filter { $0.hasPrefix("backoff.") }
        let backoffChanged = backoffFields.contains { session.form[$0] != current[$0] }
        let changed = ConsolePages.editFields.map(\.name).filter { name in
            name.hasPrefix("backoff.") ? backoffChanged : session.form[name] != current[name]
        }
        guard !changed.isEmpty else { return .redirect(ConsoleURL.job(id) + "?notice=unchanged") }
        do {
            let json = try JobFormJSON.object(session.form, fields: changed)
            let patch = try JobPatch(json: json)
            _ = try await jobs.update(id, patch: patch)
        } catch let error as JobValidationError {
            return .view(editView(job, values: session.form, error: error, otherError: nil, status: 400, session))
        } catch let failure as JobServiceError {
            guard let apiError = JobServiceErrorMapping.apiError(for: failure) else { throw failure }
            return .view(editView(job, values: session.form, error: nil, otherError: "Edit refused: \(apiError.message)",
                                  status: Int(apiError.status.code), session))
        }
        return .redirect(ConsoleURL.job(id) + "?notice=edit")
    }

    // MARK: Cluster

    private func clusterView() async throws -> Outcome {
        let status = try await jobs.clusterStatus()
        return .view(ConsoleView(title: "Cluster", section: .cluster, head: "<h1>Cluster</h1>",
                                 live: ConsolePages.clusterLive(status, nodes: nodes(), now: now()), liveURL: "/ui/cluster"))
    }
}
