import CQLWire
import Foundation
@testable import Scheduler
import NIOConcurrencyHelpers

/// How often the simulated cluster misbehaves, per request.
struct FaultRates: Sendable {
    /// Refused before anything ran (Unavailable): nothing applied.
    var fail: Double
    /// Timed out with the outcome unknown: applied now or not at all, or left to land later.
    var timeout: Double

    static let none = FaultRates(fail: 0, timeout: 0)
}

/// One simulated worker incarnation's connection to the simulated cluster: every request first
/// waits at the turnstile, then runs against the tables, failing or timing out as the seed decides.
/// A timed-out request applied or not, or left as a ghost that lands whenever the simulator says;
/// an unlogged batch that times out may be half applied; a logged batch lands whole or not yet.
struct SimulatedStore: JobStoring, LockStoring {
    let database: SimulatedDatabase
    let turnstile: Turnstile
    let random: SimulationRandom
    let faults: NIOLockedValueBox<FaultRates>
    let worker: Int
    let incarnation: Int
    let clock: SimulatedClock
    /// How far the workers' clocks may disagree with the servers'.
    let maximumSkew: Duration
    let sequence = NIOLockedValueBox<Int64>(0)

    private enum Kind { case read, lwt, write(count: Int, logged: Bool) }

    private enum Fault { case none, fail, timeoutApplied, timeoutLost, timeoutLate, partial }

    private func pickFault(_ kind: Kind) -> Fault {
        let rates = faults.withLockedValue { $0 }
        if random.chance(rates.fail) { return .fail }
        guard random.chance(rates.timeout) else { return .none }
        switch kind {
        case .read: return .timeoutLost
        case .lwt: return [.timeoutApplied, .timeoutLost, .timeoutLate][random.int(3)]
        case let .write(count, logged):
            if !logged, count > 1, random.chance(0.5) { return .partial }
            return [.timeoutApplied, .timeoutLost, .timeoutLate][random.int(3)]
        }
    }

    private func timeoutError(_ kind: Kind) -> any Error {
        if case .lwt = kind { return CQLError.lwtOutcomeUnknown(reason: "simulated CAS write timeout") }
        return CQLError.requestTimedOut(endpoint: "sim", timeout: .seconds(2))
    }

    /// Waits for the turnstile, then applies `body` to the tables under the seed's fault.
    /// `paxos`: the partition of an LWT or serial read, whose open Paxos rounds are decided first.
    private func request<Result: Sendable>(_ label: @autoclosure @escaping @Sendable () -> String, _ kind: Kind, paxos partition: String? = nil,
                                           _ body: @escaping @Sendable (inout SimulatedDatabase.Tables) -> Result) async throws -> Result {
        let worker = self.worker
        try await turnstile.request(worker: worker, incarnation: incarnation) { "w\(worker) \(label())" }
        let database = self.database
        if let partition {
            let random = self.random
            for landed in turnstile.settlePaxos(on: partition, land: { random.chance(0.5) }) { database.note("lands " + landed) }
        }
        switch pickFault(kind) {
        case .none:
            return database.tables.withLockedValue { body(&$0) }
        case .fail:
            throw ServerError(.unavailable(consistency: .localQuorum, required: 2, alive: 1), message: "simulated")
        case .timeoutApplied:
            _ = database.tables.withLockedValue { body(&$0) }
        case .timeoutLost, .partial:
            break
        case .timeoutLate:
            turnstile.addGhost("w\(worker) late \(label())", paxosPartition: partition) { _ = database.tables.withLockedValue { body(&$0) } }
        }
        throw timeoutError(kind)
    }

    private func timestamp() -> Int64 {
        let next = sequence.withLockedValue { value -> Int64 in
            value = (value + 1) % 1000
            return value
        }
        return clock.now().millis * 1000 + next
    }

    // MARK: - JobStoring

    func job(_ id: UUID, serial: Bool) async throws -> JobView? {
        try await request(serial ? "serial read job" : "read job", .read, paxos: serial ? "jobs/\(id)" : nil) { $0.jobs[id] }
    }

    func insertJobIfNotExists(_ row: NewJobRow) async throws -> Bool {
        try await request("insert job if not exists", .lwt, paxos: "jobs/\(row.jobID)") { t in
            guard t.jobs[row.jobID] == nil else { return false }
            SimulatedDatabase.applyInsertJob(row, &t)
            return true
        }
    }

