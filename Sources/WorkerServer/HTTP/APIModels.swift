import Foundation
import Hummingbird
import Scheduler

/// The JSON of every answer, written by one `JSONEncoder`: keys sorted (equal values give equal
/// bytes), `/` not escaped, times as RFC 3339 in UTC with milliseconds, absent optionals left out.
enum APIEncoding {
    /// The encoder of answers (a new one per call: `JSONEncoder` is not `Sendable`).
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.format(date))
        }
        return encoder
    }

    /// `value` as JSON text.
    static func data(_ value: some Encodable) throws -> Data {
        try encoder().encode(value)
    }
}

/// A member name chosen at run time, for answers that add a member to a type's own coding.
struct APIKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A job as answers show it: ``JobView``'s own coding with the id in lower case (Foundation writes
/// UUIDs in upper case; the API, its `Location` headers and the create answer use lower case).
struct APIJob: Encodable {
    let view: JobView

    func encode(to encoder: any Encoder) throws {
        try view.encode(to: encoder)
        var container = encoder.container(keyedBy: APIKey.self)
        try container.encode(view.jobID.uuidString.lowercased(), forKey: APIKey("job_id"))
    }
}

/// `GET /jobs`: one page of jobs and the token of the next (`null` on the last page).
struct APIJobPage: Encodable {
    let jobs: [JobView]
    let nextPage: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: APIKey.self)
        try container.encode(jobs.map(APIJob.init(view:)), forKey: APIKey("jobs"))
        try container.encode(nextPage, forKey: APIKey("next_page"))
    }
}

/// `GET /jobs/{id}/history`: one page of a job's runs, newest first.
struct APIRunPage: Encodable {
    let jobID: UUID
    let runs: [RunRecord]
    let nextPage: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: APIKey.self)
        try container.encode(jobID.uuidString.lowercased(), forKey: APIKey("job_id"))
        try container.encode(runs, forKey: APIKey("runs"))
        try container.encode(nextPage, forKey: APIKey("next_page"))
    }
}

extension JobCreation {
    /// `{"job_id": ...}`.
    var apiJSON: [String: String] {
        ["job_id": jobID.uuidString.lowercased()]
    }
}

/// The HTTP answers of the job service's refusals.
enum JobServiceErrorMapping {
    /// The API error for `error`, nil when it is not a job service error.
    static func apiError(for error: any Error) -> APIError? {
        guard let error = error as? JobServiceError else { return nil }
        switch error {
        case let .notFound(id):
            return WorkerAPI.unknownJob(id)
        case let .conflict(status):
            return APIError(.conflict, "job is \(status.rawValue)", extra: ["status": .string(status.rawValue)])
        case let .refused(status, reason):
            return APIError(.conflict, error.description, extra: ["status": .string(status.rawValue), "reason": .string(reason)])
        case .idempotencyKeyReused:
            return APIError(.conflict, error.description, field: "idempotency_key")
        case .invalidPageToken:
            return APIError(.badRequest, "page: must be the next_page value of a previous answer", field: "page")
        case .schemaMissing:
            // A database fault: the error middleware answers it with Retry-After.
            return nil
        case .corruptJob:
            return APIError(.internalServerError, error.description, field: "id")
        }
    }
}
