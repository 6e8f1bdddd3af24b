import CQLWire
public import Foundation

/// Changing a job once it exists: update, pause, resume and purge.
///
/// Each is a CAS on the job row conditioned on the status, attempt and revision it was read with, so
/// it never overwrites a claim, a run's end, a cancel or another change it did not see, and an
/// outcome left unknown by a timeout is resolved by a SERIAL read (a replay is answered as applied).
/// A run in flight is never changed: it runs the definition its queue entry carried, and its end,
/// conditioned on the revision, re-reads the row when the job was changed meanwhile (see
/// ``RunCoordinator``), so the next fire uses the new definition.
extension JobService {
    // MARK: - Update

    /// Applies `patch`: a queued run is replaced (same due time, or the new schedule's next fire when the
    /// schedule changed) under a new attempt number that fences out the old entry; a running run is left
    /// alone and the change applies from the next fire. A cancelled job throws ``JobServiceError/refused(_:_:)``;
    /// a definition that fails validation throws ``JobValidationError``.
    public func update(_ id: UUID, patch: JobPatch) async throws -> JobView {
        for _ in 0..<8 {
            guard let job = try await get(id) else { throw JobServiceError.notFound(id) }
            if job.status == .cancelled {
                throw JobServiceError.refused(.cancelled, "a cancelled job never runs again, so it cannot be changed; create a new job")
            }
            // Due times follow the clock; the change's own time (updated_at, write times) follows the job's last change.
            let clockNow = clock.now()
            let now = changeTime(after: job)
            let definition = try patch.applied(to: job, kinds: handlers.kinds, now: clockNow)
            var next = job
            next.define(definition)
            next.revision = job.revision + 1
            next.updatedAt = now
            var requeue: (entry: QueueEntry, old: QueueEntry.Key?)?
            switch job.status {
            case .queued:
                // The queue entry carries the definition: a new attempt number fences the old one out of any claim.
                next.attempt = job.attempt + 1
                let due = patch.changesSchedule ? (definition.schedule.firstFire(activatedAt: clockNow) ?? clockNow) : (job.nextDueAt ?? clockNow)
                let shard = job.queueShard ?? JobHash.shard(id, shards: configuration.shards)
                next.nextDueAt = due
                next.queueShard = shard
                let old = job.nextDueAt.map { QueueEntry.Key(shard: Int32(clamping: shard), bucket: job.queueBucket ?? $0.bucket, dueAt: $0, jobID: id) }
                requeue = (QueueEntry(job: next, shard: shard, dueAt: due, tries: job.tries), old)
                // Before the CAS, as run(_:) writes its intent: the earlier due time, so the repair sweep reads
                // the row whichever of the two is current should the entry be lost.
                let earlier = min(due, job.nextDueAt ?? due)
                try await store.write([.index(StatusIndexEntry(status: .queued, jobID: id, updatedAt: now, nextDueAt: earlier))],
                                      logged: false, timestamp: now.millis * 1000)
            case .paused where patch.changesSchedule:
                next.pausedDueAt = definition.schedule.isRecurring ? nil : definition.schedule.firstFire(activatedAt: clockNow)
            case .created, .running, .succeeded, .failed, .timedOut, .paused, .cancelled:
                break
            }
            guard try await revise(job, to: next, at: now) else { continue }
            if let requeue {
                var writes: [JobWrite] = [.enqueue(requeue.entry, enqueuedAt: now),
                                          .index(StatusIndexEntry(status: .queued, jobID: id, updatedAt: now, nextDueAt: requeue.entry.dueAt))]
                if let old = requeue.old, old != requeue.entry.key { writes.append(.dequeue(old)) }
                try await store.write(writes, logged: false, timestamp: now.millis * 1000)
            }
            return next
        }
        throw try await refusal(id, "changed concurrently by other requests; retry")
    }

    // MARK: - Pause and resume

    /// Pauses the job: a queued run leaves the queue (status `paused`); a running run finishes and the job
    /// is then `paused` instead of queueing its next fire or retry. Pausing a paused job returns it.
    public func pause(_ id: UUID) async throws -> JobView {
        for _ in 0..<8 {
            guard let job = try await get(id) else { throw JobServiceError.notFound(id) }
            let now = changeTime(after: job)
            var next = job
            next.updatedAt = now
            switch job.status {
            case .paused:
                return job
            case .running:
                if job.paused { return job }
                next.paused = true
                next.revision = job.revision + 1
            case .queued:
                next.status = .paused
                next.pausedDueAt = job.nextDueAt
                next.nextDueAt = nil
                next.queueShard = nil
                // The `paused` index entry before the CAS, so a listing finds the job whatever stops after it.
                try await store.write([.index(StatusIndexEntry(status: .paused, jobID: id, updatedAt: now))], logged: false,
                                      timestamp: now.millis * 1000)
            case .created:
                throw JobServiceError.refused(.created, "it was never activated, so nothing would run; only a queued or running job can be paused")
            case .succeeded, .failed, .timedOut:
                throw JobServiceError.refused(job.status, "it has finished and nothing is queued; only a queued or running job can be paused")
            case .cancelled:
                throw JobServiceError.refused(.cancelled, "a cancelled job never runs again")
            }
            guard try await revise(job, to: next, at: now) else { continue }
            if job.status == .queued {
                // The old entry is fenced out of any claim by the status already; these writes only tidy up.
                var writes = JobWrite.move(id, from: .queued, to: .paused, at: now)
                if let due = job.nextDueAt {
                    let shard = job.queueShard ?? JobHash.shard(id, shards: configuration.shards)
                    writes.append(.dequeue(QueueEntry.Key(shard: Int32(clamping: shard), bucket: job.queueBucket ?? due.bucket, dueAt: due, jobID: id)))
                }
                try await store.write(writes, logged: false, timestamp: now.millis * 1000)
            }
            return next
        }
        throw try await refusal(id, "changed concurrently by other requests; retry")
    }

