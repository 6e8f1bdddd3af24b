import CQLWire
import Foundation

/// What a conditional update on a job row answered: whether it applied and, when it did not, the
/// row's attempt and status as the node returned them with the refusal.
struct JobCAS: Sendable, Hashable {
    var applied: Bool
    var attempt: Int64?
    var status: JobStatus?
    /// The row's revision (0 when null); only read by a refused run end.
    var revision: Int? = nil
}

/// The claim of a queued run: the row moves to `running` with the new attempt (the run's fencing
/// token), conditioned on the attempt, status and due time the queue entry was written with.
struct ClaimUpdate: Sendable, Hashable {
    var jobID: UUID
    var readAttempt: Int64
    var readDue: Date
    var attempt: Int64
    var tries: Int
    var leaseOwner: String
    var leaseExpiresAt: Date
    var now: Date
}

/// The end of a run on the job row: conditioned on the run's attempt and status `running` (and, for a
/// reclaim of an abandoned run, on the run lease end that was read).
struct RunEndUpdate: Sendable, Hashable {
    var jobID: UUID
    var attempt: Int64
    /// The lease end the reclaim saw expire; nil for the run's own completion.
    var expiredLease: Date?
    var status: JobStatus
    var tries: Int
    var nextDueAt: Date?
    var queueShard: Int?
    var finishedAt: Date
    var outcome: RunOutcome
    var error: String?
    /// The job revision the run's definition came from; the end applies only while it is current.
    var revision: Int = 0
}

/// A change of a job row by PATCH, pause or resume: the row as it is to be (status, definition, pause,
/// attempt, tries and queue position), conditioned on the status, attempt and revision it was read with.
/// Every column it writes is one of those three conditions guards, so a change in between is refused.
struct JobRevision: Sendable, Hashable {
    var read: JobView
    var job: JobView
    var now: Date
}

/// One page of a job's history.
struct HistoryPage: Sendable {
    var runs: [RunRecord]
    var pagingState: [UInt8]?
}

/// An activation on the job row: to `queued` from the status and attempt it was read with.
struct ActivationUpdate: Sendable, Hashable {
    var jobID: UUID
    var readStatus: JobStatus
    var readAttempt: Int64
    var due: Date
    var shard: Int
    var now: Date
}

/// One page of a status-index listing.
struct StatusPage: Sendable {
    var jobIDs: [UUID]
    var pagingState: [UInt8]?
}

/// Every request on `jobs`, `jobs_sharded`, `job_history`, `jobs_by_status`, `idempotency_keys` and
/// `workers`. One method is one request; conditional updates are LWTs and throw an error with
/// `isUnknownOutcome` when their outcome is unknown (callers resolve it by ``job(_:serial:)``).
protocol JobStoring: Sendable {
    // MARK: Jobs
    /// The job row, read plainly or at the serial consistency.
    func job(_ id: UUID, serial: Bool) async throws -> JobView?
    /// Inserts the job row IF NOT EXISTS (finishing a creation whose idempotency key was stored).
    func insertJobIfNotExists(_ row: NewJobRow) async throws -> Bool
    /// CAS: the claim of a queued run.
    func claim(_ update: ClaimUpdate) async throws -> Bool
    /// CAS: the run lease of `attempt` held by `owner` moved to `until`.
    func renewRunLease(_ id: UUID, attempt: Int64, owner: String, until: Date) async throws -> Bool
    /// CAS: the end of a run (completion or reclaim).
    func endRun(_ update: RunEndUpdate) async throws -> JobCAS
    /// CAS: cancel from the status and attempt read.
    func cancel(_ id: UUID, readStatus: JobStatus, readAttempt: Int64, now: Date) async throws -> Bool
    /// CAS: activation to `queued`.
    func activate(_ update: ActivationUpdate) async throws -> Bool
    /// CAS: a change of definition, pause or resume.
    func revise(_ revision: JobRevision) async throws -> Bool
    /// CAS: the delete of a finished job's row, from the status and attempt read.
    func deleteJob(_ id: UUID, readStatus: JobStatus, readAttempt: Int64) async throws -> Bool
    /// The delete of the job's history rows and of its status-index entry in `status`.
    func purgeTraces(_ id: UUID, status: JobStatus) async throws

