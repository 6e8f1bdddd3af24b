import CQLWire
import Foundation

/// A `locks` row as the lock client reads it.
struct LockRow: Sendable, Hashable, Decodable {
    var holder: String?
    var generation: Int64
    var epoch: Int64
    var expireAt: Date?

    enum CodingKeys: String, CodingKey {
        case holder, generation, epoch, expireAt = "expire_at"
    }

    init(holder: String?, generation: Int64, epoch: Int64, expireAt: Date?) {
        self.holder = holder
        self.generation = generation
        self.epoch = epoch
        self.expireAt = expireAt
    }

    init(from decoder: any Decoder) throws {
        let row = try decoder.container(keyedBy: CodingKeys.self)
        holder = try row.decodeIfPresent(String.self, forKey: .holder)
        generation = try row.decodeIfPresent(Int64.self, forKey: .generation) ?? 0
        epoch = try row.decodeIfPresent(Int64.self, forKey: .epoch) ?? 0
        expireAt = try row.decodeIfPresent(Date.self, forKey: .expireAt)
    }
}

/// Every request on the `locks` and `lock_seq` tables. Each method is one request; the
/// conditional ones are LWTs and answer whether they applied. An LWT whose outcome is unknown
/// throws (`CQLError.isUnknownOutcome`); the lock client resolves it by a serial read.
protocol LockStoring: Sendable {
    /// The lock row, read plainly or at the serial consistency; nil when there is none.
    func lock(_ name: String, serial: Bool) async throws -> LockRow?
    /// Takeover of a released or expired lock, conditioned on the row as `read` (generation, epoch, expire_at).
    func takeOver(_ name: String, read: LockRow, holder: String, epoch: Int64, expireAt: Date, now: Date) async throws -> Bool
    /// Creation of the lock row (IF NOT EXISTS) at epoch 1 of `generation`.
    func create(_ name: String, holder: String, generation: Int64, expireAt: Date, now: Date) async throws -> Bool
    /// Renewal by the holder of `generation`/`epoch`.
    func renew(_ name: String, holder: String, generation: Int64, epoch: Int64, expireAt: Date, now: Date) async throws -> Bool
    /// Release by the holder of `generation`/`epoch` (holder null, expire_at moved to `now`).
    func release(_ name: String, holder: String, generation: Int64, epoch: Int64, now: Date) async throws -> Bool
    /// Deletes the row while it is still at `generation`/`epoch`.
    func delete(_ name: String, generation: Int64, epoch: Int64) async throws -> Bool
    /// Deletes the row whatever it holds (IF EXISTS).
    func delete(_ name: String) async throws
    /// The latest generation drawn for `name`, nil before the first.
    func generation(_ name: String, serial: Bool) async throws -> Int64?
    /// Raises the generation from `current` (nil: none yet, IF NOT EXISTS) to `next`.
    func drawGeneration(_ name: String, from current: Int64?, to next: Int64) async throws -> Bool
}

/// ``LockStoring`` on Cassandra: the statements on `locks` and `lock_seq`, all LWTs or reads.
struct LockStore: LockStoring {
    let cql: SchedulerCQL
    private let select: String
    private let takeoverCQL: String
    private let createCQL: String
    private let renewCQL: String
    private let releaseCQL: String
    private let deleteHeldCQL: String
    private let deleteCQL: String
    private let selectGeneration: String
    private let raiseGeneration: String
    private let firstGeneration: String

    init(cql: SchedulerCQL) {
        self.cql = cql
        let locks = cql.table("locks"), seq = cql.table("lock_seq")
        select = "SELECT holder, generation, epoch, expire_at FROM \(locks) WHERE name = ?"
        // The CAS repeats what was read, so a renew (new expire_at), release or another takeover in between fails it.
        takeoverCQL = "UPDATE \(locks) SET holder = ?, epoch = ?, fencing_token = ?, expire_at = ?, acquired_at = ?, renewed_at = ? WHERE name = ? IF generation = ? AND epoch = ? AND expire_at = ?"
        createCQL = "INSERT INTO \(locks) (name, holder, generation, epoch, fencing_token, expire_at, acquired_at, renewed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
        renewCQL = "UPDATE \(locks) SET expire_at = ?, renewed_at = ? WHERE name = ? IF holder = ? AND generation = ? AND epoch = ?"
        // expire_at changes too, so a takeover read before the release fails.
        releaseCQL = "UPDATE \(locks) SET holder = null, expire_at = ? WHERE name = ? IF holder = ? AND generation = ? AND epoch = ?"
        deleteHeldCQL = "DELETE FROM \(locks) WHERE name = ? IF generation = ? AND epoch = ?"
        deleteCQL = "DELETE FROM \(locks) WHERE name = ? IF EXISTS"
        selectGeneration = "SELECT generation FROM \(seq) WHERE name = ?"
        raiseGeneration = "UPDATE \(seq) SET generation = ? WHERE name = ? IF generation = ?"
        firstGeneration = "INSERT INTO \(seq) (name, generation) VALUES (?, ?) IF NOT EXISTS"
    }

    /// The takeover statement's text (tests inject faults into it by its prepared id).
    var takeoverStatement: String { takeoverCQL }
    /// The release statement's text (tests inject faults into it by its prepared id).
    var releaseStatement: String { releaseCQL }

    func lock(_ name: String, serial: Bool) async throws -> LockRow? {
        try await cql.run(select, [name], serialRead: serial).decode(LockRow.self).first
    }

    func takeOver(_ name: String, read: LockRow, holder: String, epoch: Int64, expireAt: Date, now: Date) async throws -> Bool {
        try await cql.run(takeoverCQL, [holder, epoch, read.generation << 32 | epoch, expireAt, now, now, name, read.generation,
                                        read.epoch, read.expireAt ?? Date(milliseconds: 0)]).wasApplied
    }

    func create(_ name: String, holder: String, generation: Int64, expireAt: Date, now: Date) async throws -> Bool {
        try await cql.run(createCQL, [name, holder, generation, Int64(1), generation << 32 | 1, expireAt, now, now]).wasApplied
    }

    func renew(_ name: String, holder: String, generation: Int64, epoch: Int64, expireAt: Date, now: Date) async throws -> Bool {
        try await cql.run(renewCQL, [expireAt, now, name, holder, generation, epoch]).wasApplied
    }

    func release(_ name: String, holder: String, generation: Int64, epoch: Int64, now: Date) async throws -> Bool {
        try await cql.run(releaseCQL, [now, name, holder, generation, epoch]).wasApplied
    }

    func delete(_ name: String, generation: Int64, epoch: Int64) async throws -> Bool {
        try await cql.run(deleteHeldCQL, [name, generation, epoch]).wasApplied
    }

    func delete(_ name: String) async throws {
        try await cql.run(deleteCQL, [name])
    }

    func generation(_ name: String, serial: Bool) async throws -> Int64? {
        let result = try await cql.run(selectGeneration, [name], serialRead: serial)
        return try result.first?.optional("generation", as: Int64.self)
    }

    func drawGeneration(_ name: String, from current: Int64?, to next: Int64) async throws -> Bool {
        if let current { return try await cql.run(raiseGeneration, [next, name, current]).wasApplied }
        return try await cql.run(firstGeneration, [name, next]).wasApplied
    }
}
