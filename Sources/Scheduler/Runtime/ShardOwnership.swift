import Foundation
import CoreMetrics
import Logging
import Synchronization

/// A worker's membership in its pool and its shard leases: heartbeats in the `workers` table, and
/// acquiring, renewing and releasing `shard-<n>` leases so each live worker owns about its fair share.
final class ShardOwnership: Sendable {
    private struct State {
        var leases: [Int: Lease] = [:]
        var lastHeartbeat: SchedulerInstant?
        /// Bumped whenever a shard is owned anew, so the poller restarts that shard's cursor.
        var acquisitions: [Int: UInt64] = [:]
    }

    let service: JobService
    let workerID: String
    let shards: Int
    let address: String
    let startedAt: Date
    let lifecycle: RuntimeLifecycle
    let logger: Logger
    private let state = Mutex(State())

    init(service: JobService, workerID: String, shards: Int, address: String, lifecycle: RuntimeLifecycle, logger: Logger) {
        self.service = service
        self.workerID = workerID
        self.shards = shards
        self.address = address
        self.lifecycle = lifecycle
        self.logger = logger
        self.startedAt = service.clock.now()
    }

    private var clock: any SchedulerClock { service.clock }

    /// The shards whose leases are held (and whose deadline has not passed).
    var ownedShards: [Int] {
        let now = clock.instant
        return state.withLock { state in state.leases.filter { !$0.value.isExpired(at: now) }.keys.sorted() }
    }

    /// Whether this worker may act on `shard` now (its lease's deadline has not passed).
    func owns(_ shard: Int) -> Bool {
        let now = clock.instant
        return state.withLock { $0.leases[shard].map { !$0.isExpired(at: now) } ?? false }
    }

    /// How many times `shard` was owned anew (the poller's cursor of an older ownership is void).
    func acquisition(of shard: Int) -> UInt64 {
        state.withLock { $0.acquisitions[shard] ?? 0 }
    }

    /// Writes the membership row (one request).
    func heartbeat() async throws {
        let configuration = service.configuration
        let ttl = max(1, Int(configuration.workerTTL.seconds.rounded(.up)))
        try await service.store.heartbeat(WorkerRow(pool: configuration.pool, workerID: workerID, address: address, startedAt: startedAt,
                                                    heartbeatAt: clock.now()), ttlSeconds: ttl)
        let now = clock.instant
        state.withLock { $0.lastHeartbeat = now }
    }

    /// Heartbeats, renews leases, and moves the owned shard count toward the fair share.
    func balance() async throws {
        let configuration = service.configuration
        let locks = service.locks
        if let last = state.withLock({ $0.lastHeartbeat }), clock.instant - last >= configuration.workerTTL / 3 {
            try await heartbeat()
        }
        var live = Set(try await service.store.workers(pool: configuration.pool))
        live.insert(workerID)
        let fair = (shards + live.count - 1) / live.count

        // In shard order: the same state always takes the same path (the simulation replays seeds).
        for (shard, lease) in state.withLock({ $0.leases }).sorted(by: { $0.key < $1.key }) {
            if locks.isExpired(lease) {
                drop(shard, lost: true)
                continue
            }
            guard lease.deadline - clock.instant < lease.ttl / 2 else { continue }
            do {
                let renewed = try await locks.renew(lease)
                state.withLock { $0.leases[shard] = renewed }
            } catch LockError.lost {
                drop(shard, lost: true)
            }
        }
        let owned = state.withLock { $0.leases.keys.sorted() }
        if owned.count > fair {
            for shard in owned.suffix(owned.count - fair) {
                guard let lease = state.withLock({ $0.leases.removeValue(forKey: shard) }) else { continue }
                try? await locks.release(lease)
                logger.debug("released surplus shard", metadata: ["shard": "\(shard)", "worker_id": "\(workerID)"])
            }
        } else if owned.count < fair, !lifecycle.isStopping {
            let offset = Int(JobHash.fnv(workerID) % UInt64(shards))
            for step in 0..<shards {
                let shard = (offset + step) % shards
                guard state.withLock({ $0.leases.count < fair && $0.leases[shard] == nil }) else { continue }
                if let lease = try await locks.acquire("shard-\(shard)", owner: workerID, ttl: configuration.shardLeaseTTL) {
                    state.withLock { state in
                        state.leases[shard] = lease
                        state.acquisitions[shard, default: 0] += 1
                    }
                    logger.debug("acquired shard", metadata: ["shard": "\(shard)", "token": "\(lease.fencingToken)"])
                }
            }
        }
        service.metrics.ownedShards.record(state.withLock { $0.leases.count })
    }

    private func drop(_ shard: Int, lost: Bool) {
        state.withLock { _ = $0.leases.removeValue(forKey: shard) }
        if lost {
            service.metrics.leaseLosses.increment()
            logger.warning("shard lease lost", metadata: ["shard": "\(shard)", "worker_id": "\(workerID)"])
        }
    }

    /// The leases held now (the simulation checks them against each other).
    var leases: [Lease] { state.withLock { $0.leases.sorted { $0.key < $1.key }.map(\.value) } }

    /// Releases every lease and leaves the pool (shutdown).
    func releaseAll() async {
        let leases = state.withLock { state -> [Lease] in
            defer { state.leases = [:] }
            return Array(state.leases.values)
        }
        for lease in leases { try? await service.locks.release(lease) }
        service.metrics.ownedShards.record(0)
        try? await service.store.removeWorker(pool: service.configuration.pool, workerID: workerID)
    }
}
