import CQLWire
import Foundation
import Logging
import Metrics

/// The job store: creation, reading, listing, cancelling and activating jobs on Cassandra.
///
/// Creation writes in a fixed order (idempotency key by LWT, then the job row with its status-index
/// entry in one logged batch, then the queue entry), and ``SchedulerRuntime``'s repair sweep
/// re-enqueues activated jobs whose queue entry is missing, so no job is ever queued-but-lost. Activation by
/// ``run(_:)`` writes its `queued` index entry before its CAS for the same reason.
public final class JobService: Sendable {
    /// The configuration shared with runtimes and the lock client.
    public let configuration: SchedulerConfiguration
    /// The keyspace the tables live in.
    public let keyspace: String
    /// The handlers runs are executed by.
    public let handlers: HandlerRegistry
    /// The session every statement goes through.
    public let session: CQLSession
    let cql: SchedulerCQL
    let logger: Logger
    let metrics: SchedulerMetrics
    /// The lock client on the same session and metrics (shard leases).
    public let locks: LockClient

    /// A service on `session` using the tables of `keyspace`.
    public init(session: CQLSession, keyspace: String, configuration: SchedulerConfiguration, handlers: HandlerRegistry,
                logger: Logger, metrics: any MetricsFactory) {
        self.session = session
        self.keyspace = keyspace
        self.configuration = configuration
        self.handlers = handlers
        self.logger = logger
        self.cql = SchedulerCQL(session: session, keyspace: keyspace, configuration: configuration)
        self.metrics = SchedulerMetrics(factory: metrics)
        self.locks = LockClient(cql: cql, logger: logger, metrics: self.metrics)
    }

    // MARK: - Create

    /// Stores a job (status `created`, or `queued` when `job.run`); a repeated idempotency key with the
    /// same request returns the original job (`replayed`), with a different request throws ``JobServiceError/idempotencyKeyReused(_:)``.
    public func create(_ job: ValidatedJob) async throws -> JobCreation {
        var id = UUID()
        var replayed = false
        if let key = job.idempotencyKey {
            let hash = Self.requestHash(job)
            let insert = "INSERT INTO \(cql.table("idempotency_keys")) (idempotency_key, job_id, request_hash, created_at) VALUES (?, ?, ?, ?) IF NOT EXISTS"
            var existing: (UUID?, String?)?
            do {
                let result = try await cql.run(insert, [key, id, hash, WallClock.now()])
                if !result.wasApplied, let row = result.first {
                    existing = (try row.optional("job_id", as: UUID.self), try row.optional("request_hash", as: String.self))
                }
            } catch let error as CQLError where error.isUnknownOutcome {
                let read = try await cql.run("SELECT job_id, request_hash FROM \(cql.table("idempotency_keys")) WHERE idempotency_key = ?",
                                             [key], serialRead: true)
                let owner = try read.first?.optional("job_id", as: UUID.self)
                if owner != id, let row = read.first { existing = (owner, try row.optional("request_hash", as: String.self)) }
                if owner == nil { throw error }
            }
            if let existing {
                guard existing.1 == hash, let original = existing.0 else { throw JobServiceError.idempotencyKeyReused(key) }
                id = original
                replayed = true
                if try await get(original) != nil { return JobCreation(jobID: original, replayed: true) }
                // The first request stopped between the key and the job row: finish its creation.
            }
        }
        let now = WallClock.now()
        let status: JobStatus = job.run ? .queued : .created
        let due = job.run ? (job.schedule.firstFire(activatedAt: now) ?? now) : nil
        let shard = JobHash.shard(id, shards: configuration.shards)
        let insertJob = "INSERT INTO \(cql.table("jobs")) (job_id, kind, schedule, timezone, payload, max_duration_seconds, max_attempts, idempotency_key, status, attempt, tries, next_due_at, queue_shard, queue_bucket, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" + (replayed ? " IF NOT EXISTS" : "")
        let jobValues: [any CQLEncodable] = [id, job.kind, job.scheduleText, job.timeZoneIdentifier, job.payload, Int32(clamping: job.maxDurationSeconds),
                                             Int32(clamping: job.maxAttempts), job.idempotencyKey, status.rawValue, Int64(0), Int32(0), due,
                                             due.map { _ in Int32(shard) }, due?.bucket, now, now]
        if replayed {
            guard try await cql.run(insertJob, jobValues).wasApplied else { return JobCreation(jobID: id, replayed: true) }
            let index = indexEntry(id, status: status, at: now, due: due)
            try await cql.run(index.0, index.1)
        } else {
            try await cql.writeAll([(insertJob, jobValues), indexEntry(id, status: status, at: now, due: due)], logged: true)
        }
        if let due {
            let entry = QueueEntry(shard: shard, dueAt: due, jobID: id, attempt: 0, kind: job.kind, schedule: job.scheduleText,
                                   timezone: job.timeZoneIdentifier, payload: job.payload, maxDurationSeconds: job.maxDurationSeconds,
                                   maxAttempts: job.maxAttempts, tries: 0)
            try await cql.run(entryInsert, entry.values(enqueuedAt: now))
        }
        if !replayed { metrics.jobsCreated.increment() }
        return JobCreation(jobID: id, replayed: replayed)
    }

