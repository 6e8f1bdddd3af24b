import CQLNode
import CQLWire
import Foundation
import Testing
import TestSupport
@testable import Scheduler
import NIOConcurrencyHelpers

/// The writes of a run fenced by its token are retried, not given up: a completion whose write
/// fails or times out several times still records the run once, and the job never runs twice.
@Suite("Fenced writes under replica faults")
struct FencedRetryTests {
    enum Fault: String, CaseIterable, Sendable {
        /// The completion CAS refused by an unavailable replica set, three times (nothing applied).
        case unavailable
        /// The completion CAS timing out in Paxos (`WriteTimeout CAS`) three times before it ran.
        case casTimeoutBefore
        /// The completion CAS applied, its answer lost (the client's timeout): the retry is refused and
        /// the SERIAL read tells it was this run's own write.
        case appliedAnswerLost
        /// The history/next-step batch after the CAS refused three times.
        case followUpUnavailable
    }

    @Test("a completion write that fails is retried: one run, recorded once", arguments: Fault.allCases)
    func completionRetried(fault: Fault) async throws {
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.shards = 1
        let bed = try await SchedulerTestBed.start(configuration)
        let service = bed.service
        let created = try await service.create(try SchedulerTestBed.job("now", kind: "echo", payload: .object(["n": .number("1")])))
        let store = JobStore(cql: try service.cql)
        let completion = try await bed.session.prepare(store.completionStatement)
        let history = try await bed.session.prepare(store.finishHistoryStatement)
        let rule: FaultInjection.Rule
        switch fault {
        case .unavailable:
            rule = .init(match: .preparedID(completion.id), action: .unavailable, count: 3)
        case .casTimeoutBefore:
            rule = .init(match: .preparedID(completion.id), action: .writeTimeoutCAS, count: 3)
        case .appliedAnswerLost:
            rule = .init(match: .preparedID(completion.id), action: .timeout, timing: .afterExecution, count: 1)
        case .followUpUnavailable:
            rule = .init(match: .preparedID(history.id), action: .unavailable, count: 3)
        }
        let id = bed.faults.add(rule)
        let runtime = SchedulerRuntime(service: service, workerID: "faulty", shards: 1, pollInterval: .milliseconds(50))
        try await runtime.ownership.balance()
        try await runtime.poller.pollOnce()
        #expect(try await eventually(timeout: .seconds(30)) { runtime.runs.inFlightCount == 0 })
        #expect(bed.faults.firedCount(id) == rule.remaining ?? 0)
        let job = try #require(try await service.get(created.jobID))
        #expect(job.status == .succeeded)
        #expect(job.attempt == 1)
        let runs = try await service.history(created.jobID, limit: 10)
        #expect(runs.map(\.status) == [.succeeded])
        #expect(bed.counter("scheduler_runs_started_total") == 1)
        #expect(bed.counter("scheduler_runs_total", [("outcome", "succeeded")]) == 1)
        #expect(bed.counter("scheduler_stale_completions_total") == 0)
        await runtime.shutdown(gracePeriod: .zero)
        await bed.stop()
    }

    /// A replica that died but is not yet marked down fails the claim's logged batch with WriteTimeout
    /// BATCH_LOG for as long as the failure detector takes (about 20 s on Cassandra 3.11), longer than
    /// the two thirds of the run lease the batch is retried in; LWTs still go through. The claim renews
    /// its lease and keeps trying instead of giving the run up to a reclaim that costs an attempt.
    @Test("a claim whose follow-up batch fails past two thirds of the run lease renews the lease and runs once")
    func claimOutlastsBatchLogTimeouts() async throws {
        let clock = TestSchedulerClock(start: Date())
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.shards = 1
        let bed = try await SchedulerTestBed.start(configuration, clock: clock)
        let service = bed.service
        let created = try await service.create(try SchedulerTestBed.job("now", maxAttempts: 1))
        let job = try #require(try await service.get(created.jobID))
        let rows = try await service.cql.run("SELECT \(QueueEntry.columns) FROM scheduler.jobs_sharded WHERE shard = ? AND bucket = ?",
                                             [Int32(try #require(job.queueShard)), try #require(job.queueBucket)])
        let entry = try #require(try rows.decode(QueueEntry.self).first)
        let startHistory = try await bed.session.prepare(JobStore(cql: try service.cql).startHistoryStatement)
        let rule = FaultInjection.Rule(match: .preparedID(startHistory.id), action: .writeTimeout(.batchLog, received: 1, blockFor: 2),
                                       count: 40)
        let id = bed.faults.add(rule)
        let runtime = SchedulerRuntime(service: service, workerID: "patient", shards: 1, pollInterval: .seconds(3600))
        let claimTask = Task { try await runtime.runs.claim(entry) }
        // Every try sleeps on the test clock: advance it until the claim returns.
        let finished = NIOLockedValueBox(false)
        let watcher = Task { _ = try? await claimTask.value; finished.withLockedValue { $0 = true } }
        var advanced = Duration.zero
        while !finished.withLockedValue({ $0 }), advanced < .seconds(600) {
            try await Task.sleep(for: .milliseconds(5))
            clock.advance(by: .milliseconds(100))
            advanced += .milliseconds(100)
        }
        await watcher.value
        let claim = try #require(try await claimTask.value, "the claim gave the run up")
        #expect(bed.faults.firedCount(id) == 40)
        #expect(advanced > configuration.runLease * 2 / 3, "the faults lasted \(advanced), not past the first retry window")
        #expect(claim.leaseExpiresAt > claim.startedAt.adding(configuration.runLease), "the run lease was not renewed")
        let running = try #require(try await service.get(created.jobID))
        #expect(running.status == .running && running.attempt == 1 && running.leaseExpiresAt == claim.leaseExpiresAt)
        #expect(try await service.history(created.jobID, limit: 10).map(\.status) == [.running])
        await runtime.shutdown(gracePeriod: .zero)
        await bed.stop()
    }
}
