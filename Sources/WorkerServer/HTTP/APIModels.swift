import Foundation
import Hummingbird
import Scheduler

/// The JSON shapes of the scheduler's values in answers: the types' own snake_case coding keys,
/// times as RFC 3339 in UTC with milliseconds, absent values left out.
enum APIEncoding {
    /// Encodes a scheduler value into a JSON value (so it can sit inside larger answers).
    static func json(_ value: some Encodable) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.format(date))
        }
        let json = try JSONValue.parse(Array(try encoder.encode(value)))
        // Foundation writes UUIDs in upper case; the API (Location, create answers) uses lower case.
        guard case .object(var members) = json, case .string(let id)? = members["job_id"] else { return json }
        members["job_id"] = .string(id.lowercased())
        return .object(members)
    }
}

extension JobCreation {
    /// `{"job_id": ...}`.
    var apiJSON: JSONValue {
        .object(["job_id": .string(jobID.uuidString.lowercased())])
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