    /// Resumes a paused job: a recurring one is queued at its next fire, a one-shot one at the due time it had
    /// when paused (now when that has passed); a running job whose pause was asked for goes on as before.
    /// Resuming a job that is queued, or running without a pause, returns it (the resume already applied).
    public func resume(_ id: UUID) async throws -> JobView {
        for _ in 0..<8 {
            guard let job = try await get(id) else { throw JobServiceError.notFound(id) }
            switch job.status {
            case .paused:
                return try await activate(id) { current throws in
                    switch current.status {
                    case .paused: return nil
                    case .queued, .running: return current
                    case .created, .succeeded, .failed, .timedOut, .cancelled:
                        throw JobServiceError.refused(current.status, "only a paused job can be resumed")
                    }
                }
            case .running where job.paused:
                let now = changeTime(after: job)
                var next = job
                next.paused = false
                next.revision = job.revision + 1
                next.updatedAt = now
                if try await revise(job, to: next, at: now) { return next }
            case .queued, .running:
                return job
            case .created, .succeeded, .failed, .timedOut, .cancelled:
                throw JobServiceError.refused(job.status, "only a paused job can be resumed")
            }
        }
        throw try await refusal(id, "changed concurrently by other requests; retry")
    }

    // MARK: - Purge

    /// Deletes a finished job (succeeded, failed, timed out or cancelled) with its history, its status-index
    /// entry and its idempotency key (which can then be used again). Other statuses throw ``JobServiceError/refused(_:_:)``.
    public func purge(_ id: UUID) async throws {
        for _ in 0..<8 {
            guard let job = try await get(id) else { throw JobServiceError.notFound(id) }
            guard job.status.isFinished else {
                throw JobServiceError.refused(job.status, "only a finished job (succeeded, failed, timed_out or cancelled) can be purged; cancel it first")
            }
            if job.status == .cancelled, job.leaseOwner != nil, let lease = job.leaseExpiresAt, lease > clock.now() {
                throw JobServiceError.refused(.cancelled, "its cancelled run is still stopping; retry in a few seconds")
            }
            let deleted: Bool
            do {
                deleted = try await store.deleteJob(id, readStatus: job.status, readAttempt: job.attempt)
            } catch let error as CQLError where error.isUnknownOutcome {
                deleted = try await store.job(id, serial: true) == nil
            }
            guard deleted else { continue }
            if let key = job.idempotencyKey {
                do {
                    _ = try await store.deleteIdempotencyKey(key, jobID: id)
                } catch let error as CQLError where error.isUnknownOutcome {
                    // Resolved by reading: a key still naming the job is an error the retry of this request cannot fix.
                    if try await store.idempotencyKey(key, serial: true)?.jobID == id { throw error }
                }
            }
            try await store.purgeTraces(id, status: job.status)
            return
        }
        throw try await refusal(id, "changed concurrently by other requests; retry")
    }

    // MARK: - Helpers

    /// The time of a change to `job`: now, or just after the job's last change when this client's clock is
    /// behind it. Every write of the change goes out at this time: a status-index tombstone it writes is
    /// then older than the next activation's entries, which are written after the job's last change
    /// (see ``writeTimestamp(after:)``), also when that activation runs on a worker whose clock is behind.
    func changeTime(after job: JobView) -> Date {
        let now = clock.now()
        guard let changed = job.updatedAt, changed.millis >= now.millis else { return now }
        return Date(milliseconds: changed.millis + 1)
    }

    /// The CAS of a change from `job` as read to `next`; an unknown outcome is resolved by a SERIAL read.
    private func revise(_ job: JobView, to next: JobView, at now: Date) async throws -> Bool {
        try await resolvingUnknownOutcome(job.jobID, expect: {
            $0.revision == next.revision && $0.attempt == next.attempt && $0.status == next.status && $0.updatedAt == now
        }) { try await store.revise(JobRevision(read: job, job: next, now: now)) }
    }

    /// The error when every try lost a race: the job's status now, and `reason`.
    private func refusal(_ id: UUID, _ reason: String) async throws -> JobServiceError {
        guard let job = try await get(id) else { return .notFound(id) }
        return .refused(job.status, reason)
    }
}
