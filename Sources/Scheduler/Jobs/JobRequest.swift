import Foundation

/// The body of `POST /jobs`, with each field's JSON type checked and unknown fields refused.
///
/// Fields: `schedule` (required string), `timezone` (IANA name, UTC when absent),
/// `payload` (JSON text as a string, e.g. `"{}"`, or any other JSON value, which is stored as
/// its serialized text; `{}` when absent), `max_duration_seconds` (required whole number),
/// `kind` (default `noop`), `max_attempts` (default 3), `backoff` (`{"initial_seconds",
/// "max_seconds", "multiplier"}`, default ``Backoff/default``), `idempotency_key`, `run` (default
/// false). Ranges and meanings are checked by ``validated(kinds:now:)``.
public struct JobRequest: Hashable, Sendable {
    /// The `schedule` string as sent.
    public var schedule: String
    /// The `timezone` string as sent.
    public var timezone: String?
    /// The `payload` as a JSON value: a string holding JSON text, or the value itself.
    public var payload: JSONValue?
    /// `max_duration_seconds` as sent.
    public var maxDurationSeconds: Int64
    /// `kind` as sent.
    public var kind: String?
    /// `max_attempts` as sent.
    public var maxAttempts: Int64?
    /// `idempotency_key` as sent.
    public var idempotencyKey: String?
    /// `run` as sent.
    public var run: Bool?
    /// `backoff` as sent (checked by ``validated(kinds:now:)``).
    public var backoff: JSONValue?

    /// The fields a request may carry.
    public static let fieldNames: Set<String> = [
        "schedule", "timezone", "payload", "max_duration_seconds", "kind", "max_attempts", "idempotency_key", "run", "backoff",
    ]

    /// Creates a request from its fields.
    public init(
        schedule: String, timezone: String? = nil, payload: JSONValue? = nil, maxDurationSeconds: Int64,
        kind: String? = nil, maxAttempts: Int64? = nil, idempotencyKey: String? = nil, run: Bool? = nil,
        backoff: JSONValue? = nil
    ) {
        self.backoff = backoff
        self.schedule = schedule
        self.timezone = timezone
        self.payload = payload
        self.maxDurationSeconds = maxDurationSeconds
        self.kind = kind
        self.maxAttempts = maxAttempts
        self.idempotencyKey = idempotencyKey
        self.run = run
    }

    /// Reads the fields of a parsed JSON body, checking presence and types only.
    public init(json: JSONValue) throws(JobValidationError) {
        guard case .object(let members) = json else {
            throw JobValidationError(field: "body", problem: "must be a JSON object, got \(json.typeName)")
        }
        if let unknown = members.keys.sorted().first(where: { !Self.fieldNames.contains($0) }) {
            throw JobValidationError(field: unknown, problem: "is not a known field; known fields are \(Self.fieldNames.sorted().joined(separator: ", "))")
        }
        guard let scheduleValue = members["schedule"] else {
            throw JobValidationError(field: "schedule", problem: "is required")
        }
        schedule = try Self.string(scheduleValue, field: "schedule")
        timezone = try members["timezone"].map { value throws(JobValidationError) in try Self.string(value, field: "timezone") }
        payload = members["payload"]
        guard let durationValue = members["max_duration_seconds"] else {
            throw JobValidationError(field: "max_duration_seconds", problem: "is required")
        }
        maxDurationSeconds = try Self.integer(durationValue, field: "max_duration_seconds")
        kind = try members["kind"].map { value throws(JobValidationError) in try Self.string(value, field: "kind") }
        maxAttempts = try members["max_attempts"].map { value throws(JobValidationError) in try Self.integer(value, field: "max_attempts") }
        idempotencyKey = try members["idempotency_key"].map { value throws(JobValidationError) in
            try Self.string(value, field: "idempotency_key")
        }
        backoff = members["backoff"]
        if let runValue = members["run"] {
            guard let flag = runValue.boolValue else {
                throw JobValidationError(field: "run", problem: "must be true or false, got \(runValue.typeName)")
            }
            run = flag
        } else {
            run = nil
        }
    }

    static func string(_ value: JSONValue, field: String) throws(JobValidationError) -> String {
        guard let text = value.stringValue else {
            throw JobValidationError(field: field, problem: "must be a string, got \(value.typeName)")
        }
        return text
    }

    /// A whole number; values beyond `Int64` are clamped so that the range check reports them.
    static func integer(_ value: JSONValue, field: String) throws(JobValidationError) -> Int64 {
        guard case .number(let text) = value else {
            throw JobValidationError(field: field, problem: "must be a whole number, got \(value.typeName)")
        }
        if let number = Int64(text) { return number }
        guard text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }) else {
            throw JobValidationError(field: field, problem: "must be a whole number, got \(text.quotedForMessage)")
        }
        return text.hasPrefix("-") ? Int64.min : Int64.max
    }
}

extension JobRequest: Decodable {
    /// Decodes with the same strictness as ``init(json:)``: unknown fields and wrong types throw
    /// a ``JobValidationError``.
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        try self.init(json: value)
    }
}

/// A request refused by validation: which field and what is wrong with it. Its description
/// (`max_duration_seconds: must be between 1 and 604800, got 0`) is the HTTP 400 body's `error`.
public struct JobValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The JSON field at fault, or `body` for the request as a whole.
    public let field: String
    /// What is wrong with it.
    public let problem: String

    /// Creates an error.
    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    /// `field: problem`.
    public var description: String { "\(field): \(problem)" }

    /// The HTTP 400 body: `{"error": description, "field": field}`.
    public var jsonBody: String {
        JSONValue.object(["error": .string(description), "field": .string(field)]).jsonText
    }
}
