import CQLWire
import Foundation
import Logging

/// For jobs of owned shards: reclaims runs whose run lease expired, and re-enqueues queued jobs
/// whose queue entry is missing or lies in a bucket the poller has left behind.
///
/// A `queued` index entry carries the job's due time (schema migration 2): one due beyond
/// ``horizon()`` is skipped without reading its job row, so a sweep costs one index page per
/// few thousand jobs waiting far ahead plus one row read per running or soon-due job. An entry
/// without a due time (written before the migration) falls back to reading the row, and gets the
/// due time when it lies beyond the horizon.
///
/// A `queued` entry whose job is neither queued nor running is an intent of ``JobService/run(_:)`` whose
/// CAS lost, or the leftover of a partly applied batch: once older than the intent grace (by default
/// ``JobService/runIntentGrace``) it is deleted at its own write time, so a newer write of it stands.
/// The entry of a running job is kept: after a claim's lost batch it is the only one leading to the run.
final class RepairSweep: Sendable {
    let service: JobService
    let ownership: ShardOwnership
    let poller: Poller
    let lifecycle: RuntimeLifecycle
    let logger: Logger

    init(service: JobService, ownership: ShardOwnership, poller: Poller, lifecycle: RuntimeLifecycle, logger: Logger) {
        self.service = service
        self.ownership = ownership
        self.poller = poller
        self.lifecycle = lifecycle
        self.logger = logger
    }

    private var store: any JobStoring { service.store }
    private var clock: any SchedulerClock { service.clock }

    /// One sweep over the `running` and `queued` status index.
    func sweep(intentGrace: Duration? = nil) async throws {
        let grace = intentGrace ?? service.runIntentGrace
        let owned = Set(ownership.ownedShards)
        guard !owned.isEmpty else { return }
        for status in [JobStatus.running, .queued] {
            for slot in 0..<JobHash.slots {
                try await store.scanStatusIndex(status, slot: slot) { indexed in
                    guard !lifecycle.isStopping else { return false }
                    try await repair(indexed, listedAs: status, owned: owned, grace: grace)
                    return true
                }
                if lifecycle.isStopping { return }
            }
        }
    }

    private func repair(_ indexed: IndexedJob, listedAs status: JobStatus, owned: Set<Int>, grace: Duration) async throws {
        let id = indexed.jobID
        let shard = JobHash.shard(id, shards: ownership.shards)
        guard owned.contains(shard), ownership.owns(shard) else { return }
        // The index trails the job row: a stale `queued` entry of a job since claimed keeps a due
        // time that was already reached, so only entries of jobs still waiting are skipped here.
        let indexedDue = status == .queued ? indexed.nextDueAt : nil
        if let indexedDue, indexedDue > horizon() { return }
        guard let job = try await service.get(id) else { return }
        if job.status == .running, let expires = job.leaseExpiresAt, expires < clock.now() {
            try await reclaim(job, shard: shard)
        } else if job.status == .queued {
            try await repairQueued(job, shard: shard)
            if status == .queued, indexedDue == nil, let written = indexed.written, let due = job.nextDueAt, due > horizon() {
                // Written at the entry's own write time: a delete of the entry since still shadows the cell.
                try await store.write([.indexDue(id, due: due, writtenAt: written)], logged: false)
            }
        } else if status == .queued, job.status != .running, let written = indexed.written,
                  clock.now().millis - written / 1000 > grace.milliseconds {
            try await store.write([.unindexWritten(.queued, id, writtenAt: written)], logged: false)
            logger.info("deleted stale queued index entry", metadata: ["job_id": "\(id)", "status": "\(job.status.rawValue)"])
        }
    }

    /// Queued runs due after this need nothing from the current sweep: a missing entry matters only once
    /// it falls due (a later sweep, at least one sweep ahead, writes it), and a future bucket is never
    /// behind the poller's cursor.
    func horizon() -> Date {
        clock.now().adding(service.configuration.repairInterval * 2)
    }

    /// Re-queues (or finishes) a run whose worker stopped renewing its run lease.
    func reclaim(_ job: JobView, shard: Int) async throws {
        guard let expires = job.leaseExpiresAt else { return }
        let now = clock.now()
        let recurring = (try? job.parsedSchedule().isRecurring) ?? false
        let retry = job.tries < job.maxAttempts || recurring
        let status: JobStatus = retry ? .queued : .failed
        let tries = job.tries < job.maxAttempts ? job.tries : 0
        let due: Date? = retry ? now : nil
        let message = "run lease expired (worker \(job.leaseOwner ?? "unknown")); reclaimed by \(ownership.workerID)"
        let update = RunEndUpdate(jobID: job.jobID, attempt: job.attempt, expiredLease: expires, status: status, tries: tries,
                                  nextDueAt: due, queueShard: due.map { _ in shard }, finishedAt: now, outcome: .failed, error: message)
        guard try await service.resolvingUnknownOutcome(job.jobID, expect: { $0.attempt == job.attempt && $0.finishedAt == now }, {
            try await store.endRun(update).applied
        }) else { return }
        logger.info("reclaimed abandoned run", metadata: ["job_id": "\(job.jobID)", "attempt": "\(job.attempt)"])
        var writes: [JobWrite] = [.finishRun(RunFinish(jobID: job.jobID, attempt: job.attempt, finishedAt: now,
                                                       status: JobStatus.failed.rawValue, error: message))]
        writes += JobWrite.move(job.jobID, from: .running, to: status, at: now, due: due)
        if let due {
            var reloaded = job
            reloaded.status = .queued
            writes.append(.enqueue(QueueEntry(job: reloaded, shard: shard, dueAt: due, tries: tries), enqueuedAt: now))
        }
        // Unlogged, for the reason RunCoordinator.complete gives: the `queued` index entry kept since the claim
        // leads the next sweep to a re-queued job whatever part of the batch lands.
        try await store.write(writes, logged: false)
    }

    /// Writes the queue entry of a queued job again when it is missing or behind the poller.
    func repairQueued(_ job: JobView, shard: Int) async throws {
        guard let due = job.nextDueAt else { return }
        let entryShard = job.queueShard ?? shard
        let bucket = job.queueBucket ?? due.bucket
        let behind = poller.cursor(of: entryShard).map { bucket < $0 } ?? false
        // The job row's due time decides (the index's may be missing); see horizon().
        if !behind, due > horizon() { return }
        if !behind {
            let key = QueueEntry.Key(shard: Int32(clamping: entryShard), bucket: bucket, dueAt: due, jobID: job.jobID)
            if try await store.hasQueueEntry(key) { return }
        }
        // Re-read: a claim between the two reads deletes the entry legitimately.
        guard let again = try await service.get(job.jobID), again.status == .queued, again.attempt == job.attempt,
              again.nextDueAt == due else { return }
        let now = clock.now()
        let entry = QueueEntry(job: job, shard: entryShard, dueAt: due, tries: job.tries, bucket: behind ? now.bucket : bucket)
        try await store.write([.enqueue(entry, enqueuedAt: now)], logged: false)
        logger.info("re-enqueued queued job", metadata: ["job_id": "\(job.jobID)", "reason": "\(behind ? "overdue" : "entry missing")"])
    }
}
