public import Foundation

/// A job request that passed validation: every field in range, defaults filled in.
public struct ValidatedJob: Hashable, Sendable {
    /// The parsed schedule.
    public var schedule: Schedule
    /// The `schedule` text as the client sent it (trimmed), kept for display and storage.
    public var scheduleText: String
    /// The IANA time zone identifier (`UTC` when none was given).
    public var timeZoneIdentifier: String
    /// The payload as JSON text.
    public var payload: String
    /// The longest a run may take before it is cancelled and recorded as timed out.
    public var maxDurationSeconds: Int
    /// The handler kind.
    public var kind: String
    /// How many runs an activation may take (first try plus retries).
    public var maxAttempts: Int
    /// The client's idempotency key, if any.
    public var idempotencyKey: String?
    /// Whether to activate the job in the same call.
    public var run: Bool
    /// The delays between a failed run and its retries.
    public var backoff: Backoff

    /// Creates a validated job from fields already known to be valid (e.g. read back from the store).
    public init(
        schedule: Schedule, scheduleText: String, timeZoneIdentifier: String, payload: String, maxDurationSeconds: Int,
        kind: String, maxAttempts: Int, idempotencyKey: String?, run: Bool, backoff: Backoff = .default
    ) {
        self.backoff = backoff
        self.schedule = schedule
        self.scheduleText = scheduleText
        self.timeZoneIdentifier = timeZoneIdentifier
        self.payload = payload
        self.maxDurationSeconds = maxDurationSeconds
        self.kind = kind
        self.maxAttempts = maxAttempts
        self.idempotencyKey = idempotencyKey
        self.run = run
    }
}

extension JobRequest {
    /// The largest request body accepted.
    public static let maximumBodyBytes = 128 * 1024
    /// The largest payload accepted, in bytes of JSON text.
    public static let maximumPayloadBytes = 64 * 1024
    /// The range of `max_duration_seconds`: one second to seven days.
    public static let durationRange: ClosedRange<Int64> = 1...(7 * 86_400)
    /// The range of `max_attempts`.
    public static let attemptsRange: ClosedRange<Int64> = 1...100
    /// The default of `max_attempts`: a failed run is retried twice (with backoff); a job that
    /// must not repeat sets 1.
    public static let defaultMaxAttempts = 3
    /// The default of `kind`.
    public static let defaultKind = "noop"
    /// The longest `idempotency_key`, in UTF-8 bytes.
    public static let maximumIdempotencyKeyBytes = 256

    /// Parses and validates a `POST /jobs` body. `kinds` are the registered handler kinds;
    /// `now` is used to refuse schedules that never fire.
    public static func validate(jsonBody: [UInt8], kinds: Set<String>, now: Date) throws(JobValidationError) -> ValidatedJob {
        try JobRequest(json: parseBody(jsonBody)).validated(kinds: kinds, now: now)
    }

    /// A request body (of `POST /jobs` or `PATCH /jobs/{id}`) as JSON: at most ``maximumBodyBytes``, valid JSON.
    static func parseBody(_ jsonBody: [UInt8]) throws(JobValidationError) -> JSONValue {
        guard jsonBody.count <= maximumBodyBytes else {
            throw JobValidationError(field: "body", problem: "is larger than \(maximumBodyBytes) bytes")
        }
        do {
            return try JSONValue.parse(jsonBody)
        } catch {
            throw JobValidationError(field: "body", problem: "is not valid JSON: \(error)")
        }
    }

