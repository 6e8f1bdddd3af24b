import CQLNode
import CQLWire
import Foundation
import Logging
import Testing
import TestSupport
@testable import Scheduler

/// The job store and runtime against the embedded node.
@Suite("Jobs and runtime")
struct JobServiceTests {
    static func runtime(_ service: JobService, _ id: String, poll: Duration = .milliseconds(50)) -> SchedulerRuntime {
        SchedulerRuntime(service: service, workerID: id, shards: service.configuration.shards, pollInterval: poll)
    }

    /// Runs `runtimes` in the background while `body` runs, then shuts them down.
    static func running<T>(_ runtimes: [SchedulerRuntime], _ body: () async throws -> T) async throws -> T {
        let tasks = runtimes.map { runtime in Task { try await runtime.run() } }
        do {
            let result = try await body()
            for runtime in runtimes { await runtime.shutdown(gracePeriod: .seconds(5)) }
            for task in tasks { _ = try? await task.value }
            return result
        } catch {
            for runtime in runtimes { await runtime.shutdown(gracePeriod: .zero) }
            for task in tasks { _ = try? await task.value }
            throw error
        }
    }

    static func settled(_ service: JobService, _ id: UUID, _ status: JobStatus, seconds: Double = 30) async throws -> JobView {
        _ = try await eventually(timeout: .seconds(seconds)) { try await service.get(id)?.status == status }
        return try #require(try await service.get(id))
    }

