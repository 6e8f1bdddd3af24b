import CQLWire
import Foundation
import Testing
@testable import Scheduler

/// Update, pause, resume, purge and history paging on the embedded node, with runs claimed and ended
/// by hand on a test clock so that every step (queued, running, its end) is where the test puts it.
@Suite("Job changes")
struct JobChangeTests {
    /// A minute a day ahead of the wall clock. Ahead, because the session stamps plain writes with the wall
    /// clock while the service stamps some (see ``JobService/writeTimestamp(after:)``) from its own clock:
    /// a test clock behind the wall clock would write deletes older than the inserts they delete.
    static let start = Date(milliseconds: (Date().millis / 60_000 + 24 * 60) * 60_000)

    /// A test bed on a test clock at ``start`` and a runtime (not started) whose parts the test drives.
    static func bed() async throws -> (SchedulerTestBed, TestSchedulerClock, SchedulerRuntime) {
        let clock = TestSchedulerClock(start: start)
        let bed = try await SchedulerTestBed.start(clock: clock)
        return (bed, clock, JobServiceTests.runtime(bed.service, "changer"))
    }

    /// The job's queue entries as stored in the buckets of the due times `dues` (the job's own due time when empty).
    static func entries(_ bed: SchedulerTestBed, _ id: UUID, at dues: [Date] = []) async throws -> [QueueEntry] {
        let shard = Int32(JobHash.shard(id, shards: bed.configuration.shards))
        var buckets = Set(dues.map(\.bucket))
        if buckets.isEmpty, let due = try await bed.service.get(id)?.nextDueAt { buckets.insert(due.bucket) }
        var found: [QueueEntry] = []
        for bucket in buckets.sorted() {
            let rows = try await bed.service.cql.run("SELECT \(QueueEntry.columns) FROM scheduler.jobs_sharded WHERE shard = ? AND bucket = ?",
                                                     [shard, bucket])
            found += try rows.decode(QueueEntry.self).filter { $0.jobID == id }
        }
        return found.sorted { $0.dueAt < $1.dueAt }
    }

    static func minutes(_ count: Int64) -> Date { Date(milliseconds: start.millis + count * 60_000) }

