import CQLWire
import Foundation
import Logging

/// How a run's handler ended, as the executor sees it.
enum RunEnd: Sendable {
    case handler(output: String?, error: String?)
    case timedOut
    case leaseLost
    case handedBack
}

extension SchedulerRuntime {
    // MARK: - Polling

    /// Polls every owned shard once (plain reads) and starts a run for each due entry while there is capacity.
    /// Returns the shards where due entries were left for lack of capacity, with the bucket they were left in.
    @discardableResult
    func pollOnce() async throws -> [Int: Date] {
        try await pollPass(ownedShards, resumingAt: [:])
    }

    /// A full pass over the owned shards every poll interval; in between, while due entries are left for
    /// lack of capacity, the shards holding them are polled again as soon as half the runs in flight have
    /// finished, so a backlog drains at the speed runs complete instead of one batch per poll interval.
    func pollLoop() async {
        var nextFullPass = ContinuousClock.now
        var backlog: [Int: Date] = [:]
        while !Task.isCancelled, !isStopping {
            do {
                if ContinuousClock.now >= nextFullPass {
                    backlog = try await pollOnce()
                    nextFullPass = ContinuousClock.now + pollInterval
                } else if !backlog.isEmpty {
                    backlog = try await pollPass(backlog.keys.sorted(), resumingAt: backlog)
                }
            } catch is CancellationError {
                return
            } catch {
                backlog = [:]
                nextFullPass = ContinuousClock.now + pollInterval
                logger.warning("scheduler poll failed", metadata: ["error": "\(error)", "worker_id": "\(workerID)"])
            }
            if backlog.isEmpty {
                while ContinuousClock.now < nextFullPass, !Task.isCancelled, !isStopping {
                    try? await Task.sleep(until: min(nextFullPass, ContinuousClock.now + .milliseconds(100)), clock: .continuous)
                }
            } else {
                await waitForCapacity(until: nextFullPass)
            }
        }
    }

    /// Polls `shards` starting at a rotating position (a backlog in one shard must not starve the others);
    /// `resumingAt` names, per shard, the bucket a backlog was left in, the older ones having just been read.
    private func pollPass(_ shards: [Int], resumingAt: [Int: Date]) async throws -> [Int: Date] {
        guard !shards.isEmpty else { return [:] }
        let first = state.withLock { state -> Int in
            defer { state.pollRotation = (state.pollRotation + 1) % max(1, self.shards) }
            return state.pollRotation
        }
        var backlog: [Int: Date] = [:]
        for step in 0..<shards.count {
            guard !isStopping else { break }
            let shard = shards[(first + step) % shards.count]
            if let bucket = try await poll(shard: shard, resumingAt: resumingAt[shard]) { backlog[shard] = bucket }
        }
        return backlog
    }

    /// Starts runs for the due entries of `shard`, from its cursor or from `resume` when that is later;
    /// returns the bucket where due entries may be left for lack of capacity, nil when none are.
    private func poll(shard: Int, resumingAt resume: Date?) async throws -> Date? {
        let configuration = service.configuration
        let now = WallClock.now()
        let current = now.bucket
        let cursor = state.withLock { $0.cursors[shard] }
        var bucket = cursor ?? Date(milliseconds: now.millis - configuration.pollLookback.milliseconds).bucket
        // Only past a cursor: a shard owned anew starts from the lookback, whatever an earlier pass saw.
        if let resume, cursor != nil, resume > bucket { bucket = resume }
        let select = "SELECT \(QueueEntry.columns) FROM \(service.cql.table("jobs_sharded")) WHERE shard = ? AND bucket = ? AND due_at <= ? LIMIT ?"
        while bucket <= current {
            guard owns(shard), !isStopping else { return nil }
            let capacity = configuration.maximumConcurrentRuns - state.withLock { $0.inFlight.count }
            guard capacity > 0 else { return bucket }
            let result = try await service.cql.run(select, [Int32(shard), bucket, now, Int32(capacity * 2)])
            var started = 0
            for row in result.rows where started < capacity {
                let entry = try QueueEntry(row: row)
                if start(entry) { started += 1 }
            }
            // A bucket is left behind once it is empty and a minute past its end, so late writes
            // computed within the minute are still seen; anything later is the repair sweep's.
            if result.rows.rowCount == 0, bucket.millis + 120_000 < now.millis, state.withLock({ $0.cursors[shard] ?? .distantPast }) <= bucket {
                state.withLock { $0.cursors[shard] = Date(milliseconds: bucket.millis + 60_000) }
            } else if state.withLock({ $0.cursors[shard] == nil }) {
                state.withLock { $0.cursors[shard] = bucket }
            }
            if started >= capacity { return bucket }
            bucket = Date(milliseconds: bucket.millis + 60_000)
        }
        return nil
    }

