import CQLWire
import CoreMetrics
import Foundation
import Logging
import Synchronization
import NIOConcurrencyHelpers

/// How a run ended, as the run coordinator sees it.
enum RunEnd: Sendable, Hashable {
    /// The handler returned (succeeded) or threw (failed: the report has an error).
    case finished
    /// The run's deadline (`max_duration_seconds`) passed.
    case timedOut
    /// The job was cancelled while the run ran: its cancel request was read.
    case cancelled
    /// The run lease could not be renewed: the run was fenced out (cancelled, or reclaimed).
    case leaseLost
    /// The worker shut down and handed the run back to the queue.
    case handedBack
}

/// What a run left for its history record: output (last 4 KiB), error, exit code, HTTP status.
struct RunReport: Sendable, Hashable {
    var output: String?
    var error: String?
    var exitCode: Int32?
    var httpStatus: Int?
    /// The handler stopped at its own deadline (the same `max_duration_seconds` as the run's timer,
    /// which it may reach first): the run timed out rather than failed.
    var reachedDeadline = false

    init(output: String? = nil, error: String? = nil, exitCode: Int32? = nil, httpStatus: Int? = nil) {
        self.output = output
        self.error = error
        self.exitCode = exitCode
        self.httpStatus = httpStatus
    }

    /// The report of a handler's return or throw (a ``JobHandlerError`` keeps what the run produced).
    init(_ result: Result<JobResult, any Error>) {
        switch result {
        case let .success(value):
            self.init(output: value.output, exitCode: value.exitCode, httpStatus: value.httpStatus)
        case let .failure(error as JobHandlerError):
            let partial = error.result
            self.init(output: partial.output, error: error.description, exitCode: partial.exitCode, httpStatus: partial.httpStatus)
            if case .deadlineExceeded = error { reachedDeadline = true }
        case .failure(is CancellationError):
            self.init(error: "cancelled")
        case let .failure(error):
            self.init(error: "\(error)")
        }
    }

    /// The history row's end of the run: output cut to its last 4 KiB, error to 8 KiB.
    func finish(_ entry: QueueEntry, attempt: Int64, at now: Date, status: JobStatus, error: String?) -> RunFinish {
        RunFinish(jobID: entry.jobID, attempt: attempt, finishedAt: now, status: status.rawValue, output: output.map { RunOutput.tail($0) },
                  error: error.map { String($0.prefix(8_192)) }, exitCode: exitCode, httpStatus: httpStatus.map { Int32(clamping: $0) })
    }
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
    /// The job was changed (PATCH, or a pause asked for) while the run ran: its end must be decided again
    /// from the job row's current definition.
    case revised
}

/// The life of each run on this worker: claim by CAS (raising the fencing token), execution under
/// the run's deadline while its run lease is renewed, and completion by CAS conditioned on the
/// token, then retry, next fire or finish. Also the in-flight registry the poller sizes its reads by.
final class RunCoordinator: Sendable {
    private struct Waiter {
        var threshold: Int
        var continuation: CheckedContinuation<Void, Never>
    }

    /// A run executing on this worker, and how to stop it when its job is cancelled.
    private struct Executing {
        var attempt: Int64
        var stop: @Sendable () -> Void
    }

