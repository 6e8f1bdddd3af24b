import Foundation
import Hummingbird
import HummingbirdTesting
import Scheduler
import Testing
@testable import WorkerServer

/// Every class of bad input gets a 4xx JSON error naming the part at fault, never a 500, and
/// leaves nothing behind.
@Suite("Bad input")
struct BadInputTests {
    struct BodyCase: Sendable, CustomTestStringConvertible {
        let name: String
        let body: String
        let field: String
        var testDescription: String { name }
    }

    static let bodies: [BodyCase] = [
        BodyCase(name: "empty body", body: "", field: "body"),
        BodyCase(name: "malformed JSON", body: #"{"schedule":"now","#, field: "body"),
        BodyCase(name: "trailing comma", body: #"{"schedule":"now","max_duration_seconds":1,}"#, field: "body"),
        BodyCase(name: "not an object", body: #"["now"]"#, field: "body"),
        BodyCase(name: "unknown field", body: #"{"schedule":"now","max_duration_seconds":1,"priority":5}"#, field: "priority"),
        BodyCase(name: "missing schedule", body: #"{"max_duration_seconds":1}"#, field: "schedule"),
        BodyCase(name: "missing duration", body: #"{"schedule":"now"}"#, field: "max_duration_seconds"),
        BodyCase(name: "schedule of wrong type", body: #"{"schedule":5,"max_duration_seconds":1}"#, field: "schedule"),
        BodyCase(name: "duration as string", body: #"{"schedule":"now","max_duration_seconds":"60"}"#, field: "max_duration_seconds"),
        BodyCase(name: "fractional duration", body: #"{"schedule":"now","max_duration_seconds":1.5}"#, field: "max_duration_seconds"),
        BodyCase(name: "run not a Boolean", body: #"{"schedule":"now","max_duration_seconds":1,"run":"yes"}"#, field: "run"),
        BodyCase(name: "bad schedule", body: #"{"schedule":"tomorrow-ish","max_duration_seconds":1}"#, field: "schedule"),
        BodyCase(name: "bad cron field", body: #"{"schedule":"61 * * * *","max_duration_seconds":1}"#, field: "schedule"),
        BodyCase(name: "bad @every", body: #"{"schedule":"@every -5s","max_duration_seconds":1}"#, field: "schedule"),
        BodyCase(name: "unknown time zone", body: #"{"schedule":"0 3 * * *","timezone":"Mars/Olympus","max_duration_seconds":1}"#, field: "timezone"),
        BodyCase(name: "negative duration", body: #"{"schedule":"now","max_duration_seconds":-1}"#, field: "max_duration_seconds"),
        BodyCase(name: "zero duration", body: #"{"schedule":"now","max_duration_seconds":0}"#, field: "max_duration_seconds"),
        BodyCase(name: "huge duration", body: #"{"schedule":"now","max_duration_seconds":99999999999999999999999}"#, field: "max_duration_seconds"),
        BodyCase(name: "unknown kind", body: #"{"schedule":"now","max_duration_seconds":1,"kind":"shell"}"#, field: "kind"),
        BodyCase(name: "attempts out of range", body: #"{"schedule":"now","max_duration_seconds":1,"max_attempts":0}"#, field: "max_attempts"),
        BodyCase(name: "payload string not JSON", body: #"{"schedule":"now","max_duration_seconds":1,"payload":"{nope"}"#, field: "payload"),
        BodyCase(name: "payload over the limit",
                 body: #"{"schedule":"now","max_duration_seconds":1,"payload":{"x":""# + String(repeating: "a", count: JobRequest.maximumPayloadBytes) + #""}}"#,
                 field: "payload"),
        BodyCase(name: "empty idempotency key", body: #"{"schedule":"now","max_duration_seconds":1,"idempotency_key":""}"#, field: "idempotency_key"),
    ]

    @Test("POST /jobs refuses bad bodies with 400 naming the field", arguments: bodies)
    func badBodies(_ testCase: BodyCase) async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let response = try await client.send(.post, "/jobs", body: testCase.body)
            expectError(response, .badRequest, field: testCase.field)
        }
        // Nothing partially visible: this fixture's job service created no job.
        let registryText = fixture.registry.emitToString()
        #expect(registryText.contains("scheduler_jobs_created_total 0"), "a refused request created a job:\n\(registryText)")
    }

    @Test("A body over the size limit is a 413")
    func bodyTooLarge() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let body = #"{"schedule":"now","max_duration_seconds":1,"payload":""# + String(repeating: "x", count: JobRequest.maximumBodyBytes + 1) + #""}"#
            let response = try await client.send(.post, "/jobs", body: body)
            expectError(response, .contentTooLarge, field: "body")
        }
    }

    @Test("Malformed ids are a 400 and unknown ids a 404 on every job route",
          arguments: [HTTPRequest.Method.get, .delete, .post], ["", "/history", "/run"])
    func ids(_ method: HTTPRequest.Method, _ suffix: String) async throws {
        let route = APIRoute.all.first { $0.method == method && $0.path == "/jobs/{id}" + suffix }
        guard route != nil else { return }
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let malformed = try await client.send(method, "/jobs/not-a-uuid" + suffix)
            expectError(malformed, .badRequest, field: "id")
            let unknown = try await client.send(method, "/jobs/\(UUID().uuidString)" + suffix)
            expectError(unknown, .notFound, field: "id")
        }
    }

    struct QueryCase: Sendable, CustomTestStringConvertible {
        let uri: String
        let field: String
        var testDescription: String { uri }
    }

    static let queries: [QueryCase] = [
        QueryCase(uri: "/jobs?status=sleeping", field: "status"),
        QueryCase(uri: "/jobs?limit=0", field: "limit"),
        QueryCase(uri: "/jobs?limit=1001", field: "limit"),
        QueryCase(uri: "/jobs?limit=ten", field: "limit"),
        QueryCase(uri: "/jobs?limit=1&limit=2", field: "limit"),
        QueryCase(uri: "/jobs?page=garbage", field: "page"),
        QueryCase(uri: "/jobs?order=desc", field: "order"),
        QueryCase(uri: "/jobs/\(UUID().uuidString)/history?limit=-3", field: "limit"),
    ]

    @Test("Bad query parameters are a 400 naming the parameter", arguments: queries)
    func badQueries(_ testCase: QueryCase) async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let response = try await client.send(.get, testCase.uri)
            expectError(response, .badRequest, field: testCase.field)
        }
    }

    @Test("Wrong methods are a 405 with Allow; unknown paths a 404")
    func methodsAndPaths() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let put = try await client.send(.put, "/jobs", body: "{}")
            expectError(put, .methodNotAllowed, field: "method")
            #expect(put.headers[.allow] == "POST, GET, HEAD")
            let put2 = try await client.send(.put, "/jobs/\(UUID().uuidString)")
            expectError(put2, .methodNotAllowed, field: "method")
            #expect(put2.headers[.allow] == "GET, DELETE, PATCH, HEAD")
            let postMetrics = try await client.send(.post, "/metrics")
            expectError(postMetrics, .methodNotAllowed, field: "method")
            let unknown = try await client.send(.get, "/jobz")
            expectError(unknown, .notFound, field: "path")
        }
    }
}
