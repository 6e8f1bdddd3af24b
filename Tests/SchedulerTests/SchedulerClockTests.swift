import CQLWire
import Foundation
import Testing
@testable import Scheduler
import NIOConcurrencyHelpers

/// The injected clock and the rules of time built on it, without a node and without waiting.
@Suite("Scheduler clock", .tags(.fast))
struct SchedulerClockTests {
    @Test("the test clock moves only when advanced, waking sleepers in deadline order")
    func testClock() async throws {
        let clock = TestSchedulerClock(start: Date(timeIntervalSince1970: 1_000))
        #expect(clock.now() == Date(timeIntervalSince1970: 1_000))
        let woken = NIOLockedValueBox<[Int]>([])
        let late = Task { try await clock.sleep(until: SchedulerInstant(sinceOrigin: .seconds(2))); woken.withLockedValue { $0.append(2) } }
        let early = Task { try await clock.sleep(for: .seconds(1)); woken.withLockedValue { $0.append(1) } }
        while clock.sleeperCount < 2 { await Task.yield() }
        clock.advance(by: .milliseconds(999))
        #expect(clock.sleeperCount == 2)
        clock.advance(by: .milliseconds(1))
        try await early.value
        #expect(woken.withLockedValue { $0 } == [1])
        clock.skew = .seconds(5)
        #expect(clock.now() == Date(timeIntervalSince1970: 1_006))
        #expect(clock.instant == SchedulerInstant(sinceOrigin: .seconds(1)))
        clock.advance(by: .seconds(1))
        try await late.value
        #expect(woken.withLockedValue { $0 } == [1, 2])
    }

    @Test("a cancelled sleep on the test clock ends at once")
    func cancelledSleep() async {
        let clock = TestSchedulerClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(3600)) }
        while clock.sleeperCount < 1 { await Task.yield() }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test("a fenced write is retried with backoff on the clock until the lease would end")
    func fencedRetry() async throws {
        let clock = TestSchedulerClock()
        let tries = NIOLockedValueBox(0)
        let retry = FencedRetry(clock: clock)
        let deadline = clock.now().adding(.seconds(1))
        let task = Task {
            try await retry.run(until: deadline) {
                tries.withLockedValue { $0 += 1 }
                throw CQLError.requestTimedOut(endpoint: "replica", timeout: .seconds(2))
            }
        }
        // 50, 100, 200, 400 ms of backoff fit before the lease end; the try after 750 ms would not.
        for _ in 0..<4 {
            while clock.sleeperCount < 1 { await Task.yield() }
            clock.advance(by: clock.nextDeadline.map { $0 - clock.instant } ?? .zero)
        }
        await #expect(throws: CQLError.self) { try await task.value }
        #expect(tries.withLockedValue { $0 } == 5)

        let succeeded = try await retry.run(until: deadline) { 42 }
        #expect(succeeded == 42)
        let invalid = NIOLockedValueBox(0)
        await #expect(throws: CQLError.self) {
            try await retry.run(until: deadline) {
                invalid.withLockedValue { $0 += 1 }
                throw CQLError.invalidStatement("no retry cures this")
            }
        }
        #expect(invalid.withLockedValue { $0 } == 1)
    }

    @Test("stopping a runtime cuts its pauses short")
    func lifecycle() async {
        let clock = TestSchedulerClock()
        let lifecycle = RuntimeLifecycle(clock: clock)
        let paused = Task { await lifecycle.pause(until: clock.instant + .seconds(3600)) }
        while clock.sleeperCount < 1 { await Task.yield() }
        lifecycle.stop()
        await paused.value
        #expect(lifecycle.isStopping)
        // A pause after the stop returns at once.
        await lifecycle.pause(until: clock.instant + .seconds(3600))
    }
}
