import CQLWire
import Foundation
import Logging

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
    /// The holder's own end of the lease: send time + TTL − safety margin on the monotonic clock.
    public let deadline: ContinuousClock.Instant
    /// The TTL the lease was granted or last renewed with.
    public let ttl: Duration

    /// Whether the holder must consider the lease lost now (its deadline has passed).
    public var isExpired: Bool { ContinuousClock.now >= deadline }
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

/// Lease locks with fencing tokens on the `locks` and `lock_seq` tables, using only LWTs on them.
///
/// Uncontended steady state: one LWT per ``acquire(_:owner:ttl:)``, ``renew(_:)`` and ``release(_:)``
/// (a plain read before an acquire picks the CAS). An LWT whose outcome is unknown is resolved
/// by reading the row at the serial consistency, never by guessing.
public final class LockClient: Sendable {
    let cql: SchedulerCQL
    let logger: Logger
    let metrics: SchedulerMetrics?
    /// Subtracted from the TTL for the holder's deadline.
    public let safetyMargin: Duration

    /// A client on `session`'s `keyspace`; `safetyMargin` is capped at a fifth of each TTL.
    public convenience init(session: CQLSession, keyspace: String, configuration: SchedulerConfiguration = SchedulerConfiguration(),
                            logger: Logger = Logger(label: "scheduler.locks", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.init(cql: SchedulerCQL(session: session, keyspace: keyspace, configuration: configuration), logger: logger, metrics: nil)
    }

    init(cql: SchedulerCQL, logger: Logger, metrics: SchedulerMetrics?) {
        self.cql = cql
        self.logger = logger
        self.metrics = metrics
        self.safetyMargin = cql.configuration.leaseSafetyMargin
    }

    struct Row {
        var holder: String?
        var generation: Int64
        var epoch: Int64
        var expireAt: Date?
    }

    private var columns: String { "holder, generation, epoch, expire_at" }

    /// Takeover of a released or expired lock: the CAS repeats what was read, so a renew (new
    /// expire_at), release or another takeover in between makes it fail.
    var takeoverCQL: String {
        "UPDATE \(cql.table("locks")) SET holder = ?, epoch = ?, fencing_token = ?, expire_at = ?, acquired_at = ?, renewed_at = ? WHERE name = ? IF generation = ? AND epoch = ? AND expire_at = ?"
    }
    /// Creation of the lock row with a freshly drawn generation.
    var createCQL: String {
        "INSERT INTO \(cql.table("locks")) (name, holder, generation, epoch, fencing_token, expire_at, acquired_at, renewed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
    }
    /// Renewal by the current holder.
    var renewCQL: String {
        "UPDATE \(cql.table("locks")) SET expire_at = ?, renewed_at = ? WHERE name = ? IF holder = ? AND generation = ? AND epoch = ?"
    }
    /// Release by the current holder; expire_at changes too, so a takeover read before it fails.
    var releaseCQL: String {
        "UPDATE \(cql.table("locks")) SET holder = null, expire_at = ? WHERE name = ? IF holder = ? AND generation = ? AND epoch = ?"
    }

    func readRow(_ name: String, serial: Bool) async throws -> Row? {
        let result = try await cql.run("SELECT \(columns) FROM \(cql.table("locks")) WHERE name = ?", [name], serialRead: serial)
        guard let row = result.first else { return nil }
        return Row(holder: try row.optional("holder", as: String.self), generation: try row.optional("generation", as: Int64.self) ?? 0,
                   epoch: try row.optional("epoch", as: Int64.self) ?? 0, expireAt: try row.optional("expire_at", as: Date.self))
    }

    private func margin(for ttl: Duration) -> Duration { min(safetyMargin, ttl / 5) }

    private func lease(name: String, owner: String, generation: Int64, epoch: Int64, expiresAt: Date,
                       sentAt: ContinuousClock.Instant, ttl: Duration) -> Lease {
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
            guard let row = try await readRow(name, serial: false) else {
                if let lease = try await create(name, owner: owner, ttl: ttl) { return lease }
                continue
            }
            let now = WallClock.now()
            if let holder = row.holder, holder != owner, let expireAt = row.expireAt, expireAt > now { return nil }
            guard row.epoch < 0xFFFF_FFFF else { throw LockError.epochExhausted(name: name) }
            let epoch = row.epoch + 1
            let sentAt = ContinuousClock.now
            let expireAt = now.adding(ttl)
            let values: [any CQLEncodable] = [owner, epoch, row.generation << 32 | epoch, expireAt, now, now, name, row.generation,
                                              row.epoch, row.expireAt ?? Date(milliseconds: 0)]
            let applied: Bool
            do {
                applied = try await cql.run(takeoverCQL, values).wasApplied
            } catch let error as CQLError where error.isUnknownOutcome {
                let current = try await readRow(name, serial: true)
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
        let now = WallClock.now()
        let sentAt = ContinuousClock.now
        let expireAt = now.adding(ttl)
        let applied: Bool
        do {
            applied = try await cql.run(createCQL, [name, owner, generation, Int64(1), generation << 32 | 1, expireAt, now, now]).wasApplied
        } catch let error as CQLError where error.isUnknownOutcome {
            let current = try await readRow(name, serial: true)
            applied = current.map { $0.holder == owner && $0.generation == generation && $0.epoch == 1 && $0.expireAt == expireAt } ?? false
        }
        guard applied else { return nil }
        // A generation drawn long ago could be older than one another client drew and used since;
        // the token is valid only if lock_seq still ends at ours, so no newer generation exists.
        let seq = try await cql.run("SELECT generation FROM \(cql.table("lock_seq")) WHERE name = ?", [name], serialRead: true)
        let latest = try seq.first?.optional("generation", as: Int64.self) ?? 0
        if latest == generation {
            return lease(name: name, owner: owner, generation: generation, epoch: 1, expiresAt: expireAt, sentAt: sentAt, ttl: ttl)
        }
        logger.debug("created lock row with a superseded generation; deleting it", metadata: ["lock": "\(name)"])
        _ = try? await cql.run("DELETE FROM \(cql.table("locks")) WHERE name = ? IF generation = ? AND epoch = ?", [name, generation, Int64(1)])
        return nil
    }

    /// Raises `lock_seq` by CAS and returns the new generation.
    private func drawGeneration(_ name: String) async throws -> Int64 {
        while true {
            try Task.checkCancellation()
            let result = try await cql.run("SELECT generation FROM \(cql.table("lock_seq")) WHERE name = ?", [name])
            let current = try result.first?.optional("generation", as: Int64.self)
            let next = (current ?? 0) + 1
            let applied: Bool
            do {
                if let current {
                    applied = try await cql.run("UPDATE \(cql.table("lock_seq")) SET generation = ? WHERE name = ? IF generation = ?",
                                                [next, name, current]).wasApplied
                } else {
                    applied = try await cql.run("INSERT INTO \(cql.table("lock_seq")) (name, generation) VALUES (?, ?) IF NOT EXISTS",
                                                [name, next]).wasApplied
                }
            } catch let error as CQLError where error.isUnknownOutcome {
                // Applied or not, a generation reached by someone else is never reused: draw again.
                _ = try await cql.run("SELECT generation FROM \(cql.table("lock_seq")) WHERE name = ?", [name], serialRead: true)
                continue
            }
            if applied { return next }
        }
    }

    /// Extends the lease by its TTL; throws ``LockError/lost(name:)`` when the caller is no longer the holder.
    public func renew(_ lease: Lease) async throws -> Lease {
        for _ in 0..<3 {
            guard !lease.isExpired else { throw LockError.lost(name: lease.name) }
            let now = WallClock.now()
            let sentAt = ContinuousClock.now
            let expireAt = now.adding(lease.ttl)
            let applied: Bool
            do {
                applied = try await cql.run(renewCQL, [expireAt, now, lease.name, lease.owner, lease.generation, lease.epoch]).wasApplied
            } catch let error as CQLError where error.isUnknownOutcome {
                guard let row = try await readRow(lease.name, serial: true), row.holder == lease.owner,
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
            let now = WallClock.now()
            do {
                guard try await cql.run(releaseCQL, [now, lease.name, lease.owner, lease.generation, lease.epoch]).wasApplied else {
                    throw LockError.lost(name: lease.name)
                }
                return
            } catch let error as CQLError where error.isUnknownOutcome {
                guard let row = try await readRow(lease.name, serial: true), row.generation == lease.generation,
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
        _ = try await cql.run("DELETE FROM \(cql.table("locks")) WHERE name = ? IF EXISTS", [name])
    }
}
