public import CQLWire
public import Foundation
public import Logging

/// A granted lock: who holds it, its fencing token, and until when.
public struct Lease: Sendable, Hashable {
    /// The lock's name (`shard-<n>` for queue shards).
    public let name: String
    /// The holder's owner id.
    public let owner: String
    /// `generation << 32 | epoch`: strictly increasing per name, forever.
    public let fencingToken: Int64
    /// The generation drawn from `lock_seq` when the lock row was (re-)created.
    public let generation: Int64
    /// Acquisitions within the generation.
    public let epoch: Int64
    /// The lease end written to the row (wall clock, whole milliseconds).
    public let expiresAt: Date
    /// The holder's own end of the lease: send time + TTL − safety margin on the lock client's monotonic clock.
    public let deadline: SchedulerInstant
    /// The TTL the lease was granted or last renewed with.
    public let ttl: Duration

    /// Whether the holder must consider the lease lost at `instant` (its deadline has passed).
    public func isExpired(at instant: SchedulerInstant) -> Bool { instant >= deadline }
}

/// Why a lock operation failed.
public enum LockError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The caller no longer holds the lease (taken over, released, or past its deadline).
    case lost(name: String)
    /// The lock's epoch reached 2^32 − 1; delete the lock row (a new generation starts).
    case epochExhausted(name: String)
    /// The TTL is not longer than the safety margin.
    case invalidTTL(Duration)

    /// A readable message.
    public var description: String {
        switch self {
        case let .lost(name): return "lease on \(name) is lost"
        case let .epochExhausted(name): return "lock \(name) used up its epochs; delete its row to start a new generation"
        case let .invalidTTL(ttl): return "lease TTL \(ttl) must exceed the safety margin"
        }
    }
}

/// Lease locks with fencing tokens on the `locks` and `lock_seq` tables (through `LockStoring`), using only LWTs on them.
///
/// Uncontended steady state: one LWT per ``acquire(_:owner:ttl:)``, ``renew(_:)`` and ``release(_:)``
/// (a plain read before an acquire picks the CAS). An LWT whose outcome is unknown is resolved
/// by reading the row at the serial consistency, never by guessing.
public final class LockClient: Sendable {
    let store: any LockStoring
    let clock: any SchedulerClock
    let logger: Logger
    let metrics: SchedulerMetrics?
    /// Subtracted from the TTL for the holder's deadline.
    public let safetyMargin: Duration

    /// A client on `session`'s `keyspace`; `safetyMargin` is capped at a fifth of each TTL.
    public convenience init(session: CQLSession, keyspace: String, configuration: SchedulerConfiguration = SchedulerConfiguration(),
                            clock: any SchedulerClock = SystemSchedulerClock(),
                            logger: Logger = Logger(label: "scheduler.locks", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.init(store: LockStore(cql: SchedulerCQL(session: session, keyspace: keyspace, configuration: configuration)),
                  clock: clock, safetyMargin: configuration.leaseSafetyMargin, logger: logger, metrics: nil)
    }

    init(store: any LockStoring, clock: any SchedulerClock, safetyMargin: Duration, logger: Logger, metrics: SchedulerMetrics?) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        self.safetyMargin = safetyMargin
    }

    /// Whether the holder of `lease` must consider it lost now.
    public func isExpired(_ lease: Lease) -> Bool { lease.isExpired(at: clock.instant) }

    private func margin(for ttl: Duration) -> Duration { min(safetyMargin, ttl / 5) }

    private func lease(name: String, owner: String, generation: Int64, epoch: Int64, expiresAt: Date,
                       sentAt: SchedulerInstant, ttl: Duration) -> Lease {
        Lease(name: name, owner: owner, fencingToken: generation << 32 | epoch, generation: generation, epoch: epoch,
              expiresAt: expiresAt, deadline: sentAt + ttl - margin(for: ttl), ttl: ttl)
    }

    /// Acquires `name` for `owner` for `ttl`; nil when another holder's lease is live (or won the race).
    public func acquire(_ name: String, owner: String, ttl: Duration) async throws -> Lease? {
        guard ttl > .zero else { throw LockError.invalidTTL(ttl) }
        do {
            let lease = try await acquireOnce(name, owner: owner, ttl: ttl)
            metrics?.lockAcquisition(lease == nil ? "busy" : "acquired")
            return lease
        } catch {
            metrics?.lockAcquisition("error")
            throw error
        }
    }