    /// The hash that tells a retry of the same creation request from a reuse of its key.
    static func requestHash(_ job: ValidatedJob) -> String {
        let canonical = [job.kind, job.scheduleText, job.timeZoneIdentifier, job.payload, String(job.maxDurationSeconds),
                         String(job.maxAttempts), job.run ? "run" : "store"].joined(separator: "\u{1F}")
        return String(JobHash.fnv(canonical), radix: 16)
    }

    // MARK: - Read

    /// The job, or nil when no job has this id.
    public func get(_ id: UUID) async throws -> JobView? {
        let result = try await cql.run("SELECT \(JobView.columns) FROM \(cql.table("jobs")) WHERE job_id = ?", [id])
        guard let row = result.first else { return nil }
        return try JobView(row: row)
    }

    /// The job as a SERIAL read sees it (after an LWT whose outcome is unknown).
    func getSerial(_ id: UUID) async throws -> JobView? {
        let result = try await cql.run("SELECT \(JobView.columns) FROM \(cql.table("jobs")) WHERE job_id = ?", [id], serialRead: true)
        guard let row = result.first else { return nil }
        return try JobView(row: row)
    }

    /// Up to `limit` jobs with `status` (any status when nil); `page` continues a previous listing.
    public func list(status: JobStatus?, limit: Int, page: String?) async throws -> (jobs: [JobView], nextPage: String?) {
        let statuses = status.map { [$0] } ?? JobStatus.allCases
        var position = try page.map(PageToken.init(token:)) ?? PageToken(statusIndex: 0, slot: 0, pagingState: nil)
        guard position.statusIndex < statuses.count, position.slot < JobHash.slots else { throw JobServiceError.invalidPageToken }
        let wanted = max(1, min(limit, 1000))
        var jobs: [JobView] = []
        while jobs.count < wanted {
            let listed = statuses[position.statusIndex]
            var statement = try await cql.statement(
                "SELECT job_id FROM \(cql.table("jobs_by_status")) WHERE status = ? AND slot = ?", [listed.rawValue, Int32(position.slot)])
            statement.pageSize = Int32(wanted - jobs.count)
            statement.pagingState = position.pagingState
            let result = try await session.execute(statement)
            for row in result.rows {
                let id = try row.decode(UUID.self, named: "job_id")
                // The index trails the job rows: show a job only where its row agrees.
                if let job = try await get(id), job.status == listed { jobs.append(job) }
            }
            if let state = result.pagingState {
                position.pagingState = state
            } else {
                position.pagingState = nil
                position.slot += 1
                if position.slot == JobHash.slots {
                    position.slot = 0
                    position.statusIndex += 1
                    if position.statusIndex == statuses.count { return (jobs, nil) }
                }
            }
        }
        return (jobs, position.token)
    }

    /// The job's runs, newest first.
    public func history(_ id: UUID, limit: Int) async throws -> [RunRecord] {
        let result = try await cql.run(
            "SELECT attempt, status, worker_id, scheduled_at, started_at, finished_at, error, output FROM \(cql.table("job_history")) WHERE job_id = ? LIMIT ?",
            [id, Int32(clamping: max(1, limit))])
        return try result.rows.map { try RunRecord(row: $0) }
    }

