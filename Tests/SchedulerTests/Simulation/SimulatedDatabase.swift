import CQLWire
import Foundation
@testable import Scheduler
import NIOConcurrencyHelpers

/// The simulated cluster's tables: one linearizable copy, with Cassandra's last-write-wins by
/// timestamp (and delete-wins on ties) for the queue and status-index rows, which are written
/// plainly and deleted at chosen timestamps. It audits every write it accepts.
final class SimulatedDatabase: Sendable {
    struct Cell<Value: Sendable>: Sendable {
        /// nil: a tombstone.
        var value: Value?
        var timestamp: Int64
    }

    struct IndexKey: Hashable, Sendable {
        var status: JobStatus
        var jobID: UUID
    }

    struct RunKey: Hashable, Sendable, Comparable {
        var jobID: UUID
        var attempt: Int64
        static func < (a: RunKey, b: RunKey) -> Bool { (a.jobID.uuidString, a.attempt) < (b.jobID.uuidString, b.attempt) }
    }

    struct LockCell: Sendable {
        var holder: String?
        var generation: Int64
        var epoch: Int64
        var token: Int64
        var expireAt: Date?
    }

    struct Tables: Sendable {
        var jobs: [UUID: JobView] = [:]
        var queue: [QueueEntry.Key: Cell<QueueEntry>] = [:]
        var index: [IndexKey: Cell<StatusIndexEntry>] = [:]
        var history: [RunKey: RunRecord] = [:]
        /// `run_cancels`: the cancel requests per worker.
        var cancelRequests: [String: Set<RunCancelRequest>] = [:]
        var keys: [String: IdempotencyKeyRow] = [:]
        var workers: [String: Date] = [:]
        var locks: [String: LockCell] = [:]
        var lockSeq: [String: Int64] = [:]
        // The audit.
        var endsAccepted: [RunKey: Int] = [:]
        var terminalEnds: [UUID: Int] = [:]
        var activations: [UUID: Int] = [:]
        var cancelled: Set<UUID> = []
        var purged: Set<UUID> = []
        var maxToken: [String: Int64] = [:]
        var violations: [String] = []
        var checks = 0
    }

    let tables = NIOLockedValueBox(Tables())
    let turnstile: Turnstile

    init(turnstile: Turnstile) { self.turnstile = turnstile }

    /// The servers' wall clock (no skew).
    var serverNow: Date { Date(milliseconds: SimulatedClock.epoch.millis + turnstile.now.milliseconds) }

    func violation(_ text: String) { tables.withLockedValue { $0.violations.append(text) } }

    /// Trace lines the database adds (Paxos rounds decided late); the world collects them.
    let notes = NIOLockedValueBox<[String]>([])
    func note(_ text: String) { notes.withLockedValue { $0.append(text) } }

    // MARK: - Jobs

    static func applyClaim(_ update: ClaimUpdate, _ t: inout Tables) -> Bool {
        guard var job = t.jobs[update.jobID], job.attempt == update.readAttempt, job.status == .queued,
              job.nextDueAt == update.readDue else { return false }
        job.status = .running
        job.attempt = update.attempt
        job.tries = update.tries
        job.leaseOwner = update.leaseOwner
        job.leaseExpiresAt = update.leaseExpiresAt
        job.startedAt = update.now
        job.finishedAt = nil
        job.lastFireAt = update.readDue
        job.updatedAt = update.now
        t.jobs[update.jobID] = job
        return true
    }

    /// `by`: the worker sending the end; `now`: the servers' time; `skew`: how far clocks may disagree.
    static func applyEnd(_ update: RunEndUpdate, by worker: String, now: Date, skew: Duration, _ t: inout Tables) -> JobCAS {
        guard var job = t.jobs[update.jobID] else { return JobCAS(applied: false) }
        guard job.attempt == update.attempt, job.status == .running, job.revision == update.revision,
              update.expiredLease == nil || job.leaseExpiresAt == update.expiredLease else {
            return JobCAS(applied: false, attempt: job.attempt, status: job.status, revision: job.revision)
        }
        // Only the run's own worker ends a run whose lease is live; anyone else only once it expired.
        if job.leaseOwner != worker, let expires = job.leaseExpiresAt, expires > now.adding(skew) {
            t.violations.append("run \(update.jobID) attempt \(update.attempt): ended by \(worker) while \(job.leaseOwner ?? "?")'s lease was live")
        }
        job.status = update.status
        job.tries = update.tries
        job.nextDueAt = update.nextDueAt
        job.queueShard = update.queueShard
        job.queueBucket = update.nextDueAt?.bucket
        job.leaseOwner = nil
        job.leaseExpiresAt = nil
        job.paused = false
        job.pausedDueAt = nil
        job.finishedAt = update.finishedAt
        job.lastOutcome = update.outcome
        job.lastError = update.error
        job.updatedAt = update.finishedAt
        t.jobs[update.jobID] = job
        let run = RunKey(jobID: update.jobID, attempt: update.attempt)
        t.endsAccepted[run, default: 0] += 1
        t.checks += 1
        if t.endsAccepted[run, default: 0] > 1 {
            t.violations.append("run \(run.jobID) attempt \(run.attempt): a second end was accepted")
        }
        if update.nextDueAt == nil { t.terminalEnds[update.jobID, default: 0] += 1 }
        return JobCAS(applied: true)
    }

