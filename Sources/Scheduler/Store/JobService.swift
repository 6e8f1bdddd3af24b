public import CQLWire
public import Foundation
public import Logging
public import Metrics

/// The jobs API: creation, reading, listing, cancelling and activating jobs, over a `JobStoring`.
///
/// Creation writes in a fixed order (idempotency key by LWT, then the status-index entry, then the job
/// row and the queue entry in one unlogged batch), and the runtime's `RepairSweep` re-enqueues
/// activated jobs whose queue entry is missing, so no job is ever queued-but-lost. Activation by
/// ``run(_:)`` writes its `queued` index entry before its CAS for the same reason.
public final class JobService: Sendable {
    /// The configuration shared with runtimes and the lock client.
    public let configuration: SchedulerConfiguration
    /// The handlers runs are executed by.
    public let handlers: HandlerRegistry
    /// The clock every rule of time reads.
    public let clock: any SchedulerClock
    /// The lock client on the same store, clock and metrics (shard leases).
    public let locks: LockClient
    let store: any JobStoring
    let logger: Logger
    let metrics: SchedulerMetrics
    /// The request timeout the scheduler's statements get (bounds ``runIntentGrace``).
    let requestTimeout: Duration
    /// Makes the id of a new job (random; the simulation draws them from its seed).
    let makeJobID: @Sendable () -> UUID

    /// A service on `session` using the tables of `keyspace`.
    public convenience init(session: CQLSession, keyspace: String, configuration: SchedulerConfiguration, handlers: HandlerRegistry,
                            clock: any SchedulerClock = SystemSchedulerClock(), logger: Logger, metrics: any MetricsFactory) {
        let cql = SchedulerCQL(session: session, keyspace: keyspace, configuration: configuration)
        self.init(store: JobStore(cql: cql), lockStore: LockStore(cql: cql), configuration: configuration, handlers: handlers,
                  clock: clock, requestTimeout: configuration.requestTimeout ?? session.configuration.requestTimeout,
                  logger: logger, metrics: metrics)
    }

    /// A service on any store (the simulation's in-memory one, or the Cassandra one).
    init(store: any JobStoring, lockStore: any LockStoring, configuration: SchedulerConfiguration, handlers: HandlerRegistry,
         clock: any SchedulerClock, requestTimeout: Duration, logger: Logger, metrics: any MetricsFactory,
         makeJobID: @escaping @Sendable () -> UUID = { UUID() }) {
        self.store = store
        self.makeJobID = makeJobID
        self.configuration = configuration
        self.handlers = handlers
        self.clock = clock
        self.logger = logger
        self.requestTimeout = requestTimeout
        self.metrics = SchedulerMetrics(factory: metrics, kinds: handlers.kinds)
        self.locks = LockClient(store: lockStore, clock: clock, safetyMargin: configuration.leaseSafetyMargin, logger: logger,
                                metrics: self.metrics)
    }

    // MARK: - Create

