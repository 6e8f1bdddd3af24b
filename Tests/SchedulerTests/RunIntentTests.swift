import CQLNode
import CQLWire
import Foundation
import Testing
import TestSupport
@testable import Scheduler

/// `POST /jobs/{id}/run` writes its `queued` index entry as an intent before the CAS, so a run whose
/// later writes were lost is still seen by the repair sweep; intents whose CAS lost are swept away after
/// a grace. Also: a claim whose follow-up writes were lost keeps the `queued` entry that leads the sweep
/// to the running job.
@Suite("Run intent and the repair sweep")
struct RunIntentTests {
    /// A configuration for sweeps called by hand: one shard held far longer than the test.
    static var configuration: SchedulerConfiguration {
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.shards = 1
        configuration.shardLeaseTTL = .seconds(600)
        // Sweeps are called by hand; the long interval gives a long intent grace, so no intent ages out mid-test.
        configuration.repairInterval = .seconds(60)
        return configuration
    }

    static func indexKey(_ id: UUID) -> [any CQLEncodable] { [JobStatus.queued.rawValue, Int32(JobHash.slot(id)), id] }

    /// Whether the job has a `queued` status-index entry.
    static func queuedIndexEntry(_ service: JobService, _ id: UUID) async throws -> Bool {
        let rows = try await service.cql.run("SELECT job_id FROM scheduler.jobs_by_status WHERE status = ? AND slot = ? AND job_id = ?",
                                             indexKey(id))
        return rows.first != nil
    }

    /// Whether the queue entry an activation would write exists.
    static func entryExists(_ service: JobService, _ activation: RunActivation) async throws -> Bool {
        let rows = try await service.cql.run(
            "SELECT job_id FROM scheduler.jobs_sharded WHERE shard = ? AND bucket = ? AND due_at = ? AND job_id = ?",
            [Int32(activation.shard), activation.due.bucket, activation.due, activation.job.jobID])
        return rows.first != nil
    }

    /// A runtime holding the only shard, for sweeps called by hand.
    static func sweeper(_ service: JobService, _ name: String = "sweeper") async throws -> SchedulerRuntime {
        let runtime = SchedulerRuntime(service: service, workerID: name, shards: 1, pollInterval: .seconds(3600))
        try await runtime.ownership.balance()
        #expect(runtime.ownedShards == [0])
        return runtime
    }

    @Test("a run whose writes after the CAS failed (the client's retry gets 409 queued) is found by the sweep and runs exactly once, for a created and for a finished one-shot job")
    func lostEnqueueIsRepaired() async throws {
        let bed = try await SchedulerTestBed.start(Self.configuration)
        let service = bed.service
        let id = try await service.create(try SchedulerTestBed.job("now", run: false)).jobID
        let runtime = try await Self.sweeper(service)
        for round in 1...2 {
            // The run's only batch (queue entry, index move) fails after the intent and the CAS went through.
            let rule = bed.faults.add(.init(match: .opcode(.batch), action: .unavailable))
            await #expect(throws: (any Error).self) { _ = try await service.run(id) }
            bed.faults.remove(rule)
            await #expect(throws: JobServiceError.conflict(.queued)) { _ = try await service.run(id) }
            #expect(!(try await RepairSweepTests.entryExists(service, id)), "round \(round): the entry was written after all")
            #expect(try await Self.queuedIndexEntry(service, id), "round \(round): no intent entry")

            try await runtime.repair.sweep()
            #expect(try await RepairSweepTests.entryExists(service, id), "round \(round): the sweep did not re-enqueue the job")
            try await runtime.poller.pollOnce()
            let ran = try await eventually(timeout: .seconds(30)) { try await service.get(id)?.status == .succeeded }
            #expect(ran, "round \(round): the job did not run")
            // Further sweeps find nothing to redo: one history record per activation.
            try await runtime.repair.sweep()
            try await runtime.poller.pollOnce()
            let history = try await service.history(id, limit: 10)
            #expect(history.count == round, "round \(round): \(history.map(\.attempt))")
            #expect(bed.counter("scheduler_runs_total", [("outcome", "succeeded")]) == Int64(round))
            #expect(!(try await Self.queuedIndexEntry(service, id)), "round \(round): the claim left the queued entry")
        }
        await runtime.shutdown(gracePeriod: .seconds(5))
        await bed.stop()
    }