    // MARK: Plain writes
    /// The writes as one request: alone when one, else a batch (logged or not); at write time
    /// `timestamp` (microseconds) when given, else the client's.
    func write(_ writes: [JobWrite], logged: Bool, timestamp: Int64?) async throws

    // MARK: Queue, history, index
    /// Up to `limit` entries of `shard`'s `bucket` due by `dueBy`, in clustering order, after the entry
    /// `after` (its due time and job id) when given.
    func dueEntries(shard: Int, bucket: Date, dueBy: Date, after: QueueEntry?, limit: Int) async throws -> [QueueEntry]
    /// Whether the queue entry exists.
    func hasQueueEntry(_ key: QueueEntry.Key) async throws -> Bool
    /// A page of the job's runs, newest first.
    func history(_ id: UUID, pageSize: Int, pagingState: [UInt8]?) async throws -> HistoryPage
    /// The cancel requests to `workerID`'s runs (its `run_cancels` partition).
    func cancelRequests(workerID: String) async throws -> [RunCancelRequest]
    /// A page of the status index (ids only) of `status` in `slot`.
    func statusPage(_ status: JobStatus, slot: Int, pageSize: Int, pagingState: [UInt8]?) async throws -> StatusPage
    /// Every entry of the status index of `status` in `slot`, with its due time and write time, to
    /// `body` until it answers false.
    func scanStatusIndex(_ status: JobStatus, slot: Int, _ body: (IndexedJob) async throws -> Bool) async throws

    // MARK: Idempotency keys
    /// CAS: stores the key IF NOT EXISTS; nil when applied, else the row that holds the key.
    func insertIdempotencyKey(_ row: IdempotencyKeyRow) async throws -> IdempotencyKeyRow?
    /// The key's row (serial read after an unknown outcome).
    func idempotencyKey(_ key: String, serial: Bool) async throws -> IdempotencyKeyRow?
    /// CAS: deletes the key IF it still names `jobID` (purge), so the key can be used again.
    func deleteIdempotencyKey(_ key: String, jobID: UUID) async throws -> Bool

    // MARK: Workers
    /// The worker's membership row, living `ttlSeconds`.
    func heartbeat(_ row: WorkerRow, ttlSeconds: Int) async throws
    /// The ids of the pool's live workers.
    func workers(pool: String) async throws -> [String]
    /// Removes the worker's membership row.
    func removeWorker(pool: String, workerID: String) async throws
}

extension JobStoring {
    /// The writes as one request at the client's write time.
    func write(_ writes: [JobWrite], logged: Bool) async throws {
        try await write(writes, logged: logged, timestamp: nil)
    }
}

/// ``JobStoring`` on Cassandra: every statement on the job tables, in one place.
struct JobStore: JobStoring {
    let cql: SchedulerCQL
    private let selectJob: String
    private let insertJob: String
    private let insertJobIfNotExistsCQL: String
    private let claimCQL: String
    private let renewCQL: String
    private let completeCQL: String
    private let reclaimCQL: String
    private let cancelCQL: String
    private let activateCQL: String
    private let reviseCQL: String
    private let deleteJobCQL: String
    private let deleteHistory: String
    private let deleteKey: String
    private let insertEntry: String
    private let deleteEntry: String
    private let selectDue: String
    private let selectDueAfter: String
    private let selectEntry: String
    private let insertIndex: String
    private let insertQueuedIndex: String
    private let deleteIndex: String
    private let deleteIndexWritten: String
    private let updateIndexDue: String
    private let selectIndex: String
    private let scanIndex: String
    private let insertHistory: String
    private let finishHistory: String
    private let selectHistory: String
    private let insertCancel: String
    private let cancelHistory: String
    private let selectCancels: String
    private let insertKey: String
    private let selectKey: String
    private let insertWorker: String
    private let selectWorkers: String
    private let deleteWorker: String