    @Test("a queued job's new schedule moves its run to the new schedule's next fire; the old entry can no longer be claimed")
    func updateQueued() async throws {
        let (bed, clock, runtime) = try await Self.bed()
        let service = bed.service
        let created = try await service.create(try SchedulerTestBed.job("@every 1h"))
        #expect(try await service.get(created.jobID)?.nextDueAt == Self.minutes(60))
        let old = try #require(try await Self.entries(bed, created.jobID).first)

        let updated = try await service.update(created.jobID, patch: JobPatch(schedule: "@every 10m", payload: .object(["v": .number("2")])))
        #expect(updated.status == .queued)
        #expect(updated.schedule == "@every 10m")
        #expect(updated.nextDueAt == Self.minutes(10))
        #expect(updated.attempt == old.attempt + 1, "a new attempt number fences the old entry out")
        let entries = try await Self.entries(bed, created.jobID, at: [Self.minutes(10), Self.minutes(60)])
        #expect(entries.map(\.dueAt) == [Self.minutes(10)], "the old entry is deleted, the new one written")
        let entry = try #require(entries.first)
        #expect(entry.schedule == "@every 10m")
        #expect(entry.payload == #"{"v":2}"#)
        #expect(try await runtime.runs.claim(old) == nil, "the entry written before the change is stale")

        // The run at the new schedule's fire, then the next fire 10 minutes later.
        clock.advance(by: .seconds(600))
        let claim = try #require(try await runtime.runs.claim(entry))
        #expect(try await runtime.runs.complete(entry, claim: claim, end: .handler(output: nil, error: nil), leaseExpiresAt: claim.leaseExpiresAt)
            == .applied)
        let after = try #require(try await service.get(created.jobID))
        #expect(after.status == .queued)
        #expect(after.nextDueAt == Self.minutes(20))
        // A change that leaves the schedule alone keeps the due time.
        let limited = try await service.update(created.jobID, patch: JobPatch(maxAttempts: 5))
        #expect(limited.nextDueAt == Self.minutes(20))
        #expect(try await Self.entries(bed, created.jobID).map(\.maxAttempts) == [5])
        await bed.stop()
    }

    @Test("a change while a run is in flight leaves the run alone and applies from the next fire")
    func updateRunning() async throws {
        let (bed, clock, runtime) = try await Self.bed()
        let service = bed.service
        let created = try await service.create(try SchedulerTestBed.job("@every 1m", payload: .object(["v": .number("1")])))
        let entry = try #require(try await Self.entries(bed, created.jobID).first)
        clock.advance(by: .seconds(60))
        let claim = try #require(try await runtime.runs.claim(entry))

        let updated = try await service.update(created.jobID, patch: JobPatch(schedule: "@every 5m", payload: .object(["v": .number("2")])))
        #expect(updated.status == .running)
        #expect(updated.attempt == claim.attempt, "the run in flight keeps its fencing token")
        // The run ends with the definition it started with; its end re-reads the job and queues the new one.
        clock.advance(by: .seconds(5))
        let verdict = try await runtime.runs.complete(entry, claim: claim, end: .handler(output: "ran v1", error: nil),
                                                      leaseExpiresAt: claim.leaseExpiresAt)
        #expect(verdict == .applied)
        let after = try #require(try await service.get(created.jobID))
        #expect(after.status == .queued)
        #expect(after.nextDueAt == Self.minutes(6), "the next fire follows the new schedule from the fire that ran")
        let next = try #require(try await Self.entries(bed, created.jobID).first)
        #expect(next.schedule == "@every 5m")
        #expect(next.payload == #"{"v":2}"#)
        #expect(next.revision == after.revision)
        #expect(try await service.history(created.jobID, limit: 5).map(\.status) == [.succeeded])
        await bed.stop()
    }

    @Test("pause takes a queued run out of the queue; resume queues the next fire; both answer replays")
    func pauseQueued() async throws {
        let (bed, clock, runtime) = try await Self.bed()
        let service = bed.service
        let created = try await service.create(try SchedulerTestBed.job("@every 1h"))
        let entry = try #require(try await Self.entries(bed, created.jobID).first)

        let paused = try await service.pause(created.jobID)
        #expect(paused.status == .paused)
        #expect(paused.nextDueAt == nil)
        #expect(try await service.pause(created.jobID).status == .paused, "a repeated pause answers the paused job")
        #expect(try await Self.entries(bed, created.jobID, at: [Self.minutes(60)]).isEmpty)
        #expect(try await runtime.runs.claim(entry) == nil, "a queue entry that survived the pause cannot start a run")
        #expect(try await service.list(status: .paused, limit: 1000, page: nil).jobs.map(\.jobID).contains(created.jobID))

        clock.advance(by: .seconds(7200))
        let resumed = try await service.resume(created.jobID)
        #expect(resumed.status == .queued)
        #expect(resumed.nextDueAt == Self.minutes(180), "the next fire after the resume")
        #expect(try await service.resume(created.jobID).status == .queued, "a repeated resume answers the queued job")
        #expect(try await Self.entries(bed, created.jobID).map(\.dueAt) == [Self.minutes(180)])

        let stored = try await service.create(try SchedulerTestBed.job("now", run: false))
        await #expect(throws: JobServiceError.self) { _ = try await service.pause(stored.jobID) }
        await #expect(throws: JobServiceError.self) { _ = try await service.resume(stored.jobID) }
        await #expect(throws: JobServiceError.refused(.paused, "resume it with POST /jobs/{id}/resume")) {
            _ = try await service.pause(created.jobID)
            _ = try await service.run(created.jobID)
        }
        await bed.stop()
    }

    @Test("a paused one-shot job resumes at its original due time, or now once that has passed")
    func resumeOneShot() async throws {
        let (bed, clock, _) = try await Self.bed()
        let service = bed.service
        let at = RFC3339.format(Self.minutes(30))
        let early = try await service.create(try SchedulerTestBed.job(at))
        _ = try await service.pause(early.jobID)
        #expect(try await service.resume(early.jobID).nextDueAt == Self.minutes(30))

        let late = try await service.create(try SchedulerTestBed.job(at))
        _ = try await service.pause(late.jobID)
        clock.advance(by: .seconds(3600))
        #expect(try await service.resume(late.jobID).nextDueAt == Self.minutes(60))
        await bed.stop()
    }

    @Test("pausing a running recurring job lets the run finish and then parks the job instead of queueing its next fire")
    func pauseRunning() async throws {
        let (bed, clock, runtime) = try await Self.bed()
        let service = bed.service
        let created = try await service.create(try SchedulerTestBed.job("@every 1m"))
        let entry = try #require(try await Self.entries(bed, created.jobID).first)
        clock.advance(by: .seconds(60))
        let claim = try #require(try await runtime.runs.claim(entry))

        let asked = try await service.pause(created.jobID)
        #expect(asked.status == .running)
        #expect(asked.paused)
        #expect(try await service.pause(created.jobID).paused)
        let verdict = try await runtime.runs.complete(entry, claim: claim, end: .handler(output: nil, error: nil),
                                                      leaseExpiresAt: claim.leaseExpiresAt)
        #expect(verdict == .applied)
        let parked = try #require(try await service.get(created.jobID))
        #expect(parked.status == .paused)
        #expect(!parked.paused)
        #expect(parked.nextDueAt == nil)
        #expect(try await Self.entries(bed, created.jobID, at: [Self.minutes(2)]).isEmpty)
        #expect(try await service.history(created.jobID, limit: 5).map(\.status) == [.succeeded], "the run in flight finished")
        #expect(try await service.resume(created.jobID).nextDueAt == Self.minutes(2))

        // A pause withdrawn before the run ends changes nothing for the run's end.
        let next = try #require(try await Self.entries(bed, created.jobID).first)
        clock.advance(by: .seconds(60))
        let second = try #require(try await runtime.runs.claim(next))
        _ = try await service.pause(created.jobID)
        #expect(try await service.resume(created.jobID).status == .running)
        _ = try await runtime.runs.complete(next, claim: second, end: .handler(output: nil, error: nil), leaseExpiresAt: second.leaseExpiresAt)
        #expect(try await service.get(created.jobID)?.status == .queued)
        await bed.stop()
    }

    @Test("purge deletes a finished job with its history and frees its idempotency key; other statuses are refused")
    func purge() async throws {
        let (bed, clock, runtime) = try await Self.bed()
        let service = bed.service
        let key = "purge-\(UUID().uuidString)"
        let created = try await service.create(try SchedulerTestBed.job("now", key: key))
        await #expect(throws: JobServiceError.self) { try await service.purge(created.jobID) }
        let entry = try #require(try await Self.entries(bed, created.jobID).first)
        let claim = try #require(try await runtime.runs.claim(entry))
        await #expect(throws: JobServiceError.self) { try await service.purge(created.jobID) }
        _ = try await runtime.runs.complete(entry, claim: claim, end: .handler(output: nil, error: nil), leaseExpiresAt: claim.leaseExpiresAt)
        #expect(try await service.history(created.jobID, limit: 5).count == 1)

        try await service.purge(created.jobID)
        #expect(try await service.get(created.jobID) == nil)
        #expect(try await service.history(created.jobID, limit: 5).isEmpty)
        #expect(try await service.job(idempotencyKey: key) == nil)
        #expect(!(try await service.list(status: .succeeded, limit: 1000, page: nil).jobs.map(\.jobID).contains(created.jobID)))
        await #expect(throws: JobServiceError.notFound(created.jobID)) { try await service.purge(created.jobID) }
        // The key is free again: a different request with it creates a new job.
        let again = try await service.create(try SchedulerTestBed.job("@every 1h", key: key, run: false))
        #expect(!again.replayed)
        #expect(again.jobID != created.jobID)
        #expect(try await service.job(idempotencyKey: key)?.jobID == again.jobID)

        // The intent of an activation that lost to the purge: the sweep deletes it once older than the grace.
        try await service.store.write([.index(StatusIndexEntry(status: .queued, jobID: created.jobID, updatedAt: clock.now(),
                                                               nextDueAt: clock.now()))], logged: false)
        let slot = JobHash.slot(created.jobID)
        #expect(try await service.store.statusPage(.queued, slot: slot, pageSize: 5000, pagingState: nil).jobIDs.contains(created.jobID))
        try await runtime.ownership.balance()
        clock.advance(by: .seconds(1))
        try await runtime.repair.sweep(intentGrace: .zero)
        #expect(!(try await service.store.statusPage(.queued, slot: slot, pageSize: 5000, pagingState: nil).jobIDs.contains(created.jobID)))
        await bed.stop()
    }

    @Test("history pages with an opaque token, newest first")
    func historyPages() async throws {
        let (bed, clock, runtime) = try await Self.bed()
        let service = bed.service
        let created = try await service.create(try SchedulerTestBed.job("@every 1m"))
        for _ in 0..<5 {
            let entry = try #require(try await Self.entries(bed, created.jobID).first)
            clock.advance(by: .seconds(60))
            let claim = try #require(try await runtime.runs.claim(entry))
            _ = try await runtime.runs.complete(entry, claim: claim, end: .handler(output: nil, error: nil), leaseExpiresAt: claim.leaseExpiresAt)
        }
        var attempts: [Int64] = []
        var page: String?
        var pages = 0
        repeat {
            let result = try await service.historyPage(created.jobID, limit: 2, page: page)
            #expect(result.runs.count <= 2)
            attempts += result.runs.map(\.attempt)
            page = result.nextPage
            pages += 1
        } while page != nil && pages < 10
        #expect(attempts == [5, 4, 3, 2, 1])
        #expect(pages == 3)
        await #expect(throws: JobServiceError.invalidPageToken) { _ = try await service.historyPage(created.jobID, limit: 2, page: "AQAA") }
        await bed.stop()
    }

    @Test("history rows live for the configured retention (USING TTL), or forever with zero", arguments: [3600, 0])
    func historyRetention(seconds: Int) async throws {
        var configuration = SchedulerTestBed.fastConfiguration
        configuration.historyRetention = .seconds(seconds)
        let bed = try await SchedulerTestBed.start(configuration)
        let runtime = JobServiceTests.runtime(bed.service, "retention")
        let created = try await bed.service.create(try SchedulerTestBed.job("now"))
        let entry = try #require(try await Self.entries(bed, created.jobID).first)
        let claim = try #require(try await runtime.runs.claim(entry))
        _ = try await runtime.runs.complete(entry, claim: claim, end: .handler(output: "done", error: nil), leaseExpiresAt: claim.leaseExpiresAt)
        let rows = try await bed.service.cql.run("SELECT ttl(worker_id) AS started, ttl(finished_at) AS finished FROM scheduler.job_history WHERE job_id = ?",
                                                 [created.jobID])
        let row = try #require(rows.first)
        for column in ["started", "finished"] {
            let ttl = try row.optional(column, as: Int32.self)
            if seconds == 0 {
                #expect(ttl == nil, "\(column): kept forever, no TTL")
            } else {
                #expect(ttl.map { $0 > Int32(seconds) - 60 && $0 <= Int32(seconds) } == true, "\(column): ttl \(String(describing: ttl))")
            }
        }
        await bed.stop()
    }

    @Test("a failed run is retried after the job's own backoff: initial, then times multiplier, capped")
    func jobBackoff() async throws {
        let (bed, clock, runtime) = try await Self.bed()
        let service = bed.service
        let request = JobRequest(schedule: "now", maxDurationSeconds: 30, maxAttempts: 4, run: true,
                                 backoff: .object(["initial_seconds": .number("5"), "max_seconds": .number("8"), "multiplier": .number("3")]))
        let created = try await service.create(try request.validated(kinds: HandlerRegistry.builtIns().kinds, now: Self.start))
        #expect(try await service.get(created.jobID)?.backoff == Backoff(initialSeconds: 5, maxSeconds: 8, multiplier: 3))
        for expected in [5.0, 8.0] {
            let entry = try #require(try await Self.entries(bed, created.jobID).first)
            #expect(entry.backoff.multiplier == 3)
            let claim = try #require(try await runtime.runs.claim(entry))
            _ = try await runtime.runs.complete(entry, claim: claim, end: .handler(output: nil, error: "boom"), leaseExpiresAt: claim.leaseExpiresAt)
            let job = try #require(try await service.get(created.jobID))
            let delay = try #require(job.nextDueAt).timeIntervalSince(clock.now())
            #expect(job.status == .queued)
            #expect(delay >= expected && delay <= expected * 1.2 + 0.001, "retry after \(delay) s, expected \(expected) s plus jitter")
            clock.advance(by: .seconds(10))
        }
        await bed.stop()
    }
}