    /// Waits until the runs in flight drop to half the maximum, the runtime stops, or `deadline` passes.
    private func waitForCapacity(until deadline: ContinuousClock.Instant) async {
        let refillMark = service.configuration.maximumConcurrentRuns / 2
        let serial = state.withLock { state -> UInt64 in
            state.waiterSerial &+= 1
            return state.waiterSerial
        }
        // The timer bounds every wait, also one whose cancellation raced with storing its continuation.
        let timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            self.wakePoller(serial: serial)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.stopping || state.inFlight.count <= refillMark { return true }
                    state.capacityWaiter = (serial, continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            self.wakePoller(serial: serial)
        }
        timer.cancel()
    }

    /// Resumes the poll loop's capacity wait (only the wait numbered `serial`, when given).
    func wakePoller(serial: UInt64?) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.capacityWaiter, serial == nil || waiter.serial == serial else { return nil }
            state.capacityWaiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    /// Starts claiming and executing `entry` unless this runtime is already on it.
    private func start(_ entry: QueueEntry) -> Bool {
        let key = "\(entry.jobID)/\(entry.attempt)"
        let handBack = LockedBox<(@Sendable () -> Void)?>(nil)
        let registered = state.withLock { state -> Bool in
            guard !state.stopping, state.inFlight[key] == nil else { return false }
            state.inFlight[key] = { handBack.withLock { $0 }?() }
            return true
        }
        guard registered else { return false }
        let refillMark = service.configuration.maximumConcurrentRuns / 2
        Task {
            await self.claimAndExecute(entry, handBack: handBack)
            let refill = self.state.withLock { state -> Bool in
                state.inFlight.removeValue(forKey: key)
                return state.capacityWaiter != nil && state.inFlight.count <= refillMark
            }
            if refill { self.wakePoller(serial: nil) }
        }
        return true
    }

    // MARK: - Claim, execute, complete

    func claimAndExecute(_ entry: QueueEntry, handBack: LockedBox<(@Sendable () -> Void)?>) async {
        do {
            guard let claim = try await claim(entry) else { return }
            let end = await execute(entry, claim: claim, handBack: handBack)
            try await complete(entry, claim: claim, end: end)
        } catch {
            logger.warning("run failed to be recorded", metadata: ["job_id": "\(entry.jobID)", "error": "\(error)"])
        }
    }

    struct Claim: Sendable {
        var attempt: Int64
        var tries: Int
        var startedAt: Date
        var leaseExpiresAt: Date
    }

