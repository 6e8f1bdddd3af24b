import CQLWire
public import Foundation

/// A job as the API shows it (snake_case JSON keys).
public struct JobView: Codable, Sendable, Hashable {
    /// The job's id.
    public var jobID: UUID
    /// The handler kind.
    public var kind: String
    /// Current status of the job (of its latest run when one exists).
    public var status: JobStatus
    /// The schedule text (`now`, an RFC 3339 time, `@every <duration>` or a cron expression).
    public var schedule: String
    /// IANA time zone of a cron schedule.
    public var timezone: String
    /// The payload as JSON text.
    public var payload: String
    /// Deadline of each run in seconds.
    public var maxDurationSeconds: Int
    /// Runs per activation before giving up.
    public var maxAttempts: Int
    /// The fencing token of the latest run (0 before the first run).
    public var attempt: Int64
    /// Runs of the current activation.
    public var tries: Int
    /// When the queued run is due.
    public var nextDueAt: Date?
    /// Scheduled time of the last fire that ran.
    public var lastFireAt: Date?
    /// Outcome of the latest finished run.
    public var lastOutcome: RunOutcome?
    /// Error of the latest failed run.
    public var lastError: String?
    /// Worker running the current run.
    public var leaseOwner: String?
    /// When the current run's lease ends.
    public var leaseExpiresAt: Date?
    /// Start of the latest run.
    public var startedAt: Date?
    /// End of the latest run.
    public var finishedAt: Date?
    /// The idempotency key the job was created with.
    public var idempotencyKey: String?
    /// Creation time.
    public var createdAt: Date?
    /// Time of the last change.
    public var updatedAt: Date?
    /// The delays between a failed run and its retries.
    public var backoff: Backoff = .default
    /// A pause was asked for while a run is in flight: the run finishes, then the job is `paused`.
    public var paused: Bool = false

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id", kind, status, schedule, timezone, payload
        case maxDurationSeconds = "max_duration_seconds", maxAttempts = "max_attempts", attempt, tries
        case nextDueAt = "next_due_at", lastFireAt = "last_fire_at", lastOutcome = "last_outcome", lastError = "last_error"
        case leaseOwner = "lease_owner", leaseExpiresAt = "lease_expires_at", startedAt = "started_at", finishedAt = "finished_at"
        case idempotencyKey = "idempotency_key", createdAt = "created_at", updatedAt = "updated_at", backoff, paused
    }

    /// How often the definition was changed (and a pause of a running run asked for or withdrawn); a run's
    /// end is conditioned on the revision it started with.
    var revision: Int = 0
    /// The due time of the run a pause took out of the queue (a one-shot job resumes at it).
    var pausedDueAt: Date? = nil

    /// The queue shard of the job's entries when queued.
    var queueShard: Int? = nil
    /// The queue bucket of the job's entry when queued.
    var queueBucket: Date? = nil

    /// The columns ``init(row:)`` reads.
    static let columns = "job_id, kind, schedule, timezone, payload, max_duration_seconds, max_attempts, idempotency_key, status, attempt, tries, next_due_at, queue_shard, queue_bucket, last_fire_at, lease_owner, lease_expires_at, started_at, finished_at, last_outcome, last_error, created_at, updated_at, revision, paused, paused_due_at, backoff_initial_seconds, backoff_max_seconds, backoff_multiplier"

    /// An empty row of `id` (columns not yet written read as their defaults).
    init(jobID: UUID) {
        self.jobID = jobID
        kind = "noop"
        status = .created
        schedule = "now"
        timezone = "UTC"
        payload = "{}"
        maxDurationSeconds = 0
        maxAttempts = 1
        attempt = 0
        tries = 0
    }

    /// Decodes a `jobs` row selected with ``columns``.
    init(row: RowView) throws {
        jobID = try row.decode(UUID.self, named: "job_id")
        kind = try row.optional("kind", as: String.self) ?? "noop"
        status = JobStatus(rawValue: try row.optional("status", as: String.self) ?? "") ?? .created
        schedule = try row.optional("schedule", as: String.self) ?? "now"
        timezone = try row.optional("timezone", as: String.self) ?? "UTC"
        payload = try row.optional("payload", as: String.self) ?? "{}"
        maxDurationSeconds = Int(try row.optional("max_duration_seconds", as: Int32.self) ?? 0)
        maxAttempts = Int(try row.optional("max_attempts", as: Int32.self) ?? 1)
        idempotencyKey = try row.optional("idempotency_key", as: String.self)
        attempt = try row.optional("attempt", as: Int64.self) ?? 0
        tries = Int(try row.optional("tries", as: Int32.self) ?? 0)
        nextDueAt = try row.optional("next_due_at", as: Date.self)
        queueShard = (try row.optional("queue_shard", as: Int32.self)).map(Int.init)
        queueBucket = try row.optional("queue_bucket", as: Date.self)
        lastFireAt = try row.optional("last_fire_at", as: Date.self)
        leaseOwner = try row.optional("lease_owner", as: String.self)
        leaseExpiresAt = try row.optional("lease_expires_at", as: Date.self)
        startedAt = try row.optional("started_at", as: Date.self)
        finishedAt = try row.optional("finished_at", as: Date.self)
        lastOutcome = (try row.optional("last_outcome", as: String.self)).flatMap(RunOutcome.init(rawValue:))
        lastError = try row.optional("last_error", as: String.self)
        createdAt = try row.optional("created_at", as: Date.self)
        updatedAt = try row.optional("updated_at", as: Date.self)
        revision = Int(try row.optional("revision", as: Int32.self) ?? 0)
        paused = try row.optional("paused", as: Bool.self) ?? false
        pausedDueAt = try row.optional("paused_due_at", as: Date.self)
        backoff = Backoff(row: row) ?? .default
    }

    /// The definition as a ``ValidatedJob`` would carry it (for the fields a PATCH writes).
    mutating func define(_ definition: ValidatedJob) {
        schedule = definition.scheduleText
        timezone = definition.timeZoneIdentifier
        payload = definition.payload
        maxDurationSeconds = definition.maxDurationSeconds
        maxAttempts = definition.maxAttempts
        backoff = definition.backoff
    }

    /// The parsed schedule.
    func parsedSchedule() throws -> Schedule { try Schedule.parse(schedule, timeZone: timezone) }
}