    init(cql: SchedulerCQL) {
        self.cql = cql
        let jobs = cql.table("jobs"), queue = cql.table("jobs_sharded"), index = cql.table("jobs_by_status")
        let history = cql.table("job_history"), keys = cql.table("idempotency_keys"), workers = cql.table("workers")
        selectJob = "SELECT \(JobView.columns) FROM \(jobs) WHERE job_id = ?"
        insertJob = "INSERT INTO \(jobs) (\(NewJobRow.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        insertJobIfNotExistsCQL = insertJob + " IF NOT EXISTS"
        claimCQL = "UPDATE \(jobs) SET status = ?, attempt = ?, tries = ?, lease_owner = ?, lease_expires_at = ?, started_at = ?, finished_at = null, last_fire_at = ?, updated_at = ? WHERE job_id = ? IF attempt = ? AND status = ? AND next_due_at = ?"
        renewCQL = "UPDATE \(jobs) SET lease_expires_at = ? WHERE job_id = ? IF attempt = ? AND status = ? AND lease_owner = ?"
        let end = "UPDATE \(jobs) SET status = ?, tries = ?, next_due_at = ?, queue_shard = ?, queue_bucket = ?, lease_owner = null, lease_expires_at = null, paused = null, paused_due_at = null, finished_at = ?, last_outcome = ?, last_error = ?, updated_at = ? WHERE job_id = ? IF attempt = ? AND status = ? AND revision = ?"
        completeCQL = end
        reclaimCQL = end + " AND lease_expires_at = ?"
        cancelCQL = "UPDATE \(jobs) SET status = ?, next_due_at = null, updated_at = ? WHERE job_id = ? IF status = ? AND attempt = ?"
        reviseCQL = "UPDATE \(jobs) SET status = ?, schedule = ?, timezone = ?, payload = ?, max_duration_seconds = ?, max_attempts = ?, backoff_initial_seconds = ?, backoff_max_seconds = ?, backoff_multiplier = ?, revision = ?, paused = ?, paused_due_at = ?, attempt = ?, tries = ?, next_due_at = ?, queue_shard = ?, queue_bucket = ?, updated_at = ? WHERE job_id = ? IF status = ? AND attempt = ? AND revision = ?"
        deleteJobCQL = "DELETE FROM \(jobs) WHERE job_id = ? IF status = ? AND attempt = ?"
        deleteHistory = "DELETE FROM \(history) WHERE job_id = ?"
        deleteKey = "DELETE FROM \(keys) WHERE idempotency_key = ? IF job_id = ?"
        activateCQL = "UPDATE \(jobs) SET status = ?, tries = ?, next_due_at = ?, queue_shard = ?, queue_bucket = ?, updated_at = ? WHERE job_id = ? IF status = ? AND attempt = ?"
        insertEntry = "INSERT INTO \(queue) (\(QueueEntry.insertColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        deleteEntry = "DELETE FROM \(queue) WHERE shard = ? AND bucket = ? AND due_at = ? AND job_id = ?"
        selectDue = "SELECT \(QueueEntry.columns) FROM \(queue) WHERE shard = ? AND bucket = ? AND due_at <= ? LIMIT ?"
        // Both bounds multi-column: Cassandra 3.x refuses single- and multi-column relations mixed on clustering columns.
        selectDueAfter = "SELECT \(QueueEntry.columns) FROM \(queue) WHERE shard = ? AND bucket = ? AND (due_at, job_id) > (?, ?) AND (due_at) <= (?) LIMIT ?"
        selectEntry = "SELECT job_id FROM \(queue) WHERE shard = ? AND bucket = ? AND due_at = ? AND job_id = ?"
        insertIndex = "INSERT INTO \(index) (status, slot, job_id, updated_at) VALUES (?, ?, ?, ?)"
        insertQueuedIndex = "INSERT INTO \(index) (status, slot, job_id, updated_at, next_due_at) VALUES (?, ?, ?, ?, ?)"
        deleteIndex = "DELETE FROM \(index) WHERE status = ? AND slot = ? AND job_id = ?"
        deleteIndexWritten = "DELETE FROM \(index) USING TIMESTAMP ? WHERE status = ? AND slot = ? AND job_id = ?"
        updateIndexDue = "UPDATE \(index) USING TIMESTAMP ? SET next_due_at = ? WHERE status = ? AND slot = ? AND job_id = ?"
        selectIndex = "SELECT job_id FROM \(index) WHERE status = ? AND slot = ?"
        scanIndex = "SELECT job_id, next_due_at, writetime(updated_at) AS written FROM \(index) WHERE status = ? AND slot = ?"
        // History rows live for the configured retention (0: forever); the TTL is a literal, like the heartbeat's.
        let retention = "USING TTL \(cql.configuration.historyRetentionSeconds)"
        insertHistory = "INSERT INTO \(history) (job_id, attempt, scheduled_at, started_at, status, worker_id) VALUES (?, ?, ?, ?, ?, ?) \(retention)"
        finishHistory = "UPDATE \(history) \(retention) SET finished_at = ?, status = ?, output = ?, error = ?, exit_code = ?, http_status = ? WHERE job_id = ? AND attempt = ?"
        selectHistory = "SELECT \(RunRecord.columns) FROM \(history) WHERE job_id = ?"
        insertCancel = "INSERT INTO \(cql.table("run_cancels")) (worker_id, job_id, attempt, requested_at) VALUES (?, ?, ?, ?)"
        cancelHistory = "UPDATE \(history) \(retention) SET finished_at = ?, status = '\(JobStatus.cancelled.rawValue)', error = '\(RunCancel.error)' WHERE job_id = ? AND attempt = ?"
        selectCancels = "SELECT job_id, attempt FROM \(cql.table("run_cancels")) WHERE worker_id = ?"
        insertKey = "INSERT INTO \(keys) (idempotency_key, job_id, request_hash, created_at) VALUES (?, ?, ?, ?) IF NOT EXISTS"
        selectKey = "SELECT idempotency_key, job_id, request_hash FROM \(keys) WHERE idempotency_key = ?"
        insertWorker = "INSERT INTO \(workers) (pool, worker_id, address, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?) USING TTL "
        selectWorkers = "SELECT worker_id FROM \(workers) WHERE pool = ?"
        deleteWorker = "DELETE FROM \(workers) WHERE pool = ? AND worker_id = ?"
    }

