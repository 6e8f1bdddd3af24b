import CQLNode
import CQLWire
import Foundation
import Synchronization
import Testing
@testable import Scheduler

/// The lease lock client against the embedded node: exclusivity, fencing tokens, expiry, unknown outcomes, LWT budget.
@Suite("LockClient")
struct LockClientTests {
    final class Ledger: Sendable {
        private struct State {
            var holder: String?
            var overlaps = 0
            var tokens: [Int64] = []
        }
        private let state = Mutex(State())

        var overlaps: Int { state.withLock { $0.overlaps } }
        var tokens: [Int64] { state.withLock { $0.tokens } }

        func granted(_ lease: Lease) {
            state.withLock { state in
                if state.holder != nil { state.overlaps += 1 }
                state.holder = lease.owner
                state.tokens.append(lease.fencingToken)
            }
        }

        func releasing() { state.withLock { $0.holder = nil } }
    }

    @Test("32 tasks racing for one lock never overlap; tokens strictly increase, also across deletions of the lock row")
    func racing() async throws {
        let bed = try await SchedulerTestBed.start()
        let locks = bed.service.locks
        let ledger = Ledger()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<32 {
                group.addTask {
                    var grants = 0
                    while grants < 2 {
                        if let lease = try await locks.acquire("race", owner: "task-\(task)", ttl: .seconds(60)) {
                            ledger.granted(lease)
                            grants += 1
                            try await Task.sleep(for: .milliseconds(1))
                            ledger.releasing()
                            try await locks.release(lease)
                        } else {
                            try await Task.sleep(for: .milliseconds(Int.random(in: 1...10)))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(ledger.overlaps == 0)
        #expect(ledger.tokens.count == 64)
        #expect(zip(ledger.tokens, ledger.tokens.dropFirst()).allSatisfy { $0 < $1 })
        var last = ledger.tokens.last ?? 0
        for round in 0..<3 {
            try await locks.deleteLock("race")
            let lease = try #require(try await locks.acquire("race", owner: "after-delete-\(round)", ttl: .seconds(60)))
            #expect(lease.fencingToken > last)
            #expect(lease.epoch == 1)
            last = lease.fencingToken
            try await locks.release(lease)
            let again = try #require(try await locks.acquire("race", owner: "after-delete-\(round)", ttl: .seconds(60)))
            #expect(again.fencingToken > last)
            last = again.fencingToken
            try await locks.release(again)
        }
        await bed.stop()
    }

    @Test("an expired lease is taken over with a higher token; the stale holder's renew and release fail")
    func expiryAndTakeover() async throws {
        let clock = TestSchedulerClock(start: Date())
        let bed = try await SchedulerTestBed.start(clock: clock)
        let locks = bed.service.locks
        let first = try #require(try await locks.acquire("expiring", owner: "a", ttl: .seconds(3)))
        #expect(try await locks.acquire("expiring", owner: "b", ttl: .seconds(30)) == nil)
        // The holder stops at its own deadline, a margin before the row's expire_at; b may take over only after that.
        clock.advance(by: .seconds(3) - bed.configuration.leaseSafetyMargin)
        #expect(locks.isExpired(first))
        #expect(try await locks.acquire("expiring", owner: "b", ttl: .seconds(30)) == nil)
        clock.advance(by: bed.configuration.leaseSafetyMargin + .milliseconds(1))
        await #expect(throws: LockError.lost(name: "expiring")) { _ = try await locks.renew(first) }
        let second = try #require(try await locks.acquire("expiring", owner: "b", ttl: .seconds(30)))
        #expect(second.fencingToken > first.fencingToken)
        // The stale holder pretends its deadline has not passed: the row itself refuses it.
        let stale = Lease(name: first.name, owner: first.owner, fencingToken: first.fencingToken, generation: first.generation,
                          epoch: first.epoch, expiresAt: first.expiresAt, deadline: clock.instant + .seconds(60), ttl: first.ttl)
        await #expect(throws: LockError.lost(name: "expiring")) { _ = try await locks.renew(stale) }
        await #expect(throws: LockError.lost(name: "expiring")) { try await locks.release(stale) }
        let renewed = try await locks.renew(second)
        #expect(renewed.fencingToken == second.fencingToken)
        #expect(renewed.expiresAt >= second.expiresAt)
        try await locks.release(renewed)
        await #expect(throws: LockError.lost(name: "expiring")) { try await locks.release(renewed) }
        await bed.stop()
    }

    @Test("one LWT per acquire, renew and release in the uncontended steady state")
    func lwtBudget() async throws {
        let bed = try await SchedulerTestBed.start()
        let locks = bed.service.locks
        // The first acquisition creates the row (generation CAS + insert); the steady state follows.
        let created = try #require(try await locks.acquire("budget", owner: "w", ttl: .seconds(30)))
        try await locks.release(created)
        for _ in 0..<3 {
            var before = bed.lwts
            let lease = try #require(try await locks.acquire("budget", owner: "w", ttl: .seconds(30)))
            #expect(bed.lwts - before == 1)
            before = bed.lwts
            let renewed = try await locks.renew(lease)
            #expect(bed.lwts - before == 1)
            before = bed.lwts
            try await locks.release(renewed)
            #expect(bed.lwts - before == 1)
        }
        #expect(bed.counter("scheduler_lock_acquisitions_total", [("result", "acquired")]) == 4)
        await bed.stop()
    }

    enum Fault: String, CaseIterable, Sendable {
        case appliedThenLost
        case neverApplied
    }

    @Test("an acquire whose LWT times out is resolved by a SERIAL read", arguments: Fault.allCases)
    func acquireTimeout(fault: Fault) async throws {
        let bed = try await SchedulerTestBed.start()
        let locks = bed.service.locks
        let created = try #require(try await locks.acquire("flaky", owner: "setup", ttl: .seconds(30)))
        try await locks.release(created)
        let takeover = try await bed.session.prepare(LockStore(cql: try bed.service.cql).takeoverStatement)
        _ = bed.faults.add(.init(match: .preparedID(takeover.id), action: .timeout,
                                 timing: fault == .appliedThenLost ? .afterExecution : .beforeExecution, count: 1))
        let lease = try await locks.acquire("flaky", owner: "a", ttl: .seconds(30))
        switch fault {
        case .appliedThenLost:
            let granted = try #require(lease)
            #expect(granted.fencingToken > created.fencingToken)
            #expect(try await locks.acquire("flaky", owner: "b", ttl: .seconds(30)) == nil)
            try await locks.release(granted)
        case .neverApplied:
            #expect(lease == nil)
            let granted = try #require(try await locks.acquire("flaky", owner: "b", ttl: .seconds(30)))
            #expect(granted.fencingToken > created.fencingToken)
        }
        await bed.stop()
    }

    @Test("a release whose LWT times out is resolved by a SERIAL read", arguments: Fault.allCases)
    func releaseTimeout(fault: Fault) async throws {
        let bed = try await SchedulerTestBed.start()
        let locks = bed.service.locks
        let lease = try #require(try await locks.acquire("flaky-release", owner: "a", ttl: .seconds(30)))
        let release = try await bed.session.prepare(LockStore(cql: try bed.service.cql).releaseStatement)
        let rule = bed.faults.add(.init(match: .preparedID(release.id), action: .timeout,
                                        timing: fault == .appliedThenLost ? .afterExecution : .beforeExecution, count: 1))
        try await locks.release(lease)
        #expect(bed.faults.firedCount(rule) == 1)
        let next = try #require(try await locks.acquire("flaky-release", owner: "b", ttl: .seconds(30)))
        #expect(next.fencingToken > lease.fencingToken)
        await bed.stop()
    }
}
