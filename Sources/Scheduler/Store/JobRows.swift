import CQLWire
import Foundation

/// A new `jobs` row, as ``JobService/create(_:)`` writes it.
struct NewJobRow: Sendable, Hashable {
    var jobID: UUID
    var kind: String
    var schedule: String
    var timezone: String
    var payload: String
    var maxDurationSeconds: Int32
    var maxAttempts: Int32
    var idempotencyKey: String?
    var status: String
    var attempt: Int64
    var tries: Int32
    var nextDueAt: Date?
    var queueShard: Int32?
    var queueBucket: Date?
    var createdAt: Date
    var updatedAt: Date
    var backoff: Backoff = .default

    /// The columns ``values`` binds, in order.
    static let columns = "job_id, kind, schedule, timezone, payload, max_duration_seconds, max_attempts, idempotency_key, status, attempt, tries, next_due_at, queue_shard, queue_bucket, created_at, updated_at, backoff_initial_seconds, backoff_max_seconds, backoff_multiplier"

    /// The row's values by position (nulls bound as nulls). Positional binding: the keyed `Encodable`
    /// path cost the worker about 8% of its CPU per job in the hot writes (perf, issue 17).
    var values: [any CQLEncodable] {
        [jobID, kind, schedule, timezone, payload, maxDurationSeconds, maxAttempts, idempotencyKey, status, attempt, tries, nextDueAt,
         queueShard, queueBucket, createdAt, updatedAt, backoff.initialSeconds, backoff.maxSeconds, backoff.multiplier]
    }
}

/// An `idempotency_keys` row: which job a key created, and the hash of the request that created it.
struct IdempotencyKeyRow: Sendable, Hashable, Codable {
    var idempotencyKey: String
    var jobID: UUID?
    var requestHash: String?
    var createdAt: Date?

    enum CodingKeys: String, CodingKey {
        case idempotencyKey = "idempotency_key", jobID = "job_id", requestHash = "request_hash", createdAt = "created_at"
    }
}

/// A queue entry of `jobs_sharded`: the due run and the job definition it needs, so a claim needs no extra read.
struct QueueEntry: Sendable, Hashable, Decodable {
    var shard: Int
    var dueAt: Date
    var jobID: UUID
    var attempt: Int64
    var kind: String
    var schedule: String
    var timezone: String
    var payload: String
    var maxDurationSeconds: Int
    var maxAttempts: Int
    var tries: Int
    /// The partition's bucket: the due minute, or a later one when the repair sweep moved an overdue entry forward.
    var bucket: Date
    /// The job's revision when the entry was written (its run's end is conditioned on it).
    var revision: Int = 0
    /// The job's backoff when the entry was written.
    var backoff: Backoff = .default

    init(shard: Int, dueAt: Date, jobID: UUID, attempt: Int64, kind: String, schedule: String, timezone: String, payload: String,
         maxDurationSeconds: Int, maxAttempts: Int, tries: Int, bucket: Date? = nil, revision: Int = 0, backoff: Backoff = .default) {
        self.bucket = bucket ?? dueAt.bucket
        self.revision = revision
        self.backoff = backoff
        self.shard = shard
        self.dueAt = dueAt
        self.jobID = jobID
        self.attempt = attempt
        self.kind = kind
        self.schedule = schedule
        self.timezone = timezone
        self.payload = payload
        self.maxDurationSeconds = maxDurationSeconds
        self.maxAttempts = maxAttempts
        self.tries = tries
    }

    init(job: JobView, shard: Int, dueAt: Date, tries: Int, bucket: Date? = nil) {
        self.init(shard: shard, dueAt: dueAt, jobID: job.jobID, attempt: job.attempt, kind: job.kind, schedule: job.schedule,
                  timezone: job.timezone, payload: job.payload, maxDurationSeconds: job.maxDurationSeconds,
                  maxAttempts: job.maxAttempts, tries: tries, bucket: bucket, revision: job.revision, backoff: job.backoff)
    }

    enum CodingKeys: String, CodingKey {
        case shard, bucket, dueAt = "due_at", jobID = "job_id", attempt, kind, schedule, timezone, payload
        case maxDurationSeconds = "max_duration_seconds", maxAttempts = "max_attempts", tries, enqueuedAt = "enqueued_at"
        case revision, backoffInitial = "backoff_initial_seconds", backoffMax = "backoff_max_seconds", backoffMultiplier = "backoff_multiplier"
    }

    /// The columns a row must carry for ``init(from:)``.
    static let columns = "shard, bucket, due_at, job_id, attempt, kind, schedule, timezone, payload, max_duration_seconds, max_attempts, tries, revision, backoff_initial_seconds, backoff_max_seconds, backoff_multiplier"