    private func acquireOnce(_ name: String, owner: String, ttl: Duration) async throws -> Lease? {
        for _ in 0..<4 {
            guard let row = try await store.lock(name, serial: false) else {
                if let lease = try await create(name, owner: owner, ttl: ttl) { return lease }
                continue
            }
            let now = clock.now()
            if let holder = row.holder, holder != owner, let expireAt = row.expireAt, expireAt > now { return nil }
            guard row.epoch < 0xFFFF_FFFF else { throw LockError.epochExhausted(name: name) }
            let epoch = row.epoch + 1
            let sentAt = clock.instant
            let expireAt = now.adding(ttl)
            let applied: Bool
            do {
                applied = try await store.takeOver(name, read: row, holder: owner, epoch: epoch, expireAt: expireAt, now: now)
            } catch let error as CQLError where error.isUnknownOutcome {
                let current = try await store.lock(name, serial: true)
                applied = current.map { $0.holder == owner && $0.generation == row.generation && $0.epoch == epoch && $0.expireAt == expireAt } ?? false
                logger.debug("acquire outcome resolved by SERIAL read", metadata: ["lock": "\(name)", "applied": "\(applied)"])
            }
            if applied {
                return lease(name: name, owner: owner, generation: row.generation, epoch: epoch, expiresAt: expireAt, sentAt: sentAt, ttl: ttl)
            }
            return nil
        }
        return nil
    }

    /// Creates the lock row with a fresh generation; nil when another client created it first.
    private func create(_ name: String, owner: String, ttl: Duration) async throws -> Lease? {
        let generation = try await drawGeneration(name)
        let now = clock.now()
        let sentAt = clock.instant
        let expireAt = now.adding(ttl)
        let applied: Bool
        do {
            applied = try await store.create(name, holder: owner, generation: generation, expireAt: expireAt, now: now)
        } catch let error as CQLError where error.isUnknownOutcome {
            let current = try await store.lock(name, serial: true)
            applied = current.map { $0.holder == owner && $0.generation == generation && $0.epoch == 1 && $0.expireAt == expireAt } ?? false
        }
        guard applied else { return nil }
        // A generation drawn long ago could be older than one another client drew and used since;
        // the token is valid only if lock_seq still ends at ours, so no newer generation exists.
        let latest = try await store.generation(name, serial: true) ?? 0
        if latest == generation {
            return lease(name: name, owner: owner, generation: generation, epoch: 1, expiresAt: expireAt, sentAt: sentAt, ttl: ttl)
        }
        logger.debug("created lock row with a superseded generation; deleting it", metadata: ["lock": "\(name)"])
        _ = try? await store.delete(name, generation: generation, epoch: 1)
        return nil
    }

    /// Raises `lock_seq` by CAS and returns the new generation.
    private func drawGeneration(_ name: String) async throws -> Int64 {
        while true {
            try Task.checkCancellation()
            let current = try await store.generation(name, serial: false)
            let next = (current ?? 0) + 1
            let applied: Bool
            do {
                applied = try await store.drawGeneration(name, from: current, to: next)
            } catch let error as CQLError where error.isUnknownOutcome {
                // Applied or not, a generation reached by someone else is never reused: draw again.
                _ = try await store.generation(name, serial: true)
                continue
            }
            if applied { return next }
        }
    }

    /// Extends the lease by its TTL; throws ``LockError/lost(name:)`` when the caller is no longer the holder.
    public func renew(_ lease: Lease) async throws -> Lease {
        for _ in 0..<3 {
            guard !isExpired(lease) else { throw LockError.lost(name: lease.name) }
            let now = clock.now()
            let sentAt = clock.instant
            let expireAt = now.adding(lease.ttl)
            let applied: Bool
            do {
                applied = try await store.renew(lease.name, holder: lease.owner, generation: lease.generation, epoch: lease.epoch,
                                                expireAt: expireAt, now: now)
            } catch let error as CQLError where error.isUnknownOutcome {
                guard let row = try await store.lock(lease.name, serial: true), row.holder == lease.owner,
                      row.generation == lease.generation, row.epoch == lease.epoch else { throw LockError.lost(name: lease.name) }
                if row.expireAt != expireAt { continue }
                applied = true
            }
            guard applied else { throw LockError.lost(name: lease.name) }
            return self.lease(name: lease.name, owner: lease.owner, generation: lease.generation, epoch: lease.epoch,
                              expiresAt: expireAt, sentAt: sentAt, ttl: lease.ttl)
        }
        throw LockError.lost(name: lease.name)
    }

    /// Gives the lock up; throws ``LockError/lost(name:)`` when the caller was no longer the holder.
    public func release(_ lease: Lease) async throws {
        for _ in 0..<3 {
            let now = clock.now()
            do {
                guard try await store.release(lease.name, holder: lease.owner, generation: lease.generation, epoch: lease.epoch,
                                              now: now) else {
                    throw LockError.lost(name: lease.name)
                }
                return
            } catch let error as CQLError where error.isUnknownOutcome {
                guard let row = try await store.lock(lease.name, serial: true), row.generation == lease.generation,
                      row.epoch == lease.epoch else { throw LockError.lost(name: lease.name) }
                if row.holder == nil { return }
                if row.holder != lease.owner { throw LockError.lost(name: lease.name) }
                logger.debug("release not applied before the timeout; trying again", metadata: ["lock": "\(lease.name)"])
            }
        }
        throw LockError.lost(name: lease.name)
    }

    /// Deletes a lock row (administration and tests): by LWT, so it never mixes with plain writes.
    /// The next acquisition starts a new generation, so tokens keep increasing.
    public func deleteLock(_ name: String) async throws {
        try await store.delete(name)
    }
}