    @Test("every schedule form is queued at its first fire; activation follows DESIGN.md's 409 rules")
    func scheduleForms() async throws {
        let bed = try await SchedulerTestBed.start()
        let service = bed.service
        let before = Date(milliseconds: Date().millis)
        let at = Date(milliseconds: before.millis + 3_600_000)
        let forms: [(String, String?, (Date) -> Bool)] = [
            ("now", nil, { $0 >= before && $0.timeIntervalSince(before) < 60 }),
            (RFC3339.format(at), nil, { abs($0.timeIntervalSince(at)) < 1 }),
            ("@every 90s", nil, { abs($0.timeIntervalSince(before) - 90) < 30 }),
            ("0 3 * * *", "Europe/Paris", { due in
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = TimeZone(identifier: "Europe/Paris") ?? .gmt
                return calendar.component(.hour, from: due) == 3 && calendar.component(.minute, from: due) == 0 && due > before
            }),
        ]
        for (schedule, zone, check) in forms {
            let created = try await service.create(try SchedulerTestBed.job(schedule, timezone: zone))
            let job = try #require(try await service.get(created.jobID))
            #expect(job.status == .queued, "\(schedule)")
            let due = try #require(job.nextDueAt, "\(schedule)")
            #expect(check(due), "\(schedule): due \(due)")
            await #expect(throws: JobServiceError.conflict(.queued)) { _ = try await service.run(created.jobID) }
        }
        // created → run → queued; cancel → run answers 409 cancelled.
        let stored = try await service.create(try SchedulerTestBed.job("now", run: false))
        #expect(try await service.get(stored.jobID)?.status == .created)
        #expect(try await service.run(stored.jobID).status == .queued)
        #expect(try await service.cancel(stored.jobID).status == .cancelled)
        await #expect(throws: JobServiceError.conflict(.cancelled)) { _ = try await service.run(stored.jobID) }
        await #expect(throws: JobServiceError.notFound(UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)))) {
            _ = try await service.run(UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)))
        }
        // Idempotency: the same request replays, a different one with the key is refused.
        let keyed = try await service.create(try SchedulerTestBed.job("now", key: "k-1", run: false))
        let replay = try await service.create(try SchedulerTestBed.job("now", key: "k-1", run: false))
        #expect(replay == JobCreation(jobID: keyed.jobID, replayed: true))
        await #expect(throws: JobServiceError.idempotencyKeyReused("k-1")) {
            _ = try await service.create(try SchedulerTestBed.job("@every 1m", key: "k-1", run: false))
        }
        // Listing pages through the status index.
        var seen: [UUID] = []
        var page: String?
        repeat {
            let listed = try await service.list(status: .queued, limit: 2, page: page)
            seen += listed.jobs.map(\.jobID)
            page = listed.nextPage
        } while page != nil
        #expect(seen.count == 4)
        #expect(Set(seen).count == 4)
        await #expect(throws: JobServiceError.invalidPageToken) { _ = try await service.list(status: nil, limit: 5, page: "%%%") }
        await bed.stop()
    }

    @Test("one-shot runs succeed, a finished one-shot job runs again on activation, @every runs without overlapping itself")
    func runsThem() async throws {
        let bed = try await SchedulerTestBed.start()
        let service = bed.service
        let runtime = Self.runtime(service, "solo")
        try await Self.running([runtime]) {
            let once = try await service.create(try SchedulerTestBed.job("now", kind: "echo", payload: .object(["hi": .number("1")])))
            let done = try await Self.settled(service, once.jobID, .succeeded)
            #expect(done.attempt == 1)
            #expect(done.lastOutcome == .succeeded)
            let again = try await service.run(once.jobID)
            #expect(again.status == .queued)
            let twice = try await Self.settled(service, once.jobID, .succeeded)
            _ = try await eventually(timeout: .seconds(30)) { try await service.history(once.jobID, limit: 10).count == 2 }
            let history = try await service.history(once.jobID, limit: 10)
            #expect(twice.attempt == 2)
            #expect(history.map(\.attempt) == [2, 1])
            #expect(history.allSatisfy { $0.status == .succeeded && $0.workerID == "solo" })

            let every = try await service.create(try SchedulerTestBed.job("@every 1s"))
            #expect(try await eventually(timeout: .seconds(30)) { try await service.history(every.jobID, limit: 10).filter { $0.status == .succeeded }.count >= 3 })
            let runs = try await service.history(every.jobID, limit: 10).filter { $0.status != .running }.reversed()
            for (earlier, later) in zip(runs, runs.dropFirst()) {
                let finished = try #require(earlier.finishedAt)
                let started = try #require(later.startedAt)
                #expect(finished <= started)
                #expect(later.attempt == earlier.attempt + 1)
            }
            #expect(try await service.cancel(every.jobID).status == .cancelled)
        }
        await bed.stop()
    }

    @Test("max_duration_seconds is enforced: the sleeping run is cancelled and recorded as timed out")
    func maxDuration() async throws {
        let clock = TestSchedulerClock(start: Date())
        let bed = try await SchedulerTestBed.start(clock: clock)
        let service = bed.service
        let runtime = Self.runtime(service, "timer")
        try await runtime.ownership.balance()
        do {
            let created = try await service.create(try SchedulerTestBed.job("now", kind: "sleep", payload: .object(["seconds": .number("60")]),
                                                                           maxDuration: 1, maxAttempts: 1))
            try await runtime.poller.pollOnce()
            _ = try await Self.settled(service, created.jobID, .running)
            // The run's timer sleeps on the test clock: nothing times out until the clock passes the deadline.
            #expect(try await eventually(timeout: .seconds(30)) { clock.sleeperCount >= 2 })
            clock.advance(by: .milliseconds(999))
            #expect(try await service.get(created.jobID)?.status == .running)
            clock.advance(by: .milliseconds(1))
            let job = try await Self.settled(service, created.jobID, .timedOut)
            #expect(job.status == .timedOut)
            #expect(job.lastOutcome == .timedOut)
            _ = try await eventually(timeout: .seconds(30)) { try await service.history(created.jobID, limit: 5).first?.status == .timedOut }
            #expect(try await service.history(created.jobID, limit: 5).map(\.status) == [.timedOut])
        }
        await runtime.shutdown(gracePeriod: .zero)
        #expect(bed.counter("scheduler_runs_total", [("outcome", "timed_out")]) == 1)
        await bed.stop()
    }

    @Test("failed runs retry with backoff up to max_attempts")
    func retries() async throws {
        var handlers = HandlerRegistry.builtIns()
        handlers.register(FlakyHandler(succeedFrom: 3))
        let bed = try await SchedulerTestBed.start(handlers: handlers)
        let service = bed.service
        try await Self.running([Self.runtime(service, "retrier")]) {
            let recovers = try await service.create(try SchedulerTestBed.job("now", kind: "flaky", maxAttempts: 3))
            let gives = try await service.create(try SchedulerTestBed.job("now", kind: "flaky", maxAttempts: 2))
            let recovered = try await Self.settled(service, recovers.jobID, .succeeded)
            let failed = try await Self.settled(service, gives.jobID, .failed)
            #expect(recovered.attempt == 3)
            #expect(failed.attempt == 2)
            #expect(failed.lastError?.contains("attempt 2 fails") == true)
            _ = try await eventually(timeout: .seconds(30)) { try await service.history(recovers.jobID, limit: 10).first?.status == .succeeded }
            let history = try await service.history(recovers.jobID, limit: 10)
            #expect(history.map(\.status) == [.succeeded, .failed, .failed])
            // Backoff: each retry starts no earlier than its predecessor finished.
            for (later, earlier) in zip(history, history.dropFirst()) {
                #expect(try #require(later.startedAt) >= #require(earlier.finishedAt))
            }
        }
        #expect(bed.counter("scheduler_runs_total", [("outcome", "failed")]) == 4)
        // Both failures of the job that recovers and the first of the one that gives up were retried.
        #expect(bed.counter("scheduler_retries_total", [("kind", "flaky")]) == 3)
        #expect(bed.counter("scheduler_runs_total", [("kind", "flaky"), ("outcome", "failed")]) == 4)
        #expect(bed.counter("scheduler_runs_started_total", [("kind", "flaky")]) == 5)
        let durations = try bed.metrics.expectRecorder("scheduler_run_duration_seconds", [("kind", "flaky"), ("outcome", "failed")])
        #expect(durations.values.count == 4)
        #expect(try bed.metrics.expectGauge("scheduler_jobs_running").lastValue == 0)
        await bed.stop()
    }

    @Test("a run abandoned by its worker is reclaimed by another; the stale completion is rejected")
    func reclaim() async throws {
        let clock = TestSchedulerClock(start: Date())
        let bed = try await SchedulerTestBed.start(clock: clock)
        let service = bed.service
        let created = try await service.create(try SchedulerTestBed.job("now", maxAttempts: 3))
        let job = try #require(try await service.get(created.jobID))
        let shard = try #require(job.queueShard)
        let rows = try await service.cql.run("SELECT \(QueueEntry.columns) FROM scheduler.jobs_sharded WHERE shard = ? AND bucket = ?",
                                             [Int32(shard), try #require(job.queueBucket)])
        let entry = try #require(try rows.decode(QueueEntry.self).first)
        // Worker A claims the run, then stalls past its run lease.
        let abandoner = Self.runtime(service, "abandoner")
        let claim = try #require(try await abandoner.runs.claim(entry))
        #expect(try await service.get(created.jobID)?.status == .running)
        let rescuer = Self.runtime(service, "rescuer")
        try await rescuer.ownership.balance()
        // Within the run lease the sweep leaves the run alone; past it, the run is reclaimed and run again.
        clock.advance(by: bed.configuration.runLease - .seconds(1))
        try await rescuer.ownership.balance()
        try await rescuer.repair.sweep()
        #expect(try await service.get(created.jobID)?.attempt == 1)
        clock.advance(by: .seconds(2))
        try await rescuer.ownership.balance()
        try await rescuer.repair.sweep()
        try await rescuer.poller.pollOnce()
        let reclaimed = try await Self.settled(service, created.jobID, .succeeded)
        #expect(reclaimed.attempt == 2)
        #expect(try await eventually(timeout: .seconds(30)) { rescuer.runs.inFlightCount == 0 })
        try await abandoner.runs.complete(entry, claim: claim, end: .finished, report: RunReport(output: "late"), leaseExpiresAt: claim.leaseExpiresAt)
        #expect(bed.counter("scheduler_stale_completions_total") == 1)
        let after = try #require(try await service.get(created.jobID))
        #expect(after.attempt == 2)
        #expect(after.status == .succeeded)
        let history = try await service.history(created.jobID, limit: 10)
        #expect(history.map(\.attempt) == [2, 1])
        #expect(history.last?.status == .failed)
        #expect(history.last?.error?.hasPrefix("worker lost: run lease expired (worker abandoner)") == true, "\(history)")
        #expect(history.first?.workerID == "rescuer")
        await rescuer.shutdown(gracePeriod: .zero)
        await bed.stop()
    }

    @Test("a run costs at most 2 LWTs and 5 CQL requests")
    func runBudget() async throws {
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.shards = 1
        let bed = try await SchedulerTestBed.start(configuration)
        let service = bed.service
        var ids: [UUID] = []
        for _ in 0..<20 { ids.append(try await service.create(try SchedulerTestBed.job("now")).jobID) }
        let runtime = Self.runtime(service, "budget")
        try await runtime.ownership.balance()
        #expect(runtime.ownedShards == [0])
        // Warm the prepared-statement cache so only executions are counted.
        for id in ids.prefix(1) { _ = try await service.get(id) }
        let lwts = bed.lwts
        let requests = bed.requests
        try await runtime.poller.pollOnce()
        #expect(try await eventually(timeout: .seconds(30)) { runtime.runs.inFlightCount == 0 })
        let runLWTs = bed.lwts - lwts
        let runRequests = bed.requests - requests
        for id in ids { #expect(try await service.get(id)?.status == .succeeded) }
        #expect(runLWTs == 2 * 20, "\(runLWTs) LWTs for 20 runs")
        #expect(runRequests <= 5 * 20, "\(runRequests) requests for 20 runs")
        await runtime.shutdown(gracePeriod: .zero)
        await bed.stop()
    }

    @Test("1,000 jobs over 3 runtimes: each completes with exactly one accepted run")
    func thousandJobs() async throws {
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.shards = 8
        configuration.repairInterval = .seconds(5)
        let bed = try await SchedulerTestBed.start(configuration)
        var serviceList = [bed.service]
        var sessions: [CQLSession] = []
        for _ in 0..<2 {
            let session = try await CQLSession.connect(CQLSession.Configuration(
                contactPoints: [CQLEndpoint(host: bed.node.host, port: bed.node.port)], discoverNodes: false, metricsFactory: bed.metrics))
            sessions.append(session)
            serviceList.append(JobService(session: session, keyspace: "scheduler", configuration: configuration, handlers: .builtIns(),
                                       logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), metrics: bed.metrics))
        }
        let services = serviceList
        let runtimes = services.enumerated().map { Self.runtime($1, "worker-\($0)", poll: .milliseconds(100)) }
        let ids = try await Self.running(runtimes) {
            let ids = try await withThrowingTaskGroup(of: [UUID].self) { group in
                for part in 0..<10 {
                    group.addTask {
                        var ids: [UUID] = []
                        for _ in 0..<100 { ids.append(try await services[part % 3].create(try SchedulerTestBed.job("now")).jobID) }
                        return ids
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(try await eventually(timeout: .seconds(240)) {
                bed.counter("scheduler_runs_total", [("outcome", "succeeded")]) >= 1000
            })
            return ids
        }
        #expect(ids.count == 1000)
        for id in ids.prefix(200) {
            #expect(try await bed.service.history(id, limit: 5).map(\.status) == [.succeeded])
        }
        #expect(bed.counter("scheduler_runs_total", [("outcome", "succeeded")]) == 1000)
        #expect(bed.counter("scheduler_runs_started_total") == 1000)
        #expect(bed.counter("scheduler_stale_completions_total") == 0)
        for id in ids {
            let job = try #require(try await bed.service.get(id))
            #expect(job.status == .succeeded && job.attempt == 1)
        }
        for session in sessions { session.close() }
        await bed.stop()
    }

    @Test("shards are split fairly, rebalanced when a worker leaves, and a shutdown hands a running run back")
    func rebalanceAndHandBack() async throws {
        // Leases renewed by the runtimes' own loops, as long as production's (10 s): a loaded machine
        // does not let one lapse mid-test, and a release lost to a timeout still expires well within the
        // test's waits (a graceful shutdown releases its leases and leaves the pool at once).
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.shardLeaseTTL = .seconds(10)
        configuration.workerTTL = .seconds(10)
        let bed = try await SchedulerTestBed.start(configuration)
        let service = bed.service
        let first = Self.runtime(service, "first")
        let second = Self.runtime(service, "second")
        let firstTask = Task { try await first.run() }
        let secondTask = Task { try await second.run() }
        #expect(try await eventually(timeout: .seconds(30)) {
            first.ownedShards.count == 2 && second.ownedShards.count == 2
        })
        #expect(Set(first.ownedShards + second.ownedShards) == [0, 1, 2, 3])
        let created = try await service.create(try SchedulerTestBed.job("now", kind: "sleep", payload: .object(["seconds": .number("60")]),
                                                                       maxDuration: 120, maxAttempts: 1))
        let running = try await Self.settled(service, created.jobID, .running)
        let holder = running.leaseOwner == "first" ? first : second
        let other = holder === first ? second : first
        await holder.shutdown(gracePeriod: .milliseconds(200))
        // Handed back: queued again without spending the only attempt, then picked up by the other worker.
        #expect(try await eventually(timeout: .seconds(30)) {
            try await service.get(created.jobID).map { $0.status == .running && $0.leaseOwner == other.workerID } ?? false
        })
        #expect(try await eventually(timeout: .seconds(30)) { other.ownedShards.count == 4 })
        #expect(bed.counter("scheduler_runs_total", [("outcome", "cancelled")]) == 1)
        let history = try await service.history(created.jobID, limit: 5)
        #expect(history.last?.status == .cancelled)
        #expect(try await service.cancel(created.jobID).status == .cancelled)
        await other.shutdown(gracePeriod: .zero)
        _ = try? await firstTask.value
        _ = try? await secondTask.value
        await bed.stop()
    }

    @Test("a run longer than its run lease renews it and is not reclaimed")
    func longRunRenewsLease() async throws {
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.runLease = .seconds(1)
        let bed = try await SchedulerTestBed.start(configuration)
        let service = bed.service
        try await Self.running([Self.runtime(service, "patient")]) {
            let created = try await service.create(try SchedulerTestBed.job("now", kind: "sleep", payload: .object(["seconds": .number("2.5")]),
                                                                           maxDuration: 20, maxAttempts: 3))
            let job = try await Self.settled(service, created.jobID, .succeeded)
            #expect(job.attempt == 1)
        }
        #expect(bed.counter("scheduler_stale_completions_total") == 0)
        #expect(bed.counter("scheduler_runs_started_total") == 1)
        await bed.stop()
    }

    @Test("a creation that stopped after its idempotency key is finished by the retry")
    func halfCreatedReplay() async throws {
        let bed = try await SchedulerTestBed.start()
        let service = bed.service
        let job = try SchedulerTestBed.job("now", key: "half", run: true)
        let orphan = UUID()
        try await service.cql.run("INSERT INTO scheduler.idempotency_keys (idempotency_key, job_id, request_hash, created_at) VALUES (?, ?, ?, ?) IF NOT EXISTS",
                                  ["half", orphan, JobService.requestHash(job), Date()])
        let creation = try await service.create(job)
        #expect(creation == JobCreation(jobID: orphan, replayed: true))
        let stored = try #require(try await service.get(orphan))
        #expect(stored.status == .queued)
        #expect(try await service.list(status: .queued, limit: 10, page: nil).jobs.map(\.jobID) == [orphan])
        await bed.stop()
    }

    @Test("the cluster status counts a claimed job as a run in flight, not also as queued")
    func clusterStatusQueueDepth() async throws {
        let clock = TestSchedulerClock(start: Date())
        let bed = try await SchedulerTestBed.start(clock: clock)
        let service = bed.service
        let claimed = try await service.create(try SchedulerTestBed.job("now"))
        _ = try await service.create(try SchedulerTestBed.job("now"))
        let before = try await service.clusterStatus()
        #expect(before.shards.map(\.queueDepth).reduce(0, +) == 2)
        #expect(before.runsInFlight == 0)

        let worker = Self.runtime(service, "claimer")
        _ = try #require(try await worker.runs.claim(try await SchedulerTestBed.queueEntry(service, claimed.jobID)))
        let after = try await service.clusterStatus()
        #expect(after.shards.map(\.queueDepth).reduce(0, +) == 1)
        #expect(after.runsInFlight == 1)
        #expect(after.runs.map(\.jobID) == [claimed.jobID])
        await bed.stop()
    }
}
