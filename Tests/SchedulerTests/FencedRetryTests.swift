import CQLNode
import CQLWire
import Foundation
import Testing
@testable import Scheduler

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
        #expect(try await SchedulerTestBed.eventually { runtime.runs.inFlightCount == 0 })
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
}