    init(from decoder: any Decoder) throws {
        let row = try decoder.container(keyedBy: CodingKeys.self)
        self.init(shard: Int(try row.decode(Int32.self, forKey: .shard)), dueAt: try row.decode(Date.self, forKey: .dueAt),
                  jobID: try row.decode(UUID.self, forKey: .jobID), attempt: try row.decodeIfPresent(Int64.self, forKey: .attempt) ?? 0,
                  kind: try row.decodeIfPresent(String.self, forKey: .kind) ?? "noop",
                  schedule: try row.decodeIfPresent(String.self, forKey: .schedule) ?? "now",
                  timezone: try row.decodeIfPresent(String.self, forKey: .timezone) ?? "UTC",
                  payload: try row.decodeIfPresent(String.self, forKey: .payload) ?? "{}",
                  maxDurationSeconds: Int(try row.decodeIfPresent(Int32.self, forKey: .maxDurationSeconds) ?? 60),
                  maxAttempts: Int(try row.decodeIfPresent(Int32.self, forKey: .maxAttempts) ?? 1),
                  tries: Int(try row.decodeIfPresent(Int32.self, forKey: .tries) ?? 0),
                  bucket: try row.decode(Date.self, forKey: .bucket),
                  revision: Int(try row.decodeIfPresent(Int32.self, forKey: .revision) ?? 0))
        if let initial = try row.decodeIfPresent(Double.self, forKey: .backoffInitial),
           let maximum = try row.decodeIfPresent(Double.self, forKey: .backoffMax),
           let multiplier = try row.decodeIfPresent(Double.self, forKey: .backoffMultiplier) {
            backoff = Backoff(initialSeconds: initial, maxSeconds: maximum, multiplier: multiplier)
        }
    }

    /// The entry's primary key, which a delete or an existence check names.
    var key: Key { Key(shard: Int32(clamping: shard), bucket: bucket, dueAt: dueAt, jobID: jobID) }

    /// The primary key of a `jobs_sharded` row.
    struct Key: Sendable, Hashable {
        var shard: Int32
        var bucket: Date
        var dueAt: Date
        var jobID: UUID

        /// The key's values in the order of a `WHERE shard = ? AND bucket = ? AND due_at = ? AND job_id = ?`.
        var values: [any CQLEncodable] { [shard, bucket, dueAt, jobID] }
    }

    /// The columns an inserted entry's ``insertValues(enqueuedAt:)`` binds, in order.
    static let insertColumns = "shard, bucket, due_at, job_id, attempt, enqueued_at, kind, schedule, timezone, payload, max_duration_seconds, max_attempts, tries, revision, backoff_initial_seconds, backoff_max_seconds, backoff_multiplier"

    /// The entry as inserted, with the time it was enqueued, by position (``insertColumns``).
    func insertValues(enqueuedAt: Date) -> [any CQLEncodable] {
        [Int32(clamping: shard), bucket, dueAt, jobID, attempt, enqueuedAt, kind, schedule, timezone, payload,
         Int32(clamping: maxDurationSeconds), Int32(clamping: maxAttempts), Int32(clamping: tries), Int32(clamping: revision),
         backoff.initialSeconds, backoff.maxSeconds, backoff.multiplier]
    }
}

/// A `jobs_by_status` entry as written: a `queued` one carries the job's due time (other statuses
/// write no `next_due_at` cell, so no null tombstone either).
struct StatusIndexEntry: Sendable, Hashable {
    var status: JobStatus
    var jobID: UUID
    var updatedAt: Date
    var nextDueAt: Date?

    var slot: Int32 { Int32(JobHash.slot(jobID)) }

    /// `status, slot, job_id, updated_at`, then `next_due_at` when there is one (the two INSERTs of `JobStore`).
    var values: [any CQLEncodable] {
        guard let nextDueAt else { return [status.rawValue, slot, jobID, updatedAt] }
        return [status.rawValue, slot, jobID, updatedAt, nextDueAt]
    }
}

/// A `jobs_by_status` entry as the repair sweep reads it, with the write time of its `updated_at` cell.
struct IndexedJob: Sendable, Hashable, Decodable {
    var jobID: UUID
    var nextDueAt: Date?
    /// Microseconds since the epoch (`writetime(updated_at)`).
    var written: Int64?

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id", nextDueAt = "next_due_at", written
    }
}

/// The `job_history` row of a run as its claim writes it.
struct RunStart: Sendable, Hashable {
    var jobID: UUID
    var attempt: Int64
    var scheduledAt: Date
    var startedAt: Date
    var status: String = JobStatus.running.rawValue
    var workerID: String

