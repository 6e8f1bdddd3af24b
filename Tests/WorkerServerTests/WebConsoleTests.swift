import Foundation
import Hummingbird
import HummingbirdTesting
import Scheduler
import Testing
@testable import WorkerServer

/// A browser's cookie jar and CSRF token against the console, over the test client.
struct ConsoleBrowser {
    var cookies: [String: String] = [:]

    var cookieHeader: HTTPFields {
        var fields = HTTPFields()
        if !cookies.isEmpty {
            fields[.cookie] = cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
        }
        return fields
    }

    var csrf: String { cookies[ConsoleSecurity.csrfCookie] ?? "" }

    /// Sends a request with the jar's cookies and keeps the cookies the answer sets.
    mutating func send(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, form: [(String, String)]? = nil,
                       headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = cookieHeader
        for field in headers { fields.append(field) }
        var body: ByteBuffer?
        if let form {
            fields[.contentType] = "application/x-www-form-urlencoded"
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            body = ByteBuffer(string: form.map { name, value in
                "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
            }.joined(separator: "&"))
        }
        let response = try await client.execute(uri: uri, method: method, headers: fields, body: body)
        for header in response.headers[values: .setCookie] {
            let pair = header.split(separator: ";", maxSplits: 1)[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(pair[0]), value = pair.count > 1 ? String(pair[1]) : ""
            if header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        return response
    }

    /// Loads a page (which sets the CSRF cookie on the first visit), then posts `form` with the token.
    mutating func post(_ client: any TestClientProtocol, _ uri: String, _ form: [(String, String)]) async throws -> TestResponse {
        if cookies[ConsoleSecurity.csrfCookie] == nil { _ = try await send(client, .get, "/ui/jobs/new") }
        return try await send(client, .post, uri, form: [(ConsoleSecurity.csrfField, csrf)] + form)
    }
}

@Suite("Web console")
struct WebConsoleTests {
    @Test("Interpolated text is escaped; only HTML values are inserted as markup")
    func escaping() {
        let payload = "<img src=x onerror=alert(1)> & \"quotes\" 'too'"
        let html: HTML = "<td title=\"\(payload)\">\(payload)</td>"
        #expect(html.rendered == "<td title=\"&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot; &#39;too&#39;\">"
            + "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot; &#39;too&#39;</td>")
        let nested: HTML = "<p>\(HTML(text: "<b>"))\(html)</p>"
        #expect(nested.rendered.hasPrefix("<p>&lt;b&gt;<td title="))
    }

    @Test("Form bodies decode plus signs and percent escapes; a broken escape is refused")
    func formDecoding() throws {
        let form = try ConsoleForm(body: Array("a=1+2%3D3&payload=%7B%22x%22%3A1%7D&empty=&flag".utf8))
        #expect(form["a"] == "1 2=3")
        #expect(form["payload"] == #"{"x":1}"#)
        #expect(form["empty"] == "")
        #expect(form["flag"] == "")
        #expect(throws: ConsoleForm.Malformed.self) { try ConsoleForm(body: Array("a=%E0%A4".utf8)) }
    }

    @Test("Pages carry a CSP without unsafe-inline and load their script and style from /ui/assets")
    func securityHeadersAndAssets() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            var browser = ConsoleBrowser()
            let page = try await browser.send(client, .get, "/ui/jobs")
            #expect(page.status == .ok)
            let csp = try #require(page.headers[.contentSecurityPolicy])
            #expect(!csp.contains("unsafe-inline") && csp.contains("script-src 'self'") && csp.contains("style-src 'self'"))
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.text.contains("<script src=\"/ui/assets/console.js\" defer></script>"))
            #expect(!page.text.contains("<script>") && !page.text.contains("style=\""), "inline script or style in the page")
            let csrfCookie = page.headers[values: .setCookie].first { $0.hasPrefix(ConsoleSecurity.csrfCookie + "=") } ?? ""
            #expect(csrfCookie.contains("HttpOnly") && csrfCookie.contains("SameSite=Strict"), "CSRF cookie: \(csrfCookie)")

