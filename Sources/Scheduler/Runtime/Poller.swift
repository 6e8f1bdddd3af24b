import Foundation
import CoreMetrics
import Logging
import Synchronization

/// Finds due runs: reads the due buckets of every owned shard (plain reads) and hands each due
/// entry to ``start`` while there is capacity. A full pass every poll interval; in between, while
/// entries were left for lack of capacity, the shards holding them are read again as soon as half
/// the runs in flight have finished, so a backlog drains at the speed runs complete.
final class Poller: Sendable {
    private struct Cursor {
        /// The ownership (``ShardOwnership/acquisition(of:)``) the cursor belongs to.
        var acquisition: UInt64
        var bucket: Date
    }

    /// The last entry of a bucket a pass handed out: a backlog pass reads on after it.
    private struct Position {
        var acquisition: UInt64
        var bucket: Date
        var entry: QueueEntry
    }

    private struct State {
        var cursors: [Int: Cursor] = [:]
        var positions: [Int: Position] = [:]
        /// Where the next pass starts in the owned shards, so a backlog in one shard cannot starve the others.
        var rotation = 0
        /// Per shard, the due entries its last read left waiting for a free run slot (`scheduler_jobs_queued`).
        var waiting: [Int: Int] = [:]
    }

    let service: JobService
    let ownership: ShardOwnership
    let runs: RunCoordinator
    let pollInterval: Duration
    let lifecycle: RuntimeLifecycle
    let logger: Logger
    /// Starts a run for a due entry; false when it was not started (already on it, stopping).
    let start: @Sendable (QueueEntry) -> Bool
    private let state = Mutex(State())

    init(service: JobService, ownership: ShardOwnership, runs: RunCoordinator, pollInterval: Duration, lifecycle: RuntimeLifecycle,
         logger: Logger, start: (@Sendable (QueueEntry) -> Bool)? = nil) {
        self.service = service
        self.ownership = ownership
        self.runs = runs
        self.pollInterval = pollInterval
        self.lifecycle = lifecycle
        self.logger = logger
        self.start = start ?? { runs.start($0) }
    }

    private var clock: any SchedulerClock { service.clock }

    /// The bucket `shard`'s poller has moved past (entries in older buckets are the repair sweep's).
    func cursor(of shard: Int) -> Date? {
        let acquisition = ownership.acquisition(of: shard)
        return state.withLock { state in state.cursors[shard].flatMap { $0.acquisition == acquisition ? $0.bucket : nil } }
    }

    /// Where a backlog pass of `shard` resumes in `bucket`: after the last entry handed out there.
    private func position(of shard: Int, in bucket: Date) -> QueueEntry? {
        let acquisition = ownership.acquisition(of: shard)
        return state.withLock { state in
            state.positions[shard].flatMap { $0.acquisition == acquisition && $0.bucket == bucket ? $0.entry : nil }
        }
    }

    private func setPosition(_ shard: Int, _ bucket: Date, _ entry: QueueEntry) {
        let acquisition = ownership.acquisition(of: shard)
        state.withLock { $0.positions[shard] = Position(acquisition: acquisition, bucket: bucket, entry: entry) }
    }

    private func setCursor(_ shard: Int, _ bucket: Date) {
        let acquisition = ownership.acquisition(of: shard)
        state.withLock { $0.cursors[shard] = Cursor(acquisition: acquisition, bucket: bucket) }
    }

    /// Keeps `shard`'s waiting count (unchanged when it was not read) and publishes the sum over the owned shards.
    private func recordWaiting(_ shard: Int, _ waiting: Int?) {
        let owned = Set(ownership.ownedShards)
        let total = state.withLock { state -> Int in
            if let waiting { state.waiting[shard] = waiting }
            state.waiting = state.waiting.filter { owned.contains($0.key) }
            return state.waiting.values.reduce(0, +)
        }
        service.metrics.jobsQueued.record(total)
    }

    /// Polls every owned shard once and starts a run for each due entry while there is capacity.
    /// Returns the shards where due entries were left for lack of capacity, with the bucket they were left in.
    @discardableResult
    func pollOnce() async throws -> [Int: Date] {
        try await pass(ownership.ownedShards, resumingAt: [:])
    }