    /// The statement texts tests inject faults into (by prepared id).
    var completionStatement: String { completeCQL }
    var insertQueueEntryStatement: String { insertEntry }
    var finishHistoryStatement: String { finishHistory }
    var startHistoryStatement: String { insertHistory }

    // MARK: Jobs

    func job(_ id: UUID, serial: Bool) async throws -> JobView? {
        let result = try await cql.run(selectJob, [id], serialRead: serial)
        return try result.first.map(JobView.init(row:))
    }

    func insertJobIfNotExists(_ row: NewJobRow) async throws -> Bool {
        try await cql.session.execute(try await cql.statement(insertJobIfNotExistsCQL, row.values)).wasApplied
    }

    func claim(_ update: ClaimUpdate) async throws -> Bool {
        try await cql.run(claimCQL, [JobStatus.running.rawValue, update.attempt, Int32(clamping: update.tries), update.leaseOwner,
                                     update.leaseExpiresAt, update.now, update.readDue, update.now, update.jobID, update.readAttempt,
                                     JobStatus.queued.rawValue, update.readDue]).wasApplied
    }

    func renewRunLease(_ id: UUID, attempt: Int64, owner: String, until: Date) async throws -> Bool {
        try await cql.run(renewCQL, [until, id, attempt, JobStatus.running.rawValue, owner]).wasApplied
    }

    func endRun(_ update: RunEndUpdate) async throws -> JobCAS {
        var values: [any CQLEncodable] = [update.status.rawValue, Int32(clamping: update.tries), update.nextDueAt,
                                          update.queueShard.map { Int32(clamping: $0) }, update.nextDueAt?.bucket, update.finishedAt,
                                          update.outcome.rawValue, update.error, update.finishedAt, update.jobID, update.attempt,
                                          JobStatus.running.rawValue, update.revision == 0 ? nil : Int32(clamping: update.revision)]
        if let expired = update.expiredLease { values.append(expired) }
        let result = try await cql.run(update.expiredLease == nil ? completeCQL : reclaimCQL, values)
        guard !result.wasApplied, let row = result.lwt?.row else { return JobCAS(applied: result.wasApplied) }
        return JobCAS(applied: false, attempt: try row.optional("attempt", as: Int64.self),
                      status: (try row.optional("status", as: String.self)).flatMap(JobStatus.init(rawValue:)),
                      revision: Int(try row.optional("revision", as: Int32.self) ?? 0))
    }