    static func applyRenew(_ id: UUID, attempt: Int64, owner: String, until: Date, _ t: inout Tables) -> Bool {
        guard var job = t.jobs[id], job.attempt == attempt, job.status == .running, job.leaseOwner == owner else { return false }
        job.leaseExpiresAt = until
        t.jobs[id] = job
        return true
    }

    static func applyCancel(_ id: UUID, readStatus: JobStatus, readAttempt: Int64, now: Date, _ t: inout Tables) -> Bool {
        guard var job = t.jobs[id], job.status == readStatus, job.attempt == readAttempt else { return false }
        job.status = .cancelled
        job.nextDueAt = nil
        job.updatedAt = now
        t.jobs[id] = job
        t.cancelled.insert(id)
        return true
    }

    static func applyRevise(_ revision: JobRevision, _ t: inout Tables) -> Bool {
        let read = revision.read
        guard var job = t.jobs[read.jobID], job.status == read.status, job.attempt == read.attempt, job.revision == read.revision else {
            return false
        }
        let next = revision.job
        if job.status == .running, next.attempt != job.attempt || next.status != .running {
            t.violations.append("job \(read.jobID): a change moved a running run (attempt \(job.attempt)) to \(next.status.rawValue)#\(next.attempt)")
        }
        job.status = next.status
        job.schedule = next.schedule
        job.timezone = next.timezone
        job.payload = next.payload
        job.maxDurationSeconds = next.maxDurationSeconds
        job.maxAttempts = next.maxAttempts
        job.backoff = next.backoff
        job.revision = next.revision
        job.paused = next.paused
        job.pausedDueAt = next.pausedDueAt
        job.attempt = next.attempt
        job.tries = next.tries
        job.nextDueAt = next.nextDueAt
        job.queueShard = next.queueShard
        job.queueBucket = next.nextDueAt?.bucket
        job.updatedAt = revision.now
        t.jobs[read.jobID] = job
        // A pause ends the activation it took out of the queue (a resume is a new one).
        if read.status == .queued, next.status == .paused { t.terminalEnds[read.jobID, default: 0] += 1 }
        return true
    }

    static func applyActivate(_ update: ActivationUpdate, _ t: inout Tables) -> Bool {
        guard var job = t.jobs[update.jobID], job.status == update.readStatus, job.attempt == update.readAttempt else { return false }
        job.status = .queued
        job.tries = 0
        job.nextDueAt = update.due
        job.queueShard = update.shard
        job.queueBucket = update.due.bucket
        job.updatedAt = update.now
        t.jobs[update.jobID] = job
        t.activations[update.jobID, default: 0] += 1
        return true
    }

    static func applyInsertJob(_ row: NewJobRow, _ t: inout Tables) {
        var job = t.jobs[row.jobID] ?? JobView(jobID: row.jobID)
        job.kind = row.kind
        job.schedule = row.schedule
        job.timezone = row.timezone
        job.payload = row.payload
        job.maxDurationSeconds = Int(row.maxDurationSeconds)
        job.maxAttempts = Int(row.maxAttempts)
        job.idempotencyKey = row.idempotencyKey
        job.status = JobStatus(rawValue: row.status) ?? .created
        job.attempt = row.attempt
        job.tries = Int(row.tries)
        job.nextDueAt = row.nextDueAt
        job.queueShard = row.queueShard.map(Int.init)
        job.queueBucket = row.queueBucket
        job.createdAt = row.createdAt
        job.updatedAt = row.updatedAt
        job.backoff = row.backoff
        if t.jobs[row.jobID] == nil, job.status == .queued { t.activations[row.jobID, default: 0] += 1 }
        t.jobs[row.jobID] = job
    }

