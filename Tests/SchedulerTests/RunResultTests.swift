import Foundation
import Testing
import TestSupport
@testable import Scheduler

/// What a run leaves and how it ends: results in its history record (output, exit code, HTTP
/// status, error, also for timed-out and cancelled runs), cancel of a running run within 2 s,
/// and no history record left `running` once its run was cancelled or reclaimed.
@Suite("Run results and cancel")
struct RunResultTests {
    /// Moves `clock` by `step` until `condition` holds (each step is given real time to be acted on).
    static func advance(_ clock: TestSchedulerClock, by step: Duration, steps: Int = 50,
                        until condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<steps {
            clock.advance(by: step)
            if try await eventually(timeout: .seconds(1), condition) { return true }
        }
        return false
    }

    /// The newest history record of the job once it is no longer `running`.
    static func finishedRun(_ service: JobService, _ id: UUID, seconds: Double = 30) async throws -> RunRecord {
        _ = try await eventually(timeout: .seconds(seconds)) {
            guard let run = try await service.history(id, limit: 1).first else { return false }
            return run.status != .running
        }
        return try #require(try await service.history(id, limit: 1).first)
    }

    static let sleepPayload: JSONValue = .object(["seconds": .number("30")])
    static let shellSleepPayload: JSONValue = .object(["command": .string("sleep"), "args": .array([.string("30")])])

    @Test("DELETE of a running job stops the run within 2 s on the scheduler clock (no lease renewal needed), recorded cancelled",
          arguments: ["sleep", "shell"])
    func cancelWithinTwoSeconds(kind: String) async throws {
        let clock = TestSchedulerClock(start: Date())
        let bed = try await SchedulerTestBed.start(handlers: .builtIns(shell: ShellHandler()), clock: clock)
        let service = bed.service
        let runtime = JobServiceTests.runtime(service, "owner")
        let loops = Task { try await runtime.run() }
        do {
            let payload = kind == "sleep" ? Self.sleepPayload : Self.shellSleepPayload
            let created = try await service.create(try SchedulerTestBed.job("now", kind: kind, payload: payload, maxDuration: 120,
                                                                           maxAttempts: 1))
            #expect(try await Self.advance(clock, by: .milliseconds(100)) { runtime.runs.inFlightCount == 1 })
            _ = try await JobServiceTests.settled(service, created.jobID, .running)
            // The run renews its lease only 20 s in; the cancel must not wait for that.
            let cancelledAt = clock.instant
            let view = try await service.cancel(created.jobID)
            #expect(view.status == .cancelled)
            let stopped = try await Self.advance(clock, by: .seconds(1), steps: 2) { runtime.runs.inFlightCount == 0 }
            #expect(stopped, "the run still executes \(clock.instant - cancelledAt) after the cancel")
            #expect(clock.instant - cancelledAt <= .seconds(2))
            let run = try await Self.finishedRun(service, created.jobID)
            #expect(run.status == .cancelled)
            #expect(run.error == "job cancelled while running")
            #expect(run.exitCode == nil)
            #expect(try await service.get(created.jobID)?.status == .cancelled)
        }
        await runtime.shutdown(gracePeriod: .zero)
        _ = try? await loops.value
        #expect(bed.counter("scheduler_runs_total", [("outcome", "cancelled")]) == 1)
        await bed.stop()
    }

    @Test("a shell run's exit code, output and error are in its history; an http run's status and body")
    func resultsInHistory() async throws {
        let server = try TestHTTPServer(status: 201)
        defer { server.stop() }
        let bed = try await SchedulerTestBed.start(handlers: .builtIns(shell: ShellHandler()))
        let service = bed.service
        try await JobServiceTests.running([JobServiceTests.runtime(service, "results")]) {
            let failing = try await service.create(try SchedulerTestBed.job("now", kind: "shell", payload: .object([
                "command": .string("echo out; echo err >&2; exit 3"), "shell": .bool(true)]), maxAttempts: 1))
            let passing = try await service.create(try SchedulerTestBed.job("now", kind: "shell", payload: .object([
                "command": .string("printf"), "args": .array([.string("done")])]), maxAttempts: 1))
            let http = try await service.create(try SchedulerTestBed.job("now", kind: "http", payload: .object([
                "url": .string("http://127.0.0.1:\(server.port)/hook")]), maxAttempts: 1))

            let failed = try await Self.finishedRun(service, failing.jobID)
            #expect(failed.status == .failed)
            #expect(failed.exitCode == 3)
            #expect(failed.output == "out\nerr\n")
            #expect(failed.error == "shell: echo out; echo err >&2; exit 3 exited with status 3")
            #expect(failed.httpStatus == nil)

            let succeeded = try await Self.finishedRun(service, passing.jobID)
            #expect(succeeded.status == .succeeded)
            #expect(succeeded.exitCode == 0)
            #expect(succeeded.output == "done")
            #expect(succeeded.error == nil)

            let delivered = try await Self.finishedRun(service, http.jobID)
            #expect(delivered.status == .succeeded)
            #expect(delivered.httpStatus == 201)
            #expect(delivered.output == "received")
            #expect(delivered.exitCode == nil)
        }
        await bed.stop()
    }