    /// `job_id, attempt, scheduled_at, started_at, status, worker_id`.
    var values: [any CQLEncodable] { [jobID, attempt, scheduledAt, startedAt, status, workerID] }
}

/// The end of a run in its `job_history` row: its status and what it left (output, error, exit
/// code, HTTP status).
struct RunFinish: Sendable, Hashable {
    var jobID: UUID
    var attempt: Int64
    var finishedAt: Date
    /// The run's final status (`succeeded`, `failed`, `timed_out`, `cancelled`).
    var status: String
    var output: String?
    var error: String?
    var exitCode: Int32?
    var httpStatus: Int32?

    /// `finished_at, status, output, error, exit_code, http_status`, then the key `job_id, attempt`.
    /// A result the run does not have is bound unset rather than null: no tombstone in the history
    /// partition per absent column, and a cancelled run's error written by the cancel stays.
    var values: [any CQLEncodable] {
        func unsetIfNil(_ value: (some CQLEncodable)?) -> any CQLEncodable { value.map { $0 as any CQLEncodable } ?? CQLUnset.unset }
        return [finishedAt, status, unsetIfNil(output), unsetIfNil(error), unsetIfNil(exitCode), unsetIfNil(httpStatus), jobID, attempt]
    }
}

/// A cancel of a running run, for its owner (`run_cancels`); also ends the run's history record
/// as `cancelled` (status, end and error only, so the owner's output stands), for an owner that is gone.
struct RunCancel: Sendable, Hashable, Encodable {
    /// The worker running the run (the job row's `lease_owner`).
    var workerID: String
    var jobID: UUID
    /// The run's fencing token.
    var attempt: Int64
    var requestedAt: Date

    enum CodingKeys: String, CodingKey {
        case workerID = "worker_id", jobID = "job_id", attempt, requestedAt = "requested_at"
    }

    /// What the history record says.
    static let error = "job cancelled while running"
}

/// A cancel request as its owner reads it.
struct RunCancelRequest: Sendable, Hashable, Decodable {
    var jobID: UUID
    var attempt: Int64

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id", attempt
    }
}

/// A `workers` row: a member of the pool and its last heartbeat.
struct WorkerRow: Sendable, Hashable, Encodable {
    var pool: String
    var workerID: String
    var address: String
    var startedAt: Date
    var heartbeatAt: Date

    enum CodingKeys: String, CodingKey {
        case pool, workerID = "worker_id", address, startedAt = "started_at", heartbeatAt = "heartbeat_at"
    }
}

/// One plain (non-conditional) write on the job tables; a list of them goes out as one request.
enum JobWrite: Sendable, Hashable {
    /// A new job row (creation).
    case insertJob(NewJobRow)
    /// A queue entry.
    case enqueue(QueueEntry, enqueuedAt: Date)
    /// The delete of a queue entry (claimed, or stale).
    case dequeue(QueueEntry.Key)
    /// A status-index entry.
    case index(StatusIndexEntry)
    /// The delete of a status-index entry.
    case unindex(JobStatus, UUID)
    /// The delete of a status-index entry at its own write time (microseconds), so a newer write of it stands.
    case unindexWritten(JobStatus, UUID, writtenAt: Int64)
    /// The due time of a `queued` index entry, written at the entry's own write time (microseconds).
    case indexDue(UUID, due: Date, writtenAt: Int64)
    /// The history row of a claimed run.
    case startRun(RunStart)
    /// The end of a run in its history row.
    case finishRun(RunFinish)
    /// A cancel request to the run's owner.
    case requestCancel(RunCancel)
    /// The history record of a cancelled run ended as `cancelled` (status, end time, error).
    case cancelRun(RunCancel)

    /// The status-index writes of a status change; `due` is the job row's new `next_due_at` (for `queued`).
    ///
    /// The `queued` entry stays while a run of the job is in progress (queued → running keeps it; it goes
    /// when the job leaves queued and running): whatever part of an unlogged batch of a claim or a
    /// re-queue lands, an active job keeps an index entry that leads the repair sweep to it, so those
    /// batches need no batch log. A listing shows a job only under the status its row has.
    static func move(_ id: UUID, from old: JobStatus, to new: JobStatus, at now: Date, due: Date? = nil) -> [JobWrite] {
        guard old != new else { return [] }
        var writes: [JobWrite] = []
        if old != .queued || !new.isActive { writes.append(.unindex(old, id)) }
        if old == .running, !new.isActive { writes.append(.unindex(.queued, id)) }
        writes.append(.index(StatusIndexEntry(status: new, jobID: id, updatedAt: now, nextDueAt: new == .queued ? due : nil)))
        return writes
    }
}