    private struct State {
        var inFlight: [String: @Sendable () -> Void] = [:]
        /// Runs past their claim, by job, for ``stopCancelledRuns()``.
        var executing: [UUID: Executing] = [:]
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
    private let state = Mutex(State())

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
        let handBack = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)
        let registered = state.withLock { state -> Bool in
            guard !lifecycle.isStopping, state.inFlight[key] == nil else { return false }
            state.inFlight[key] = { handBack.withLockedValue { $0 }?() }
            service.metrics.jobsRunning.record(state.inFlight.count)
            return true
        }
        guard registered else { return false }
        Task {
            await self.claimAndExecute(entry, handBack: handBack)
            let woken = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.inFlight.removeValue(forKey: key)
                let count = state.inFlight.count
                self.service.metrics.jobsRunning.record(count)
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

    func claimAndExecute(_ entry: QueueEntry, handBack: NIOLockedValueBox<(@Sendable () -> Void)?>) async {
        do {
            guard let claim = try await claim(entry) else { return }
            logger.info("run started", metadata: ["job_id": "\(entry.jobID)", "attempt": "\(claim.attempt)", "kind": "\(entry.kind)"])
            let (end, report, leaseEnd) = await execute(entry, claim: claim, handBack: handBack)
            try await complete(entry, claim: claim, end: end, report: report, leaseExpiresAt: leaseEnd)
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
        service.metrics.runStarted(kind: entry.kind, lagSeconds: Double(now.millis - entry.dueAt.millis) / 1000)
        return claim
    }

    /// Runs the handler until it returns, its deadline passes, the job is cancelled, the run lease is lost or
    /// the run is handed back; returns how it ended, what the handler left (a stopped handler is awaited for
    /// its output) and the run lease's end as last granted.
    func execute(_ entry: QueueEntry, claim: Claim, handBack: NIOLockedValueBox<(@Sendable () -> Void)?>) async -> (RunEnd, RunReport, Date) {
        guard let handler = service.handlers.handler(for: entry.kind) else {
            return (.finished, RunReport(error: "no handler registered for kind \(entry.kind)"), claim.leaseExpiresAt)
        }
        let maxDuration = Duration.seconds(max(1, entry.maxDurationSeconds))
        let deadline = clock.instant + maxDuration
        let context = JobContext(jobID: entry.jobID, attempt: claim.attempt, payload: entry.payload,
                                 deadline: HandlerTime.deadline(after: maxDuration), logger: logger)
        let leaseEnd = NIOLockedValueBox(claim.leaseExpiresAt)
        let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])
        let runTask = NIOLockedValueBox<Task<RunReport, Never>?>(nil)
        let clock = self.clock
        let end = await withCheckedContinuation { (continuation: CheckedContinuation<RunEnd, Never>) in
            let once = NIOLockedValueBox<CheckedContinuation<RunEnd, Never>?>(continuation)
            let finish: @Sendable (RunEnd) -> Void = { end in once.withLockedValue { slot in defer { slot = nil }; return slot }?.resume(returning: end) }
            handBack.withLockedValue { $0 = { finish(.handedBack) } }
            let run = Task { () -> RunReport in
                let report: RunReport
                do {
                    report = RunReport(.success(try await handler.run(context)))
                } catch {
                    report = RunReport(.failure(error))
                }
                finish(.finished)
                return report
            }
            runTask.withLockedValue { $0 = run }
            let timer = Task {
                try? await clock.sleep(until: deadline)
                if !Task.isCancelled { finish(.timedOut) }
            }
            let keeper = Task { await self.keepRunLease(entry, claim: claim, leaseEnd: leaseEnd, lost: { finish(.leaseLost) }) }
            tasks.withLockedValue { $0 = [timer, keeper] }
            state.withLock { $0.executing[entry.jobID] = Executing(attempt: claim.attempt, stop: { finish(.cancelled) }) }
            // A shutdown that handed runs back while this one was still being claimed found no way to stop it.
            if state.withLock({ $0.handingBack }) { finish(.handedBack) }
        }
        state.withLock { state in
            if state.executing[entry.jobID]?.attempt == claim.attempt { state.executing.removeValue(forKey: entry.jobID) }
        }
        for task in tasks.withLockedValue({ $0 }) { task.cancel() }
        guard let run = runTask.withLockedValue({ $0 }) else { return (end, RunReport(), leaseEnd.withLockedValue { $0 }) }
        // The handler ended the run itself: its report is ready.
        if end == .finished { return (end, await run.value, leaseEnd.withLockedValue { $0 }) }
        // Cancellation is cooperative, and whatever the handler still does is fenced out by the attempt. A stopped
        // handler is given a third of the run lease to hand over what the run produced (a process its grace to exit).
        run.cancel()
        let report = await Self.report(of: run, within: service.configuration.runLease / 3, clock: clock)
            ?? RunReport(error: "handler did not stop within \(service.configuration.runLease / 3)")
        return (end, report, leaseEnd.withLockedValue { $0 })
    }

    /// The report of a handler's task, nil when it did not end within `bound`.
    private static func report(of run: Task<RunReport, Never>, within bound: Duration, clock: any SchedulerClock) async -> RunReport? {
        await withCheckedContinuation { (continuation: CheckedContinuation<RunReport?, Never>) in
            let once = NIOLockedValueBox<CheckedContinuation<RunReport?, Never>?>(continuation)
            let resume: @Sendable (RunReport?) -> Void = { report in once.withLockedValue { slot in defer { slot = nil }; return slot }?.resume(returning: report) }
            let timer = Task {
                try? await clock.sleep(for: bound)
                resume(nil)
            }
            Task {
                let report = await run.value
                timer.cancel()
                resume(report)
            }
        }
    }

