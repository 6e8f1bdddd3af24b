import CQLWire
import Foundation
import Scheduler

/// What a console handler answers: the page's parts. The full page is the layout around them; a
/// live request (`X-Console-Live: 1`) gets only ``live`` as JSON.
struct ConsoleView: Sendable {
    /// The navigation entry of a page.
    enum Section: Sendable { case jobs, newJob, cluster, signIn }

    var status: HTTPStatusCode = 200
    var title: String
    var section: Section
    /// Above the live region: heading, messages, filters, actions.
    var head: HTML
    /// The region that updates itself; nil for pages that do not.
    var live: HTML?
    /// The URL a live refresh asks (the page's own, also when it answers a POST).
    var liveURL: String?
    /// Below the live region (forms).
    var tail: HTML = .empty
}

/// An HTTP status code as a number (the console's views do not depend on Hummingbird).
typealias HTTPStatusCode = Int

/// The markup of every console page, as pure functions of what they show.
enum ConsolePages {
    // MARK: Layout

    /// The whole document around a view.
    static func document(_ view: ConsoleView, csrf: String, signOut: Bool) -> HTML {
        func nav(_ section: ConsoleView.Section, _ href: String, _ label: String) -> HTML {
            view.section == section ? "<a href=\"\(href)\" aria-current=\"page\">\(label)</a>" : "<a href=\"\(href)\">\(label)</a>"
        }
        let signOutForm: HTML = signOut
            ? "<form method=\"post\" action=\"/ui/signout\">\(csrfField(csrf))<button type=\"submit\">Sign out</button></form>"
            : .empty
        let live: HTML = view.live.map { live -> HTML in
            "<p id=\"live-status\" role=\"status\" aria-live=\"polite\"></p><div id=\"live\" data-src=\"\(view.liveURL ?? "")\">\(live)</div>"
        } ?? .empty
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(view.title) · Scheduler console</title>
        <link rel="icon" href="/ui/assets/favicon.svg"><link rel="stylesheet" href="/ui/assets/console.css"><script src="/ui/assets/console.js" defer></script></head>
        <body><a class="skip" href="#main">Skip to content</a>
        <header><nav aria-label="Main"><a class="brand" href="/ui/jobs">Scheduler</a>\(nav(.jobs, "/ui/jobs", "Jobs"))\(nav(.newJob, "/ui/jobs/new", "New job"))\(nav(.cluster, "/ui/cluster", "Cluster"))\(signOutForm)</nav></header>
        <main id="main" tabindex="-1">\(view.head)\(live)\(view.tail)</main>
        </body></html>
        """
    }

    static func csrfField(_ csrf: String) -> HTML {
        "<input type=\"hidden\" name=\"\(ConsoleSecurity.csrfField)\" value=\"\(csrf)\">"
    }

    static func alert(error: String?) -> HTML {
        guard let error else { return .empty }
        return "<div class=\"alert error\" role=\"alert\" id=\"error\">\(error)</div>"
    }

    static func alert(notice: String?) -> HTML {
        guard let notice else { return .empty }
        return "<div class=\"alert notice\" role=\"status\">\(notice)</div>"
    }

    // MARK: Values

    static func badge(_ status: String) -> HTML {
        "<span class=\"badge \(status)\">\(status.replacingOccurrences(of: "_", with: " "))</span>"
    }

    /// A time in UTC with how far it is from `now`.
    static func time(_ date: Date?, now: Date) -> HTML {
        guard let date else { return "<span class=\"muted\">—</span>" }
        let text = RFC3339.format(date)
        let shown = text.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: ".000Z", with: "Z")
        return "<time datetime=\"\(text)\">\(shown)</time> <span class=\"muted\">(\(relative(date, now: now)))</span>"
    }

    static func relative(_ date: Date, now: Date) -> String {
        let seconds = date.timeIntervalSince(now)
        let magnitude = abs(seconds)
        let amount: String
        switch magnitude {
        case ..<1: return "now"
        case ..<90: amount = "\(Int(magnitude.rounded())) s"
        case ..<5400: amount = "\(Int((magnitude / 60).rounded())) min"
        case ..<172_800: amount = "\(Int((magnitude / 3600).rounded())) h"
        default: amount = "\(Int((magnitude / 86400).rounded())) d"
        }
        return seconds > 0 ? "in \(amount)" : "\(amount) ago"
    }

    static func duration(from start: Date?, to end: Date?) -> String {
        guard let start, let end else { return "—" }
        let seconds = max(0, end.timeIntervalSince(start))
        return seconds < 10 ? String(format: "%.2f s", seconds) : String(format: "%.0f s", seconds)
    }

    static func id(_ id: UUID) -> String { id.uuidString.lowercased() }

    // MARK: Jobs list

    /// The list's filters as the URL carries them.
    struct ListQuery: Sendable {
        var status: String?
        var kind: String?
        var search: String?
        var page: String?

        func url(page: String?) -> String {
            ConsoleURL.make("/ui/jobs", [("status", status), ("kind", kind), ("q", search), ("page", page)])
        }
    }

    static func jobsHead(_ query: ListQuery, kinds: [String], error: String?, notice: String?) -> HTML {
        let statuses = JobStatus.allCases.map(\.rawValue)
        let statusOptions = HTML.joined(([""] + statuses).map { value -> HTML in
            let label = value.isEmpty ? "any" : value.replacingOccurrences(of: "_", with: " ")
            return value == (query.status ?? "") ? "<option value=\"\(value)\" selected>\(label)</option>" : "<option value=\"\(value)\">\(label)</option>"
        })
        let kindOptions = HTML.joined(([""] + kinds).map { value -> HTML in
            let label = value.isEmpty ? "any" : value
            return value == (query.kind ?? "") ? "<option value=\"\(value)\" selected>\(label)</option>" : "<option value=\"\(value)\">\(label)</option>"
        })
        return """
        <h1>Jobs</h1>\(alert(error: error))\(alert(notice: notice))
        <form class="filters" method="get" action="/ui/jobs" role="search" aria-label="Filter jobs">
        <div class="field"><label for="filter-status">Status</label><select id="filter-status" name="status">\(statusOptions)</select></div>
        <div class="field"><label for="filter-kind">Kind</label><select id="filter-kind" name="kind">\(kindOptions)</select></div>
        <div class="field"><label for="filter-q">Job id or idempotency key</label><input id="filter-q" name="q" type="search" value="\(query.search)" size="38" autocomplete="off"></div>
        <button type="submit">Filter</button> <a class="button secondary" href="/ui/jobs">Clear</a>
        </form>
        """
    }

    static func jobsTable(_ jobs: [JobView], nextPage: String?, query: ListQuery, now: Date) -> HTML {
        let rows = HTML.joined(jobs.map { job -> HTML in
            let jobID = id(job.jobID)
            let outcome: HTML = job.lastOutcome.map { badge($0.rawValue) } ?? "<span class=\"muted\">—</span>"
            return """
            <tr><td data-label="Job"><a class="mono" id="job-\(jobID)" href="\(ConsoleURL.job(job.jobID))">\(String(jobID.prefix(8)))…</a></td>
            <td data-label="Kind">\(job.kind)</td><td data-label="Status">\(badge(job.status.rawValue))</td>\
            <td data-label="Schedule" class="mono">\(job.schedule)</td><td data-label="Due"><span>\(time(job.nextDueAt, now: now))</span></td>\
            <td data-label="Last outcome">\(outcome)</td><td data-label="Updated"><span>\(time(job.updatedAt, now: now))</span></td></tr>
            """
        })
        let empty: HTML = jobs.isEmpty ? "<tr><td colspan=\"7\" class=\"muted\">No jobs match.</td></tr>" : .empty
        var pager: [HTML] = []
        if query.page != nil { pager.append("<a href=\"\(query.url(page: nil))\">First page</a>") }
        if let nextPage { pager.append("<a href=\"\(query.url(page: nextPage))\" id=\"next-page\">Next page</a>") }
        return """
        <div class="table-wrap"><table class="cards"><caption class="skip">Jobs</caption>
        <thead><tr><th scope="col">Job</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Schedule</th>
        <th scope="col">Due</th><th scope="col">Last outcome</th><th scope="col">Updated</th></tr></thead>
        <tbody>\(rows)\(empty)</tbody></table></div>
        <nav class="pager" aria-label="Pages">\(pager)</nav>
        """
    }

    // MARK: Job page

    /// One action button of the job page: a confirmed POST form.
    struct Action: Sendable {
        var path: String
        var label: String
        var question: String
        var danger = false
    }

    static func jobHead(_ job: JobView, error: String?, notice: String?) -> HTML {
        """
        <p><a href="/ui/jobs">← All jobs</a></p>
        <h1>Job <span class="mono">\(id(job.jobID))</span></h1>\(alert(error: error))\(alert(notice: notice))
        """
    }

    /// The action buttons of a job (confirmed forms) and its edit link.
    static func jobActions(_ job: JobView, actions: [Action], csrf: String) -> HTML {
        let jobID = id(job.jobID)
        let buttons = HTML.joined(actions.map { action -> HTML in
            let style = action.danger ? "danger" : "secondary"
            return """
            <form method="post" action="/ui/jobs/\(jobID)/\(action.path)" data-confirm="\(action.question)">\(csrfField(csrf))\
            <button type="submit" class="\(style)" id="action-\(action.path)">\(action.label)</button></form>
            """
        })
        let edit: HTML = job.status == .cancelled ? .empty
            : "<a class=\"button secondary\" id=\"action-edit\" href=\"/ui/jobs/\(jobID)/edit\">Edit</a>"
        return "<div class=\"actions\" role=\"group\" aria-label=\"Job actions\">\(buttons)\(edit)</div>"
    }

    /// The extra columns of history rows, filled by whatever the run records carry.
    struct RunDetails: Sendable {
        var result: HTML
        var output: HTML
    }

    static func jobLive(_ job: JobView, actions: [Action], csrf: String, runs: [RunRecord], details: (RunRecord) -> RunDetails,
                        nextHistoryPage: String?, now: Date) -> HTML {
        func row(_ name: String, _ value: HTML) -> HTML { "<dt>\(name)</dt><dd>\(value)</dd>" }
        func text(_ value: String?) -> HTML { value.map { HTML(text: $0) } ?? "<span class=\"muted\">—</span>" }
        let fields = HTML.joined([
            row("Status", job.paused ? "\(badge(job.status.rawValue)) <span class=\"muted\">(pauses when this run ends)</span>" : badge(job.status.rawValue)),
            row("Kind", text(job.kind)),
            row("Schedule", "<span class=\"mono\">\(job.schedule)</span>"),
            row("Time zone", text(job.timezone)),
            row("Next fire", time(job.nextDueAt, now: now)),
            row("Last fire", time(job.lastFireAt, now: now)),
            row("Last outcome", job.lastOutcome.map { badge($0.rawValue) } ?? text(nil)),
            row("Last error", text(job.lastError)),
            row("Attempt (fencing token)", "\(job.attempt)"),
            row("Tries this activation", "\(job.tries) of \(job.maxAttempts)"),
            row("Max duration", "\(job.maxDurationSeconds) s"),
            row("Retry backoff", "\(String(format: "%g s, ×%g, at most %g s", job.backoff.initialSeconds, job.backoff.multiplier, job.backoff.maxSeconds))"),
            // The run lease fields keep the last run's values after it ends; they mean something only while it runs.
            row("Running on", text(job.status == .running ? job.leaseOwner : nil)),
            row("Run lease until", job.status == .running ? time(job.leaseExpiresAt, now: now) : text(nil)),
            row("Idempotency key", text(job.idempotencyKey)),
            row("Created", time(job.createdAt, now: now)),
            row("Updated", time(job.updatedAt, now: now)),
        ])
        let history = HTML.joined(runs.map { run -> HTML in
            let extra = details(run)
            return """
            <tr><td data-label="Attempt" class="num">\(run.attempt)</td><td data-label="Outcome">\(badge(run.status.rawValue))</td>\
            <td data-label="Result">\(extra.result)</td><td data-label="Worker" class="mono">\(text(run.workerID))</td>\
            <td data-label="Started"><span>\(time(run.startedAt, now: now))</span></td>\
            <td data-label="Duration" class="num">\(duration(from: run.startedAt, to: run.finishedAt))</td>\
            <td data-label="Output"><div>\(extra.output)</div></td></tr>
            """
        })
        let empty: HTML = runs.isEmpty ? "<tr><td colspan=\"7\" class=\"muted\">No runs yet.</td></tr>" : .empty
        let more: HTML = nextHistoryPage.map { page -> HTML in "<p><a href=\"\(ConsoleURL.make("", [("history_page", page)]))\" id=\"older-runs\">Older runs</a></p>" } ?? .empty
        return """
        \(jobActions(job, actions: actions, csrf: csrf))
        <section class="card" aria-labelledby="fields-heading"><h2 id="fields-heading">Fields</h2><dl class="fields">\(fields)</dl>
        <h3 id="payload-heading">Payload</h3><pre id="payload" aria-labelledby="payload-heading">\(job.payload)</pre></section>
        <h2 id="history-heading">Run history</h2>
        <div class="table-wrap"><table class="cards" aria-labelledby="history-heading">
        <thead><tr><th scope="col">Attempt</th><th scope="col">Outcome</th><th scope="col">Result</th><th scope="col">Worker</th>
        <th scope="col">Started</th><th scope="col">Duration</th><th scope="col">Output</th></tr></thead>
        <tbody id="history">\(history)\(empty)</tbody></table></div>\(more)
        """
    }

    /// A run's output or error text, folded when long.
    static func outputCell(attempt: Int64, output: String?, error: String?) -> HTML {
        var parts: [HTML] = []
        if let error, !error.isEmpty { parts.append("<pre class=\"run-error\">\(error)</pre>") }
        if let output, !output.isEmpty {
            if output.count > 160 || output.contains("\n") {
                parts.append("<details id=\"output-\(attempt)\"><summary>Output (\(output.utf8.count) bytes)</summary><pre>\(output)</pre></details>")
            } else {
                parts.append("<pre>\(output)</pre>")
            }
        }
        return parts.isEmpty ? "<span class=\"muted\">—</span>" : HTML.joined(parts)
    }

    // MARK: Job form

    /// One field of the job form.
    struct FormField: Sendable {
        enum Control: Sendable { case text, number, textarea, select([String]), checkbox }
        var name: String
        var label: String
        var control: Control
        var hint: String?
        var required = false
    }

    static let createFields: [FormField] = [
        FormField(name: "kind", label: "Kind", control: .select([]), hint: "The handler that runs the job."),
        FormField(name: "schedule", label: "Schedule", control: .text,
                  hint: "now, an RFC 3339 time (2030-01-01T09:00:00Z), @every 30s, or a cron expression (*/5 * * * *).", required: true),
        FormField(name: "timezone", label: "Time zone", control: .text, hint: "IANA name for cron schedules (UTC when empty)."),
        FormField(name: "payload", label: "Payload (JSON)", control: .textarea, hint: "For sleep: {\"seconds\": 2}; for http: {\"url\": \"…\"}."),
        FormField(name: "max_duration_seconds", label: "Max duration (seconds)", control: .number, required: true),
        FormField(name: "max_attempts", label: "Max attempts", control: .number, hint: "Runs per activation before giving up (3 when empty)."),
        FormField(name: "backoff.initial_seconds", label: "Retry backoff: first delay (seconds)", control: .number,
                  hint: "The three backoff fields go together (1, 300 and 2 when all are empty)."),
        FormField(name: "backoff.max_seconds", label: "Retry backoff: longest delay (seconds)", control: .number),
        FormField(name: "backoff.multiplier", label: "Retry backoff: multiplier", control: .number),
        FormField(name: "idempotency_key", label: "Idempotency key", control: .text, hint: "Optional: repeating a creation with it returns the same job."),
        FormField(name: "run", label: "Activate now (run on its schedule)", control: .checkbox),
    ]

    /// The fields a PATCH may change.
    static let editFields: [FormField] = createFields.filter { !["kind", "idempotency_key", "run"].contains($0.name) }

    /// A form of `fields` with their values, the error next to the field it names (or above the form).
    static func jobForm(action: String, submit: String, fields: [FormField], values: ConsoleForm, kinds: [String],
                        error: JobValidationError?, otherError: String?, csrf: String) -> HTML {
        let known = Set(fields.map(\.name))
        let topError = otherError ?? error.flatMap { known.contains($0.field) ? nil : $0.description }
        let rows = HTML.joined(fields.map { field -> HTML in
            let controlID = "field-\(field.name)"
            let failed = error?.field == field.name
            let errorID = "\(controlID)-error"
            let hintID = "\(controlID)-hint"
            var described: [String] = []
            if field.hint != nil { described.append(hintID) }
            if failed { described.append(errorID) }
            let aria: HTML = described.isEmpty ? .empty : " aria-describedby=\"\(described.joined(separator: " "))\""
            let invalid: HTML = failed ? " aria-invalid=\"true\"" : .empty
            let required: HTML = field.required ? " required" : .empty
            let value = values[field.name] ?? ""
            let control: HTML
            switch field.control {
            case .text:
                control = "<input id=\"\(controlID)\" name=\"\(field.name)\" type=\"text\" value=\"\(value)\"\(aria)\(invalid)\(required)>"
            case .number:
                control = "<input id=\"\(controlID)\" name=\"\(field.name)\" type=\"text\" inputmode=\"decimal\" value=\"\(value)\"\(aria)\(invalid)\(required)>"
            case .textarea:
                control = "<textarea id=\"\(controlID)\" name=\"\(field.name)\" rows=\"5\"\(aria)\(invalid)>\(value)</textarea>"
            case .select(let fixed):
                let options = HTML.joined((fixed.isEmpty ? kinds : fixed).map { option -> HTML in
                    option == value ? "<option selected>\(option)</option>" : "<option>\(option)</option>"
                })
                control = "<select id=\"\(controlID)\" name=\"\(field.name)\"\(aria)\(invalid)>\(options)</select>"
            case .checkbox:
                let checked: HTML = values[field.name] != nil ? " checked" : .empty
                return """
                <div class="row check"><input id="\(controlID)" name="\(field.name)" type="checkbox" value="true"\(checked)\(aria)\(invalid)>\
                <label for="\(controlID)">\(field.label)</label></div>
                """
            }
            let hint: HTML = field.hint.map { hint -> HTML in "<span class=\"hint\" id=\"\(hintID)\">\(hint)</span>" } ?? .empty
            let message: HTML = failed ? "<span class=\"field-error\" id=\"\(errorID)\">\(error?.description ?? "")</span>" : .empty
            return "<div class=\"row\"><label for=\"\(controlID)\">\(field.label)</label>\(control)\(message)\(hint)</div>"
        })
        return """
        \(alert(error: topError))
        <form class="stacked card" method="post" action="\(action)" novalidate>\(csrfField(csrf))\(rows)
        <button type="submit" id="submit">\(submit)</button></form>
        """
    }

    // MARK: Cluster

    static func clusterLive(_ status: ClusterStatus, nodes: [CQLNodeState], now: Date) -> HTML {
        let queued = status.shards.reduce(0) { $0 + $1.queueDepth }
        // A lower bound when the read stopped counting.
        let queuedText = (status.queueComplete ? "" : "≥ ") + String(queued)
        let maxLag = status.shards.map(\.lagSeconds).max() ?? 0
        let stats: HTML = """
        <div class="grid">
        <div class="stat"><div class="muted">Live workers</div><div class="value" id="stat-workers">\(status.workers.count)</div></div>
        <div class="stat"><div class="muted">Queued jobs</div><div class="value">\(queuedText)</div></div>
        <div class="stat"><div class="muted">Runs in flight</div><div class="value">\(status.runsInFlight)</div></div>
        <div class="stat"><div class="muted">Largest lag</div><div class="value">\(String(format: "%.1f s", maxLag))</div></div>
        </div>
        """
        let workers = HTML.joined(status.workers.map { worker -> HTML in
            let owned = status.shards(ownedBy: worker)
            let runs = status.runs.filter { $0.worker == worker }.count
            return """
            <tr data-worker="\(worker)"><td data-label="Worker" class="mono">\(worker)</td><td data-label="Shards" class="num">\(owned.count)</td>\
            <td data-label="Owned" class="mono shards">\(owned.map(String.init).joined(separator: ", "))</td>\
            <td data-label="Runs" class="num">\(runs)</td></tr>
            """
        })
        let shards = HTML.joined(status.shards.map { shard -> HTML in
            let owner: HTML = shard.owner.map { owner -> HTML in "<span class=\"mono\">\(owner)</span>" } ?? "<span class=\"muted\">none</span>"
            return """
            <tr><td data-label="Shard" class="num">\(shard.shard)</td><td data-label="Holder">\(owner)</td>\
            <td data-label="Token" class="num mono">\(shard.fencingToken)</td>\
            <td data-label="Expires"><span>\(time(shard.leaseExpiresAt, now: now))</span></td>\
            <td data-label="Depth" class="num">\(shard.queueDepth)</td>\
            <td data-label="Lag" class="num">\(String(format: "%.1f s", shard.lagSeconds))</td></tr>
            """
        })
        let runs = HTML.joined(status.runs.map { run -> HTML in
            """
            <tr><td data-label="Job"><a class="mono" href="\(ConsoleURL.job(run.jobID))">\(String(id(run.jobID).prefix(8)))…</a></td>\
            <td data-label="Kind">\(run.kind)</td><td data-label="Attempt" class="num">\(run.attempt)</td>\
            <td data-label="Worker" class="mono">\(run.worker)</td><td data-label="Started"><span>\(time(run.startedAt, now: now))</span></td>\
            <td data-label="Lease until"><span>\(time(run.leaseExpiresAt, now: now))</span></td></tr>
            """
        })
        let nodeRows = HTML.joined(nodes.map { node -> HTML in
            "<tr><td class=\"mono\">\(node.endpoint.description)</td><td>\(node.datacenter ?? "unknown")</td><td>\(badge(node.isUp ? "up" : "down"))</td></tr>"
        })
        func none(_ empty: Bool, _ columns: Int, _ text: String) -> HTML {
            empty ? "<tr><td colspan=\"\(columns)\" class=\"muted\">\(text)</td></tr>" : .empty
        }
        return """
        \(stats)
        <h2 id="workers-heading">Workers <span class="muted">(pool \(status.pool))</span></h2>
        <div class="table-wrap"><table class="cards" aria-labelledby="workers-heading" id="workers"><thead><tr><th scope="col">Worker</th>\
        <th scope="col">Shards</th><th scope="col">Owned shards</th><th scope="col">Runs</th></tr></thead>
        <tbody>\(workers)\(none(status.workers.isEmpty, 4, "No live workers."))</tbody></table></div>
        <h2 id="shards-heading">Shard leases and queues</h2>
        <div class="table-wrap"><table class="cards" aria-labelledby="shards-heading" id="shards"><thead><tr><th scope="col">Shard</th>\
        <th scope="col">Lock holder</th><th scope="col">Fencing token</th><th scope="col">Lease expires</th><th scope="col">Queue depth</th>\
        <th scope="col">Lag</th></tr></thead><tbody>\(shards)</tbody></table></div>
        <h2 id="runs-heading">Runs in flight</h2>
        <div class="table-wrap"><table class="cards" aria-labelledby="runs-heading"><thead><tr><th scope="col">Job</th><th scope="col">Kind</th>\
        <th scope="col">Attempt</th><th scope="col">Worker</th><th scope="col">Started</th><th scope="col">Run lease until</th></tr></thead>
        <tbody>\(runs)\(none(status.runs.isEmpty, 6, "Nothing is running."))</tbody></table></div>
        <h2 id="nodes-heading">Cassandra nodes</h2>
        <div class="table-wrap"><table aria-labelledby="nodes-heading"><thead><tr><th scope="col">Node</th><th scope="col">Data centre</th>\
        <th scope="col">State</th></tr></thead><tbody>\(nodeRows)\(none(nodes.isEmpty, 3, "The session knows no nodes."))</tbody></table></div>
        """
    }

    // MARK: Sign-in

    static func signIn(error: String?, csrf: String) -> HTML {
        let invalid: HTML = error == nil ? .empty : " aria-invalid=\"true\" aria-describedby=\"token-error\""
        let message: HTML = error.map { error -> HTML in "<span class=\"field-error\" id=\"token-error\" role=\"alert\">\(error)</span>" } ?? .empty
        return """
        <div class="signin"><h1>Sign in</h1>
        <form class="stacked card" method="post" action="/ui/signin">\(csrfField(csrf))
        <div class="row"><label for="field-token">API token</label>\
        <input id="field-token" name="token" type="password" autocomplete="current-password" required autofocus\(invalid)>\(message)
        <span class="hint">The token the worker was started with (--api-token). It is kept in a cookie this browser sends only to this console.</span></div>
        <button type="submit" id="submit">Sign in</button></form></div>
        """
    }
}