    /// Stores a job (status `created`, or `queued` when `job.run`); a repeated idempotency key with the
    /// same request returns the original job (`replayed`), with a different request throws ``JobServiceError/idempotencyKeyReused(_:)``.
    public func create(_ job: ValidatedJob) async throws -> JobCreation {
        var id = makeJobID()
        var replayed = false
        if let key = job.idempotencyKey {
            let hash = Self.requestHash(job)
            var existing: IdempotencyKeyRow?
            do {
                existing = try await store.insertIdempotencyKey(IdempotencyKeyRow(idempotencyKey: key, jobID: id, requestHash: hash,
                                                                                  createdAt: clock.now()))
            } catch let error as CQLError where error.isUnknownOutcome {
                let read = try await store.idempotencyKey(key, serial: true)
                if read?.jobID != id { existing = read }
                if read?.jobID == nil { throw error }
            }
            if let existing {
                guard existing.requestHash == hash, let original = existing.jobID else { throw JobServiceError.idempotencyKeyReused(key) }
                id = original
                replayed = true
                if try await get(original) != nil { return JobCreation(jobID: original, replayed: true) }
                // The first request stopped between the key and the job row: finish its creation.
            }
        }
        let now = clock.now()
        let status: JobStatus = job.run ? .queued : .created
        let due = job.run ? (job.schedule.firstFire(activatedAt: now) ?? now) : nil
        let shard = JobHash.shard(id, shards: configuration.shards)
        let row = NewJobRow(jobID: id, kind: job.kind, schedule: job.scheduleText, timezone: job.timeZoneIdentifier, payload: job.payload,
                            maxDurationSeconds: Int32(clamping: job.maxDurationSeconds), maxAttempts: Int32(clamping: job.maxAttempts),
                            idempotencyKey: job.idempotencyKey, status: status.rawValue, attempt: 0, tries: 0, nextDueAt: due,
                            queueShard: due.map { _ in Int32(shard) }, queueBucket: due?.bucket, createdAt: now, updatedAt: now,
                            backoff: job.backoff)
        let index = JobWrite.index(StatusIndexEntry(status: status, jobID: id, updatedAt: now, nextDueAt: due))
        // The index entry first, like the intent of run(_:): should this request stop right after it, or
        // land only part of the writes that follow, the entry still leads the repair sweep to the queued
        // job, which re-enqueues it (a retry of the request finds the job and returns it as replayed).
        // Where the job already exists, a `queued` entry of a job in another status is deleted by the sweep
        // after the intent grace. Then the row and the queue entry in one unlogged batch: a queue entry
        // landing without its row is refused by the claim's CAS and dropped. No batch log: on Cassandra it
        // costs more than the request it saves.
        try await store.write([index], logged: false)
        let entry = due.map { due in
            QueueEntry(shard: shard, dueAt: due, jobID: id, attempt: 0, kind: job.kind, schedule: job.scheduleText,
                       timezone: job.timeZoneIdentifier, payload: job.payload, maxDurationSeconds: job.maxDurationSeconds,
                       maxAttempts: job.maxAttempts, tries: 0, backoff: job.backoff)
        }
        let enqueue = entry.map { [JobWrite.enqueue($0, enqueuedAt: now)] } ?? []
        if replayed {
            // A conditional insert cannot share a batch with another partition's write.
            guard try await store.insertJobIfNotExists(row) else { return JobCreation(jobID: id, replayed: true) }
            try await store.write(enqueue, logged: false)
        } else {
            try await store.write([.insertJob(row)] + enqueue, logged: false)
        }
        if !replayed { metrics.jobsCreated.increment() }
        return JobCreation(jobID: id, replayed: replayed)
    }

    /// The hash that tells a retry of the same creation request from a reuse of its key.
    static func requestHash(_ job: ValidatedJob) -> String {
        var fields = [job.kind, job.scheduleText, job.timeZoneIdentifier, job.payload, String(job.maxDurationSeconds),
                      String(job.maxAttempts), job.run ? "run" : "store"]
        // Only a non-default backoff counts, so keys stored before backoff existed still match their retries.
        if job.backoff != .default {
            fields.append("\(job.backoff.initialSeconds)/\(job.backoff.maxSeconds)/\(job.backoff.multiplier)")
        }
        let canonical = fields.joined(separator: "\u{1F}")
        return String(JobHash.fnv(canonical), radix: 16)
    }

    // MARK: - Read

    /// The job, or nil when no job has this id.
    public func get(_ id: UUID) async throws -> JobView? {
        try await store.job(id, serial: false)
    }