    // MARK: - Cancel and activate

    /// Cancels the job so it never runs again (a running run is fenced out and recorded as cancelled).
    /// Cancelling a cancelled job returns it; a finished one-shot job throws ``JobServiceError/conflict(_:)``.
    public func cancel(_ id: UUID) async throws -> JobView {
        for _ in 0..<8 {
            guard let job = try await get(id) else { throw JobServiceError.notFound(id) }
            switch job.status {
            case .cancelled:
                return job
            case .succeeded, .failed, .timedOut:
                if try !job.parsedSchedule().isRecurring { throw JobServiceError.conflict(job.status) }
            case .created, .queued, .running:
                break
            }
            let now = WallClock.now()
            let update = "UPDATE \(cql.table("jobs")) SET status = ?, next_due_at = null, updated_at = ? WHERE job_id = ? IF status = ? AND attempt = ?"
            if try await casJob(id, update, [JobStatus.cancelled.rawValue, now, id, job.status.rawValue, job.attempt],
                                expect: { $0.status == .cancelled && $0.attempt == job.attempt }) {
                try await cql.writeAll(indexMove(id, from: job.status, to: .cancelled, at: now))
                var view = job
                view.status = .cancelled
                view.nextDueAt = nil
                view.updatedAt = now
                return view
            }
        }
        guard let job = try await get(id) else { throw JobServiceError.notFound(id) }
        throw JobServiceError.conflict(job.status)
    }

    /// Activates the job: `now` runs immediately, a time then, `@every`/cron at the next fire; a finished
    /// one-shot job runs again now. Queued, running and cancelled jobs throw ``JobServiceError/conflict(_:)``.
    ///
    /// Three steps: the `queued` status-index entry as an intent, the CAS of the job row to `queued`, then
    /// the queue entry and the old index entry's delete. The intent comes first so that whatever stops the
    /// last step (a crash, a timed-out batch answered as 5xx, whose retry then sees 409 `queued`) leaves an
    /// entry through which the repair sweep finds the queued job and writes its queue entry. An intent whose
    /// CAS lost (a cancel or another activation in between) is deleted by the sweep after ``runIntentGrace``.
    public func run(_ id: UUID) async throws -> JobView {
        for _ in 0..<8 {
            guard let job = try await get(id) else { throw JobServiceError.notFound(id) }
            switch job.status {
            case .queued, .running, .cancelled: throw JobServiceError.conflict(job.status)
            case .created, .succeeded, .failed, .timedOut: break
            }
            let activation = try activation(job)
            let intentSent = ContinuousClock.now
            try await writeRunIntent(activation)
            // A CAS landing after a sweep judged the intent stale could leave a queued job without an index
            // entry should this run then stop; sent within half the grace, it lands well before that.
            guard ContinuousClock.now - intentSent < runIntentGrace / 2 else { continue }
            if try await casRun(activation) {
                try await enqueueRun(activation)
                var view = job
                view.status = .queued
                view.tries = 0
                view.nextDueAt = activation.due
                view.updatedAt = activation.at
                return view
            }
        }
        guard let job = try await get(id) else { throw JobServiceError.notFound(id) }
        throw JobServiceError.conflict(job.status)
    }

    /// How old a `queued` status-index entry of a job that is neither queued nor running must be before the
    /// repair sweep deletes it: two sweep intervals, and at least four request timeouts, so the sweep never
    /// races an in-flight ``run(_:)`` between its intent and its CAS.
    var runIntentGrace: Duration {
        max(configuration.repairInterval * 2, (configuration.requestTimeout ?? session.configuration.requestTimeout) * 4)
    }

    /// The activation ``run(_:)`` makes of `job` as read now.
    func activation(_ job: JobView) throws -> RunActivation {
        let schedule: Schedule
        do { schedule = try job.parsedSchedule() } catch { throw JobServiceError.corruptJob(job.jobID, "\(error)") }
        let now = WallClock.now()
        let due = job.status == .created || schedule.isRecurring ? (schedule.firstFire(activatedAt: now) ?? now) : now
        return RunActivation(job: job, due: due, shard: JobHash.shard(job.jobID, shards: configuration.shards), at: now)
    }