    func cancel(_ id: UUID, readStatus: JobStatus, readAttempt: Int64, now: Date) async throws -> Bool {
        try await cql.run(cancelCQL, [JobStatus.cancelled.rawValue, now, id, readStatus.rawValue, readAttempt]).wasApplied
    }

    func activate(_ update: ActivationUpdate) async throws -> Bool {
        try await cql.run(activateCQL, [JobStatus.queued.rawValue, Int32(0), update.due, Int32(clamping: update.shard), update.due.bucket,
                                        update.now, update.jobID, update.readStatus.rawValue, update.readAttempt]).wasApplied
    }

    func revise(_ revision: JobRevision) async throws -> Bool {
        let job = revision.job, read = revision.read
        // Revision 0 is stored as null (rows written before migration 4 have none), as the end CAS conditions it.
        let values: [any CQLEncodable] = [
            job.status.rawValue, job.schedule, job.timezone, job.payload, Int32(clamping: job.maxDurationSeconds),
            Int32(clamping: job.maxAttempts), job.backoff.initialSeconds, job.backoff.maxSeconds, job.backoff.multiplier,
            job.revision == 0 ? nil : Int32(clamping: job.revision), job.paused ? Optional(true) : nil, job.pausedDueAt, job.attempt, Int32(clamping: job.tries), job.nextDueAt,
            job.queueShard.map { Int32(clamping: $0) }, job.nextDueAt?.bucket, revision.now, job.jobID,
            read.status.rawValue, read.attempt, read.revision == 0 ? nil : Int32(clamping: read.revision),
        ]
        return try await cql.run(reviseCQL, values).wasApplied
    }

    func deleteJob(_ id: UUID, readStatus: JobStatus, readAttempt: Int64) async throws -> Bool {
        try await cql.run(deleteJobCQL, [id, readStatus.rawValue, readAttempt]).wasApplied
    }

    func purgeTraces(_ id: UUID, status: JobStatus) async throws {
        // Logged: once accepted, both deletes land even if this worker stops.
        try await cql.execute([try await cql.statement(deleteHistory, [id]),
                               try await cql.statement(deleteIndex, [status.rawValue, Int32(JobHash.slot(id)), id])],
                              logged: true, timestamp: nil)
    }

    // MARK: Plain writes

    func write(_ writes: [JobWrite], logged: Bool, timestamp: Int64?) async throws {
        var statements: [CQLStatement] = []
        statements.reserveCapacity(writes.count)
        for write in writes { statements.append(try await statement(write)) }
        try await cql.execute(statements, logged: logged, timestamp: timestamp)
    }

    private func statement(_ write: JobWrite) async throws -> CQLStatement {
        switch write {
        case let .insertJob(row):
            return try await cql.statement(insertJob, row.values)
        case let .enqueue(entry, enqueuedAt):
            return try await cql.statement(insertEntry, entry.insertValues(enqueuedAt: enqueuedAt))
        case let .dequeue(key):
            return try await cql.statement(deleteEntry, key.values)
        case let .index(entry):
            return try await cql.statement(entry.nextDueAt == nil ? insertIndex : insertQueuedIndex, entry.values)
        case let .unindex(status, id):
            return try await cql.statement(deleteIndex, [status.rawValue, Int32(JobHash.slot(id)), id])
        case let .unindexWritten(status, id, written):
            return try await cql.statement(deleteIndexWritten, [written, status.rawValue, Int32(JobHash.slot(id)), id])
        case let .indexDue(id, due, written):
            return try await cql.statement(updateIndexDue, [written, due, JobStatus.queued.rawValue, Int32(JobHash.slot(id)), id])
        case let .startRun(start):
            return try await cql.statement(insertHistory, start.values)
        case let .finishRun(finish):
            return try await cql.statement(finishHistory, finish.values)
        case let .requestCancel(cancel):
            return try await cql.statement(insertCancel, binding: cancel)
        case let .cancelRun(cancel):
            return try await cql.statement(cancelHistory, [cancel.requestedAt, cancel.jobID, cancel.attempt])
        }
    }