    /// The poll loop, until the runtime stops or the task is cancelled.
    func run() async {
        var nextFullPass = clock.instant
        var backlog: [Int: Date] = [:]
        while !Task.isCancelled, !lifecycle.isStopping {
            do {
                if clock.instant >= nextFullPass {
                    backlog = try await pollOnce()
                    nextFullPass = clock.instant + pollInterval
                } else if !backlog.isEmpty {
                    backlog = try await pass(backlog.keys.sorted(), resumingAt: backlog)
                }
            } catch is CancellationError {
                return
            } catch {
                backlog = [:]
                nextFullPass = clock.instant + pollInterval
                logger.warning("scheduler poll failed", metadata: ["error": "\(error)", "worker_id": "\(ownership.workerID)"])
            }
            if backlog.isEmpty {
                await lifecycle.pause(until: nextFullPass)
            } else {
                await runs.waitUntil(inFlightAtMost: service.configuration.maximumConcurrentRuns / 2, deadline: nextFullPass)
            }
        }
    }

    /// Polls `shards` starting at a rotating position; `resumingAt` names, per shard, the bucket a
    /// backlog was left in, the older ones having just been read.
    private func pass(_ shards: [Int], resumingAt: [Int: Date]) async throws -> [Int: Date] {
        guard !shards.isEmpty else { return [:] }
        let total = ownership.shards
        let first = state.withLock { state -> Int in
            defer { state.rotation = (state.rotation + 1) % max(1, total) }
            return state.rotation
        }
        var backlog: [Int: Date] = [:]
        for step in 0..<shards.count {
            guard !lifecycle.isStopping else { break }
            let shard = shards[(first + step) % shards.count]
            if let bucket = try await poll(shard: shard, resumingAt: resumingAt[shard]) { backlog[shard] = bucket }
        }
        return backlog
    }

    /// Starts runs for the due entries of `shard`, from its cursor or from `resume` when that is later;
    /// returns the bucket where due entries may be left for lack of capacity, nil when none are.
    private func poll(shard: Int, resumingAt resume: Date?) async throws -> Date? {
        let configuration = service.configuration
        let now = clock.now()
        let current = now.bucket
        let cursor = self.cursor(of: shard)
        var bucket = cursor ?? Date(milliseconds: now.millis - configuration.pollLookback.milliseconds).bucket
        // Only past a cursor: a shard owned anew starts from the lookback, whatever an earlier pass saw.
        if let resume, cursor != nil, resume > bucket { bucket = resume }
        // Entries seen due but left for lack of capacity; nil until a bucket was read (a full worker reads none).
        var waiting: Int?
        defer { recordWaiting(shard, waiting) }
        while bucket <= current {
            guard ownership.owns(shard), !lifecycle.isStopping else { return nil }
            let capacity = configuration.maximumConcurrentRuns - runs.inFlightCount
            guard capacity > 0 else { return bucket }
            // A backlog pass reads on after the last entry handed out in the bucket: those before it are in flight
            // or done, and on Cassandra each claimed one left a tombstone a read from the start would go through
            // again. A full pass (every poll interval) reads from the start, so an entry whose claim failed is
            // seen again there.
            let after = resume == nil ? nil : position(of: shard, in: bucket)
            let entries = try await service.store.dueEntries(shard: shard, bucket: bucket, dueBy: now, after: after, limit: capacity * 2)
            var started = 0
            var last: QueueEntry?
            for entry in entries {
                if started >= capacity {
                    waiting = (waiting ?? 0) + 1
                    continue
                }
                if start(entry) { started += 1 }
                last = entry
            }
            waiting = waiting ?? 0
            if let last { setPosition(shard, bucket, last) }
            // A bucket is left behind once it is empty and a minute past its end, so late writes
            // computed within the minute are still seen; anything later is the repair sweep's.
            if entries.isEmpty, after == nil, bucket.millis + 120_000 < now.millis, (self.cursor(of: shard) ?? .distantPast) <= bucket {
                setCursor(shard, Date(milliseconds: bucket.millis + 60_000))
            } else if self.cursor(of: shard) == nil {
                setCursor(shard, bucket)
            }
            if started >= capacity { return bucket }
            bucket = Date(milliseconds: bucket.millis + 60_000)
        }
        return nil
    }
}