    /// The intent of an activation: the `queued` status-index entry with the run's due time.
    func runIntent(_ activation: RunActivation) -> (String, [any CQLEncodable]) {
        indexEntry(activation.job.jobID, status: .queued, at: activation.at, due: activation.due)
    }

    /// Writes the activation's intent (before its CAS).
    func writeRunIntent(_ activation: RunActivation) async throws {
        let intent = runIntent(activation)
        try await cql.run(intent.0, intent.1)
    }

    /// The CAS of the job row from the status it was read in to `queued`; whether it applied.
    func casRun(_ activation: RunActivation) async throws -> Bool {
        let job = activation.job
        let update = "UPDATE \(cql.table("jobs")) SET status = ?, tries = ?, next_due_at = ?, queue_shard = ?, queue_bucket = ?, updated_at = ? WHERE job_id = ? IF status = ? AND attempt = ?"
        let values: [any CQLEncodable] = [JobStatus.queued.rawValue, Int32(0), activation.due, Int32(activation.shard), activation.due.bucket,
                                          activation.at, job.jobID, job.status.rawValue, job.attempt]
        return try await casJob(job.jobID, update, values) {
            $0.status == .queued && $0.attempt == job.attempt && $0.nextDueAt == activation.due
        }
    }

    /// The writes after the CAS: the queue entry, the old index entry's delete and the `queued` one again.
    /// One unlogged batch: whichever part is lost, the intent still leads the sweep to the job. Writing the
    /// `queued` entry again (newer than the intent) keeps it should a sweep have judged the intent stale.
    func enqueueRun(_ activation: RunActivation) async throws {
        let entry = QueueEntry(job: activation.job, shard: activation.shard, dueAt: activation.due, tries: 0)
        try await cql.writeAll([(entryInsert, entry.values(enqueuedAt: activation.at))]
            + indexMove(activation.job.jobID, from: activation.job.status, to: .queued, at: activation.at, due: activation.due))
    }

    // MARK: - Shared statements

    var indexInsert: String { "INSERT INTO \(cql.table("jobs_by_status")) (status, slot, job_id, updated_at) VALUES (?, ?, ?, ?)" }
    /// A `queued` index entry: with the due time, so the repair sweep skips jobs due far ahead without reading their rows.
    var indexInsertQueued: String {
        "INSERT INTO \(cql.table("jobs_by_status")) (status, slot, job_id, updated_at, next_due_at) VALUES (?, ?, ?, ?, ?)"
    }
    var indexDelete: String { "DELETE FROM \(cql.table("jobs_by_status")) WHERE status = ? AND slot = ? AND job_id = ?" }
    var entryInsert: String {
        "INSERT INTO \(cql.table("jobs_sharded")) (shard, bucket, due_at, job_id, attempt, enqueued_at, kind, schedule, timezone, payload, max_duration_seconds, max_attempts, tries) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    }
    var entryDelete: String { "DELETE FROM \(cql.table("jobs_sharded")) WHERE shard = ? AND bucket = ? AND due_at = ? AND job_id = ?" }

    /// The status-index writes of a status change; `due` is the job row's new `next_due_at` (for `queued`).
    func indexMove(_ id: UUID, from old: JobStatus, to new: JobStatus, at now: Date, due: Date? = nil) -> [(String, [any CQLEncodable])] {
        guard old != new else { return [] }
        return [(indexDelete, [old.rawValue, Int32(JobHash.slot(id)), id]), indexEntry(id, status: new, at: now, due: due)]
    }

    /// The status-index entry of a job; a `queued` one carries its due time (other statuses write no
    /// `next_due_at` cell, so no null tombstone either).
    func indexEntry(_ id: UUID, status: JobStatus, at now: Date, due: Date?) -> (String, [any CQLEncodable]) {
        let slot = Int32(JobHash.slot(id))
        if status == .queued, let due { return (indexInsertQueued, [status.rawValue, slot, id, now, due]) }
        return (indexInsert, [status.rawValue, slot, id, now])
    }

    /// Runs a CAS on a job row; an unknown outcome is resolved by a SERIAL read checked with `expect`.
    func casJob(_ id: UUID, _ cqlText: String, _ values: [any CQLEncodable], expect: (JobView) -> Bool) async throws -> Bool {
        do {
            return try await cql.run(cqlText, values).wasApplied
        } catch let error as CQLError where error.isUnknownOutcome {
            let job = try await getSerial(id)
            let applied = job.map(expect) ?? false
            logger.debug("job CAS outcome resolved by SERIAL read", metadata: ["job_id": "\(id)", "applied": "\(applied)"])
            return applied
        }
    }
}

/// One activation by ``JobService/run(_:)``: the job as read, its run's due time and queue shard, and when.
struct RunActivation: Sendable {
    var job: JobView
    var due: Date
    var shard: Int
    var at: Date
}

/// A queue entry of `jobs_sharded`: the due run and the job definition it needs, so a claim needs no extra read.
struct QueueEntry: Sendable, Hashable {
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