    // MARK: Queue, history, index

    func dueEntries(shard: Int, bucket: Date, dueBy: Date, after: QueueEntry?, limit: Int) async throws -> [QueueEntry] {
        guard let after else {
            return try await cql.run(selectDue, [Int32(clamping: shard), bucket, dueBy, Int32(clamping: limit)]).decode(QueueEntry.self)
        }
        return try await cql.run(selectDueAfter, [Int32(clamping: shard), bucket, after.dueAt, after.jobID, dueBy, Int32(clamping: limit)])
            .decode(QueueEntry.self)
    }

    func hasQueueEntry(_ key: QueueEntry.Key) async throws -> Bool {
        try await cql.session.execute(try await cql.statement(selectEntry, key.values)).first != nil
    }

    func history(_ id: UUID, pageSize: Int, pagingState: [UInt8]?) async throws -> HistoryPage {
        var statement = try await cql.statement(selectHistory, [id])
        statement.pageSize = Int32(clamping: max(1, pageSize))
        statement.pagingState = pagingState
        let result = try await cql.session.execute(statement)
        return HistoryPage(runs: try result.rows.map { try RunRecord(row: $0) }, pagingState: result.pagingState)
    }

    func cancelRequests(workerID: String) async throws -> [RunCancelRequest] {
        try await cql.run(selectCancels, [workerID]).decode(RunCancelRequest.self)
    }

    func statusPage(_ status: JobStatus, slot: Int, pageSize: Int, pagingState: [UInt8]?) async throws -> StatusPage {
        var statement = try await cql.statement(selectIndex, [status.rawValue, Int32(clamping: slot)])
        statement.pageSize = Int32(clamping: pageSize)
        statement.pagingState = pagingState
        let result = try await cql.session.execute(statement)
        return StatusPage(jobIDs: try result.rows.map { try $0.decode(UUID.self, named: "job_id") }, pagingState: result.pagingState)
    }

    func scanStatusIndex(_ status: JobStatus, slot: Int, _ body: (IndexedJob) async throws -> Bool) async throws {
        var statement = try await cql.statement(scanIndex, [status.rawValue, Int32(clamping: slot)])
        // Index rows are small (an id and a time); large pages keep far-ahead jobs at a few requests per sweep.
        statement.pageSize = 5000
        for try await entry in cql.session.rows(statement, as: IndexedJob.self) {
            guard try await body(entry) else { return }
        }
    }

    // MARK: Idempotency keys

    func insertIdempotencyKey(_ row: IdempotencyKeyRow) async throws -> IdempotencyKeyRow? {
        let result = try await cql.session.execute(try await cql.statement(insertKey, binding: row))
        guard !result.wasApplied, let existing = result.first else { return nil }
        return IdempotencyKeyRow(idempotencyKey: row.idempotencyKey, jobID: try existing.optional("job_id", as: UUID.self),
                                 requestHash: try existing.optional("request_hash", as: String.self))
    }

    func idempotencyKey(_ key: String, serial: Bool) async throws -> IdempotencyKeyRow? {
        try await cql.run(selectKey, [key], serialRead: serial).decode(IdempotencyKeyRow.self).first
    }

    func deleteIdempotencyKey(_ key: String, jobID: UUID) async throws -> Bool {
        try await cql.run(deleteKey, [key, jobID]).wasApplied
    }

    // MARK: Workers

    func heartbeat(_ row: WorkerRow, ttlSeconds: Int) async throws {
        // The TTL is a literal: one text per configured TTL, prepared once like the others.
        try await cql.session.execute(try await cql.statement(insertWorker + String(max(1, ttlSeconds)), binding: row))
    }

    func workers(pool: String) async throws -> [String] {
        let result = try await cql.run(selectWorkers, [pool])
        return try result.rows.compactMap { try $0.optional("worker_id", as: String.self) }
    }

    func removeWorker(pool: String, workerID: String) async throws {
        try await cql.run(deleteWorker, [pool, workerID])
    }
}