    @Test("an intent whose CAS lost is removed by a sweep once older than the grace, not before, and its delete does not shadow a later run")
    func staleIntentRemovedAfterGrace() async throws {
        let configuration = Self.configuration
        let bed = try await SchedulerTestBed.start(configuration)
        let service = bed.service
        let grace = service.runIntentGrace
        let stale = try await service.create(try SchedulerTestBed.job("now", run: false)).jobID
        let fresh = try await service.create(try SchedulerTestBed.job("now", run: false)).jobID

        // `stale`: a run wrote its intent long ago and lost its CAS. `fresh`: a run's intent just written, its CAS in flight.
        let staleActivation = try service.activation(try #require(try await service.get(stale)))
        let longAgo = (Date().millis - grace.milliseconds - 60_000) * 1000
        try await service.cql.run(
            "INSERT INTO scheduler.jobs_by_status (status, slot, job_id, updated_at, next_due_at) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?",
            [JobStatus.queued.rawValue, Int32(JobHash.slot(stale)), stale, staleActivation.at, staleActivation.due, longAgo])
        let freshActivation = try service.activation(try #require(try await service.get(fresh)))
        try await service.writeRunIntent(freshActivation)

        let runtime = try await Self.sweeper(service)
        try await runtime.repair.sweep()
        #expect(!(try await Self.queuedIndexEntry(service, stale)), "the stale intent survived the sweep")
        #expect(try await Self.queuedIndexEntry(service, fresh), "an intent younger than the grace was removed")
        for id in [stale, fresh] { #expect(try await service.get(id)?.status == .created) }
        #expect(!(try await Self.entryExists(service, staleActivation)))
        #expect(!(try await Self.entryExists(service, freshActivation)))

        // Past the grace (here: a sweep told the grace is over) the fresh one goes too.
        try await runtime.repair.sweep(intentGrace: .zero)
        #expect(!(try await Self.queuedIndexEntry(service, fresh)))

        // The deletes were at the intents' own write times: a later run's entries stand, and it runs.
        for id in [stale, fresh] {
            #expect(try await service.run(id).status == .queued)
            #expect(try await Self.queuedIndexEntry(service, id))
        }
        try await runtime.repair.sweep(intentGrace: .zero)
        for id in [stale, fresh] { #expect(try await Self.queuedIndexEntry(service, id)) }
        try await runtime.poller.pollOnce()
        let ran = try await eventually(timeout: .seconds(30)) {
            let first = try await service.get(stale)?.status
            let second = try await service.get(fresh)?.status
            return first == .succeeded && second == .succeeded
        }
        #expect(ran)
        await runtime.shutdown(gracePeriod: .seconds(5))
        await bed.stop()
    }

    @Test("a cancel between the run's intent and its CAS leaves no runnable job, and the sweep removes the intent")
    func cancelBetweenIntentAndCAS() async throws {
        let bed = try await SchedulerTestBed.start(Self.configuration)
        let service = bed.service
        let id = try await service.create(try SchedulerTestBed.job("now", run: false)).jobID
        let activation = try service.activation(try #require(try await service.get(id)))
        try await service.writeRunIntent(activation)
        #expect(try await service.cancel(id).status == .cancelled)
        #expect(try await service.casRun(activation) == false)
        await #expect(throws: JobServiceError.conflict(.cancelled)) { _ = try await service.run(id) }

        let runtime = try await Self.sweeper(service)
        try await runtime.repair.sweep()
        #expect(try await Self.queuedIndexEntry(service, id), "removed within the grace")
        try await runtime.repair.sweep(intentGrace: .zero)
        #expect(!(try await Self.queuedIndexEntry(service, id)))
        try await runtime.poller.pollOnce()
        #expect(!(try await Self.entryExists(service, activation)))
        let job = try #require(try await service.get(id))
        #expect(job.status == .cancelled)
        #expect(job.attempt == 0)
        #expect(try await service.history(id, limit: 10).isEmpty)
        await runtime.shutdown(gracePeriod: .zero)
        await bed.stop()
    }

    @Test("a claim whose writes after the CAS were lost keeps the queued index entry, through which the sweep reclaims the run once its lease expires")
    func lostClaimWritesAreReclaimed() async throws {
        let bed = try await SchedulerTestBed.start(Self.configuration)
        let service = bed.service
        let id = try await service.create(try SchedulerTestBed.job("now")).jobID
        let job = try #require(try await service.get(id))
        let entries = try await service.cql.run(
            "SELECT \(QueueEntry.columns) FROM scheduler.jobs_sharded WHERE shard = ? AND bucket = ? AND due_at = ? AND job_id = ?",
            [try #require(job.queueShard), try #require(job.queueBucket), try #require(job.nextDueAt), id])
        let entry = try #require(try entries.decode(QueueEntry.self).first)
        // A worker wins the claim's CAS and dies before its batch (entry delete, history, index move).
        let dead = SchedulerRuntime(service: service, workerID: "dead", shards: 1, pollInterval: .seconds(3600))
        #expect(try await dead.runs.casClaim(entry) != nil)
        #expect(try await service.get(id)?.status == .running)

        let runtime = try await Self.sweeper(service, "repairer")
        // Even past any grace, the queued entry of a running job stays: it is the only one leading to the run.
        try await runtime.repair.sweep(intentGrace: .zero)
        #expect(try await Self.queuedIndexEntry(service, id))
        #expect(try await service.get(id)?.status == .running)

        try await service.cql.run("UPDATE scheduler.jobs SET lease_expires_at = ? WHERE job_id = ?",
                                  [Date(milliseconds: Date().millis - 1000), id])
        try await runtime.repair.sweep(intentGrace: .zero)
        let reclaimed = try #require(try await service.get(id))
        #expect(reclaimed.status == .queued)
        #expect(reclaimed.lastError?.contains("run lease expired") == true)
        #expect(try await RepairSweepTests.entryExists(service, id))
        try await runtime.poller.pollOnce()
        let ran = try await eventually(timeout: .seconds(30)) { try await service.get(id)?.status == .succeeded }
        #expect(ran)
        await runtime.shutdown(gracePeriod: .seconds(5))
        await dead.shutdown(gracePeriod: .zero)
        await bed.stop()
    }
}