    func claim(_ update: ClaimUpdate) async throws -> Bool {
        try await request("claim \(update.jobID.short)#\(update.attempt)", .lwt, paxos: "jobs/\(update.jobID)") { SimulatedDatabase.applyClaim(update, &$0) }
    }

    func renewRunLease(_ id: UUID, attempt: Int64, owner: String, until: Date) async throws -> Bool {
        try await request("renew run \(id.short)#\(attempt)", .lwt, paxos: "jobs/\(id)") {
            SimulatedDatabase.applyRenew(id, attempt: attempt, owner: owner, until: until, &$0)
        }
    }

    func endRun(_ update: RunEndUpdate) async throws -> JobCAS {
        let label = update.expiredLease == nil ? "complete" : "reclaim"
        let database = self.database, worker = "w\(self.worker).\(incarnation)", skew = maximumSkew
        return try await request("\(label) \(update.jobID.short)#\(update.attempt)", .lwt, paxos: "jobs/\(update.jobID)") {
            SimulatedDatabase.applyEnd(update, by: worker, now: database.serverNow, skew: skew, &$0)
        }
    }

    func cancel(_ id: UUID, readStatus: JobStatus, readAttempt: Int64, now: Date) async throws -> Bool {
        try await request("cancel \(id.short)", .lwt, paxos: "jobs/\(id)") {
            SimulatedDatabase.applyCancel(id, readStatus: readStatus, readAttempt: readAttempt, now: now, &$0)
        }
    }

    func activate(_ update: ActivationUpdate) async throws -> Bool {
        try await request("activate \(update.jobID.short)", .lwt, paxos: "jobs/\(update.jobID)") { SimulatedDatabase.applyActivate(update, &$0) }
    }

    func revise(_ revision: JobRevision) async throws -> Bool {
        try await request("revise \(revision.job.jobID.short)", .lwt, paxos: "jobs/\(revision.job.jobID)") { SimulatedDatabase.applyRevise(revision, &$0) }
    }

    func deleteJob(_ id: UUID, readStatus: JobStatus, readAttempt: Int64) async throws -> Bool {
        try await request("delete job \(id.short)", .lwt, paxos: "jobs/\(id)") { t in
            guard let job = t.jobs[id], job.status == readStatus, job.attempt == readAttempt else { return false }
            t.jobs[id] = nil
            t.purged.insert(id)
            return true
        }
    }

    func purgeTraces(_ id: UUID, status: JobStatus) async throws {
        let timestamp = self.timestamp()
        try await request("purge traces \(id.short)", .write(count: 2, logged: true)) { t in
            t.history = t.history.filter { $0.key.jobID != id }
            SimulatedDatabase.apply(.unindex(status, id), timestamp: timestamp, &t)
        }
    }

    func deleteIdempotencyKey(_ key: String, jobID: UUID) async throws -> Bool {
        try await request("delete key", .lwt, paxos: "keys/\(key)") { t in
            guard t.keys[key]?.jobID == jobID else { return false }
            t.keys[key] = nil
            return true
        }
    }

    func write(_ writes: [JobWrite], logged: Bool, timestamp explicit: Int64?) async throws {
        guard !writes.isEmpty else { return }
        let kind = Kind.write(count: writes.count, logged: logged)
        let timestamp = explicit ?? self.timestamp()
        let worker = self.worker
        let label: @Sendable () -> String = { "write \(writes.map(\.label).joined(separator: "+"))\(logged ? " logged" : "")" }
        try await turnstile.request(worker: worker, incarnation: incarnation) { "w\(worker) \(label())" }
        let fault = pickFault(kind)
        let database = self.database
        let applyAll: @Sendable () -> Void = {
            database.tables.withLockedValue { t in for write in writes { SimulatedDatabase.apply(write, timestamp: timestamp, &t) } }
        }
        switch fault {
        case .none:
            applyAll()
            return
        case .fail:
            throw ServerError(.unavailable(consistency: .localQuorum, required: 2, alive: 1), message: "simulated")
        case .timeoutApplied:
            applyAll()
        case .timeoutLost:
            break
        case .timeoutLate:
            turnstile.addGhost("w\(worker) late \(label())", applyAll)
        case .partial:
            let applied = writes.filter { _ in random.chance(0.5) }
            database.tables.withLockedValue { t in for write in applied { SimulatedDatabase.apply(write, timestamp: timestamp, &t) } }
        }
        throw timeoutError(kind)
    }

