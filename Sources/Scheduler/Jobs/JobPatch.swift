import Foundation

/// The body of `PATCH /jobs/{id}`: any of `schedule`, `timezone`, `payload`, `max_duration_seconds`,
/// `max_attempts` and `backoff`, each with the type and meaning it has in `POST /jobs`. Fields left
/// out keep their value; the merged definition is checked exactly as a creation is.
public struct JobPatch: Hashable, Sendable {
    /// `schedule` as sent.
    public var schedule: String?
    /// `timezone` as sent.
    public var timezone: String?
    /// `payload` as sent.
    public var payload: JSONValue?
    /// `max_duration_seconds` as sent.
    public var maxDurationSeconds: Int64?
    /// `max_attempts` as sent.
    public var maxAttempts: Int64?
    /// `backoff` as sent.
    public var backoff: JSONValue?

    /// The fields a patch may carry.
    public static let fieldNames: Set<String> = ["schedule", "timezone", "payload", "max_duration_seconds", "max_attempts", "backoff"]

    /// A patch from its fields.
    public init(schedule: String? = nil, timezone: String? = nil, payload: JSONValue? = nil, maxDurationSeconds: Int64? = nil,
                maxAttempts: Int64? = nil, backoff: JSONValue? = nil) {
        self.schedule = schedule
        self.timezone = timezone
        self.payload = payload
        self.maxDurationSeconds = maxDurationSeconds
        self.maxAttempts = maxAttempts
        self.backoff = backoff
    }

    /// Reads a parsed JSON body, checking presence and types only.
    public init(json: JSONValue) throws(JobValidationError) {
        guard case .object(let members) = json else {
            throw JobValidationError(field: "body", problem: "must be a JSON object, got \(json.typeName)")
        }
        if let unknown = members.keys.sorted().first(where: { !Self.fieldNames.contains($0) }) {
            let hint = JobRequest.fieldNames.contains(unknown) ? "cannot be changed" : "is not a known field"
            throw JobValidationError(field: unknown, problem: "\(hint); fields a PATCH may change are \(Self.fieldNames.sorted().joined(separator: ", "))")
        }
        guard !members.isEmpty else {
            throw JobValidationError(field: "body", problem: "names no field to change; give any of \(Self.fieldNames.sorted().joined(separator: ", "))")
        }
        schedule = try members["schedule"].map { value throws(JobValidationError) in try JobRequest.string(value, field: "schedule") }
        timezone = try members["timezone"].map { value throws(JobValidationError) in try JobRequest.string(value, field: "timezone") }
        payload = members["payload"]
        maxDurationSeconds = try members["max_duration_seconds"].map { value throws(JobValidationError) in
            try JobRequest.integer(value, field: "max_duration_seconds")
        }
        maxAttempts = try members["max_attempts"].map { value throws(JobValidationError) in try JobRequest.integer(value, field: "max_attempts") }
        backoff = members["backoff"]
    }

    /// Parses a `PATCH /jobs/{id}` body.
    public static func parse(jsonBody: [UInt8]) throws(JobValidationError) -> JobPatch {
        try JobPatch(json: JobRequest.parseBody(jsonBody))
    }

    /// Whether the patch changes when the job fires.
    public var changesSchedule: Bool { schedule != nil || timezone != nil }
}
