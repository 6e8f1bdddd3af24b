public import CQLWire
import Foundation

/// Tunables of the job store, the lock client and the runtime; the defaults suit a cluster.
public struct SchedulerConfiguration: Sendable {
    /// Number of queue shards; every worker and every job service of one keyspace must agree.
    public var shards: Int
    /// Consistency of plain reads and writes (LOCAL_QUORUM by default).
    public var consistency: Consistency
    /// Serial consistency of LWTs and of the SERIAL reads that resolve unknown outcomes.
    public var serialConsistency: Consistency
    /// How long a claimed run may go without renewing its run lease before another worker reclaims it.
    public var runLease: Duration
    /// How long a shard lease lasts between renewals.
    public var shardLeaseTTL: Duration
    /// Subtracted from every lease's TTL to get the holder's own deadline (clock drift, pauses).
    public var leaseSafetyMargin: Duration
    /// First retry delay after a failed run; doubled per further try, capped by ``maximumRetryDelay``.
    public var baseRetryDelay: Duration
    /// The longest retry delay.
    public var maximumRetryDelay: Duration
    /// TTL of a worker's membership row; heartbeats come three times per TTL.
    public var workerTTL: Duration
    /// How often the repair sweep runs (missing queue entries, expired run leases).
    public var repairInterval: Duration
    /// Runs one runtime executes at the same time.
    public var maximumConcurrentRuns: Int
    /// How far back a newly owned shard's poller looks for due buckets; older entries are re-enqueued by the repair sweep.
    public var pollLookback: Duration
    /// The pool of workers sharing shards (the `workers` partition).
    public var pool: String
    /// Per-request timeout of scheduler statements; nil uses the session's.
    public var requestTimeout: Duration?
    /// How long `job_history` rows are kept (written `USING TTL`); zero keeps them forever.
    public var historyRetention: Duration = .seconds(30 * 86_400)

    /// ``historyRetention`` in whole seconds, as a CQL TTL (at most Cassandra's 20 years).
    var historyRetentionSeconds: Int {
        Int(min(max(0, historyRetention.seconds.rounded(.up)), Double(Self.maximumTTLSeconds)))
    }

    /// The largest TTL Cassandra accepts: 20 years.
    public static let maximumTTLSeconds = 630_720_000
    /// How often a worker with runs in flight reads the cancel requests to its runs (one
    /// single-partition read each time): a cancelled run stops within about this plus a read.
    public var cancelPollInterval: Duration

    /// A configuration; see each property for its meaning.
    public init(shards: Int = 16, consistency: Consistency = .localQuorum, serialConsistency: Consistency = .localSerial,
                runLease: Duration = .seconds(30), shardLeaseTTL: Duration = .seconds(10),
                leaseSafetyMargin: Duration = .seconds(1), baseRetryDelay: Duration = .seconds(1),
                maximumRetryDelay: Duration = .seconds(300), workerTTL: Duration = .seconds(15),
                repairInterval: Duration = .seconds(30), maximumConcurrentRuns: Int = 16,
                pollLookback: Duration = .seconds(3600), pool: String = "default", requestTimeout: Duration? = nil,
                cancelPollInterval: Duration = .seconds(1)) {
        self.shards = max(1, shards)
        self.consistency = consistency
        self.serialConsistency = serialConsistency
        self.runLease = runLease
        self.shardLeaseTTL = shardLeaseTTL
        self.leaseSafetyMargin = leaseSafetyMargin
        self.baseRetryDelay = baseRetryDelay
        self.maximumRetryDelay = maximumRetryDelay
        self.workerTTL = workerTTL
        self.repairInterval = repairInterval
        self.maximumConcurrentRuns = max(1, maximumConcurrentRuns)
        self.pollLookback = pollLookback
        self.pool = pool
        self.requestTimeout = requestTimeout
        self.cancelPollInterval = cancelPollInterval
    }

    /// The backoff of jobs that name none: ``baseRetryDelay`` doubled per try up to ``maximumRetryDelay``
    /// (``Backoff/default`` with the default configuration).
    public var defaultBackoff: Backoff {
        Backoff(initialSeconds: baseRetryDelay.seconds, maxSeconds: maximumRetryDelay.seconds, multiplier: 2)
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let parts = components
        return parts.seconds &* 1000 &+ parts.attoseconds / 1_000_000_000_000_000
    }
}

/// Wall-clock helpers: every stored timestamp is a whole millisecond, so values read back compare equal in LWT conditions.
enum WallClock {
    /// Now, rounded down to the millisecond.
    static func now() -> Date { Date(milliseconds: Date().cqlMilliseconds ?? 0) }
}

extension Date {
    /// A date of whole milliseconds since the epoch.
    init(milliseconds: Int64) { self.init(timeIntervalSince1970: Double(milliseconds) / 1000) }

    /// Milliseconds since the epoch (0 when out of range, which no scheduler date is).
    var millis: Int64 { cqlMilliseconds ?? 0 }

    /// The date plus a duration, at whole milliseconds.
    func adding(_ duration: Duration) -> Date { Date(milliseconds: millis &+ duration.milliseconds) }

    /// The queue bucket this due time falls into: the minute it starts in.
    var bucket: Date {
        let ms = millis
        let minute: Int64 = 60_000
        let floor = ms >= 0 ? ms / minute * minute : ((ms - minute + 1) / minute) * minute
        return Date(milliseconds: floor)
    }
}

/// Stable small hashes of job ids: the queue shard and the `jobs_by_status` slot.
enum JobHash {
    /// FNV-1a over the id's 16 bytes.
    static func fnv(_ id: UUID) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        withUnsafeBytes(of: id.uuid) { bytes in
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
        }
        return hash
    }

    /// FNV-1a over text (the idempotency request hash).
    static func fnv(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// The shard a job's queue entries live in.
    static func shard(_ id: UUID, shards: Int) -> Int { Int(fnv(id) % UInt64(max(1, shards))) }

    /// The `jobs_by_status` slot of a job (16 slots).
    static func slot(_ id: UUID) -> Int { Int((fnv(id) >> 32) % 16) }

    /// Number of `jobs_by_status` slots.
    static let slots = 16
}
