import CQLWire
import Foundation
import Logging

/// Why a runtime cannot start.
public enum SchedulerRuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The runtime's shard count differs from the job service's (jobs would land in shards nobody polls).
    case shardCountMismatch(runtime: Int, service: Int)

    /// A readable message.
    public var description: String {
        switch self {
        case let .shardCountMismatch(runtime, service):
            return "runtime polls \(runtime) shards but the job service enqueues into \(service)"
        }
    }
}

/// A worker's background machinery: membership heartbeats, shard leases and their balancing,
/// polling owned shards, executing claimed runs, and the repair sweep.
public final class SchedulerRuntime: Sendable {
    struct State {
        var leases: [Int: Lease] = [:]
        var cursors: [Int: Date] = [:]
        var inFlight: [String: @Sendable () -> Void] = [:]
        /// The poll loop waiting for in-flight runs to drop to the refill mark, with its wait's serial.
        var capacityWaiter: (serial: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var waiterSerial: UInt64 = 0
        /// Where the next poll pass starts in the owned shards, so a backlog in one shard cannot starve the others.
        var pollRotation = 0
        var stopping = false
        var lastHeartbeat: ContinuousClock.Instant?
        var startedAt = WallClock.now()
    }

    /// The job service whose jobs this runtime executes.
    public let service: JobService
    /// This worker's id (lease owner, `workers` row, `lease_owner` of its runs).
    public let workerID: String
    /// Number of shards polled.
    public let shards: Int
    /// Pause between polls of the owned shards.
    public let pollInterval: Duration
    /// The address other workers see in the `workers` table.
    public let address: String
    let logger: Logger
    let state = LockedBox(State())

    /// A runtime for `service`; `shards` must equal `service.configuration.shards`.
    public init(service: JobService, workerID: String, shards: Int, pollInterval: Duration, address: String = "",
                logger: Logger? = nil) {
        self.service = service
        self.workerID = workerID
        self.shards = shards
        self.pollInterval = pollInterval
        self.address = address
        self.logger = logger ?? service.logger
    }

    /// The shards whose leases this runtime holds (and whose deadline has not passed).
    public var ownedShards: [Int] {
        state.withLock { state in state.leases.filter { !$0.value.isExpired }.keys.sorted() }
    }