    @Test("a timed-out shell run keeps the output it wrote before its deadline")
    func timedOutKeepsOutput() async throws {
        let clock = TestSchedulerClock(start: Date())
        let bed = try await SchedulerTestBed.start(handlers: .builtIns(shell: ShellHandler()), clock: clock)
        let service = bed.service
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("timed-out-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let runtime = JobServiceTests.runtime(service, "timer")
        let loops = Task { try await runtime.run() }
        do {
            let created = try await service.create(try SchedulerTestBed.job("now", kind: "shell", payload: .object([
                "command": .string("echo started; touch \(marker); sleep 30"), "shell": .bool(true)]), maxDuration: 5, maxAttempts: 1))
            #expect(try await Self.advance(clock, by: .milliseconds(100)) { runtime.runs.inFlightCount == 1 })
            #expect(try await eventually(timeout: .seconds(20)) { FileManager.default.fileExists(atPath: marker) })
            clock.advance(by: .seconds(5))
            let run = try await Self.finishedRun(service, created.jobID)
            #expect(run.status == .timedOut)
            #expect(run.output == "started\n")
            #expect(run.error == "exceeded max_duration_seconds (5)")
            #expect(try await service.get(created.jobID)?.status == .timedOut)
        }
        await runtime.shutdown(gracePeriod: .zero)
        _ = try? await loops.value
        await bed.stop()
    }

    @Test("a cancelled run whose owner is gone is recorded cancelled at once; an owner that missed the request records it at its refused renewal")
    func cancelledWithoutOwner() async throws {
        let bed = try await SchedulerTestBed.start()
        let service = bed.service
        let created = try await service.create(try SchedulerTestBed.job("now", maxAttempts: 3))
        let entry = try await SchedulerTestBed.queueEntry(service, created.jobID)
        let owner = JobServiceTests.runtime(service, "owner")
        let claim = try #require(try await owner.runs.claim(entry))
        _ = try await service.cancel(created.jobID)
        // Whether or not the owner ever comes back, the record is no longer `running`.
        let recorded = try #require(try await service.history(created.jobID, limit: 5).first)
        #expect(recorded.status == .cancelled)
        #expect(recorded.error == "job cancelled while running")
        #expect(recorded.finishedAt != nil)
        // The request waits in the owner's partition.
        let requests = try await service.store.cancelRequests(workerID: "owner")
        #expect(requests == [RunCancelRequest(jobID: created.jobID, attempt: claim.attempt)])
        // The owner missed it and learns of the cancel when its renewal is refused: its output is kept.
        let verdict = try await owner.runs.complete(entry, claim: claim, end: .leaseLost, report: RunReport(output: "partial"),
                                                    leaseExpiresAt: claim.leaseExpiresAt)
        #expect(verdict == .cancelledByUser)
        let finished = try #require(try await service.history(created.jobID, limit: 5).first)
        #expect(finished.status == .cancelled)
        #expect(finished.output == "partial")
        #expect(bed.counter("scheduler_stale_completions_total") == 0)
        await bed.stop()
    }

    @Test("a run whose end was accepted but whose history batch was lost is finished by the repair sweep, or by the job's next activation",
          arguments: ["sweep", "activation"])
    func lostRecordFinished(by repairer: String) async throws {
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.shards = 1
        configuration.shardLeaseTTL = .seconds(600)  // the sweep below runs without the loop that renews it
        let bed = try await SchedulerTestBed.start(configuration)
        let service = bed.service
        let created = try await service.create(try SchedulerTestBed.job("now", maxAttempts: 1))
        let entry = try await SchedulerTestBed.queueEntry(service, created.jobID)
        let runtime = SchedulerRuntime(service: service, workerID: "sweeper", shards: 1, pollInterval: .seconds(3600))
        let claim = try #require(try await runtime.runs.claim(entry))
        // The end CAS lands; the batch with the history record's end and the index move never does.
        let finishedAt = Date(milliseconds: Date().millis)
        let cas = try await service.store.endRun(RunEndUpdate(jobID: created.jobID, attempt: claim.attempt, expiredLease: nil, status: .succeeded,
                                                              tries: 1, nextDueAt: nil, queueShard: nil, finishedAt: finishedAt,
                                                              outcome: .succeeded, error: nil))
        #expect(cas.applied)
        #expect(try await service.history(created.jobID, limit: 1).first?.status == .running)
        if repairer == "sweep" {
            try await runtime.ownership.balance()
            try await runtime.repair.sweep(intentGrace: .zero)
            let listed = try await service.cql.run("SELECT job_id FROM scheduler.jobs_by_status WHERE status = 'running' AND slot = ?",
                                                   [Int32(JobHash.slot(created.jobID))])
            #expect(listed.first == nil, "the stale running index entry should be gone")
        } else {
            #expect(try await service.run(created.jobID).status == .queued)
        }
        let record = try #require(try await service.history(created.jobID, limit: 5).first { $0.attempt == claim.attempt })
        #expect(record.status == .succeeded)
        #expect(record.finishedAt == finishedAt)
        await bed.stop()
    }

    @Test("history records encode their results under stable snake_case keys")
    func recordJSON() throws {
        var record = RunRecord(attempt: 4, status: .failed)
        record.exitCode = 3
        record.httpStatus = 502
        record.output = "tail"
        record.error = "boom"
        let json = try JSONValue.parse(Array(try JSONEncoder().encode(record)))
        guard case let .object(members) = json else { throw JobHandlerError.invalidPayload(kind: "test", problem: "not an object") }
        #expect(Set(members.keys) == ["attempt", "status", "exit_code", "http_status", "output", "error"])
        #expect(members["exit_code"] == .number("3"))
        #expect(members["http_status"] == .number("502"))
    }
}

/// Retry delays: one function, a job's own backoff or the default.
@Suite("Backoff", .tags(.fast))
struct BackoffTests {
    @Test("the default backoff is 1 s, 2 s, 4 s, ... capped at 300 s")
    func defaults() {
        let delays = (1...12).map { Backoff.default.baseDelay(afterTries: $0) }
        #expect(delays.prefix(5) == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16)])
        #expect(delays.last == .seconds(300))
        #expect(Backoff.default.baseDelay(afterTries: Int.max) == .seconds(300))
        #expect(SchedulerConfiguration().defaultBackoff == .default)
    }