    /// Up to `limit` jobs with `status` (any status when nil) and `kind` (any when nil); `page` continues a
    /// previous listing. With a kind, a page may hold fewer jobs than `limit` (even none) and still have a next one.
    public func list(status: JobStatus?, kind: String? = nil, limit: Int, page: String?) async throws -> (jobs: [JobView], nextPage: String?) {
        let statuses = status.map { [$0] } ?? JobStatus.allCases
        var position = try page.map(PageToken.init(token:)) ?? PageToken(statusIndex: 0, slot: 0, pagingState: nil)
        guard position.statusIndex < statuses.count, position.slot < JobHash.slots else { throw JobServiceError.invalidPageToken }
        let wanted = max(1, min(limit, 1000))
        var jobs: [JobView] = []
        while jobs.count < wanted {
            let listed = statuses[position.statusIndex]
            let page = try await store.statusPage(listed, slot: position.slot, pageSize: wanted - jobs.count,
                                                  pagingState: position.pagingState)
            for id in page.jobIDs {
                // The index trails the job rows: show a job only where its row agrees.
                if let job = try await get(id), job.status == listed, kind == nil || job.kind == kind { jobs.append(job) }
            }
            if let state = page.pagingState {
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

    /// The job created with idempotency key `key`, nil when there is none.
    public func job(idempotencyKey key: String) async throws -> JobView? {
        guard let row = try await store.idempotencyKey(key, serial: false), let id = row.jobID else { return nil }
        return try await get(id)
    }

    /// The job's runs, newest first.
    public func history(_ id: UUID, limit: Int) async throws -> [RunRecord] {
        try await historyPage(id, limit: limit, page: nil).runs
    }

    /// Up to `limit` of the job's runs, newest first; `page` continues a previous page (its `nextPage`).
    public func historyPage(_ id: UUID, limit: Int, page: String?) async throws -> (runs: [RunRecord], nextPage: String?) {
        let state = try page.map { token throws in
            let bytes = try PageToken.bytes(token: token)
            guard bytes.count > 1, bytes[0] == PageToken.historyVersion else { throw JobServiceError.invalidPageToken }
            return Array(bytes[1...])
        }
        let result = try await store.history(id, pageSize: max(1, min(limit, 1000)), pagingState: state)
        return (result.runs, result.pagingState.map { PageToken.token(bytes: [PageToken.historyVersion] + $0) })
    }

    // MARK: - Cancel and activate

    /// Cancels the job so it never runs again. A running run is fenced out, recorded as cancelled, and
    /// stopped by its owner, which reads the cancel request within about a second (`run_cancels`).
    /// Cancelling a cancelled job returns it; a finished one-shot job throws ``JobServiceError/conflict(_:)``.
    public func cancel(_ id: UUID) async throws -> JobView {
        for _ in 0..<8 {
            guard let job = try await get(id) else { throw JobServiceError.notFound(id) }
            switch job.status {
            case .cancelled:
                return job
            case .succeeded, .failed, .timedOut:
                if try !job.parsedSchedule().isRecurring { throw JobServiceError.conflict(job.status) }
            case .created, .queued, .running, .paused:
                break
            }
            let now = clock.now()
            let applied = try await resolvingUnknownOutcome(id, expect: { $0.status == .cancelled && $0.attempt == job.attempt }) {
                try await store.cancel(id, readStatus: job.status, readAttempt: job.attempt, now: now)
            }
            if applied {
                var writes = JobWrite.move(id, from: job.status, to: .cancelled, at: now)
                if job.status == .running, let owner = job.leaseOwner {
                    // The run `attempt` was cancelled by this CAS: its owner stops it within about a second,
                    // and its history record ends as cancelled even if the owner is gone.
                    let cancel = RunCancel(workerID: owner, jobID: id, attempt: job.attempt, requestedAt: now)
                    writes += [.requestCancel(cancel), .cancelRun(cancel)]
                }
                try await store.write(writes, logged: false)
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
    /// CAS lost (a cancel or another activation in between) is deleted by the sweep after `runIntentGrace`.
    public func run(_ id: UUID) async throws -> JobView {
        try await activate(id) { job throws in
            switch job.status {
            case .queued, .running, .cancelled: throw JobServiceError.conflict(job.status)
            case .paused: throw JobServiceError.refused(.paused, "resume it with POST /jobs/{id}/resume")
            case .created, .succeeded, .failed, .timedOut: return nil
            }
        }
    }

    /// The steps of ``run(_:)`` and ``resume(_:)``; `check` refuses (throws), answers without a change (a view),
    /// or lets the activation go ahead (nil).
    func activate(_ id: UUID, check: (JobView) throws -> JobView?) async throws -> JobView {
        for _ in 0..<8 {
            guard let job = try await get(id) else { throw JobServiceError.notFound(id) }
            if let answer = try check(job) { return answer }
            let activation = try activation(job)
            let intentSent = clock.instant
            try await writeRunIntent(activation)
            // A CAS landing after a sweep judged the intent stale could leave a queued job without an index
            // entry should this run then stop; sent within half the grace, it lands well before that.
            guard clock.instant - intentSent < runIntentGrace / 2 else { continue }
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
        max(configuration.repairInterval * 2, requestTimeout * 4)
    }

    /// The activation ``run(_:)`` makes of `job` as read now.
    func activation(_ job: JobView) throws -> RunActivation {
        let schedule: Schedule
        do { schedule = try job.parsedSchedule() } catch { throw JobServiceError.corruptJob(job.jobID, "\(error)") }
        let now = clock.now()
        var due = job.status == .created || schedule.isRecurring ? (schedule.firstFire(activatedAt: now) ?? now) : now
        // A resumed one-shot job runs when it was due before its pause, or now when that has passed.
        if job.status == .paused, !schedule.isRecurring { due = max(job.pausedDueAt ?? now, now) }
        return RunActivation(job: job, due: due, shard: JobHash.shard(job.jobID, shards: configuration.shards), at: now)
    }

    /// The intent of an activation: the `queued` status-index entry with the run's due time.
    func runIntent(_ activation: RunActivation) -> JobWrite {
        .index(StatusIndexEntry(status: .queued, jobID: activation.job.jobID, updatedAt: activation.at, nextDueAt: activation.due))
    }

    /// Writes the activation's intent (before its CAS).
    func writeRunIntent(_ activation: RunActivation) async throws {
        try await store.write([runIntent(activation)], logged: false, timestamp: writeTimestamp(after: activation.job))
    }

    /// A write time for an activation's index writes when the client's clock is behind the job's last
    /// change: the claim that ended before deleted the job's `queued` entry at the claimer's write time,
    /// and a worker whose clock runs behind would write the new entry under that tombstone (last write
    /// wins), leaving a queued job no sweep can find. Nil (the client's own time) otherwise.
    func writeTimestamp(after job: JobView) -> Int64? {
        guard let changed = job.updatedAt else { return nil }
        // The claimer's tombstone is older than the job's last change (its completion, a later write of its clock).
        let floor = (changed.millis + 1) * 1000
        return floor > clock.now().millis * 1000 ? floor : nil
    }

    /// The CAS of the job row from the status it was read in to `queued`; whether it applied.
    func casRun(_ activation: RunActivation) async throws -> Bool {
        let job = activation.job
        let update = ActivationUpdate(jobID: job.jobID, readStatus: job.status, readAttempt: job.attempt, due: activation.due,
                                      shard: activation.shard, now: activation.at)
        return try await resolvingUnknownOutcome(job.jobID, expect: {
            $0.status == .queued && $0.attempt == job.attempt && $0.nextDueAt == activation.due
        }) { try await store.activate(update) }
    }

    /// The writes after the CAS: the queue entry, the old index entry's delete and the `queued` one again.
    /// One unlogged batch: whichever part is lost, the intent still leads the sweep to the job. Writing the
    /// `queued` entry again (newer than the intent) keeps it should a sweep have judged the intent stale.
    func enqueueRun(_ activation: RunActivation) async throws {
        let entry = QueueEntry(job: activation.job, shard: activation.shard, dueAt: activation.due, tries: 0)
        try await store.write([.enqueue(entry, enqueuedAt: activation.at)]
            + JobWrite.move(activation.job.jobID, from: activation.job.status, to: .queued, at: activation.at, due: activation.due)
            + lastRunEnd(activation.job),
            logged: false, timestamp: writeTimestamp(after: activation.job))
    }

    /// The history end of the finished job's last run as its job row has it: written again when the job is
    /// activated, since a worker that stopped between that run's end CAS and the batch recording it left the
    /// record `running`, and once a later run reuses the job's `running` index entry no sweep finds it.
    /// Status, end and error only (the run's output stands).
    func lastRunEnd(_ job: JobView) -> [JobWrite] {
        guard [.succeeded, .failed, .timedOut].contains(job.status), job.attempt > 0, let finishedAt = job.finishedAt,
              let outcome = job.lastOutcome else { return [] }
        return [.finishRun(RunFinish(jobID: job.jobID, attempt: job.attempt, finishedAt: finishedAt, status: JobStatus(outcome).rawValue,
                                     error: job.lastError.map { String($0.prefix(8_192)) }))]
    }

    /// Runs a CAS on a job row; an unknown outcome is resolved by a SERIAL read checked with `expect`.
    func resolvingUnknownOutcome(_ id: UUID, expect: (JobView) -> Bool, _ cas: () async throws -> Bool) async throws -> Bool {
        do {
            return try await cas()
        } catch let error as CQLError where error.isUnknownOutcome {
            let job = try await store.job(id, serial: true)
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
        let bytes = try Self.bytes(token: token)
        guard bytes.count >= 3, bytes[0] == 1 else { throw JobServiceError.invalidPageToken }
        statusIndex = Int(bytes[1])
        slot = Int(bytes[2])
        pagingState = bytes.count > 3 ? Array(bytes[3...]) : nil
    }

    var token: String {
        Self.token(bytes: [1, UInt8(clamping: statusIndex), UInt8(clamping: slot)] + (pagingState ?? []))
    }

    /// The first byte of a history page token (a listing's is 1).
    static let historyVersion: UInt8 = 2

    /// Bytes as an opaque token (unpadded base64url).
    static func token(bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The bytes of a token made by ``token(bytes:)``.
    static func bytes(token: String) throws -> [UInt8] {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard token.utf8.count <= 4096, let data = Data(base64Encoded: base64) else { throw JobServiceError.invalidPageToken }
        return [UInt8](data)
    }
}