    /// Checks ranges and meanings and fills in defaults.
    public func validated(kinds: Set<String>, now: Date) throws(JobValidationError) -> ValidatedJob {
        let parsedSchedule: Schedule
        do {
            _ = try Schedule.timeZone(identifier: timezone)
        } catch {
            throw JobValidationError(field: "timezone", problem: error.message)
        }
        do {
            parsedSchedule = try Schedule.parse(schedule, timeZone: timezone)
        } catch {
            throw JobValidationError(field: "schedule", problem: error.message)
        }
        if parsedSchedule.isRecurring, parsedSchedule.nextFire(after: now) == nil {
            throw JobValidationError(field: "schedule", problem: "never fires after \(RFC3339.format(now))")
        }
        guard Self.durationRange.contains(maxDurationSeconds) else {
            throw JobValidationError(
                field: "max_duration_seconds",
                problem: "must be between \(Self.durationRange.lowerBound) and \(Self.durationRange.upperBound), got \(maxDurationSeconds)")
        }
        let kindName = kind ?? Self.defaultKind
        guard kinds.contains(kindName) else {
            throw JobValidationError(
                field: "kind",
                problem: "unknown kind \(kindName.quotedForMessage); registered kinds: \(kinds.sorted().joined(separator: ", "))")
        }
        let attempts = maxAttempts ?? Int64(Self.defaultMaxAttempts)
        guard Self.attemptsRange.contains(attempts) else {
            throw JobValidationError(
                field: "max_attempts",
                problem: "must be between \(Self.attemptsRange.lowerBound) and \(Self.attemptsRange.upperBound), got \(attempts)")
        }
        if let key = idempotencyKey {
            guard !key.isEmpty, key.utf8.count <= Self.maximumIdempotencyKeyBytes else {
                throw JobValidationError(field: "idempotency_key", problem: "must be 1 to \(Self.maximumIdempotencyKeyBytes) bytes long")
            }
            guard !key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw JobValidationError(field: "idempotency_key", problem: "must not contain control characters")
            }
        }
        let payloadJSON = try payloadText()
        try PayloadSchema.check(kind: kindName, payload: payloadJSON)
        let parsedBackoff = try backoff.map { value throws(JobValidationError) in try Backoff(json: value) } ?? .default
        return ValidatedJob(
            schedule: parsedSchedule,
            scheduleText: schedule.trimmingSpaces(),
            timeZoneIdentifier: timezone ?? "UTC",
            payload: payloadJSON,
            maxDurationSeconds: Int(maxDurationSeconds),
            kind: kindName,
            maxAttempts: Int(attempts),
            idempotencyKey: idempotencyKey,
            run: run ?? false,
            backoff: parsedBackoff)
    }

    /// The payload as JSON text: a string is taken as JSON text and must parse; any other value
    /// is stored serialized.
    private func payloadText() throws(JobValidationError) -> String {
        let text: String
        switch payload {
        case nil:
            return "{}"
        case .string(let inner)?:
            guard inner.utf8.count <= Self.maximumPayloadBytes else {
                throw JobValidationError(field: "payload", problem: "is larger than \(Self.maximumPayloadBytes) bytes")
            }
            do {
                _ = try JSONValue.parse(inner)
            } catch {
                throw JobValidationError(field: "payload", problem: "a string payload must hold JSON text: \(error)")
            }
            text = inner
        case let value?:
            text = value.jsonText
        }
        guard text.utf8.count <= Self.maximumPayloadBytes else {
            throw JobValidationError(field: "payload", problem: "is larger than \(Self.maximumPayloadBytes) bytes")
        }
        return text
    }
}

extension Backoff {
    /// The range of `initial_seconds` and `max_seconds`: a millisecond to a day.
    public static let secondsRange: ClosedRange<Double> = 0.001...86_400
    /// The range of `multiplier` (1 keeps the delay constant).
    public static let multiplierRange: ClosedRange<Double> = 1...10

    /// Reads and checks a `backoff` object: all three members required, `max_seconds` at least `initial_seconds`.
    public init(json: JSONValue) throws(JobValidationError) {
        guard case .object(let members) = json else {
            throw JobValidationError(field: "backoff", problem: "must be an object with initial_seconds, max_seconds and multiplier, got \(json.typeName)")
        }
        let known: Set<String> = ["initial_seconds", "max_seconds", "multiplier"]
        if let unknown = members.keys.sorted().first(where: { !known.contains($0) }) {
            throw JobValidationError(field: "backoff.\(unknown)", problem: "is not a known field; known fields are \(known.sorted().joined(separator: ", "))")
        }
        func number(_ name: String, in range: ClosedRange<Double>) throws(JobValidationError) -> Double {
            guard let value = members[name] else { throw JobValidationError(field: "backoff.\(name)", problem: "is required") }
            guard let number = value.doubleValue, number.isFinite else {
                throw JobValidationError(field: "backoff.\(name)", problem: "must be a number, got \(value.typeName)")
            }
            guard range.contains(number) else {
                throw JobValidationError(field: "backoff.\(name)",
                                         problem: "must be between \(Self.text(range.lowerBound)) and \(Self.text(range.upperBound)), got \(Self.text(number))")
            }
            return number
        }
        let initial = try number("initial_seconds", in: Self.secondsRange)
        let maximum = try number("max_seconds", in: Self.secondsRange)
        let multiplier = try number("multiplier", in: Self.multiplierRange)
        guard maximum >= initial else {
            throw JobValidationError(field: "backoff.max_seconds", problem: "must be at least initial_seconds (\(Self.text(initial))), got \(Self.text(maximum))")
        }
        self.init(initialSeconds: initial, maxSeconds: maximum, multiplier: multiplier)
    }

    /// A number as a message shows it: `60`, not `60.0`.
    private static func text(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
