import CQLWire
import Foundation
public import Logging

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

/// A worker's background machinery, one part per responsibility: `ShardOwnership` (membership
/// heartbeats, shard leases and their balancing), `Poller` (due entries of owned shards),
/// `RunCoordinator` (claim, execution, completion of each run) and `RepairSweep`. All of them
/// read time from the job service's clock.
public final class SchedulerRuntime: Sendable {
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
    let lifecycle: RuntimeLifecycle
    let ownership: ShardOwnership
    let runs: RunCoordinator
    let poller: Poller
    let repair: RepairSweep

    /// A runtime for `service`; `shards` must equal `service.configuration.shards`.
    public init(service: JobService, workerID: String, shards: Int, pollInterval: Duration, address: String = "",
                logger: Logger? = nil) {
        let logger = logger ?? service.logger
        self.service = service
        self.workerID = workerID
        self.shards = shards
        self.pollInterval = pollInterval
        self.address = address
        self.logger = logger
        lifecycle = RuntimeLifecycle(clock: service.clock)
        ownership = ShardOwnership(service: service, workerID: workerID, shards: shards, address: address, lifecycle: lifecycle,
                                   logger: logger)
        runs = RunCoordinator(service: service, workerID: workerID, lifecycle: lifecycle, logger: logger)
        poller = Poller(service: service, ownership: ownership, runs: runs, pollInterval: pollInterval, lifecycle: lifecycle,
                        logger: logger)
        repair = RepairSweep(service: service, ownership: ownership, poller: poller, lifecycle: lifecycle, logger: logger)
    }

    /// The shards whose leases this runtime holds (and whose deadline has not passed).
    public var ownedShards: [Int] { ownership.ownedShards }

    /// Runs until cancelled or ``shutdown(gracePeriod:)``: heartbeats, balancing, polling, executing, repairing.
    public func run() async throws {
        guard shards == service.configuration.shards else {
            throw SchedulerRuntimeError.shardCountMismatch(runtime: shards, service: service.configuration.shards)
        }
        try await ownership.heartbeat()
        let configuration = service.configuration
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.loop(every: max(configuration.shardLeaseTTL / 4, .milliseconds(10)), "balance") { try await self.ownership.balance() } }
            group.addTask { await self.poller.run() }
            group.addTask { await self.loop(every: configuration.repairInterval, "repair") { try await self.repair.sweep() } }
            group.addTask { await self.loop(every: configuration.cancelPollInterval, "cancel watch") { try await self.runs.stopCancelledRuns() } }
        }
        if !lifecycle.isStopping {
            // Cancelled rather than shut down: hand runs back and release leases outside the cancelled task.
            await Task { await self.shutdown(gracePeriod: .zero) }.value
        }
    }

    /// Stops claiming, lets running runs finish within `gracePeriod`, hands the others back to the
    /// queue, releases the shard leases and leaves the pool.
    public func shutdown(gracePeriod: Duration) async {
        lifecycle.stop()
        runs.wake()
        let clock = service.clock
        await runs.waitUntil(inFlightAtMost: 0, deadline: clock.instant + gracePeriod)
        runs.handBackAll()
        await runs.waitUntil(inFlightAtMost: 0, deadline: clock.instant + .seconds(10))
        await ownership.releaseAll()
        logger.info("scheduler runtime stopped", metadata: ["worker_id": "\(workerID)"])
    }

    private func loop(every interval: Duration, _ name: String, _ body: @Sendable () async throws -> Void) async {
        let clock = service.clock
        while !Task.isCancelled, !lifecycle.isStopping {
            do {
                try await body()
            } catch is CancellationError {
                return
            } catch {
                logger.warning("scheduler \(name) failed", metadata: ["error": "\(error)", "worker_id": "\(workerID)"])
            }
            await lifecycle.pause(until: clock.instant + interval)
        }
    }
}