extension Backoff {
    /// The three `backoff_*` columns of a row; nil when they are null (the job uses the default).
    init?(row: RowView) {
        guard let initial = try? row.optional("backoff_initial_seconds", as: Double.self),
              let maximum = try? row.optional("backoff_max_seconds", as: Double.self),
              let multiplier = try? row.optional("backoff_multiplier", as: Double.self) else { return nil }
        self.init(initialSeconds: initial, maxSeconds: maximum, multiplier: multiplier)
    }
}

/// One run of a job, from `job_history` (newest first).
public struct RunRecord: Codable, Sendable, Hashable {
    /// The run's fencing token (the job's attempt counter when it was claimed).
    public var attempt: Int64
    /// `running`, `succeeded`, `failed`, `timed_out` or `cancelled`.
    public var status: JobStatus
    /// The worker that ran it.
    public var workerID: String?
    /// When the run was due.
    public var scheduledAt: Date?
    /// When it started.
    public var startedAt: Date?
    /// When it ended.
    public var finishedAt: Date?
    /// Why it failed.
    public var error: String?
    /// The last 4 KiB of what the run wrote (`shell`: stdout and stderr interleaved) or received
    /// (`http`: the response body), also of a failed, timed-out or cancelled run.
    public var output: String?
    /// The exit status of a `shell` run's process, when it exited.
    public var exitCode: Int32?
    /// The response status of an `http` run, when one came.
    public var httpStatus: Int?

    enum CodingKeys: String, CodingKey {
        case attempt, status, workerID = "worker_id", scheduledAt = "scheduled_at", startedAt = "started_at"
        case finishedAt = "finished_at", error, output, exitCode = "exit_code", httpStatus = "http_status"
    }

    /// The `job_history` columns ``init(row:)`` reads.
    static let columns = "attempt, status, worker_id, scheduled_at, started_at, finished_at, error, output, exit_code, http_status"

    /// A run with only its attempt and status known.
    init(attempt: Int64, status: JobStatus) {
        self.attempt = attempt
        self.status = status
    }

    init(row: RowView) throws {
        attempt = try row.optional("attempt", as: Int64.self) ?? 0
        status = JobStatus(rawValue: try row.optional("status", as: String.self) ?? "") ?? .running
        workerID = try row.optional("worker_id", as: String.self)
        scheduledAt = try row.optional("scheduled_at", as: Date.self)
        startedAt = try row.optional("started_at", as: Date.self)
        finishedAt = try row.optional("finished_at", as: Date.self)
        error = try row.optional("error", as: String.self)
        output = try row.optional("output", as: String.self)
        exitCode = try row.optional("exit_code", as: Int32.self)
        httpStatus = (try row.optional("http_status", as: Int32.self)).map(Int.init)
    }
}

/// The result of ``JobService/create(_:)``.
public struct JobCreation: Sendable, Hashable {
    /// The job's id (the original one when `replayed`).
    public var jobID: UUID
    /// Whether the idempotency key was already used by the same request (nothing new was created).
    public var replayed: Bool
}

/// Why a job operation was refused.
public enum JobServiceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No job has this id (HTTP 404).
    case notFound(UUID)
    /// The job's status forbids the operation (HTTP 409 with the status).
    case conflict(JobStatus)
    /// The job's status forbids the operation, with why (HTTP 409 with the status and the reason).
    case refused(JobStatus, String)
    /// The idempotency key was used by a different request (HTTP 409).
    case idempotencyKeyReused(String)
    /// The page token is not one this service produced (HTTP 400).
    case invalidPageToken
    /// The schema is missing or outdated on a cluster; the message names scripts/init_schema.sh.
    case schemaMissing(String)
    /// The job row holds a value this version cannot read.
    case corruptJob(UUID, String)

    /// A readable message.
    public var description: String {
        switch self {
        case let .notFound(id): return "job \(id.uuidString.lowercased()) not found"
        case let .conflict(status): return "job is \(status.rawValue)"
        case let .refused(status, reason): return "job is \(status.rawValue): \(reason)"
        case let .idempotencyKeyReused(key): return "idempotency key \(key) was already used for a different request"
        case .invalidPageToken: return "page token is not valid"
        case let .schemaMissing(detail): return detail
        case let .corruptJob(id, detail): return "job \(id.uuidString.lowercased()) is unreadable: \(detail)"
        }
    }
}

extension JSONValue: Encodable {
    /// Encodes the value as the JSON it is (numbers as integers when they are, else as doubles).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .number(text):
            if let integer = Int64(text) { try container.encode(integer) } else { try container.encode(Double(text) ?? 0) }
        case let .string(value): try container.encode(value)
        case let .array(values): try container.encode(values)
        case let .object(members): try container.encode(members)
        }
    }
}