    /// Runs until cancelled or ``shutdown(gracePeriod:)``: heartbeats, balancing, polling, executing, repairing.
    public func run() async throws {
        guard shards == service.configuration.shards else {
            throw SchedulerRuntimeError.shardCountMismatch(runtime: shards, service: service.configuration.shards)
        }
        try await heartbeat()
        let configuration = service.configuration
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.loop(every: max(configuration.shardLeaseTTL / 4, .milliseconds(10)), "balance") { try await self.balance() } }
            group.addTask { await self.pollLoop() }
            group.addTask { await self.loop(every: configuration.repairInterval, "repair") { try await self.repairSweep() } }
        }
        if !state.withLock({ $0.stopping }) {
            // Cancelled rather than shut down: hand runs back and release leases outside the cancelled task.
            await Task { await self.shutdown(gracePeriod: .zero) }.value
        }
    }

    /// Stops claiming, lets running runs finish within `gracePeriod`, hands the others back to the
    /// queue, releases the shard leases and leaves the pool.
    public func shutdown(gracePeriod: Duration) async {
        state.withLock { $0.stopping = true }
        wakePoller(serial: nil)
        let end = ContinuousClock.now + gracePeriod
        while ContinuousClock.now < end, !state.withLock({ $0.inFlight.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let handBacks = state.withLock { Array($0.inFlight.values) }
        for handBack in handBacks { handBack() }
        let handBackEnd = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < handBackEnd, !state.withLock({ $0.inFlight.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let leases = state.withLock { state -> [Lease] in
            defer { state.leases = [:] }
            return Array(state.leases.values)
        }
        for lease in leases { try? await service.locks.release(lease) }
        service.metrics.ownedShards.record(0)
        _ = try? await service.cql.run("DELETE FROM \(service.cql.table("workers")) WHERE pool = ? AND worker_id = ?",
                                       [service.configuration.pool, workerID])
        logger.info("scheduler runtime stopped", metadata: ["worker_id": "\(workerID)"])
    }

    var isStopping: Bool { state.withLock { $0.stopping } }

    private func loop(every interval: Duration, _ name: String, _ body: @Sendable () async throws -> Void) async {
        while !Task.isCancelled, !isStopping {
            do {
                try await body()
            } catch is CancellationError {
                return
            } catch {
                logger.warning("scheduler \(name) failed", metadata: ["error": "\(error)", "worker_id": "\(workerID)"])
            }
            let wake = ContinuousClock.now + interval
            while ContinuousClock.now < wake, !Task.isCancelled, !isStopping {
                try? await Task.sleep(for: min(interval, .milliseconds(100)))
            }
        }
    }

    // MARK: - Membership and shard leases

    private func heartbeat() async throws {
        let configuration = service.configuration
        let ttl = max(1, Int(configuration.workerTTL.seconds.rounded(.up)))
        let startedAt = state.withLock { $0.startedAt }
        try await service.cql.run(
            "INSERT INTO \(service.cql.table("workers")) (pool, worker_id, address, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?) USING TTL \(ttl)",
            [configuration.pool, workerID, address, startedAt, WallClock.now()])
        state.withLock { $0.lastHeartbeat = ContinuousClock.now }
    }

    /// Heartbeats, renews leases, and moves the owned shard count toward the fair share.
    func balance() async throws {
        let configuration = service.configuration
        if let last = state.withLock({ $0.lastHeartbeat }), ContinuousClock.now - last >= configuration.workerTTL / 3 {
            try await heartbeat()
        }
        let workers = try await service.cql.run("SELECT worker_id FROM \(service.cql.table("workers")) WHERE pool = ?", [configuration.pool])
        var live = Set(try workers.rows.compactMap { try $0.optional("worker_id", as: String.self) })
        live.insert(workerID)
        let fair = (shards + live.count - 1) / live.count

        for (shard, lease) in state.withLock({ $0.leases }) {
            if lease.isExpired {
                dropLease(shard, lost: true)
                continue
            }
            guard lease.deadline - ContinuousClock.now < lease.ttl / 2 else { continue }
            do {
                let renewed = try await service.locks.renew(lease)
                state.withLock { $0.leases[shard] = renewed }
            } catch LockError.lost {
                dropLease(shard, lost: true)
            }
        }
        let owned = state.withLock { $0.leases.keys.sorted() }
        if owned.count > fair {
            for shard in owned.suffix(owned.count - fair) {
                guard let lease = state.withLock({ $0.leases.removeValue(forKey: shard) }) else { continue }
                try? await service.locks.release(lease)
                logger.debug("released surplus shard", metadata: ["shard": "\(shard)", "worker_id": "\(workerID)"])
            }
        } else if owned.count < fair, !isStopping {
            let offset = Int(JobHash.fnv(workerID) % UInt64(shards))
            for step in 0..<shards {
                let shard = (offset + step) % shards
                guard state.withLock({ $0.leases.count < fair && $0.leases[shard] == nil }) else { continue }
                if let lease = try await service.locks.acquire("shard-\(shard)", owner: workerID, ttl: configuration.shardLeaseTTL) {
                    state.withLock { state in
                        state.leases[shard] = lease
                        state.cursors[shard] = nil
                    }
                    logger.debug("acquired shard", metadata: ["shard": "\(shard)", "token": "\(lease.fencingToken)"])
                }
            }
        }
        service.metrics.ownedShards.record(state.withLock { $0.leases.count })
    }

    private func dropLease(_ shard: Int, lost: Bool) {
        state.withLock { _ = $0.leases.removeValue(forKey: shard) }
        if lost {
            service.metrics.leaseLosses.increment()
            logger.warning("shard lease lost", metadata: ["shard": "\(shard)", "worker_id": "\(workerID)"])
        }
    }

    /// Whether this runtime may act on `shard` now (its lease's deadline has not passed).
    func owns(_ shard: Int) -> Bool {
        state.withLock { $0.leases[shard].map { !$0.isExpired } ?? false }
    }
}
