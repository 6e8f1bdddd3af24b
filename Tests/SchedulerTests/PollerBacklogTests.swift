import CQLNode
import CQLWire
import Foundation
import Testing
import TestSupport
@testable import Scheduler

/// The poller under a backlog larger than its run capacity, and the repair sweep's horizon.
@Suite("Poller backlog and repair horizon")
struct PollerBacklogTests {
    @Test("a backlog ten times the run capacity drains without waiting for the next poll interval")
    func backlogDrains() async throws {
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.shards = 2
        configuration.maximumConcurrentRuns = 4
        let bed = try await SchedulerTestBed.start(configuration)
        let service = bed.service
        var ids: [UUID] = []
        for _ in 0..<40 { ids.append(try await service.create(try SchedulerTestBed.job("now")).jobID) }
        // One full pass at start-up, the next an hour later: only the backlog path can run the other 36.
        let runtime = SchedulerRuntime(service: service, workerID: "backlog", shards: configuration.shards, pollInterval: .seconds(3600))
        try await runtime.ownership.balance()
        #expect(runtime.ownedShards == [0, 1])
        let task = Task { try await runtime.run() }
        let drained = try await eventually(timeout: .seconds(60)) {
            bed.counter("scheduler_runs_total", [("outcome", "succeeded")]) >= 40
        }
        #expect(drained, "\(bed.counter("scheduler_runs_total", [("outcome", "succeeded")])) of 40 runs")
        await runtime.shutdown(gracePeriod: .seconds(5))
        _ = try? await task.value
        for id in ids { #expect(try await service.get(id)?.status == .succeeded) }
        #expect(bed.counter("scheduler_runs_started_total") == 40)
        #expect(bed.counter("scheduler_stale_completions_total") == 0)
        // The gauges: never more runs in flight than the capacity, a backlog seen waiting, both back to zero.
        let running = try bed.metrics.expectGauge("scheduler_jobs_running")
        #expect((running.values.max() ?? 0) <= 4 && (running.values.max() ?? 0) >= 1, "\(running.values)")
        #expect(running.lastValue == 0)
        let queued = try bed.metrics.expectGauge("scheduler_jobs_queued")
        #expect((queued.values.max() ?? 0) >= 4, "\(queued.values)")
        #expect(queued.lastValue == 0, "\(queued.values)")
        await bed.stop()
    }

    @Test("the repair sweep re-enqueues a missing entry that is due soon and leaves one due far ahead to a later sweep")
    func repairHorizon() async throws {
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.shards = 1
        // The shard lease is taken once and never renewed here: it must outlast a sweep on a loaded
        // machine, or the sweep rightly skips the shard it no longer owns.
        configuration.shardLeaseTTL = .seconds(120)
        let bed = try await SchedulerTestBed.start(configuration)
        let service = bed.service
        let soon = try await service.create(try SchedulerTestBed.job("now")).jobID
        let later = try await service.create(try SchedulerTestBed.job("2099-01-01T00:00:00Z")).jobID
        func entryExists(_ id: UUID) async throws -> Bool {
            let job = try #require(try await service.get(id))
            let rows = try await service.cql.run(
                "SELECT job_id FROM scheduler.jobs_sharded WHERE shard = ? AND bucket = ? AND due_at = ? AND job_id = ?",
                [try #require(job.queueShard), try #require(job.queueBucket), try #require(job.nextDueAt), id])
            return rows.first != nil
        }
        // A worker that crashed between the job row and its queue entry: the entries are gone.
        for id in [soon, later] {
            let job = try #require(try await service.get(id))
            try await service.store.write([.dequeue(QueueEntry.Key(shard: Int32(try #require(job.queueShard)), bucket: try #require(job.queueBucket), dueAt: try #require(job.nextDueAt), jobID: id))], logged: false)
            #expect(try await entryExists(id) == false)
        }
        let runtime = SchedulerRuntime(service: service, workerID: "repairer", shards: 1, pollInterval: .seconds(3600))
        try await runtime.ownership.balance()
        try await runtime.repair.sweep()
        #expect(try await entryExists(soon))
        #expect(try await entryExists(later) == false)
        #expect(try await service.get(later)?.status == .queued)
        await runtime.shutdown(gracePeriod: .zero)
        await bed.stop()
    }
}
