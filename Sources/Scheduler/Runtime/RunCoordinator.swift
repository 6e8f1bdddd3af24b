import CQLWire
import Foundation
import Logging

/// How a run's handler ended, as the run coordinator sees it.
enum RunEnd: Sendable, Hashable {
    case handler(output: String?, error: String?)
    case timedOut
    case leaseLost
    case handedBack
}

/// A run this worker claimed: its fencing token (`attempt`), its try count, when it started and
/// until when its run lease was granted.
struct Claim: Sendable, Hashable {
    var attempt: Int64
    var tries: Int
    var startedAt: Date
    var leaseExpiresAt: Date
}

/// What a run's end CAS decided.
enum RunVerdict: Sendable, Hashable {
    /// This run's end was recorded (exactly one per run).
    case applied
    /// The job was cancelled while the run ran.
    case cancelledByUser
    /// A newer run, a reclaim or another change fenced this run out.
    case stale
}

/// The life of each run on this worker: claim by CAS (raising the fencing token), execution under
/// the run's deadline while its run lease is renewed, and completion by CAS conditioned on the
/// token, then retry, next fire or finish. Also the in-flight registry the poller sizes its reads by.
final class RunCoordinator: Sendable {
    private struct Waiter {
        var threshold: Int
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var inFlight: [String: @Sendable () -> Void] = [:]
        /// Set by ``handBackAll()``: a run that reaches execution after it (still claiming then) is handed back at once.
        var handingBack = false
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
    }

    let service: JobService
    let workerID: String
    let lifecycle: RuntimeLifecycle
    let logger: Logger
    /// Jitter of retry delays (1.0...1.2); the simulation passes a seeded source.
    let jitter: @Sendable () -> Double
    private let state = LockedBox(State())

    init(service: JobService, workerID: String, lifecycle: RuntimeLifecycle, logger: Logger,
         jitter: @escaping @Sendable () -> Double = { Double.random(in: 1.0...1.2) }) {
        self.service = service
        self.workerID = workerID
        self.lifecycle = lifecycle
        self.logger = logger
        self.jitter = jitter
    }

    private var store: any JobStoring { service.store }
    private var clock: any SchedulerClock { service.clock }

    // MARK: - In flight

    /// Runs claimed or being claimed by this worker now.
    var inFlightCount: Int { state.withLock { $0.inFlight.count } }