    // MARK: - Plain writes

    /// Applies one plain write at client timestamp `timestamp` (microseconds).
    static func apply(_ write: JobWrite, timestamp: Int64, _ t: inout Tables) {
        switch write {
        case let .insertJob(row):
            // A late batch's older cells lose to the row's newer ones (last write wins).
            if t.jobs[row.jobID] == nil { applyInsertJob(row, &t) }
        case let .enqueue(entry, _):
            upsert(&t.queue, entry.key, entry, timestamp)
        case let .dequeue(key):
            delete(&t.queue, key, timestamp)
        case let .index(entry):
            upsert(&t.index, IndexKey(status: entry.status, jobID: entry.jobID), entry, timestamp)
        case let .unindex(status, id):
            delete(&t.index, IndexKey(status: status, jobID: id), timestamp)
        case let .unindexWritten(status, id, written):
            delete(&t.index, IndexKey(status: status, jobID: id), written)
        case let .indexDue(id, due, written):
            let key = IndexKey(status: .queued, jobID: id)
            if var cell = t.index[key], var entry = cell.value, written >= cell.timestamp {
                entry.nextDueAt = due
                cell.value = entry
                t.index[key] = cell
            }
        case let .startRun(start):
            let key = RunKey(jobID: start.jobID, attempt: start.attempt)
            var record = t.history[key] ?? RunRecord(attempt: start.attempt, status: .running)
            record.status = JobStatus(rawValue: start.status) ?? .running
            record.workerID = start.workerID
            record.scheduledAt = start.scheduledAt
            record.startedAt = start.startedAt
            t.history[key] = record
        case let .finishRun(finish):
            let key = RunKey(jobID: finish.jobID, attempt: finish.attempt)
            t.checks += 1
            let cancelledRun = t.jobs[finish.jobID].map { $0.attempt == finish.attempt && $0.status == .cancelled } ?? false
            if t.endsAccepted[key, default: 0] == 0, !cancelledRun {
                t.violations.append("run \(finish.jobID) attempt \(finish.attempt): history end written without an accepted end (stale token)")
            }
            var record = t.history[key] ?? RunRecord(attempt: finish.attempt, status: .running)
            record.status = JobStatus(rawValue: finish.status) ?? .failed
            record.finishedAt = finish.finishedAt
            record.output = finish.output
            record.error = finish.error
            record.exitCode = finish.exitCode
            record.httpStatus = finish.httpStatus.map(Int.init)
            t.history[key] = record
        case let .requestCancel(cancel):
            t.cancelRequests[cancel.workerID, default: []].insert(RunCancelRequest(jobID: cancel.jobID, attempt: cancel.attempt))
        case let .cancelRun(cancel):
            let key = RunKey(jobID: cancel.jobID, attempt: cancel.attempt)
            var record = t.history[key] ?? RunRecord(attempt: cancel.attempt, status: .running)
            record.status = .cancelled
            record.finishedAt = cancel.requestedAt
            record.error = RunCancel.error
            t.history[key] = record
        }
    }

    private static func upsert<Key: Hashable, Value>(_ table: inout [Key: Cell<Value>], _ key: Key, _ value: Value, _ timestamp: Int64) {
        if let cell = table[key] {
            // A tombstone wins a tie; a live cell is replaced by a write at least as new.
            if cell.value == nil ? timestamp <= cell.timestamp : timestamp < cell.timestamp { return }
        }
        table[key] = Cell(value: value, timestamp: timestamp)
    }

    private static func delete<Key: Hashable, Value>(_ table: inout [Key: Cell<Value>], _ key: Key, _ timestamp: Int64) {
        if let cell = table[key], timestamp < cell.timestamp { return }
        table[key] = Cell(value: nil, timestamp: timestamp)
    }

    // MARK: - Locks

    /// Records a lock row's new token. Whether the tokens workers *hold* increase is the world's check:
    /// a row created with a superseded generation may be granted here (and even taken over, should its
    /// creator's cleanup fail) but no worker ever holds its tokens while a newer generation's were held.
    static func grant(_ name: String, _ cell: LockCell, created: Bool = false, _ t: inout Tables) {
        t.checks += 1
        t.maxToken[name] = max(t.maxToken[name] ?? cell.token, cell.token)
        t.locks[name] = cell
    }
}

