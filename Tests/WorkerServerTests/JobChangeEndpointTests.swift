import CQLWire
import Foundation
import Hummingbird
import HummingbirdTesting
import Scheduler
import Testing
@testable import WorkerServer

/// PATCH, pause, resume, purge, per-kind payloads, the kind and idempotency_key filters and history
/// paging, through the worker's router on the shared embedded node.
@Suite("Job change endpoints")
struct JobChangeEndpointTests {
    @Test("PATCH /jobs/{id} changes the definition and answers the job; bad values are 400s naming the field")
    func patch() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let id = try await client.createJob(#"{"schedule":"@every 1h","max_duration_seconds":60,"run":true}"#)
            let before = try await client.send(.get, "/jobs/\(id)")
            let changed = try await client.send(.patch, "/jobs/\(id)",
                body: #"{"schedule":"@every 5m","payload":{"n":2},"max_attempts":4,"backoff":{"initial_seconds":2,"max_seconds":60,"multiplier":3}}"#)
            #expect(changed.status == .ok, "\(changed.text)")
            #expect(changed.json["schedule"]?.stringValue == "@every 5m")
            #expect(changed.json["payload"]?.stringValue == #"{"n":2}"#)
            #expect(changed.json["max_attempts"]?.int64Value == 4)
            #expect(changed.json["status"]?.stringValue == "queued")
            #expect(changed.json["backoff"]?["multiplier"]?.doubleValue == 3)
            #expect(changed.json["backoff"]?["initial_seconds"]?.doubleValue == 2)
            // The queued run moved to the new schedule's first fire, five minutes out instead of an hour.
            let due = try #require(changed.json["next_due_at"]?.stringValue.flatMap { try? RFC3339.parse($0) })
            let oldDue = try #require(before.json["next_due_at"]?.stringValue.flatMap { try? RFC3339.parse($0) })
            #expect(oldDue.timeIntervalSince(due) > 3000)
            let read = try await client.send(.get, "/jobs/\(id)")
            #expect(read.json == changed.json, "GET answers what PATCH answered")

            let refusals: [(String, String)] = [
                (#"{}"#, "body"),
                (#"[]"#, "body"),
                (#"{"kind":"echo"}"#, "kind"),
                (#"{"max_attempts":0}"#, "max_attempts"),
                (#"{"max_duration_seconds":"60"}"#, "max_duration_seconds"),
                (#"{"schedule":"every day"}"#, "schedule"),
                (#"{"timezone":"Mars/Olympus"}"#, "timezone"),
                (#"{"backoff":{"initial_seconds":5,"max_seconds":1,"multiplier":2}}"#, "backoff.max_seconds"),
                (#"{"backoff":{"initial_seconds":1,"max_seconds":10}}"#, "backoff.multiplier"),
                (#"{"backoff":{"initial_seconds":1,"max_seconds":10,"multiplier":0.5}}"#, "backoff.multiplier"),
                (#"{"backoff":3}"#, "backoff"),
                (#"{"unknown":1}"#, "unknown"),
            ]
            for (body, field) in refusals {
                expectError(try await client.send(.patch, "/jobs/\(id)", body: body), .badRequest, field: field)
            }
            expectError(try await client.send(.patch, "/jobs/\(UUID().uuidString.lowercased())", body: #"{"max_attempts":2}"#),
                        .notFound, field: "id")
            _ = try await client.send(.delete, "/jobs/\(id)")
            let cancelled = try await client.send(.patch, "/jobs/\(id)", body: #"{"max_attempts":2}"#)
            expectError(cancelled, .conflict, field: nil)
            #expect(cancelled.json["status"]?.stringValue == "cancelled")
            #expect(cancelled.json["reason"]?.stringValue?.contains("cancelled") == true)
        }
    }

    @Test("pause and resume answer the job, replays answer 200, jobs that cannot be paused or resumed are 409s saying why")
    func pauseResume() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let id = try await client.createJob(#"{"schedule":"@every 1h","max_duration_seconds":60,"run":true}"#)
            for _ in 0..<2 {
                let paused = try await client.send(.post, "/jobs/\(id)/pause")
                #expect(paused.status == .ok, "\(paused.text)")
                #expect(paused.json["status"]?.stringValue == "paused")
                #expect(paused.json["next_due_at"] == nil)
            }
            let listed = try await client.send(.get, "/jobs?status=paused&limit=1000")
            #expect(listed.json["jobs"].map { jobs in "\(jobs)".contains(id) } == true)
            expectError(try await client.send(.post, "/jobs/\(id)/run"), .conflict, field: nil)
            for _ in 0..<2 {
                let resumed = try await client.send(.post, "/jobs/\(id)/resume")
                #expect(resumed.status == .ok, "\(resumed.text)")
                #expect(resumed.json["status"]?.stringValue == "queued")
                #expect(resumed.json["next_due_at"]?.stringValue != nil)
            }
            let stored = try await client.createJob()
            let pauseCreated = try await client.send(.post, "/jobs/\(stored)/pause")
            expectError(pauseCreated, .conflict, field: nil)
            #expect(pauseCreated.json["status"]?.stringValue == "created")
            #expect(pauseCreated.json["reason"]?.stringValue?.isEmpty == false)
            expectError(try await client.send(.post, "/jobs/\(stored)/resume"), .conflict, field: nil)
            expectError(try await client.send(.post, "/jobs/\(UUID().uuidString)/pause"), .notFound, field: "id")
            expectError(try await client.send(.post, "/jobs/not-a-uuid/resume"), .badRequest, field: "id")
        }
    }

    @Test("DELETE ?purge=true deletes a finished job (404 after, its key reusable); unfinished jobs are 409s")
    func purge() async throws {
        let fixture = try await APIFixture()
        let key = "purge-api-\(UUID().uuidString)"
        try await fixture.test { client in
            let id = try await client.createJob(#"{"schedule":"now","max_duration_seconds":60,"idempotency_key":"\#(key)"}"#)
            let refused = try await client.send(.delete, "/jobs/\(id)?purge=true")
            expectError(refused, .conflict, field: nil)
            #expect(refused.json["status"]?.stringValue == "created")
            expectError(try await client.send(.delete, "/jobs/\(id)?purge=yes"), .badRequest, field: "purge")
            #expect(try await client.send(.delete, "/jobs/\(id)").json["status"]?.stringValue == "cancelled")

            let purged = try await client.send(.delete, "/jobs/\(id)?purge=true")
            #expect(purged.status == .ok, "\(purged.text)")
            #expect(purged.json["purged"] == .bool(true))
            #expect(purged.json["job_id"]?.stringValue == id)
            expectError(try await client.send(.get, "/jobs/\(id)"), .notFound, field: "id")
            expectError(try await client.send(.get, "/jobs/\(id)/history"), .notFound, field: "id")
            expectError(try await client.send(.delete, "/jobs/\(id)?purge=true"), .notFound, field: "id")
            // The key now creates a new job, even with another request.
            let again = try await client.send(.post, "/jobs", body: #"{"schedule":"@every 1h","max_duration_seconds":9,"idempotency_key":"\#(key)"}"#)
            #expect(again.status == .created, "\(again.text)")
            #expect(again.json["job_id"]?.stringValue != id)
        }
    }

    @Test("a payload its kind cannot run is a 400 naming the payload field, at create and at update")
    func payloadPerKind() async throws {
        let fixture = try await APIFixture(handlers: .builtIns(shell: ShellHandler()))
        let cases: [(kind: String, payload: String, field: String)] = [
            ("sleep", #"{}"#, "payload.seconds"),
            ("sleep", #"{"seconds":"1"}"#, "payload.seconds"),
            ("sleep", #"{"seconds":-1}"#, "payload.seconds"),
            ("sleep", #"{"seconds":604801}"#, "payload.seconds"),
            ("sleep", #"[1]"#, "payload"),
            ("sleep", #""{\"seconds\":true}""#, "payload.seconds"),
            ("http", #"{}"#, "payload.url"),
            ("http", #"{"url":"ftp://example.com/x"}"#, "payload.url"),
            ("http", #"{"url":"http://"}"#, "payload.url"),
            ("http", #"{"url":"http://127.0.0.1:9/x","timeout_seconds":0}"#, "payload.timeout_seconds"),
            ("shell", #"{}"#, "payload.command"),
            ("shell", #"{"command":""}"#, "payload.command"),
            ("shell", #"{"command":"ls","args":"-l"}"#, "payload.args"),
            ("shell", #"{"command":"ls","args":["-l",3]}"#, "payload.args"),
            ("shell", #"{"command":"ls","shell":"yes"}"#, "payload.shell"),
        ]
        try await fixture.test { client in
            for item in cases {
                let body = #"{"schedule":"now","max_duration_seconds":60,"kind":"\#(item.kind)","payload":\#(item.payload)}"#
                let response = try await client.send(.post, "/jobs", body: body)
                expectError(response, .badRequest, field: item.field)
                #expect(response.json["error"]?.stringValue?.hasPrefix(item.field + ":") == true, "\(response.text)")
            }
            let valid: [(String, String)] = [
                ("sleep", #"{"seconds":1.5}"#), ("sleep", #""{\"seconds\":0}""#),
                ("http", #"{"url":"https://example.com/hook","timeout_seconds":5,"body":{"a":1},"extra":true}"#),
                ("shell", #"{"command":"echo","args":["hi"],"shell":false}"#), ("noop", #"[1,2]"#), ("echo", #""[\"text\"]""#),
            ]
            for (kind, payload) in valid {
                _ = try await client.createJob(#"{"schedule":"now","max_duration_seconds":60,"kind":"\#(kind)","payload":\#(payload)}"#)
            }
            let id = try await client.createJob(#"{"schedule":"now","max_duration_seconds":60,"kind":"sleep","payload":{"seconds":1}}"#)
            expectError(try await client.send(.patch, "/jobs/\(id)", body: #"{"payload":{"secs":1}}"#), .badRequest, field: "payload.seconds")
            #expect(try await client.send(.patch, "/jobs/\(id)", body: #"{"payload":{"seconds":2}}"#).status == .ok)
        }
    }

    @Test("GET /jobs filters by kind and by idempotency_key")
    func filters() async throws {
        let fixture = try await APIFixture()
        let key = "filter-\(UUID().uuidString)"
        try await fixture.test { client in
            let echo = try await client.createJob(#"{"schedule":"now","max_duration_seconds":60,"kind":"echo","idempotency_key":"\#(key)"}"#)
            let byKey = try await client.send(.get, "/jobs?idempotency_key=\(key)")
            #expect(byKey.status == .ok)
            #expect(Self.ids(byKey) == [echo])
            #expect(byKey.json["next_page"] == .null)
            #expect(Self.ids(try await client.send(.get, "/jobs?idempotency_key=\(key)&kind=sleep")).isEmpty)
            #expect(Self.ids(try await client.send(.get, "/jobs?idempotency_key=\(key)&status=queued")).isEmpty)
            #expect(Self.ids(try await client.send(.get, "/jobs?idempotency_key=no-such-\(UUID().uuidString)")).isEmpty)

            // Every page of a kind listing holds that kind only, and the echo job is on one of them.
            var seen: [String] = []
            var page: String?
            var pages = 0
            repeat {
                let query = "/jobs?status=created&kind=echo&limit=50" + (page.map { "&page=\($0)" } ?? "")
                let response = try await client.send(.get, query)
                #expect(response.status == .ok, "\(response.text)")
                if case .array(let jobs)? = response.json["jobs"] {
                    #expect(jobs.allSatisfy { $0["kind"]?.stringValue == "echo" })
                    seen += jobs.compactMap { $0["job_id"]?.stringValue }
                }
                page = response.json["next_page"]?.stringValue
                pages += 1
            } while page != nil && pages < 1000
            #expect(seen.contains(echo))
        }
    }

    @Test("GET /jobs/{id}/history pages with limit and an opaque next_page token")
    func historyPaging() async throws {
        let fixture = try await APIFixture()
        let database = try await SharedDatabase.handle()
        try await fixture.test { client in
            let id = try await client.createJob()
            // Five recorded runs, written as the run coordinator writes them.
            for attempt in 1...5 {
                try await database.session.execute(CQLStatement(
                    "INSERT INTO \(SharedDatabase.keyspace).job_history (job_id, attempt, status, worker_id) VALUES (?, ?, ?, ?)",
                    [try #require(UUID(uuidString: id)), Int64(attempt), "succeeded", "w"]))
            }
            var attempts: [Int64] = []
            var page: String?
            var pages = 0
            repeat {
                let response = try await client.send(.get, "/jobs/\(id)/history?limit=2" + (page.map { "&page=\($0)" } ?? ""))
                #expect(response.status == .ok, "\(response.text)")
                if case .array(let runs)? = response.json["runs"] {
                    #expect(runs.count <= 2)
                    attempts += runs.compactMap { $0["attempt"]?.int64Value }
                }
                page = response.json["next_page"]?.stringValue
                pages += 1
            } while page != nil && pages < 10
            #expect(attempts == [5, 4, 3, 2, 1])
            expectError(try await client.send(.get, "/jobs/\(id)/history?page=%25%25"), .badRequest, field: "page")
            expectError(try await client.send(.get, "/jobs/\(id)/history?page="), .badRequest, field: "page")
        }
    }

    static func ids(_ response: TestResponse) -> [String] {
        guard case .array(let jobs)? = response.json["jobs"] else { return [] }
        return jobs.compactMap { $0["job_id"]?.stringValue }
    }
}