    /// Stops the executing runs named by this worker's cancel requests (one read, only while runs execute);
    /// returns how many were stopped.
    @discardableResult
    func stopCancelledRuns() async throws -> Int {
        guard state.withLock({ !$0.executing.isEmpty }) else { return 0 }
        let requests = try await store.cancelRequests(workerID: workerID)
        let stops = state.withLock { state in
            requests.compactMap { request in state.executing[request.jobID].flatMap { $0.attempt == request.attempt ? $0.stop : nil } }
        }
        for stop in stops { stop() }
        return stops.count
    }

    /// Renews the run lease (one LWT each) while the run outlasts two thirds of it.
    private func keepRunLease(_ entry: QueueEntry, claim: Claim, leaseEnd: NIOLockedValueBox<Date>, lost: @Sendable () -> Void) async {
        let runLease = service.configuration.runLease
        while !Task.isCancelled {
            let expiresAt = leaseEnd.withLockedValue { $0 }
            let renewAt = Date(milliseconds: expiresAt.millis - runLease.milliseconds / 3)
            let wait = renewAt.millis - clock.now().millis
            if wait > 0 { try? await clock.sleep(for: .milliseconds(wait)) }
            if Task.isCancelled { return }
            do {
                guard let next = try await renewRunLease(entry, claim: claim) else {
                    lost()
                    return
                }
                leaseEnd.withLockedValue { $0 = next }
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
    func complete(_ entry: QueueEntry, claim: Claim, end: RunEnd, report: RunReport, leaseExpiresAt: Date) async throws -> RunVerdict {
        let now = clock.now()
        let outcome: RunOutcome
        var error = report.error
        switch end {
        case .finished where report.reachedDeadline, .timedOut:
            outcome = .timedOut
            error = "exceeded max_duration_seconds (\(entry.maxDurationSeconds))"
        case .finished:
            outcome = report.error == nil ? .succeeded : .failed
        case .handedBack:
            outcome = .cancelled
            error = "worker \(workerID) shut down; run handed back"
        case .cancelled:
            // A cancel request is written only once the cancel's CAS took this attempt: no end CAS is needed.
            try await finishCancelled(entry, claim: claim, report: report, now: now, until: leaseExpiresAt)
            return .cancelledByUser
        case .leaseLost:
            return try await leaseLost(entry, claim: claim, report: report, now: now, until: leaseExpiresAt)
        }
        // The definition the next step follows: the entry's, or the job row's when it was changed during the run.
        var entry = entry
        var paused = false
        var next = nextState(entry, claim: claim, outcome: outcome, now: now)
        let retry = FencedRetry(clock: clock)
        var verdict = RunVerdict.revised
        for _ in 0..<Self.revisionRereads where verdict == .revised {
            if paused, next.status == .queued { next = (.paused, nil, next.tries) }
            let update = RunEndUpdate(jobID: entry.jobID, attempt: claim.attempt, expiredLease: nil, status: next.status, tries: next.tries,
                                      nextDueAt: next.due, queueShard: next.due.map { _ in entry.shard }, finishedAt: now,
                                      outcome: outcome, error: error, revision: entry.revision)
            var resent = false
            verdict = try await retry.run(until: leaseExpiresAt) {
                defer { resent = true }
                return try await recordEnd(update, resent: resent)
            }
            guard verdict == .revised else { break }
            guard let job = try await store.job(entry.jobID, serial: true), job.attempt == claim.attempt, job.status == .running else {
                verdict = .stale
                break
            }
            entry = QueueEntry(job: job, shard: entry.shard, dueAt: entry.dueAt, tries: entry.tries)
            paused = job.paused
            next = nextState(entry, claim: claim, outcome: outcome, now: now)
        }
        switch verdict {
        case .applied:
            service.metrics.runEnded(kind: entry.kind, outcome: outcome, seconds: Double(now.millis - claim.startedAt.millis) / 1000)
            if next.due != nil, next.tries > 0, outcome == .failed || outcome == .timedOut { service.metrics.retried(kind: entry.kind) }
            logEnd(entry, claim: claim, outcome: outcome.rawValue, now: now, error: error)
            var writes: [JobWrite] = [.finishRun(report.finish(entry, attempt: claim.attempt, at: now, status: JobStatus(outcome), error: error))]
            writes += JobWrite.move(entry.jobID, from: .running, to: next.status, at: now, due: next.due)
            if let due = next.due {
                var queued = entry
                queued.attempt = claim.attempt
                queued.dueAt = due
                queued.bucket = due.bucket
                queued.tries = next.tries
                writes.append(.enqueue(queued, enqueuedAt: now))
            }
            // Logged: an unlogged batch landing in part could delete the `running` (and `queued`) index entries
            // without the history record's end, and the record would stay `running` with nothing leading the repair
            // sweep to it. Lost whole, the `running` entry leads the sweep to the job, which ends the record from the
            // job row.
            try await retry.run(until: leaseExpiresAt) { try await store.write(writes, logged: true) }
        case .cancelledByUser:
            try await finishCancelled(entry, claim: claim, report: report, now: now, until: leaseExpiresAt)
        case .stale, .revised:
            service.metrics.staleCompletions.increment()
            logEnd(entry, claim: claim, outcome: "stale", now: now, error: "completion rejected: the run was fenced out")
            logger.warning("stale completion rejected", metadata: ["job_id": "\(entry.jobID)", "attempt": "\(claim.attempt)", "worker_id": "\(workerID)"])
        }
        return verdict
    }

    /// How often a run's end re-reads a job changed during the run before giving the end up to the repair sweep.
    static let revisionRereads = 4

    /// Records a run whose job was cancelled while it ran: `cancelled`, with what it produced.
    private func finishCancelled(_ entry: QueueEntry, claim: Claim, report: RunReport, now: Date, until leaseExpiresAt: Date) async throws {
        service.metrics.runEnded(kind: entry.kind, outcome: .cancelled, seconds: Double(now.millis - claim.startedAt.millis) / 1000)
        logEnd(entry, claim: claim, outcome: RunOutcome.cancelled.rawValue, now: now, error: RunCancel.error)
        let finish = report.finish(entry, attempt: claim.attempt, at: now, status: .cancelled, error: RunCancel.error)
        try await FencedRetry(clock: clock).run(until: leaseExpiresAt) { try await store.write([.finishRun(finish)], logged: false) }
    }

    /// A run whose lease renewal was refused: when its job was cancelled at this attempt (a cancel request
    /// not seen), it is recorded `cancelled`; otherwise it was reclaimed, and the reclaim recorded its end.
    private func leaseLost(_ entry: QueueEntry, claim: Claim, report: RunReport, now: Date, until leaseExpiresAt: Date) async throws -> RunVerdict {
        if let job = try await store.job(entry.jobID, serial: false), job.attempt == claim.attempt, job.status == .cancelled {
            try await finishCancelled(entry, claim: claim, report: report, now: now, until: max(leaseExpiresAt, now.adding(service.configuration.runLease / 3)))
            return .cancelledByUser
        }
        service.metrics.staleCompletions.increment()
        logEnd(entry, claim: claim, outcome: "lease_lost", now: now, error: "run lease lost; the run was reclaimed")
        return .stale
    }

    /// The run's one end line (the start line is in ``claimAndExecute(_:handBack:)``).
    private func logEnd(_ entry: QueueEntry, claim: Claim, outcome: String, now: Date, error: String?) {
        var metadata: Logger.Metadata = ["job_id": "\(entry.jobID)", "attempt": "\(claim.attempt)", "kind": "\(entry.kind)",
                                         "outcome": "\(outcome)",
                                         "duration_seconds": "\(Double(max(0, now.millis - claim.startedAt.millis)) / 1000)"]
        if let error { metadata["error"] = "\(error.prefix(200))" }
        logger.info("run finished", metadata: metadata)
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
            if cas.attempt == update.attempt, cas.status == .running, cas.revision != update.revision, !resent { return .revised }
            guard resent else { return .stale }
        } catch let failure as CQLError where failure.isUnknownOutcome {
            // Resolved below; a failing SERIAL read throws, and the retry sends the CAS again.
        }
        guard let job = try await store.job(update.jobID, serial: true) else { return .stale }
        if isOurs(job) { return .applied }
        if job.attempt == update.attempt, job.status == .cancelled { return .cancelledByUser }
        if job.attempt == update.attempt, job.status == .running, job.revision != update.revision { return .revised }
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
                // A job that names no backoff of its own retries by the worker's configured delays.
                return (.queued, now.adding(retryDelay(afterTries: claim.tries, backoff: entry.backoff == .default ? nil : entry.backoff)), claim.tries)
            }
            if let nextFire { return (.queued, nextFire, 0) }
            return (JobStatus(outcome), nil, claim.tries)
        case .cancelled:
            return (.queued, now, max(0, claim.tries - 1))
        }
    }

    /// The delay before the retry after `tries` failed tries: the job's backoff, or the configuration's
    /// ``SchedulerConfiguration/defaultBackoff`` when the job names none, with this coordinator's jitter.
    func retryDelay(afterTries tries: Int, backoff: Backoff?) -> Duration {
        (backoff ?? service.configuration.defaultBackoff).delay(afterTries: tries, jitter: jitter())
    }
}
