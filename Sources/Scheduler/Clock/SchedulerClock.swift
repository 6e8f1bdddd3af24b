public import Foundation
import Synchronization

/// A point on a scheduler clock's monotonic timeline: the time since the clock's own origin.
///
/// Deadlines of leases, runs, backoff and polling are instants, never wall-clock dates, so a
/// wall-clock step (NTP, a VM resumed) cannot stretch or shorten them.
public struct SchedulerInstant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The time since the clock's origin.
    public var sinceOrigin: Duration

    /// The instant `sinceOrigin` after the clock's origin.
    public init(sinceOrigin: Duration) { self.sinceOrigin = sinceOrigin }

    public static func < (lhs: SchedulerInstant, rhs: SchedulerInstant) -> Bool { lhs.sinceOrigin < rhs.sinceOrigin }
    public static func + (lhs: SchedulerInstant, rhs: Duration) -> SchedulerInstant { SchedulerInstant(sinceOrigin: lhs.sinceOrigin + rhs) }
    public static func - (lhs: SchedulerInstant, rhs: Duration) -> SchedulerInstant { SchedulerInstant(sinceOrigin: lhs.sinceOrigin - rhs) }
    public static func - (lhs: SchedulerInstant, rhs: SchedulerInstant) -> Duration { lhs.sinceOrigin - rhs.sinceOrigin }

    public var description: String { "\(sinceOrigin)" }
}

/// The only source of time of the scheduler: wall time for what is stored (due times, lease ends
/// in rows) and a monotonic instant for what a worker decides alone (its lease deadlines, run
/// deadlines, backoff, poll and sweep intervals), plus sleeping on that monotonic timeline.
///
/// Production passes ``SystemSchedulerClock``; tests pass ``TestSchedulerClock`` and move time by hand.
public protocol SchedulerClock: Sendable {
    /// Wall-clock now, at whole milliseconds (the precision stored timestamps have).
    func now() -> Date
    /// Monotonic now.
    var instant: SchedulerInstant { get }
    /// Suspends until `deadline` on the monotonic timeline; throws `CancellationError` when cancelled.
    func sleep(until deadline: SchedulerInstant) async throws
}

extension SchedulerClock {
    /// Suspends for `duration` on the monotonic timeline.
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: instant + duration)
    }
}

/// The system's clocks: `Date()` for wall time, `ContinuousClock` for instants and sleeps.
public struct SystemSchedulerClock: SchedulerClock {
    private let origin: ContinuousClock.Instant

    /// A clock whose instants count from its creation.
    public init() { origin = ContinuousClock.now }

    public func now() -> Date { WallClock.now() }

    public var instant: SchedulerInstant { SchedulerInstant(sinceOrigin: ContinuousClock.now - origin) }

    public func sleep(until deadline: SchedulerInstant) async throws {
        try await Task.sleep(until: origin + deadline.sinceOrigin, clock: .continuous)
    }
}

/// A clock that moves only when a test says so: ``advance(by:)`` moves both timelines and wakes
/// the sleepers whose deadline it reaches, in deadline order. ``skew`` shifts the wall clock only
/// (a worker whose clock runs ahead or behind).
public final class TestSchedulerClock: SchedulerClock {
    private struct Sleeper {
        var id: UInt64
        var deadline: SchedulerInstant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var elapsed: Duration = .zero
        var skew: Duration = .zero
        var sleepers: [Sleeper] = []
        var nextID: UInt64 = 0
    }

    private let start: Date
    private let state = Mutex(State())

    /// A clock whose wall time starts at `start` (rounded to the millisecond).
    public init(start: Date = Date(timeIntervalSince1970: 1_767_225_600)) {
        self.start = Date(milliseconds: start.millis)
    }

    public func now() -> Date {
        state.withLock { Date(milliseconds: start.millis &+ ($0.elapsed + $0.skew).milliseconds) }
    }

    public var instant: SchedulerInstant { state.withLock { SchedulerInstant(sinceOrigin: $0.elapsed) } }

    /// How far the wall clock is ahead of (or, negative, behind) the shared time.
    public var skew: Duration {
        get { state.withLock { $0.skew } }
        set { state.withLock { $0.skew = newValue } }
    }

    /// Tasks sleeping on this clock now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// The earliest deadline a task sleeps until, nil when none sleeps.
    public var nextDeadline: SchedulerInstant? { state.withLock { $0.sleepers.map(\.deadline).min() } }

    public func sleep(until deadline: SchedulerInstant) async throws {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready = state.withLock { state -> Bool in
                    if Task.isCancelled || deadline.sinceOrigin <= state.elapsed { return true }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    /// Moves time forward by `duration` and wakes every sleeper whose deadline is reached.
    public func advance(by duration: Duration) {
        let woken = state.withLock { state -> [Sleeper] in
            state.elapsed += max(.zero, duration)
            let due = state.sleepers.filter { $0.deadline.sinceOrigin <= state.elapsed }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline.sinceOrigin <= state.elapsed }
            return due
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }
}

/// Handlers do real work in real time, whatever clock the scheduler runs on: the deadline a
/// ``JobContext`` carries is on the system's continuous clock. The scheduler's own enforcement of
/// `max_duration_seconds` runs on its injected clock.
enum HandlerTime {
    /// The handler's deadline `duration` from now.
    static func deadline(after duration: Duration) -> ContinuousClock.Instant { ContinuousClock.now + duration }
}