    /// Claims the run by CAS on the job row, raising `attempt` (the run's fencing token), then deletes the
    /// queue entry, records the run in the history and moves the status index from `queued` to `running`.
    ///
    /// Those writes go in one logged batch: unlogged, a coordinator failing halfway could apply the `queued`
    /// entry's delete without the `running` one's insert, and should this worker then die, no index entry
    /// would lead the repair sweep to the run whose lease expired. Lost whole, the `queued` entry leads it there.
    func claim(_ entry: QueueEntry) async throws -> Claim? {
        guard let claim = try await casClaim(entry) else { return nil }
        let now = claim.startedAt
        let cql = service.cql
        let history = "INSERT INTO \(cql.table("job_history")) (job_id, attempt, scheduled_at, started_at, status, worker_id) VALUES (?, ?, ?, ?, ?, ?)"
        let historyValues: [any CQLEncodable] = [entry.jobID, claim.attempt, entry.dueAt, now, JobStatus.running.rawValue, workerID]
        var writes: [(String, [any CQLEncodable])] = [(service.entryDelete, entry.deleteValues), (history, historyValues)]
        writes += service.indexMove(entry.jobID, from: .queued, to: .running, at: now)
        try await cql.writeAll(writes, logged: true)
        return claim
    }

    /// The claim's CAS alone (a stale entry is deleted when it loses); the run's claim when it applied.
    func casClaim(_ entry: QueueEntry) async throws -> Claim? {
        let cql = service.cql
        let now = WallClock.now()
        let claim = Claim(attempt: entry.attempt + 1, tries: entry.tries + 1, startedAt: now,
                          leaseExpiresAt: now.adding(service.configuration.runLease))
        let update = "UPDATE \(cql.table("jobs")) SET status = ?, attempt = ?, tries = ?, lease_owner = ?, lease_expires_at = ?, started_at = ?, finished_at = null, last_fire_at = ?, updated_at = ? WHERE job_id = ? IF attempt = ? AND status = ? AND next_due_at = ?"
        let values: [any CQLEncodable] = [JobStatus.running.rawValue, claim.attempt, Int32(clamping: claim.tries), workerID,
                                          claim.leaseExpiresAt, now, entry.dueAt, now, entry.jobID, entry.attempt,
                                          JobStatus.queued.rawValue, entry.dueAt]
        let applied = try await service.casJob(entry.jobID, update, values) {
            $0.attempt == claim.attempt && $0.leaseOwner == self.workerID && $0.leaseExpiresAt == claim.leaseExpiresAt
        }
        guard applied else {
            // The job moved on (claimed, cancelled, re-activated): this entry is stale.
            try await cql.run(service.entryDelete, entry.deleteValues)
            return nil
        }
        service.metrics.runsStarted.increment()
        service.metrics.queueLag.record(max(0, Double(now.millis - entry.dueAt.millis) / 1000))
        return claim
    }