    func dueEntries(shard: Int, bucket: Date, dueBy: Date, after: QueueEntry?, limit: Int) async throws -> [QueueEntry] {
        try await request("poll shard \(shard)", .read) { t in
            let entries = t.queue.compactMap { key, cell -> QueueEntry? in
                guard key.shard == Int32(shard), key.bucket == bucket, key.dueAt <= dueBy else { return nil }
                if let after, (key.dueAt, key.jobID.uuidString) <= (after.dueAt, after.jobID.uuidString) { return nil }
                return cell.value
            }
            return Array(entries.sorted { ($0.dueAt, $0.jobID.uuidString) < ($1.dueAt, $1.jobID.uuidString) }.prefix(limit))
        }
    }

    func hasQueueEntry(_ key: QueueEntry.Key) async throws -> Bool {
        try await request("read entry \(key.jobID.short)", .read) { $0.queue[key]?.value != nil }
    }

    /// Pages by the last attempt returned (its decimal text as the paging state).
    func history(_ id: UUID, pageSize: Int, pagingState: [UInt8]?) async throws -> HistoryPage {
        let after = pagingState.flatMap { Int64(String(decoding: $0, as: UTF8.self)) }
        return try await request("read history", .read) { t in
            let runs = t.history.filter { run in run.key.jobID == id && after.map { run.key.attempt < $0 } ?? true }
                .sorted { $0.key.attempt > $1.key.attempt }.map(\.value)
            let page = Array(runs.prefix(pageSize))
            let state = runs.count > pageSize ? page.last.map { Array(String($0.attempt).utf8) } : nil
            return HistoryPage(runs: page, pagingState: state)
        }
    }

    func cancelRequests(workerID: String) async throws -> [RunCancelRequest] {
        try await request("read cancel requests", .read) { t in
            t.cancelRequests[workerID, default: []].sorted { ($0.jobID.uuidString, $0.attempt) < ($1.jobID.uuidString, $1.attempt) }
        }
    }

    func statusPage(_ status: JobStatus, slot: Int, pageSize: Int, pagingState: [UInt8]?) async throws -> StatusPage {
        let ids = try await request("list \(status.rawValue)", .read) { t in
            t.index.filter { $0.key.status == status && $0.value.value?.slot == Int32(slot) }.map(\.key.jobID)
                .sorted { $0.uuidString < $1.uuidString }
        }
        return StatusPage(jobIDs: ids, pagingState: nil)
    }

    func scanStatusIndex(_ status: JobStatus, slot: Int, _ body: (IndexedJob) async throws -> Bool) async throws {
        let entries = try await request("scan \(status.rawValue) slot \(slot)", .read) { t in
            t.index.compactMap { key, cell -> IndexedJob? in
                guard key.status == status, let entry = cell.value, entry.slot == Int32(slot) else { return nil }
                return IndexedJob(jobID: key.jobID, nextDueAt: entry.nextDueAt, written: cell.timestamp)
            }.sorted { $0.jobID.uuidString < $1.jobID.uuidString }
        }
        for entry in entries {
            guard try await body(entry) else { return }
        }
    }

    func insertIdempotencyKey(_ row: IdempotencyKeyRow) async throws -> IdempotencyKeyRow? {
        try await request("insert key", .lwt, paxos: "keys/\(row.idempotencyKey)") { t in
            if let existing = t.keys[row.idempotencyKey] { return existing }
            t.keys[row.idempotencyKey] = row
            return nil
        }
    }

    func idempotencyKey(_ key: String, serial: Bool) async throws -> IdempotencyKeyRow? {
        try await request("read key", .read, paxos: serial ? "keys/\(key)" : nil) { $0.keys[key] }
    }

    func heartbeat(_ row: WorkerRow, ttlSeconds: Int) async throws {
        let database = self.database
        try await request("heartbeat", .write(count: 1, logged: false)) { t in
            t.workers[row.workerID] = database.serverNow.adding(.seconds(ttlSeconds))
        }
    }

    func workers(pool: String) async throws -> [String] {
        let database = self.database
        return try await request("read workers", .read) { t in
            let now = database.serverNow
            return t.workers.filter { $0.value > now }.keys.sorted()
        }
    }