    /// Starts claiming and executing `entry` in its own task unless this worker is already on it or stopping.
    func start(_ entry: QueueEntry) -> Bool {
        let key = "\(entry.jobID)/\(entry.attempt)"
        let handBack = LockedBox<(@Sendable () -> Void)?>(nil)
        let registered = state.withLock { state -> Bool in
            guard !lifecycle.isStopping, state.inFlight[key] == nil else { return false }
            state.inFlight[key] = { handBack.withLock { $0 }?() }
            return true
        }
        guard registered else { return false }
        Task {
            await self.claimAndExecute(entry, handBack: handBack)
            let woken = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.inFlight.removeValue(forKey: key)
                let count = state.inFlight.count
                let ready = state.waiters.filter { $0.value.threshold >= count }
                for id in ready.keys { state.waiters.removeValue(forKey: id) }
                return ready.values.map(\.continuation)
            }
            for continuation in woken { continuation.resume() }
        }
        return true
    }

    /// Waits until at most `threshold` runs are in flight, the runtime stops, or `deadline` passes.
    func waitUntil(inFlightAtMost threshold: Int, deadline: SchedulerInstant) async {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        let clock = self.clock
        // The timer bounds every wait, also one whose cancellation raced with storing its continuation.
        let timer = Task {
            try? await clock.sleep(until: deadline)
            self.wake(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if lifecycle.isStopping && threshold > 0 || state.inFlight.count <= threshold { return true }
                    state.waiters[id] = Waiter(threshold: threshold, continuation: continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            self.wake(id)
        }
        timer.cancel()
    }

    /// Resumes the wait numbered `id`, or every wait when nil.
    func wake(_ id: UInt64? = nil) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if let id { return state.waiters.removeValue(forKey: id).map { [$0.continuation] } ?? [] }
            defer { state.waiters = [:] }
            return state.waiters.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Hands every run in flight back to the queue (shutdown past its grace period).
    func handBackAll() {
        let handBacks = state.withLock { state -> [@Sendable () -> Void] in
            state.handingBack = true
            return Array(state.inFlight.values)
        }
        for handBack in handBacks { handBack() }
    }

    // MARK: - Claim, execute, complete

    func claimAndExecute(_ entry: QueueEntry, handBack: LockedBox<(@Sendable () -> Void)?>) async {
        do {
            guard let claim = try await claim(entry) else { return }
            let (end, leaseEnd) = await execute(entry, claim: claim, handBack: handBack)
            try await complete(entry, claim: claim, end: end, leaseExpiresAt: leaseEnd)
        } catch {
            logger.warning("run failed to be recorded", metadata: ["job_id": "\(entry.jobID)", "error": "\(error)"])
        }
    }

    /// Claims the run by CAS on the job row, raising `attempt` (the run's fencing token), then deletes the
    /// queue entry, records the run in the history and adds the `running` status-index entry.
    ///
    /// Those writes go in one unlogged batch: the `queued` index entry stays while the job runs (see
    /// ``JobWrite/move(_:from:to:at:due:)``), so whatever part of the batch lands, should this worker then die,
    /// that entry leads the repair sweep to the run whose lease expired. No batch log: on Cassandra a logged
    /// batch costs a batch-log write to two replicas and its removal on top of the writes.
    /// They are retried (idempotent, fenced by the claim) until a third of the run lease is left; then the
    /// lease is renewed (at most ``claimLeaseRenewals`` times) and the batch tried again. On a real cluster a
    /// replica that died but is not yet marked down can fail writes for as long as the failure detector takes,
    /// about 20 s, while LWTs, which need any quorum, go through: giving the run up then would cost its attempt
    /// and a reclaim a lease later.
    func claim(_ entry: QueueEntry) async throws -> Claim? {
        guard var claim = try await casClaim(entry) else { return nil }
        let now = claim.startedAt
        let writes: [JobWrite] = [.dequeue(entry.key),
                                  .startRun(RunStart(jobID: entry.jobID, attempt: claim.attempt, scheduledAt: entry.dueAt, startedAt: now,
                                                     workerID: workerID))]
            + JobWrite.move(entry.jobID, from: .queued, to: .running, at: now)
        var renewals = 0
        while true {
            let retryUntil = claim.leaseExpiresAt.adding(.zero - service.configuration.runLease / 3)
            do {
                try await FencedRetry(clock: clock).run(until: retryUntil) { try await store.write(writes, logged: false) }
                return claim
            } catch where FencedRetry.isTransient(error) && renewals < Self.claimLeaseRenewals {
                renewals += 1
                logger.warning("claim's follow-up writes still failing; run lease renewed to keep trying",
                               metadata: ["job_id": "\(entry.jobID)", "attempt": "\(claim.attempt)", "error": "\(error)"])
                // Fenced out (cancelled, or taken over): the run is no longer this worker's to start.
                guard let next = try await renewRunLease(entry, claim: claim) else { return nil }
                claim.leaseExpiresAt = next
            }
        }
    }

    /// How many times a claim whose follow-up writes keep failing renews its run lease to try again.
    static let claimLeaseRenewals = 3

    /// The claim's CAS alone (a stale entry is deleted when it loses); the run's claim when it applied.
    func casClaim(_ entry: QueueEntry) async throws -> Claim? {
        let now = clock.now()
        let claim = Claim(attempt: entry.attempt + 1, tries: entry.tries + 1, startedAt: now,
                          leaseExpiresAt: now.adding(service.configuration.runLease))
        let update = ClaimUpdate(jobID: entry.jobID, readAttempt: entry.attempt, readDue: entry.dueAt, attempt: claim.attempt,
                                 tries: claim.tries, leaseOwner: workerID, leaseExpiresAt: claim.leaseExpiresAt, now: now)
        let applied = try await service.resolvingUnknownOutcome(entry.jobID, expect: {
            $0.attempt == claim.attempt && $0.leaseOwner == self.workerID && $0.leaseExpiresAt == claim.leaseExpiresAt
        }) { try await store.claim(update) }
        guard applied else {
            // The job moved on (claimed, cancelled, re-activated): this entry is stale.
            try await store.write([.dequeue(entry.key)], logged: false)
            return nil
        }
        service.metrics.runsStarted.increment()
        service.metrics.queueLag.record(max(0, Double(now.millis - entry.dueAt.millis) / 1000))
        return claim
    }

    /// Runs the handler until it returns, its deadline passes, the run lease is lost or the run is handed
    /// back; returns how it ended and the run lease's end as last granted.
    func execute(_ entry: QueueEntry, claim: Claim, handBack: LockedBox<(@Sendable () -> Void)?>) async -> (RunEnd, Date) {
        guard let handler = service.handlers.handler(for: entry.kind) else {
            return (.handler(output: nil, error: "no handler registered for kind \(entry.kind)"), claim.leaseExpiresAt)
        }
        let maxDuration = Duration.seconds(max(1, entry.maxDurationSeconds))
        let deadline = clock.instant + maxDuration
        let context = JobContext(jobID: entry.jobID, attempt: claim.attempt, payload: entry.payload,
                                 deadline: HandlerTime.deadline(after: maxDuration), logger: logger)
        let leaseEnd = LockedBox(claim.leaseExpiresAt)
        let tasks = LockedBox<[Task<Void, Never>]>([])
        let clock = self.clock
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
                try? await clock.sleep(until: deadline)
                if !Task.isCancelled { finish(.timedOut) }
            }
            let keeper = Task { await self.keepRunLease(entry, claim: claim, leaseEnd: leaseEnd, lost: { finish(.leaseLost) }) }
            tasks.withLock { $0 = [run, timer, keeper] }
            // A shutdown that handed runs back while this one was still being claimed found no way to stop it.
            if state.withLock({ $0.handingBack }) { finish(.handedBack) }
        }
        // Cancellation is cooperative: whatever the handler still does is fenced out by the attempt.
        for task in tasks.withLock({ $0 }) { task.cancel() }
        return (end, leaseEnd.withLock { $0 })
    }

    /// Renews the run lease (one LWT each) while the run outlasts two thirds of it.
    private func keepRunLease(_ entry: QueueEntry, claim: Claim, leaseEnd: LockedBox<Date>, lost: @Sendable () -> Void) async {
        let runLease = service.configuration.runLease
        while !Task.isCancelled {
            let expiresAt = leaseEnd.withLock { $0 }
            let renewAt = Date(milliseconds: expiresAt.millis - runLease.milliseconds / 3)
            let wait = renewAt.millis - clock.now().millis
            if wait > 0 { try? await clock.sleep(for: .milliseconds(wait)) }
            if Task.isCancelled { return }
            do {
                guard let next = try await renewRunLease(entry, claim: claim) else {
                    lost()
                    return
                }
                leaseEnd.withLock { $0 = next }
            } catch {
                if Task.isCancelled { return }
                logger.warning("run lease renewal failed", metadata: ["job_id": "\(entry.jobID)", "error": "\(error)"])
                if clock.now() >= expiresAt {
                    lost()
                    return
                }
                // Past the renewal point the loop would resend at once: pause, so a failing replica set
                // is not flooded with LWTs until the lease ends.
                try? await clock.sleep(for: min(.milliseconds(500), runLease / 20))
            }
        }
    }

    /// One renewal of the run lease by CAS; the new lease end, nil when the run was fenced out.
    func renewRunLease(_ entry: QueueEntry, claim: Claim) async throws -> Date? {
        let next = clock.now().adding(service.configuration.runLease)
        let applied = try await service.resolvingUnknownOutcome(entry.jobID, expect: {
            $0.attempt == claim.attempt && $0.leaseExpiresAt == next
        }) { try await store.renewRunLease(entry.jobID, attempt: claim.attempt, owner: workerID, until: next) }
        return applied ? next : nil
    }

    /// Records the run's end by CAS conditioned on its attempt (exactly one end per run is accepted),
    /// then its history and the job's next step. Every write is retried while the run lease,
    /// ending at `leaseExpiresAt`, holds: each is fenced by the token, so a retry cannot undo a newer run.
    @discardableResult
    func complete(_ entry: QueueEntry, claim: Claim, end: RunEnd, leaseExpiresAt: Date) async throws -> RunVerdict {
        let now = clock.now()
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
            return .stale
        }
        let next = nextState(entry, claim: claim, outcome: outcome, now: now)
        let update = RunEndUpdate(jobID: entry.jobID, attempt: claim.attempt, expiredLease: nil, status: next.status, tries: next.tries,
                                  nextDueAt: next.due, queueShard: next.due.map { _ in entry.shard }, finishedAt: now,
                                  outcome: outcome, error: error)
        let retry = FencedRetry(clock: clock)
        var resent = false
        let verdict = try await retry.run(until: leaseExpiresAt) {
            defer { resent = true }
            return try await recordEnd(update, resent: resent)
        }
        switch verdict {
        case .applied:
            service.metrics.run(outcome)
            service.metrics.runDuration.recordNanoseconds(max(0, (now.millis - claim.startedAt.millis) * 1_000_000))
            var writes: [JobWrite] = [.finishRun(RunFinish(jobID: entry.jobID, attempt: claim.attempt, finishedAt: now,
                                                           status: JobStatus(outcome).rawValue, output: output, error: error))]
            writes += JobWrite.move(entry.jobID, from: .running, to: next.status, at: now, due: next.due)
            if let due = next.due {
                var queued = entry
                queued.attempt = claim.attempt
                queued.dueAt = due
                queued.bucket = due.bucket
                queued.tries = next.tries
                writes.append(.enqueue(queued, enqueuedAt: now))
            }
            // Unlogged: re-queued (retry, next fire), the `queued` index entry kept since the claim leads the repair
            // sweep to the job whatever part of the batch lands; finished, nothing needs to find the job, so a
            // partial batch costs at most a listing's accuracy (the sweep deletes a leftover `queued` entry).
            try await retry.run(until: leaseExpiresAt) { try await store.write(writes, logged: false) }
        case .cancelledByUser:
            service.metrics.run(.cancelled)
            let finish = RunFinish(jobID: entry.jobID, attempt: claim.attempt, finishedAt: now, status: JobStatus.cancelled.rawValue,
                                   output: output, error: "job cancelled while running")
            try await retry.run(until: leaseExpiresAt) { try await store.write([.finishRun(finish)], logged: false) }
        case .stale:
            service.metrics.staleCompletions.increment()
            logger.warning("stale completion rejected", metadata: ["job_id": "\(entry.jobID)", "attempt": "\(claim.attempt)", "worker_id": "\(workerID)"])
        }
        return verdict
    }

    /// One try of the end CAS. After an earlier try whose outcome stayed unknown (`resent`), a refusal
    /// may be that try's own success, so the row is read at the serial consistency to tell.
    private func recordEnd(_ update: RunEndUpdate, resent: Bool) async throws -> RunVerdict {
        let isOurs: (JobView) -> Bool = {
            $0.attempt == update.attempt && $0.finishedAt == update.finishedAt && $0.status == update.status
        }
        do {
            let cas = try await store.endRun(update)
            if cas.applied { return .applied }
            if cas.attempt == update.attempt, cas.status == .cancelled { return .cancelledByUser }
            guard resent else { return .stale }
        } catch let failure as CQLError where failure.isUnknownOutcome {
            // Resolved below; a failing SERIAL read throws, and the retry sends the CAS again.
        }
        guard let job = try await store.job(update.jobID, serial: true) else { return .stale }
        if isOurs(job) { return .applied }
        if job.attempt == update.attempt, job.status == .cancelled { return .cancelledByUser }
        // Still this run's, still running: the CAS did not land; send it again.
        if job.attempt == update.attempt, job.status == .running { throw FencedRetry.NotApplied() }
        return .stale
    }

    /// The job's state after a run: retry with backoff, the next fire of a recurring job, or finished.
    func nextState(_ entry: QueueEntry, claim: Claim, outcome: RunOutcome, now: Date) -> (status: JobStatus, due: Date?, tries: Int) {
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
                return (.queued, now.adding(retryDelay(afterTries: claim.tries)), claim.tries)
            }
            if let nextFire { return (.queued, nextFire, 0) }
            return (JobStatus(outcome), nil, claim.tries)
        case .cancelled:
            return (.queued, now, max(0, claim.tries - 1))
        }
    }

    /// ``SchedulerConfiguration/retryDelay(afterTries:)`` with this coordinator's jitter source.
    func retryDelay(afterTries tries: Int) -> Duration {
        let configuration = service.configuration
        let exponent = min(max(tries - 1, 0), 30)
        let capped = min(configuration.baseRetryDelay.seconds * Double(1 << exponent), configuration.maximumRetryDelay.seconds)
        return .seconds(capped * min(1.2, max(1.0, jitter())))
    }
}
