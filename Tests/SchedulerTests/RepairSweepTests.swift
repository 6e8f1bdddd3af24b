import CQLNode
import CQLWire
import Foundation
import Testing
import TestSupport
@testable import Scheduler

/// The repair sweep's guarantees (missing entries, expired run leases) and what a sweep costs when
/// many queued jobs wait far ahead: their due time rides in the status index, so their rows are not read.
@Suite("Repair sweep")
struct RepairSweepTests {
    /// Whether the queue entry the job row points at exists.
    static func entryExists(_ service: JobService, _ id: UUID) async throws -> Bool {
        let job = try #require(try await service.get(id))
        guard let shard = job.queueShard, let bucket = job.queueBucket, let due = job.nextDueAt else { return false }
        let rows = try await service.cql.run(
            "SELECT job_id FROM scheduler.jobs_sharded WHERE shard = ? AND bucket = ? AND due_at = ? AND job_id = ?",
            [shard, bucket, due, id])
        return rows.first != nil
    }

    /// Deletes the job's queue entry, as a crash between the job row and the entry leaves it.
    static func dropEntry(_ service: JobService, _ id: UUID) async throws {
        let job = try #require(try await service.get(id))
        try await service.store.write([.dequeue(QueueEntry.Key(shard: Int32(try #require(job.queueShard)), bucket: try #require(job.queueBucket), dueAt: try #require(job.nextDueAt), jobID: id))], logged: false)
    }

    /// The write time of the job's `queued` index entry.
    static func queuedIndexWriteTime(_ service: JobService, _ id: UUID) async throws -> Int64 {
        let written = try await service.cql.run(
            "SELECT writetime(updated_at) AS written FROM scheduler.jobs_by_status WHERE status = ? AND slot = ? AND job_id = ?",
            [JobStatus.queued.rawValue, Int32(JobHash.slot(id)), id])
        return try #require(try written.first?.optional("written", as: Int64.self))
    }

    /// Rewrites the job's `queued` index entry without a due time, as entries written before schema
    /// migration 2 are: no `next_due_at` cell at all (a null write would leave a newer tombstone instead).
    static func makeLegacyIndexEntry(_ service: JobService, _ id: UUID) async throws {
        let key: [any CQLEncodable] = [JobStatus.queued.rawValue, Int32(JobHash.slot(id)), id]
        let timestamp = try await queuedIndexWriteTime(service, id)
        try await service.cql.run("DELETE FROM scheduler.jobs_by_status USING TIMESTAMP ? WHERE status = ? AND slot = ? AND job_id = ?",
                                  [timestamp] + key)
        try await service.cql.run(
            "INSERT INTO scheduler.jobs_by_status (status, slot, job_id, updated_at) VALUES (?, ?, ?, ?) USING TIMESTAMP ?",
            key + [Date(), timestamp + 1])
    }

    @Test("the sweep re-enqueues a queued job whose entry is missing, also from an index entry without a due time, and reclaims an expired run; all of them then run")
    func repairs() async throws {
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.shards = 1
        configuration.shardLeaseTTL = .seconds(600)  // the sweep below runs without the loop that renews it
        let bed = try await SchedulerTestBed.start(configuration)
        let service = bed.service
        let missing = try await service.create(try SchedulerTestBed.job("now")).jobID
        let legacy = try await service.create(try SchedulerTestBed.job("now")).jobID
        let abandoned = try await service.create(try SchedulerTestBed.job("now")).jobID
        for id in [missing, legacy] { try await Self.dropEntry(service, id) }
        try await Self.makeLegacyIndexEntry(service, legacy)

        // A worker claims `abandoned` and dies: its run lease runs out with nobody renewing it.
        let dead = SchedulerRuntime(service: service, workerID: "dead", shards: 1, pollInterval: .seconds(3600))
        let job = try #require(try await service.get(abandoned))
        let entries = try await service.cql.run(
            "SELECT \(QueueEntry.columns) FROM scheduler.jobs_sharded WHERE shard = ? AND bucket = ? AND due_at = ? AND job_id = ?",
            [try #require(job.queueShard), try #require(job.queueBucket), try #require(job.nextDueAt), abandoned])
        let entry = try #require(try entries.decode(QueueEntry.self).first)
        #expect(try await dead.runs.claim(entry) != nil)
        try await service.cql.run("UPDATE scheduler.jobs SET lease_expires_at = ? WHERE job_id = ?",
                                  [Date(milliseconds: Date().millis - 1000), abandoned])
        #expect(try await service.get(abandoned)?.status == .running)

        let runtime = SchedulerRuntime(service: service, workerID: "repairer", shards: 1, pollInterval: .seconds(3600))
        try await runtime.ownership.balance()
        try await runtime.repair.sweep()
        #expect(try await Self.entryExists(service, missing))
        #expect(try await Self.entryExists(service, legacy))
        let reclaimed = try #require(try await service.get(abandoned))
        #expect(reclaimed.status == .queued)
        #expect(reclaimed.attempt == 1)
        #expect(reclaimed.lastError?.contains("run lease expired") == true)
        #expect(try await Self.entryExists(service, abandoned))

        let task = Task { try await runtime.run() }
        let ran = try await eventually(timeout: .seconds(30)) {
            var done = 0
            for id in [missing, legacy, abandoned] where try await service.get(id)?.status == .succeeded { done += 1 }
            return done == 3
        }
        #expect(ran)
        await runtime.shutdown(gracePeriod: .seconds(5))
        _ = try? await task.value
        await dead.shutdown(gracePeriod: .zero)
        await bed.stop()
    }

    @Test("a sweep over far-future queued jobs sends one index page per partition and no job reads; entries without a due time are read once and backfilled")
    func farFutureJobsCostNoReads() async throws {
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.shards = 1
        // The sweeps below run without the runtime's loop to renew the shard lease, and a slow machine may
        // take longer than the fast configuration's 3 s between them; a sweep without the shard reads nothing.
        configuration.shardLeaseTTL = .seconds(600)
        let bed = try await SchedulerTestBed.start(configuration)
        let service = bed.service
        let farAhead = 200
        var later: [UUID] = []
        for _ in 0..<farAhead { later.append(try await service.create(try SchedulerTestBed.job("2099-01-01T00:00:00Z")).jobID) }
        let soon = try await service.create(try SchedulerTestBed.job("now")).jobID
        let runtime = SchedulerRuntime(service: service, workerID: "sweeper", shards: 1, pollInterval: .seconds(3600))
        try await runtime.ownership.balance()
        try await runtime.repair.sweep()  // prepares its statements, so the counts below hold requests only

        // Per status (running, queued) one page per slot; the job due soon costs its row and its entry.
        let pages = Int64(2 * JobHash.slots)
        #expect(runtime.ownedShards == [0])
        var before = bed.requests
        try await runtime.repair.sweep()
        #expect(bed.requests - before == pages + 2)
        #expect(try await Self.entryExists(service, soon))

        // Index entries written before schema migration 2 carry no due time: the sweep reads those jobs' rows
        // once and writes the due time into the entries at the write time their index page carried (the row read
        // and an update each), after which sweeps skip them again.
        for id in later { try await Self.makeLegacyIndexEntry(service, id) }
        #expect(runtime.ownedShards == [0])
        before = bed.requests
        try await runtime.repair.sweep()
        #expect(bed.requests - before == pages + 2 + 2 * Int64(farAhead))
        before = bed.requests
        try await runtime.repair.sweep()
        #expect(bed.requests - before == pages + 2)
        for id in later.prefix(3) { #expect(try await service.get(id)?.status == .queued) }
        let indexed = try await service.cql.run(
            "SELECT next_due_at FROM scheduler.jobs_by_status WHERE status = ? AND slot = ? AND job_id = ?",
            [JobStatus.queued.rawValue, Int32(JobHash.slot(later[0])), later[0]])
        #expect(try indexed.first?.optional("next_due_at", as: Date.self) == (try await service.get(later[0])?.nextDueAt))
        await runtime.shutdown(gracePeriod: .zero)
        await bed.stop()
    }

    @Test("a backfilled due time does not bring back an index entry deleted since it was read")
    func backfillDoesNotResurrect() async throws {
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.shards = 1
        let bed = try await SchedulerTestBed.start(configuration)
        let service = bed.service
        let id = try await service.create(try SchedulerTestBed.job("2099-01-01T00:00:00Z")).jobID
        try await Self.makeLegacyIndexEntry(service, id)
        let key: [any CQLEncodable] = [JobStatus.queued.rawValue, Int32(JobHash.slot(id)), id]
        let timestamp = try await Self.queuedIndexWriteTime(service, id)
        // The entry is deleted (a cancel) between the sweep's index page (its write time) and its update.
        try await service.store.write([.unindex(.queued, id)], logged: false)
        try await service.cql.run(
            "UPDATE scheduler.jobs_by_status USING TIMESTAMP ? SET next_due_at = ? WHERE status = ? AND slot = ? AND job_id = ?",
            [timestamp, Date()] + key)
        let rows = try await service.cql.run("SELECT job_id FROM scheduler.jobs_by_status WHERE status = ? AND slot = ? AND job_id = ?", key)
        #expect(rows.first == nil)
        await bed.stop()
    }

    @Test("a keyspace at schema version 1 fails verification until the schema file is applied again (migration 2)")
    func migrationTwo() async throws {
        let node = try await EmbeddedNode.start(.init())
        let session = try await CQLSession.connect(CQLSession.Configuration(
            contactPoints: [CQLEndpoint(host: node.host, port: node.port)], discoverNodes: false))
        let text = SchedulerSchema.cql
        let cut = try #require(text.range(of: "-- migration 2:"))
        for statement in SchedulerSchema.split(String(text[..<cut.lowerBound])) {
            _ = try await session.execute(CQLStatement(statement, values: []))
        }
        do {
            try await SchedulerSchema.verifySchema(session: session, keyspace: "scheduler")
            Issue.record("verifySchema passed on a version 1 keyspace")
        } catch let error as JobServiceError {
            #expect(error.description.contains("scripts/init_schema.sh"))
        }
        try await SchedulerSchema.applySchema(session: session, keyspace: "scheduler")
        try await SchedulerSchema.verifySchema(session: session, keyspace: "scheduler")
        session.close()
        try await node.shutdown()
    }
}