    init(shard: Int, dueAt: Date, jobID: UUID, attempt: Int64, kind: String, schedule: String, timezone: String, payload: String,
         maxDurationSeconds: Int, maxAttempts: Int, tries: Int, bucket: Date? = nil) {
        self.bucket = bucket ?? dueAt.bucket
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

    init(job: JobView, shard: Int, dueAt: Date, tries: Int) {
        self.init(shard: shard, dueAt: dueAt, jobID: job.jobID, attempt: job.attempt, kind: job.kind, schedule: job.schedule,
                  timezone: job.timezone, payload: job.payload, maxDurationSeconds: job.maxDurationSeconds,
                  maxAttempts: job.maxAttempts, tries: tries)
    }

    static let columns = "shard, bucket, due_at, job_id, attempt, kind, schedule, timezone, payload, max_duration_seconds, max_attempts, tries"

    init(row: RowView) throws {
        self.init(shard: Int(try row.decode(Int32.self, named: "shard")), dueAt: try row.decode(Date.self, named: "due_at"),
                  jobID: try row.decode(UUID.self, named: "job_id"), attempt: try row.optional("attempt", as: Int64.self) ?? 0,
                  kind: try row.optional("kind", as: String.self) ?? "noop", schedule: try row.optional("schedule", as: String.self) ?? "now",
                  timezone: try row.optional("timezone", as: String.self) ?? "UTC", payload: try row.optional("payload", as: String.self) ?? "{}",
                  maxDurationSeconds: Int(try row.optional("max_duration_seconds", as: Int32.self) ?? 60),
                  maxAttempts: Int(try row.optional("max_attempts", as: Int32.self) ?? 1),
                  tries: Int(try row.optional("tries", as: Int32.self) ?? 0), bucket: try row.decode(Date.self, named: "bucket"))
    }

    /// Bind values for ``JobService/entryInsert``.
    func values(enqueuedAt: Date) -> [any CQLEncodable] {
        [Int32(shard), bucket, dueAt, jobID, attempt, enqueuedAt, kind, schedule, timezone, payload,
         Int32(clamping: maxDurationSeconds), Int32(clamping: maxAttempts), Int32(clamping: tries)]
    }

    /// Bind values for ``JobService/entryDelete``.
    var deleteValues: [any CQLEncodable] { [Int32(shard), bucket, dueAt, jobID] }
}

/// The opaque listing position: status, slot and the CQL paging state within it.
struct PageToken {
    var statusIndex: Int
    var slot: Int
    var pagingState: [UInt8]?

    init(statusIndex: Int, slot: Int, pagingState: [UInt8]?) {
        self.statusIndex = statusIndex
        self.slot = slot
        self.pagingState = pagingState
    }

    init(token: String) throws {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard token.utf8.count <= 4096, let data = Data(base64Encoded: base64) else { throw JobServiceError.invalidPageToken }
        let bytes = [UInt8](data)
        guard bytes.count >= 3, bytes[0] == 1 else { throw JobServiceError.invalidPageToken }
        statusIndex = Int(bytes[1])
        slot = Int(bytes[2])
        pagingState = bytes.count > 3 ? Array(bytes[3...]) : nil
    }

    var token: String {
        let bytes: [UInt8] = [1, UInt8(clamping: statusIndex), UInt8(clamping: slot)] + (pagingState ?? [])
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
