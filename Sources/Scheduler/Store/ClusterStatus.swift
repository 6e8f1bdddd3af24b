public import Foundation

/// What the pool of workers looks like now: live workers, the shard leases, the queue per shard and
/// the runs in flight, as read from the `workers`, `locks` and `jobs_by_status` tables (the job
/// rows only for the runs in flight). `GET /cluster` and the console's cluster page show it.
public struct ClusterStatus: Sendable, Hashable {
    /// One shard: its lease and its queue.
    public struct Shard: Sendable, Hashable {
        /// The shard number.
        public var shard: Int
        /// The lock name of its lease (`shard-<n>`).
        public var lockName: String
        /// The worker holding the lease; nil when released, expired or never taken.
        public var owner: String?
        /// The fencing token of the latest acquisition (0 when the lock row does not exist).
        public var fencingToken: Int64
        /// When the lease ends as its holder wrote it.
        public var leaseExpiresAt: Date?
        /// Queued jobs of this shard.
        public var queueDepth: Int
        /// How long the oldest queued run of this shard is overdue (zero when none is due yet).
        public var lagSeconds: Double
    }

    /// One run being executed.
    public struct Run: Sendable, Hashable {
        /// The job.
        public var jobID: UUID
        /// Its kind.
        public var kind: String
        /// The run's fencing token.
        public var attempt: Int64
        /// The worker executing it.
        public var worker: String?
        /// When it started.
        public var startedAt: Date?
        /// When its run lease ends.
        public var leaseExpiresAt: Date?
    }

    /// When this status was read (the service clock).
    public var readAt: Date
    /// The pool the workers share shards in.
    public var pool: String
    /// Ids of the workers whose membership rows are alive, sorted.
    public var workers: [String]
    /// Every shard, in order.
    public var shards: [Shard]
    /// Runs in flight (at most ``ClusterStatus/maximumRunsListed``), oldest first.
    public var runs: [Run]
    /// How many runs are in flight in all (``runs`` may list fewer).
    public var runsInFlight: Int
    /// Whether every queued job was counted: false when the queue holds more than
    /// ``maximumQueuedCounted`` (depths and lags are then those of the jobs counted, a lower bound).
    public var queueComplete: Bool

    /// The most runs listed one by one (each costs a job row read).
    public static let maximumRunsListed = 100
    /// The most queued jobs counted per read: the page refreshes every second, and a deep queue
    /// would otherwise be read whole each time.
    public static let maximumQueuedCounted = 20_000

    /// Shards whose lease `worker` holds, unexpired at ``readAt``.
    public func shards(ownedBy worker: String) -> [Int] {
        shards.filter { $0.owner == worker }.map(\.shard)
    }
}

extension JobService {
    /// Reads the ``ClusterStatus``: one read of `workers`, one of `locks` per shard, the `queued` and
    /// `running` partitions of the status index, and one job row per listed run in flight.
    public func clusterStatus() async throws -> ClusterStatus {
        let now = clock.now()
        let shardCount = configuration.shards
        let workers = try await store.workers(pool: configuration.pool).sorted()

        var depth = [Int](repeating: 0, count: shardCount)
        var oldestDue = [Date?](repeating: nil, count: shardCount)
        var running: [IndexedJob] = []
        var counted = 0
        for slot in 0..<JobHash.slots {
            // A claimed job keeps its `queued` entry until its run ends (see the claim), so the run
            // entries of the slot are read first and their jobs left out of the queue depth.
            var runningInSlot = Set<UUID>()
            try await store.scanStatusIndex(.running, slot: slot) { entry in
                running.append(entry)
                runningInSlot.insert(entry.jobID)
                return true
            }
            if counted < ClusterStatus.maximumQueuedCounted {
                try await store.scanStatusIndex(.queued, slot: slot) { entry in
                    guard !runningInSlot.contains(entry.jobID) else { return true }
                    let shard = JobHash.shard(entry.jobID, shards: shardCount)
                    depth[shard] += 1
                    if let due = entry.nextDueAt, oldestDue[shard].map({ due < $0 }) ?? true { oldestDue[shard] = due }
                    counted += 1
                    return counted < ClusterStatus.maximumQueuedCounted
                }
            }
        }

        var shards: [ClusterStatus.Shard] = []
        for shard in 0..<shardCount {
            let name = "shard-\(shard)"
            let row = try await locks.store.lock(name, serial: false)
            let live = row.flatMap { row in row.expireAt.map { $0 > now } } ?? false
            let lag = oldestDue[shard].map { max(0, now.timeIntervalSince($0)) } ?? 0
            shards.append(ClusterStatus.Shard(
                shard: shard, lockName: name, owner: live ? row?.holder : nil,
                fencingToken: row.map { $0.generation << 32 | $0.epoch } ?? 0,
                leaseExpiresAt: row?.expireAt, queueDepth: depth[shard], lagSeconds: lag))
        }

        var runs: [ClusterStatus.Run] = []
        for entry in running.prefix(ClusterStatus.maximumRunsListed) {
            // The index trails the job rows: list a run only where its row agrees.
            guard let job = try await get(entry.jobID), job.status == .running else { continue }
            runs.append(ClusterStatus.Run(jobID: job.jobID, kind: job.kind, attempt: job.attempt, worker: job.leaseOwner,
                                          startedAt: job.startedAt, leaseExpiresAt: job.leaseExpiresAt))
        }
        runs.sort { ($0.startedAt ?? .distantPast, $0.jobID.uuidString) < ($1.startedAt ?? .distantPast, $1.jobID.uuidString) }
        return ClusterStatus(readAt: now, pool: configuration.pool, workers: workers, shards: shards, runs: runs,
                             runsInFlight: max(runs.count, running.count), queueComplete: counted < ClusterStatus.maximumQueuedCounted)
    }
}