            let script = try await client.send(.get, "/ui/assets/console.js")
            #expect(script.status == .ok && script.headers[.contentType]?.hasPrefix("text/javascript") == true)
            let style = try await client.send(.get, "/ui/assets/console.css")
            #expect(style.status == .ok && style.headers[.contentType]?.hasPrefix("text/css") == true)
            #expect(try await client.send(.get, "/ui/assets/other.js").status == .notFound)
            #expect(try await client.send(.get, "/ui").headers[.location] == "/ui/jobs")
        }
    }

    @Test("The create form shows the API's validation error next to its field, then creates the job")
    func createForm() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            var browser = ConsoleBrowser()
            let form = [("kind", "noop"), ("schedule", "now"), ("payload", "{}"), ("max_duration_seconds", "0")]
            let refused = try await browser.post(client, "/ui/jobs", form)
            #expect(refused.status == .badRequest)
            #expect(refused.text.contains("<span class=\"field-error\" id=\"field-max_duration_seconds-error\">max_duration_seconds: must be between"),
                    "no field error in \(refused.text)")
            #expect(refused.text.contains("aria-invalid=\"true\""))

            let badJSON = try await browser.post(client, "/ui/jobs", [("schedule", "now"), ("payload", "{oops"), ("max_duration_seconds", "5")])
            #expect(badJSON.text.contains("id=\"field-payload-error\">payload: must be JSON"))

            let created = try await browser.post(client, "/ui/jobs", [("kind", "echo"), ("schedule", "@every 1h"), ("payload", "{\"n\":1}"),
                                                                      ("max_duration_seconds", "30")])
            #expect(created.status == .seeOther)
            let location = try #require(created.headers[.location])
            let id = try #require(UUID(uuidString: String(location.dropFirst("/ui/jobs/".count).prefix(36))))
            let job = try #require(try await fixture.jobs.get(id))
            #expect(job.kind == "echo" && job.schedule == "@every 1h" && job.maxDurationSeconds == 30 && job.status == .created)
        }
    }

    @Test("A POST without the CSRF token of the cookie is refused")
    func csrf() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            var browser = ConsoleBrowser()
            _ = try await browser.send(client, .get, "/ui/jobs/new")
            let form = [("schedule", "now"), ("max_duration_seconds", "5")]
            let missing = try await browser.send(client, .post, "/ui/jobs", form: form)
            #expect(missing.status == .forbidden)
            let wrong = try await browser.send(client, .post, "/ui/jobs", form: [("csrf", String(repeating: "a", count: 64))] + form)
            #expect(wrong.status == .forbidden)
            var stranger = ConsoleBrowser()
            let noCookie = try await stranger.send(client, .post, "/ui/jobs", form: [("csrf", browser.csrf)] + form)
            #expect(noCookie.status == .forbidden)
        }
    }

    @Test("A job's values are shown as text, and a refused action shows the API's error text")
    func jobPageEscapesAndRefusals() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            var browser = ConsoleBrowser()
            let xss = "<img src=x onerror=alert(1)>"
            let created = try await browser.post(client, "/ui/jobs", [("kind", "echo"), ("schedule", "@every 1h"),
                                                                      ("payload", "{\"text\":\"\(xss)\"}"), ("max_duration_seconds", "30"),
                                                                      ("idempotency_key", xss + UUID().uuidString)])
            let location = try #require(created.headers[.location])
            let page = try await browser.send(client, .get, location)
            #expect(page.status == .ok)
            #expect(page.text.contains("&lt;img src=x onerror=alert(1)&gt;"))
            #expect(!page.text.contains("<img"), "raw markup from the job in the page")

            let id = String(location.dropFirst("/ui/jobs/".count).prefix(36))
            #expect(try await browser.post(client, "/ui/jobs/\(id)/cancel", []).status == .seeOther)
            let refused = try await browser.post(client, "/ui/jobs/\(id)/run", [])
            #expect(refused.status == .conflict)
            #expect(refused.text.contains("role=\"alert\" id=\"error\">Run now refused: job is cancelled</div>"), "\(refused.text)")

            let live = try await browser.send(client, .get, "/ui/jobs/\(id)", headers: [WebConsole.liveHeader!: "1"])
            #expect(live.headers[.contentType]?.hasPrefix("application/json") == true)
            let html = try #require(live.json["html"]?.stringValue)
            #expect(html.contains("<dl class=\"fields\">") && html.contains("badge cancelled") && !html.contains("<img"))
        }
    }

    @Test("Pause, resume, edit and delete go through the job service; the buttons follow the status; the edit form names the field at fault")
    func changes() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            var browser = ConsoleBrowser()
            let created = try await browser.post(client, "/ui/jobs", [("kind", "noop"), ("schedule", "@every 1h"), ("payload", "{}"),
                                                                      ("max_duration_seconds", "30"), ("run", "true")])
            let page = try #require(created.headers[.location]?.split(separator: "?").first.map(String.init))
            let id = try #require(UUID(uuidString: String(page.dropFirst("/ui/jobs/".count))))
            let queued = try await browser.send(client, .get, page)
            #expect(queued.text.contains("id=\"action-pause\"") && !queued.text.contains("id=\"action-resume\"")
                && !queued.text.contains("id=\"action-delete\""))

            #expect(try await browser.post(client, page + "/pause", []).status == .seeOther)
            #expect(try await fixture.jobs.get(id)?.status == .paused)
            let paused = try await browser.send(client, .get, page)
            #expect(paused.text.contains("id=\"action-resume\"") && !paused.text.contains("id=\"action-pause\""))
            #expect(try await browser.post(client, page + "/resume", []).status == .seeOther)
            #expect(try await fixture.jobs.get(id)?.status == .queued)

            let form = try await browser.send(client, .get, page + "/edit")
            #expect(form.status == .ok && form.text.contains("value=\"@every 1h\""))
            let refused = try await browser.post(client, page + "/edit", [("schedule", "every hour"), ("max_duration_seconds", "30")])
            #expect(refused.status == .badRequest)
            #expect(refused.text.contains("id=\"field-schedule-error\">schedule:"), "\(refused.text)")
            let saved = try await browser.post(client, page + "/edit", [("schedule", "@every 1h"), ("max_attempts", "5")])
            #expect(saved.status == .seeOther && saved.headers[.location] == page + "?notice=edit")
            let edited = try #require(try await fixture.jobs.get(id))
            #expect(edited.maxAttempts == 5 && edited.schedule == "@every 1h" && edited.maxDurationSeconds == 30)

            let active = try await browser.post(client, page + "/delete", [])
            #expect(active.status == .conflict && active.text.contains("Delete refused: job is queued"), "\(active.text)")
            #expect(try await browser.post(client, page + "/cancel", []).status == .seeOther)
            let deleted = try await browser.post(client, page + "/delete", [])
            #expect(deleted.status == .seeOther && deleted.headers[.location] == "/ui/jobs?notice=delete")
            #expect(try await fixture.jobs.get(id) == nil)
            #expect(try await browser.send(client, .get, page).status == .notFound)
        }
    }

    @Test("The list filters by status and kind and finds a job by its idempotency key")
    func listFilters() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            var browser = ConsoleBrowser()
            let key = "find me+\(UUID().uuidString)"
            let created = try await browser.post(client, "/ui/jobs", [("kind", "echo"), ("schedule", "@every 1h"), ("payload", "{}"),
                                                                      ("max_duration_seconds", "30"), ("idempotency_key", key)])
            let id = try #require(created.headers[.location]?.dropFirst("/ui/jobs/".count).prefix(36))
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-")
            let query = key.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
            let found = try await browser.send(client, .get, "/ui/jobs?q=\(query)&kind=echo&status=created")
            #expect(found.text.contains("id=\"job-\(id)\""), "\(found.text)")
            let otherKind = try await browser.send(client, .get, "/ui/jobs?q=\(query)&kind=noop")
            #expect(!otherKind.text.contains("id=\"job-\(id)\"") && otherKind.text.contains("No jobs match."))
            let byKind = try await browser.send(client, .get, "/ui/jobs?kind=echo&status=created")
            #expect(byKind.status == .ok && !byKind.text.contains("badge noop"))
            let badStatus = try await browser.send(client, .get, "/ui/jobs?status=sleeping")
            #expect(badStatus.status == .badRequest && badStatus.text.contains("status: must be one of"))
        }
    }

    @Test("With an API token, pages need a sign-in that keeps the token in an HttpOnly SameSite=Strict cookie")
    func signIn() async throws {
        let token = "console-secret-\(UUID().uuidString)"
        let fixture = try await APIFixture(apiToken: token)
        try await fixture.test { client in
            var browser = ConsoleBrowser()
            let redirected = try await browser.send(client, .get, "/ui/jobs")
            #expect(redirected.status == .seeOther && redirected.headers[.location] == "/ui/signin")
            let live = try await browser.send(client, .get, "/ui/jobs", headers: [WebConsole.liveHeader!: "1"])
            #expect(live.status == .unauthorized)
            let signInPage = try await browser.send(client, .get, "/ui/signin")
            #expect(signInPage.status == .ok && signInPage.text.contains("<label for=\"field-token\">API token</label>"))

            let wrong = try await browser.post(client, "/ui/signin", [("token", "nope")])
            #expect(wrong.status == .unauthorized && wrong.text.contains("That is not this worker"))
            let signedIn = try await browser.post(client, "/ui/signin", [("token", token)])
            #expect(signedIn.status == .seeOther && signedIn.headers[.location] == "/ui/jobs")
            let cookie = signedIn.headers[values: .setCookie].first { $0.hasPrefix(ConsoleSecurity.tokenCookie + "=") } ?? ""
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/ui"), "token cookie: \(cookie)")
            #expect(!(signedIn.headers[.location] ?? "").contains(token))

            let jobs = try await browser.send(client, .get, "/ui/jobs")
            #expect(jobs.status == .ok && jobs.text.contains("Sign out"))
            // The API itself still wants the bearer token; the console's cookie is not a way around it.
            #expect(try await browser.send(client, .get, "/jobs").status == .unauthorized)

            let signedOut = try await browser.post(client, "/ui/signout", [])
            #expect(signedOut.status == .seeOther && signedOut.headers[.location] == "/ui/signin")
            #expect(try await browser.send(client, .get, "/ui/jobs").status == .seeOther)
        }
    }

    @Test("GET /cluster and the cluster page show the shards, their leases and queues, and the session's nodes")
    func cluster() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            _ = try await client.createJob(#"{"schedule":"2099-01-01T00:00:00Z","payload":"{}","max_duration_seconds":60,"run":true}"#)
            let response = try await client.send(.get, "/cluster")
            #expect(response.status == .ok)
            guard case .array(let shards)? = response.json["shards"] else {
                Issue.record("no shards in \(response.text)")
                return
            }
            #expect(shards.count == 4)
            #expect(shards.map { $0["lock"]?.stringValue } == ["shard-0", "shard-1", "shard-2", "shard-3"])
            let depth = shards.compactMap { $0["queue_depth"]?.int64Value }.reduce(0, +)
            #expect(depth >= 1, "the queued job is not counted: \(response.text)")
            #expect(response.json["nodes"] != nil && response.json["runs_in_flight"] != nil)
            #expect(response.json["queue_complete"] == .bool(true))

            var browser = ConsoleBrowser()
            let page = try await browser.send(client, .get, "/ui/cluster")
            #expect(page.status == .ok && page.text.contains("Shard leases and queues") && page.text.contains("Cassandra nodes"))
        }
    }
}