    /// Runs the handler until it returns, its deadline passes, the run lease is lost or the run is handed back.
    func execute(_ entry: QueueEntry, claim: Claim, handBack: LockedBox<(@Sendable () -> Void)?>) async -> RunEnd {
        guard let handler = service.handlers.handler(for: entry.kind) else {
            return .handler(output: nil, error: "no handler registered for kind \(entry.kind)")
        }
        let deadline = ContinuousClock.now + .seconds(max(1, entry.maxDurationSeconds))
        let context = JobContext(jobID: entry.jobID, attempt: claim.attempt, payload: entry.payload, deadline: deadline,
                                 logger: logger)
        let tasks = LockedBox<[Task<Void, Never>]>([])
        let end = await withCheckedContinuation { (continuation: CheckedContinuation<RunEnd, Never>) in
            let once = LockedBox<CheckedContinuation<RunEnd, Never>?>(continuation)
            let finish: @Sendable (RunEnd) -> Void = { end in once.withLock { slot in defer { slot = nil }; return slot }?.resume(returning: end) }
            handBack.withLock { $0 = { finish(.handedBack) } }
            let run = Task {
                do {
                    let result = try await handler.run(context)
                    finish(.handler(output: result.output, error: nil))
                } catch {
                    finish(.handler(output: nil, error: "\(error)"))
                }
            }
            let timer = Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                if !Task.isCancelled { finish(.timedOut) }
            }
            let keeper = Task { await self.keepRunLease(entry, claim: claim, lost: { finish(.leaseLost) }) }
            tasks.withLock { $0 = [run, timer, keeper] }
        }
        // Cancellation is cooperative: whatever the handler still does is fenced out by the attempt.
        for task in tasks.withLock({ $0 }) { task.cancel() }
        return end
    }

    /// Renews the run lease (one LWT each) while the run outlasts two thirds of it.
    private func keepRunLease(_ entry: QueueEntry, claim: Claim, lost: @Sendable () -> Void) async {
        let runLease = service.configuration.runLease
        var expiresAt = claim.leaseExpiresAt
        while !Task.isCancelled {
            let renewAt = Date(milliseconds: expiresAt.millis - runLease.milliseconds / 3)
            let wait = Double(renewAt.millis - WallClock.now().millis) / 1000
            if wait > 0 { try? await Task.sleep(for: .seconds(wait)) }
            if Task.isCancelled { return }
            let next = WallClock.now().adding(runLease)
            let update = "UPDATE \(service.cql.table("jobs")) SET lease_expires_at = ? WHERE job_id = ? IF attempt = ? AND status = ? AND lease_owner = ?"
            do {
                let applied = try await service.casJob(entry.jobID, update, [next, entry.jobID, claim.attempt, JobStatus.running.rawValue, workerID]) {
                    $0.attempt == claim.attempt && $0.leaseExpiresAt == next
                }
                if !applied {
                    lost()
                    return
                }
                expiresAt = next
            } catch {
                if Task.isCancelled { return }
                logger.warning("run lease renewal failed", metadata: ["job_id": "\(entry.jobID)", "error": "\(error)"])
                if WallClock.now() >= expiresAt {
                    lost()
                    return
                }
            }
        }
    }

    /// Records the run's end by CAS conditioned on its attempt; exactly one completion per run is accepted.
    func complete(_ entry: QueueEntry, claim: Claim, end: RunEnd) async throws {
        let cql = service.cql
        let now = WallClock.now()
        let outcome: RunOutcome
        var output: String?
        var error: String?
        switch end {
        case let .handler(handlerOutput, handlerError):
            outcome = handlerError == nil ? .succeeded : .failed
            output = handlerOutput.map { String($0.prefix(65_536)) }
            error = handlerError.map { String($0.prefix(8_192)) }
        case .timedOut:
            outcome = .timedOut
            error = "exceeded max_duration_seconds (\(entry.maxDurationSeconds))"
        case .handedBack:
            outcome = .cancelled
            error = "worker \(workerID) shut down; run handed back"
        case .leaseLost:
            service.metrics.staleCompletions.increment()
            logger.warning("run lease lost; completion skipped", metadata: ["job_id": "\(entry.jobID)", "attempt": "\(claim.attempt)"])
            return
        }
        let next = nextState(entry, claim: claim, outcome: outcome, now: now)
        let update = "UPDATE \(cql.table("jobs")) SET status = ?, tries = ?, next_due_at = ?, queue_shard = ?, queue_bucket = ?, lease_owner = null, lease_expires_at = null, finished_at = ?, last_outcome = ?, last_error = ?, updated_at = ? WHERE job_id = ? IF attempt = ? AND status = ?"
        let values: [any CQLEncodable] = [next.status.rawValue, Int32(clamping: next.tries), next.due, next.due.map { _ in Int32(entry.shard) },
                                          next.due?.bucket, now, outcome.rawValue, error, now, entry.jobID, claim.attempt, JobStatus.running.rawValue]
        var cancelledByUser = false
        var applied = false
        do {
            let result = try await cql.run(update, values)
            applied = result.wasApplied
            if !applied, let row = result.lwt?.row {
                cancelledByUser = try row.optional("attempt", as: Int64.self) == claim.attempt
                    && row.optional("status", as: String.self) == JobStatus.cancelled.rawValue
            }
        } catch let failure as CQLError where failure.isUnknownOutcome {
            let job = try await service.getSerial(entry.jobID)
            applied = job.map { $0.attempt == claim.attempt && $0.finishedAt == now && $0.status == next.status } ?? false
            cancelledByUser = !applied && job.map { $0.attempt == claim.attempt && $0.status == .cancelled } == true
        }
        let historyUpdate = "UPDATE \(cql.table("job_history")) SET finished_at = ?, status = ?, output = ?, error = ? WHERE job_id = ? AND attempt = ?"
        if applied {
            service.metrics.run(outcome)
            service.metrics.runDuration.recordNanoseconds(max(0, (now.millis - claim.startedAt.millis) * 1_000_000))
            var writes: [(String, [any CQLEncodable])] = [(historyUpdate, [now, JobStatus(outcome).rawValue, output, error, entry.jobID, claim.attempt])]
            writes += service.indexMove(entry.jobID, from: .running, to: next.status, at: now, due: next.due)
            if let due = next.due {
                var queued = entry
                queued.attempt = claim.attempt
                queued.dueAt = due
                queued.bucket = due.bucket
                queued.tries = next.tries
                writes.append((service.entryInsert, queued.values(enqueuedAt: now)))
            }
            // Re-queued (retry, next fire): logged, since a partly applied batch could delete the `running` index
            // entry without writing the `queued` one or the queue entry, and nothing would lead to the job again.
            // Finished: nothing needs to find the job, so a partial batch costs at most a listing's accuracy.
            try await cql.writeAll(writes, logged: next.due != nil)
        } else if cancelledByUser {
            service.metrics.run(.cancelled)
            try await cql.run(historyUpdate, [now, JobStatus.cancelled.rawValue, output, "job cancelled while running", entry.jobID, claim.attempt])
        } else {
            service.metrics.staleCompletions.increment()
            logger.warning("stale completion rejected", metadata: ["job_id": "\(entry.jobID)", "attempt": "\(claim.attempt)", "worker_id": "\(workerID)"])
        }
    }

    /// The job's state after a run: retry with backoff, the next fire of a recurring job, or finished.
    private func nextState(_ entry: QueueEntry, claim: Claim, outcome: RunOutcome, now: Date) -> (status: JobStatus, due: Date?, tries: Int) {
        let schedule = try? Schedule.parse(entry.schedule, timeZone: entry.timezone)
        let recurring = schedule?.isRecurring ?? false
        // The fire after the one just run; missed fires collapse into one run now.
        let nextFire = recurring ? schedule?.nextFire(after: entry.dueAt, now: now) : nil
        switch outcome {
        case .succeeded:
            if let nextFire { return (.queued, nextFire, 0) }
            return (.succeeded, nil, claim.tries)
        case .failed, .timedOut:
            if claim.tries < entry.maxAttempts {
                return (.queued, now.adding(service.configuration.retryDelay(afterTries: claim.tries)), claim.tries)
            }
            if let nextFire { return (.queued, nextFire, 0) }
            return (JobStatus(outcome), nil, claim.tries)
        case .cancelled:
            return (.queued, now, max(0, claim.tries - 1))
        }
    }

    // MARK: - Repair sweep

    /// For jobs of owned shards: reclaims runs whose run lease expired, and re-enqueues queued jobs
    /// whose queue entry is missing or lies in a bucket the poller has left behind.
    ///
    /// A `queued` index entry carries the job's due time (schema migration 2): one due beyond
    /// ``repairHorizon()`` is skipped without reading its job row, so a sweep costs one index page per
    /// few thousand jobs waiting far ahead plus one row read per running or soon-due job. An entry
    /// without a due time (written before the migration) falls back to reading the row, and gets the
    /// due time when it lies beyond the horizon.
    ///
    /// A `queued` entry whose job is neither queued nor running is an intent of ``JobService/run(_:)`` whose
    /// CAS lost, or the leftover of a partly applied batch: once older than `intentGrace` (by default
    /// ``JobService/runIntentGrace``) it is deleted at its own write time, so a newer write of it stands.
    /// The entry of a running job is kept: after a claim's lost batch it is the only one leading to the run.
    func repairSweep(intentGrace: Duration? = nil) async throws {
        let grace = intentGrace ?? service.runIntentGrace
        let owned = Set(ownedShards)
        guard !owned.isEmpty else { return }
        let cql = service.cql
        for status in [JobStatus.running, .queued] {
            for slot in 0..<JobHash.slots {
                var statement = try await cql.statement("SELECT job_id, next_due_at, writetime(updated_at) AS written FROM \(cql.table("jobs_by_status")) WHERE status = ? AND slot = ?",
                                                        [status.rawValue, Int32(slot)])
                // Index rows are small (an id and a time); large pages keep far-ahead jobs at a few requests per sweep.
                statement.pageSize = 5000
                for try await row in service.session.rows(statement) {
                    guard !isStopping else { return }
                    let id = try row.decode(UUID.self, named: "job_id")
                    let shard = JobHash.shard(id, shards: shards)
                    guard owned.contains(shard), owns(shard) else { continue }
                    // The index trails the job row: a stale `queued` entry of a job since claimed keeps a due
                    // time that was already reached, so only entries of jobs still waiting are skipped here.
                    let indexedDue = status == .queued ? try row.optional("next_due_at", as: Date.self) : nil
                    if let indexedDue, indexedDue > repairHorizon() { continue }
                    let written = try row.optional("written", as: Int64.self)
                    guard let job = try await service.get(id) else { continue }
                    if job.status == .running, let expires = job.leaseExpiresAt, expires < WallClock.now() {
                        try await reclaim(job, shard: shard)
                    } else if job.status == .queued {
                        try await repairQueued(job, shard: shard)
                        if status == .queued, indexedDue == nil, let written, let due = job.nextDueAt, due > repairHorizon() {
                            try await backfillIndexedDue(id, due: due, written: written)
                        }
                    } else if status == .queued, job.status != .running, let written,
                              WallClock.now().millis - written / 1000 > grace.milliseconds {
                        try await cql.run("DELETE FROM \(cql.table("jobs_by_status")) USING TIMESTAMP ? WHERE status = ? AND slot = ? AND job_id = ?",
                                          [written, JobStatus.queued.rawValue, Int32(JobHash.slot(id)), id])
                        logger.info("deleted stale queued index entry", metadata: ["job_id": "\(id)", "status": "\(job.status.rawValue)"])
                    }
                }
            }
        }
    }

    /// Queued runs due after this need nothing from the current sweep: a missing entry matters only once
    /// it falls due (a later sweep, at least one sweep ahead, writes it), and a future bucket is never
    /// behind the poller's cursor.
    func repairHorizon() -> Date {
        WallClock.now().adding(service.configuration.repairInterval * 2)
    }

    /// Gives a `queued` index entry written before schema migration 2 its job's due time, so later sweeps
    /// skip the job without reading its row (one request, once per such entry). Written at the entry's own
    /// write time `written` (read with the sweep's index page): a delete of the entry since (a cancel moving
    /// the job on) still shadows the cell, so no stale entry comes back.
    private func backfillIndexedDue(_ id: UUID, due: Date, written: Int64) async throws {
        let cql = service.cql
        try await cql.run(
            "UPDATE \(cql.table("jobs_by_status")) USING TIMESTAMP ? SET next_due_at = ? WHERE status = ? AND slot = ? AND job_id = ?",
            [written, due, JobStatus.queued.rawValue, Int32(JobHash.slot(id)), id])
    }

    /// Re-queues (or finishes) a run whose worker stopped renewing its run lease.
    private func reclaim(_ job: JobView, shard: Int) async throws {
        guard let expires = job.leaseExpiresAt else { return }
        let cql = service.cql
        let now = WallClock.now()
        let recurring = (try? job.parsedSchedule().isRecurring) ?? false
        let retry = job.tries < job.maxAttempts || recurring
        let status: JobStatus = retry ? .queued : .failed
        let tries = job.tries < job.maxAttempts ? job.tries : 0
        let due: Date? = retry ? now : nil
        let message = "run lease expired (worker \(job.leaseOwner ?? "unknown")); reclaimed by \(workerID)"
        let update = "UPDATE \(cql.table("jobs")) SET status = ?, tries = ?, next_due_at = ?, queue_shard = ?, queue_bucket = ?, lease_owner = null, lease_expires_at = null, finished_at = ?, last_outcome = ?, last_error = ?, updated_at = ? WHERE job_id = ? IF attempt = ? AND status = ? AND lease_expires_at = ?"
        let values: [any CQLEncodable] = [status.rawValue, Int32(clamping: tries), due, due.map { _ in Int32(shard) }, due?.bucket, now,
                                          RunOutcome.failed.rawValue, message, now, job.jobID, job.attempt, JobStatus.running.rawValue, expires]
        guard try await service.casJob(job.jobID, update, values, expect: { $0.attempt == job.attempt && $0.finishedAt == now }) else { return }
        logger.info("reclaimed abandoned run", metadata: ["job_id": "\(job.jobID)", "attempt": "\(job.attempt)"])
        var writes: [(String, [any CQLEncodable])] = [(
            "UPDATE \(cql.table("job_history")) SET finished_at = ?, status = ?, error = ? WHERE job_id = ? AND attempt = ?",
            [now, JobStatus.failed.rawValue, message, job.jobID, job.attempt])]
        writes += service.indexMove(job.jobID, from: .running, to: status, at: now, due: due)
        if let due {
            var reloaded = job
            reloaded.status = .queued
            writes.append((service.entryInsert, QueueEntry(job: reloaded, shard: shard, dueAt: due, tries: tries).values(enqueuedAt: now)))
        }
        // Logged when re-queued, for the reason complete(_:claim:end:) gives.
        try await cql.writeAll(writes, logged: due != nil)
    }

    /// Writes the queue entry of a queued job again when it is missing or behind the poller.
    private func repairQueued(_ job: JobView, shard: Int) async throws {
        guard let due = job.nextDueAt else { return }
        let cql = service.cql
        let entryShard = job.queueShard ?? shard
        let bucket = job.queueBucket ?? due.bucket
        let cursor = state.withLock { $0.cursors[entryShard] }
        let behind = cursor.map { bucket < $0 } ?? false
        // The job row's due time decides (the index's may be missing); see repairHorizon().
        if !behind, due > repairHorizon() { return }
        if !behind {
            let found = try await cql.run(
                "SELECT job_id FROM \(cql.table("jobs_sharded")) WHERE shard = ? AND bucket = ? AND due_at = ? AND job_id = ?",
                [Int32(entryShard), bucket, due, job.jobID])
            if found.first != nil { return }
        }
        // Re-read: a claim between the two reads deletes the entry legitimately.
        guard let again = try await service.get(job.jobID), again.status == .queued, again.attempt == job.attempt,
              again.nextDueAt == due else { return }
        let now = WallClock.now()
        let target = behind ? now.bucket : bucket
        let entry = QueueEntry(shard: entryShard, dueAt: due, jobID: job.jobID, attempt: job.attempt, kind: job.kind, schedule: job.schedule,
                               timezone: job.timezone, payload: job.payload, maxDurationSeconds: job.maxDurationSeconds,
                               maxAttempts: job.maxAttempts, tries: job.tries, bucket: target)
        try await cql.run(service.entryInsert, entry.values(enqueuedAt: now))
        logger.info("re-enqueued queued job", metadata: ["job_id": "\(job.jobID)", "reason": "\(behind ? "overdue" : "entry missing")"])
    }
}