    func removeWorker(pool: String, workerID: String) async throws {
        try await request("leave", .write(count: 1, logged: false)) { t in t.workers[workerID] = nil }
    }

    // MARK: - LockStoring

    func lock(_ name: String, serial: Bool) async throws -> LockRow? {
        try await request("\(serial ? "serial " : "")read \(name)", .read, paxos: serial ? "locks/\(name)" : nil) { t in
            t.locks[name].map { LockRow(holder: $0.holder, generation: $0.generation, epoch: $0.epoch, expireAt: $0.expireAt) }
        }
    }

    func takeOver(_ name: String, read: LockRow, holder: String, epoch: Int64, expireAt: Date, now: Date) async throws -> Bool {
        try await request("take over \(name)", .lwt, paxos: "locks/\(name)") { t in
            guard let cell = t.locks[name], cell.generation == read.generation, cell.epoch == read.epoch,
                  cell.expireAt == (read.expireAt ?? Date(milliseconds: 0)) else { return false }
            SimulatedDatabase.grant(name, .init(holder: holder, generation: cell.generation, epoch: epoch,
                                                token: cell.generation << 32 | epoch, expireAt: expireAt), &t)
            return true
        }
    }

    func create(_ name: String, holder: String, generation: Int64, expireAt: Date, now: Date) async throws -> Bool {
        try await request("create \(name)", .lwt, paxos: "locks/\(name)") { t in
            guard t.locks[name] == nil else { return false }
            SimulatedDatabase.grant(name, .init(holder: holder, generation: generation, epoch: 1, token: generation << 32 | 1,
                                                expireAt: expireAt), created: true, &t)
            return true
        }
    }

    func renew(_ name: String, holder: String, generation: Int64, epoch: Int64, expireAt: Date, now: Date) async throws -> Bool {
        try await request("renew \(name)", .lwt, paxos: "locks/\(name)") { t in
            guard var cell = t.locks[name], cell.holder == holder, cell.generation == generation, cell.epoch == epoch else { return false }
            cell.expireAt = expireAt
            t.locks[name] = cell
            return true
        }
    }

    func release(_ name: String, holder: String, generation: Int64, epoch: Int64, now: Date) async throws -> Bool {
        try await request("release \(name)", .lwt, paxos: "locks/\(name)") { t in
            guard var cell = t.locks[name], cell.holder == holder, cell.generation == generation, cell.epoch == epoch else { return false }
            cell.holder = nil
            cell.expireAt = now
            t.locks[name] = cell
            return true
        }
    }

    func delete(_ name: String, generation: Int64, epoch: Int64) async throws -> Bool {
        try await request("delete \(name)", .lwt, paxos: "locks/\(name)") { t in
            guard let cell = t.locks[name], cell.generation == generation, cell.epoch == epoch else { return false }
            t.locks[name] = nil
            return true
        }
    }

    func delete(_ name: String) async throws {
        try await request("delete \(name)", .lwt, paxos: "locks/\(name)") { t in t.locks[name] = nil }
    }

    func generation(_ name: String, serial: Bool) async throws -> Int64? {
        try await request("read seq \(name)", .read, paxos: serial ? "lock_seq/\(name)" : nil) { $0.lockSeq[name] }
    }

    func drawGeneration(_ name: String, from current: Int64?, to next: Int64) async throws -> Bool {
        try await request("draw generation \(name)", .lwt, paxos: "lock_seq/\(name)") { t in
            guard t.lockSeq[name] == current else { return false }
            t.lockSeq[name] = next
            return true
        }
    }
}

extension UUID {
    /// The first 8 hex digits, for traces.
    var short: String { String(uuidString.prefix(8)) }
}

extension JobWrite {
    /// A short name for traces.
    var label: String {
        switch self {
        case .insertJob: "job"
        case let .enqueue(entry, _): "enqueue#\(entry.attempt)"
        case .dequeue: "dequeue"
        case let .index(entry): "index:\(entry.status.rawValue)"
        case let .unindex(status, _): "unindex:\(status.rawValue)"
        case .unindexWritten: "unindex-at"
        case .indexDue: "index-due"
        case let .startRun(start): "start#\(start.attempt)"
        case let .finishRun(finish): "finish#\(finish.attempt)"
        case let .requestCancel(cancel): "cancel-request#\(cancel.attempt)"
        case let .cancelRun(cancel): "cancel-run#\(cancel.attempt)"
        }
    }
}
