import Foundation
import Testing
@testable import Scheduler

@Suite("Job request validation", .tags(.fast))
struct JobRequestValidationTests {
    static let kinds: Set<String> = ["noop", "sleep", "echo", "http"]
    static let now = Date(timeIntervalSince1970: 1_780_000_000)

    static func validate(_ body: String) throws(JobValidationError) -> ValidatedJob {
        try JobRequest.validate(jsonBody: Array(body.utf8), kinds: kinds, now: now)
    }

    @Test("the seed's request is accepted with the documented defaults")
    func seedRequest() throws {
        let job = try Self.validate(#"{"schedule":"now","payload":"{}","max_duration_seconds":60}"#)
        #expect(job.schedule == .now)
        #expect(job.payload == "{}")
        #expect(job.maxDurationSeconds == 60)
        #expect(job.kind == "noop")
        #expect(job.maxAttempts == 3)
        #expect(job.idempotencyKey == nil)
        #expect(job.run == false)
        #expect(job.timeZoneIdentifier == "UTC")
    }

    @Test("every field set")
    func everyField() throws {
        let job = try Self.validate("""
            {"schedule": "0 9 * * MON-FRI", "timezone": "Europe/Paris", "payload": {"seconds": 1.5, "tags": ["a"]},
             "max_duration_seconds": 604800, "kind": "sleep", "max_attempts": 100, "idempotency_key": "order-42", "run": true}
            """)
        #expect(job.scheduleText == "0 9 * * MON-FRI")
        #expect(job.timeZoneIdentifier == "Europe/Paris")
        #expect(job.schedule.timeZone.identifier == "Europe/Paris")
        #expect(job.payload == #"{"seconds":1.5,"tags":["a"]}"#)
        #expect(job.kind == "sleep")
        #expect(job.maxAttempts == 100)
        #expect(job.idempotencyKey == "order-42")
        #expect(job.run)
    }

    static let refusals: [(String, String, String)] = [
        // Body as a whole.
        ("", "body", "is not valid JSON"),
        ("[]", "body", "must be a JSON object, got an array"),
        (#"{"schedule":"now","max_duration_seconds":60,}"#, "body", "is not valid JSON"),
        (#"{"schedule":"now","schedule":"now","max_duration_seconds":60}"#, "body", "duplicate key 'schedule'"),
        (#"{"schedule":"now","max_duration_seconds":60} x"#, "body", "unexpected text after the JSON value"),
        // Unknown fields.
        (#"{"schedule":"now","max_duration_seconds":60,"priority":1}"#, "priority", "is not a known field"),
        // Required fields.
        (#"{"max_duration_seconds":60}"#, "schedule", "is required"),
        (#"{"schedule":"now"}"#, "max_duration_seconds", "is required"),
        // Wrong types.
        (#"{"schedule":5,"max_duration_seconds":60}"#, "schedule", "must be a string, got a number"),
        (#"{"schedule":"now","max_duration_seconds":"60"}"#, "max_duration_seconds", "must be a whole number, got a string"),
        (#"{"schedule":"now","max_duration_seconds":60.5}"#, "max_duration_seconds", "must be a whole number, got '60.5'"),
        (#"{"schedule":"now","max_duration_seconds":6e1}"#, "max_duration_seconds", "must be a whole number"),
        (#"{"schedule":"now","max_duration_seconds":60,"run":"yes"}"#, "run", "must be true or false, got a string"),
        (#"{"schedule":"now","max_duration_seconds":60,"kind":null}"#, "kind", "must be a string, got null"),
        (#"{"schedule":"now","max_duration_seconds":60,"timezone":1}"#, "timezone", "must be a string, got a number"),
        (#"{"schedule":"now","max_duration_seconds":60,"max_attempts":true}"#, "max_attempts", "must be a whole number, got a boolean"),
        (#"{"schedule":"now","max_duration_seconds":60,"idempotency_key":[]}"#, "idempotency_key", "must be a string, got an array"),
        // Schedules and time zones.
        (#"{"schedule":"61 * * * *","max_duration_seconds":60}"#, "schedule", "minute field: 61 is out of range 0-59"),
        (#"{"schedule":"@every 0s","max_duration_seconds":60}"#, "schedule", "@every duration must be at least 1s"),
        (#"{"schedule":"@every -5m","max_duration_seconds":60}"#, "schedule", "must be positive"),
        (#"{"schedule":"2026-13-01T00:00:00Z","max_duration_seconds":60}"#, "schedule", "is not a valid calendar date"),
        (#"{"schedule":"0 0 30 2 *","max_duration_seconds":60}"#, "schedule", "never fires"),
        (#"{"schedule":"0 9 * * *","timezone":"Nowhere/Land","max_duration_seconds":60}"#, "timezone", "unknown time zone 'Nowhere/Land'"),
        // Ranges.
        (#"{"schedule":"now","max_duration_seconds":0}"#, "max_duration_seconds", "must be between 1 and 604800, got 0"),
        (#"{"schedule":"now","max_duration_seconds":-5}"#, "max_duration_seconds", "must be between 1 and 604800, got -5"),
        (#"{"schedule":"now","max_duration_seconds":604801}"#, "max_duration_seconds", "must be between 1 and 604800, got 604801"),
        (#"{"schedule":"now","max_duration_seconds":99999999999999999999999}"#, "max_duration_seconds", "must be between 1 and 604800"),
        (#"{"schedule":"now","max_duration_seconds":60,"max_attempts":0}"#, "max_attempts", "must be between 1 and 100, got 0"),
        (#"{"schedule":"now","max_duration_seconds":60,"max_attempts":101}"#, "max_attempts", "must be between 1 and 100, got 101"),
        (#"{"schedule":"now","max_duration_seconds":60,"idempotency_key":""}"#, "idempotency_key", "must be 1 to 256 bytes long"),
        (#"{"schedule":"now","max_duration_seconds":60,"idempotency_key":"a\u0000b"}"#, "idempotency_key", "must not contain control characters"),
        // Kinds.
        (#"{"schedule":"now","max_duration_seconds":60,"kind":"shell"}"#, "kind", "unknown kind 'shell'; registered kinds: echo, http, noop, sleep"),
        // Payloads.
        (#"{"schedule":"now","max_duration_seconds":60,"payload":"not json"}"#, "payload", "a string payload must hold JSON text"),
        (#"{"schedule":"now","max_duration_seconds":60,"kind":"sleep"}"#, "payload.seconds", "is required for kind sleep"),
        (#"{"schedule":"now","max_duration_seconds":60,"kind":"sleep","payload":{"seconds":"5"}}"#, "payload.seconds", "got a string"),
        (#"{"schedule":"now","max_duration_seconds":60,"kind":"http","payload":{"url":"file:///etc/passwd"}}"#, "payload.url", "http or https"),
        (#"{"schedule":"now","max_duration_seconds":60,"kind":"http","payload":[]}"#, "payload", "must be a JSON object for kind http"),
        // Backoff.
        (#"{"schedule":"now","max_duration_seconds":60,"backoff":{}}"#, "backoff.initial_seconds", "is required"),
        (#"{"schedule":"now","max_duration_seconds":60,"backoff":{"initial_seconds":0,"max_seconds":1,"multiplier":2}}"#,
         "backoff.initial_seconds", "must be between 0.001 and 86400, got 0"),
        (#"{"schedule":"now","max_duration_seconds":60,"backoff":{"initial_seconds":1,"max_seconds":1,"multiplier":2,"jitter":1}}"#,
         "backoff.jitter", "is not a known field"),
        // A one-shot time whose UTC year has five digits.
        (#"{"schedule":"9999-12-31T23:00:00-05:00","max_duration_seconds":60}"#, "schedule", "is outside 0000-01-01T00:00:00Z"),
    ]

    @Test("each class of bad input is refused with its field named", arguments: refusals)
    func refused(body: String, field: String, problem: String) {
        do {
            let job = try Self.validate(body)
            Issue.record("accepted: \(job)")
        } catch {
            #expect(error.field == field)
            #expect(error.problem.contains(problem), "problem was: \(error.problem)")
            #expect(error.description.hasPrefix("\(field): "))
        }
    }

    @Test("an over-long idempotency key is refused")
    func longKey() {
        let key = String(repeating: "k", count: 257)
        #expect(throws: JobValidationError(field: "idempotency_key", problem: "must be 1 to 256 bytes long")) {
            try Self.validate(#"{"schedule":"now","max_duration_seconds":60,"idempotency_key":"\#(key)"}"#)
        }
    }

    @Test("payloads over 64 KiB are refused, as a string or as a value")
    func largePayload() {
        let big = String(repeating: "x", count: 65 * 1024)
        #expect(throws: JobValidationError(field: "payload", problem: "is larger than 65536 bytes")) {
            try Self.validate(#"{"schedule":"now","max_duration_seconds":60,"payload":"\"\#(big)\""}"#)
        }
        #expect(throws: JobValidationError(field: "payload", problem: "is larger than 65536 bytes")) {
            try Self.validate(#"{"schedule":"now","max_duration_seconds":60,"payload":{"data":"\#(big)"}}"#)
        }
    }

    @Test("bodies over the size limit are refused before parsing")
    func largeBody() {
        let body = [UInt8](repeating: 0x20, count: JobRequest.maximumBodyBytes + 1)
        #expect(throws: JobValidationError(field: "body", problem: "is larger than 131072 bytes")) {
            try JobRequest.validate(jsonBody: body, kinds: Self.kinds, now: Self.now)
        }
    }

    @Test("deeply nested JSON is refused cleanly, without exhausting the stack")
    func deepNesting() {
        let depth = 50_000
        let payload = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        do {
            _ = try JobRequest.validate(
                jsonBody: Array(#"{"schedule":"now","max_duration_seconds":60,"payload":\#(payload)}"#.utf8),
                kinds: Self.kinds, now: Self.now)
            Issue.record("accepted")
        } catch {
            #expect(error.field == "body")
            #expect(error.problem.contains("nests deeper than 64 levels"))
        }
    }

    @Test("error bodies are JSON with the error and the field")
    func errorBody() {
        let error = JobValidationError(field: "max_duration_seconds", problem: "is required")
        #expect(error.jsonBody == #"{"error":"max_duration_seconds: is required","field":"max_duration_seconds"}"#)
    }

    @Test("JobRequest decodes through JSONDecoder with the same strictness")
    func decodable() throws {
        let request = try JSONDecoder().decode(JobRequest.self, from: Data(#"{"schedule":"@hourly","max_duration_seconds":5}"#.utf8))
        #expect(request.schedule == "@hourly")
        #expect(request.maxDurationSeconds == 5)
        #expect(throws: JobValidationError.self) {
            try JSONDecoder().decode(JobRequest.self, from: Data(#"{"schedule":"now","max_duration_seconds":5,"extra":1}"#.utf8))
        }
    }

    @Test("hostile byte strings never trap", arguments: 0..<64)
    func hostileBytes(seed: Int) {
        var generator = SplitMix64(seed: UInt64(seed))
        let alphabet = Array(#"{}[]":,0123456789-.eE truefalsnul\u"#.utf8) + [0x00, 0xFF, 0xC3, 0x80]
        var body = Array(#"{"schedule":"#.utf8)
        for _ in 0..<Int(generator.next() % 300) {
            body.append(alphabet[Int(generator.next() % UInt64(alphabet.count))])
        }
        _ = try? JobRequest.validate(jsonBody: body, kinds: Self.kinds, now: Self.now)
    }

    @Test("status and outcome strings are the API's")
    func statusStrings() {
        #expect(JobStatus.allCases.map(\.rawValue) == ["created", "queued", "running", "succeeded", "failed", "timed_out", "cancelled", "paused"])
        #expect(RunOutcome.allCases.map(\.rawValue) == ["succeeded", "failed", "timed_out", "cancelled"])
        #expect(JobStatus(.timedOut) == .timedOut)
        #expect(JobStatus.queued.isActive && JobStatus.running.isActive && !JobStatus.succeeded.isActive)
    }
}

/// A small deterministic generator so failures reproduce from their seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
