import Foundation
import Hummingbird
import HummingbirdTesting
import Scheduler
import Testing
@testable import WorkerServer

/// Asserts a JSON error answer: its status, an `error` message, and the `field` it names.
func expectError(_ response: TestResponse, _ status: HTTPResponse.Status, field: String?,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == status, "expected \(status.code), got \(response.status.code): \(response.text)",
            sourceLocation: sourceLocation)
    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true,
            "error without JSON content type: \(response.headers)", sourceLocation: sourceLocation)
    let message = response.json["error"]?.stringValue ?? ""
    #expect(!message.isEmpty, "no error message in \(response.text)", sourceLocation: sourceLocation)
    #expect(response.json["field"]?.stringValue == field, "expected field \(field ?? "none") in \(response.text)",
            sourceLocation: sourceLocation)
}

@Suite("Job endpoints")
struct JobEndpointTests {
    @Test("POST /jobs stores a created job that GET /jobs/{id} shows")
    func createAndGet() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let response = try await client.send(.post, "/jobs",
                body: #"{"schedule":"@every 1h","payload":{"n":1},"max_duration_seconds":60,"kind":"echo","max_attempts":2}"#)
            #expect(response.status == .created)
            let id = try #require(response.json["job_id"]?.stringValue)
            #expect(UUID(uuidString: id) != nil)
            #expect(response.headers[.location] == "/jobs/\(id)")

            let job = try await client.send(.get, "/jobs/\(id)")
            #expect(job.status == .ok)
            #expect(job.json["job_id"]?.stringValue == id)
            #expect(job.json["status"]?.stringValue == "created")
            #expect(job.json["kind"]?.stringValue == "echo")
            #expect(job.json["schedule"]?.stringValue == "@every 1h")
            #expect(job.json["payload"]?.stringValue == #"{"n":1}"#)
            #expect(job.json["max_duration_seconds"]?.int64Value == 60)
            #expect(job.json["max_attempts"]?.int64Value == 2)
            #expect(job.json["created_at"]?.stringValue?.hasSuffix("Z") == true)
        }
    }

    @Test("An answer is one line of JSON: keys sorted, `/` not escaped, the job id in lower case")
    func answerText() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let id = try await client.createJob(#"{"schedule":"now","payload":{"path":"a/b"},"max_duration_seconds":60,"kind":"echo"}"#)
            let job = try await client.send(.get, "/jobs/\(id)")
            let text = job.text
            #expect(text.hasSuffix("}\n") && text.filter { $0 == "\n" }.count == 1, "\(text)")
            #expect(text.contains(#""job_id":"\#(id.lowercased())""#), "\(text)")
            #expect(text.contains(#""payload":"{\"path\":\"a/b\"}""#), "\(text)")
            let keys = ["attempt", "backoff", "created_at", "job_id", "kind", "max_attempts", "payload", "schedule", "status"]
            let offsets = keys.compactMap { text.range(of: "\"\($0)\":")?.lowerBound }
            #expect(offsets.count == keys.count && offsets == offsets.sorted(), "\(text)")
        }
    }

    @Test("An idempotent replay answers 200 with the same id; the key with another request is a 409")
    func idempotencyKey() async throws {
        let fixture = try await APIFixture()
        let key = "replay-\(UUID().uuidString)"
        try await fixture.test { client in
            let body = #"{"schedule":"now","payload":"{}","max_duration_seconds":60,"idempotency_key":"\#(key)"}"#
            let first = try await client.send(.post, "/jobs", body: body)
            #expect(first.status == .created)
            let replay = try await client.send(.post, "/jobs", body: body)
            #expect(replay.status == .ok)
            #expect(replay.json["job_id"] == first.json["job_id"])

            let other = try await client.send(.post, "/jobs",
                body: #"{"schedule":"now","payload":"{}","max_duration_seconds":99,"idempotency_key":"\#(key)"}"#)
            expectError(other, .conflict, field: "idempotency_key")
        }
    }

    @Test("POST /jobs/{id}/run queues the job; a second run is a 409 naming its status")
    func runAndConflict() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let id = try await client.createJob(#"{"schedule":"2099-01-01T00:00:00Z","max_duration_seconds":5}"#)
            let run = try await client.send(.post, "/jobs/\(id)/run")
            #expect(run.status == .ok, "\(run.text)")
            #expect(run.json["status"]?.stringValue == "queued")
            #expect(run.json["next_due_at"]?.stringValue == "2099-01-01T00:00:00Z")

            let again = try await client.send(.post, "/jobs/\(id)/run")
            expectError(again, .conflict, field: nil)
            #expect(again.json["status"]?.stringValue == "queued")
        }
    }

    @Test("\"run\": true activates in the same call")
    func createWithRun() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let id = try await client.createJob(#"{"schedule":"2099-01-01T00:00:00Z","max_duration_seconds":5,"run":true}"#)
            let job = try await client.send(.get, "/jobs/\(id)")
            #expect(job.json["status"]?.stringValue == "queued")
        }
    }

    @Test("DELETE /jobs/{id} cancels; running a cancelled job is a 409")
    func cancel() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let id = try await client.createJob(#"{"schedule":"*/5 * * * *","timezone":"Europe/Berlin","max_duration_seconds":5,"run":true}"#)
            let cancelled = try await client.send(.delete, "/jobs/\(id)")
            #expect(cancelled.status == .ok, "\(cancelled.text)")
            #expect(cancelled.json["status"]?.stringValue == "cancelled")
            let shown = try await client.send(.get, "/jobs/\(id)")
            #expect(shown.json["status"]?.stringValue == "cancelled")
            let run = try await client.send(.post, "/jobs/\(id)/run")
            expectError(run, .conflict, field: nil)
            #expect(run.json["status"]?.stringValue == "cancelled")
        }
    }

    @Test("GET /jobs lists by status a page at a time")
    func list() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let ids = [try await client.createJob(), try await client.createJob(), try await client.createJob()]
            var seen: [String] = []
            var page: String?
            var pages = 0
            repeat {
                let uri = "/jobs?status=created&limit=2" + (page.map { "&page=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? "")
                let response = try await client.send(.get, uri)
                #expect(response.status == .ok, "\(response.text)")
                guard case .array(let jobs)? = response.json["jobs"] else {
                    Issue.record("no jobs array in \(response.text)")
                    return
                }
                #expect(jobs.count <= 2)
                for job in jobs {
                    #expect(job["status"]?.stringValue == "created")
                    if let id = job["job_id"]?.stringValue { seen.append(id) }
                }
                page = response.json["next_page"]?.stringValue
                pages += 1
            } while page != nil && pages < 500
            for id in ids { #expect(seen.contains(id), "job \(id) missing from the listing") }
            #expect(Set(seen).count == seen.count, "a job was listed twice")
        }
    }

    @Test("GET /jobs/{id}/history answers the runs; an unknown job is a 404")
    func history() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let id = try await client.createJob()
            let empty = try await client.send(.get, "/jobs/\(id)/history?limit=10")
            #expect(empty.status == .ok)
            #expect(empty.json["job_id"]?.stringValue == id)
            #expect(empty.json["runs"] == .array([]))
            let unknown = try await client.send(.get, "/jobs/\(UUID().uuidString)/history")
            expectError(unknown, .notFound, field: "id")
        }
    }
}