    @Test("a job's backoff: initial, multiplier and cap; jitter adds at most 20 %")
    func custom() {
        let backoff = Backoff(initialSeconds: 0.5, maxSeconds: 10, multiplier: 3)
        #expect((1...5).map { backoff.baseDelay(afterTries: $0) } == [.milliseconds(500), .milliseconds(1500), .milliseconds(4500), .seconds(10), .seconds(10)])
        #expect(backoff.delay(afterTries: 1, jitter: 1.2) == .milliseconds(600))
        #expect(backoff.delay(afterTries: 1, jitter: 5) == .milliseconds(600))
        #expect(backoff.delay(afterTries: 1, jitter: .nan) == .milliseconds(500))
        #expect(Backoff(initialSeconds: 2, maxSeconds: 60, multiplier: 1).baseDelay(afterTries: 1_000_000) == .seconds(2))
        #expect(Backoff(initialSeconds: .nan, maxSeconds: .infinity, multiplier: .nan).baseDelay(afterTries: 3) == .zero)
    }

    @Test("the coordinator retries after the job's backoff, the configuration's when it has none")
    func coordinatorUsesBackoff() async throws {
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.baseRetryDelay = .seconds(2)
        configuration.maximumRetryDelay = .seconds(5)
        let bed = try await SchedulerTestBed.start(configuration)
        let runs = RunCoordinator(service: bed.service, workerID: "w", lifecycle: RuntimeLifecycle(clock: bed.service.clock),
                                  logger: bed.service.logger, jitter: { 1.0 })
        #expect(runs.retryDelay(afterTries: 1, backoff: nil) == .seconds(2))
        #expect(runs.retryDelay(afterTries: 3, backoff: nil) == .seconds(5))
        #expect(runs.retryDelay(afterTries: 2, backoff: Backoff(initialSeconds: 1, maxSeconds: 100, multiplier: 10)) == .seconds(10))
        await bed.stop()
    }
}
