import Foundation
@testable import Scheduler
import NIOConcurrencyHelpers

/// The simulated worker has crashed: its pending store calls and sleeps end with this error.
struct SimulatedCrash: Error, Hashable {}

/// Where every simulated task waits for the simulator's say: before each store request and in
/// each sleep. The simulator lets exactly one task run at a time, and only picks the next one once
/// every task is parked again (quiescence), so the order of requests is decided by the seed alone
/// and never by Swift's task scheduling.
final class Turnstile: Sendable {
    /// A store request waiting to be let through.
    struct Request {
        var id: UInt64
        var worker: Int
        var incarnation: Int
        /// Built only when traced.
        var label: @Sendable () -> String
        var continuation: CheckedContinuation<Void, any Error>
    }

    /// A request whose client gave up (timed out) but which may still land later, once let through.
    struct Ghost {
        var id: UInt64
        var label: String
        /// The partition of a Paxos round left open (an LWT), nil for a plain write.
        var paxosPartition: String?
        var apply: @Sendable () -> Void
    }

    private struct Sleeper {
        var id: UInt64
        var worker: Int
        var incarnation: Int
        var deadline: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var running = 0
        var requests: [Request] = []
        var ghosts: [Ghost] = []
        var sleepers: [Sleeper] = []
        var nextID: UInt64 = 0
        var quiescent: CheckedContinuation<Void, Never>?
        var now: Duration = .zero
        /// The current incarnation of each worker; a crash bumps it.
        var incarnations: [Int: Int] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// The shared monotonic time.
    var now: Duration { state.withLockedValue { $0.now } }

    /// Counts a task the simulator is about to start as running.
    func taskStarting() { state.withLockedValue { $0.running += 1 } }

    /// A started task ended.
    func taskEnded() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.running -= 1
            return Self.takeQuiescent(&state)
        }
        waiter?.resume()
    }

    private static func takeQuiescent(_ state: inout State) -> CheckedContinuation<Void, Never>? {
        guard state.running == 0, let waiter = state.quiescent else { return nil }
        state.quiescent = nil
        return waiter
    }

    /// The calling task waits until the simulator lets `label` through; throws ``SimulatedCrash`` when
    /// its worker crashed meanwhile.
    func request(worker: Int, incarnation: Int, _ label: @escaping @Sendable () -> String) async throws {
        try await park(worker: worker, incarnation: incarnation) { state, id, continuation in
            state.requests.append(Request(id: id, worker: worker, incarnation: incarnation, label: label, continuation: continuation))
        }
    }

    /// The calling task sleeps until the shared time reaches `deadline`.
    func sleep(worker: Int, incarnation: Int, until deadline: Duration) async throws {
        try await park(worker: worker, incarnation: incarnation) { state, id, continuation in
            state.sleepers.append(Sleeper(id: id, worker: worker, incarnation: incarnation, deadline: deadline, continuation: continuation))
        }
    }

    /// Parks the calling task (queued by `enqueue` under a fresh id), wakes the simulator when every task
    /// is parked, and throws ``SimulatedCrash`` when the task's worker crashed while it waited.
    private func park(worker: Int, incarnation: Int,
                      _ enqueue: (inout State, UInt64, CheckedContinuation<Void, any Error>) -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                let id = state.nextID
                state.nextID += 1
                enqueue(&state, id, continuation)
                state.running -= 1
                return Self.takeQuiescent(&state)
            }
            waiter?.resume()
        }
        if state.withLockedValue({ $0.incarnations[worker, default: 0] != incarnation }) { throw SimulatedCrash() }
    }

    /// Registers a request that may still land after its client gave up.
    func addGhost(_ label: String, paxosPartition: String? = nil, _ apply: @escaping @Sendable () -> Void) {
        state.withLockedValue { state in
            state.ghosts.append(Ghost(id: state.nextID, label: label, paxosPartition: paxosPartition, apply: apply))
            state.nextID += 1
        }
    }

    /// Decides the open Paxos rounds on `partition` before a serial read or another LWT on it, as
    /// Cassandra's Paxos does: each lands now (`land` says which) or never.
    func settlePaxos(on partition: String, land: () -> Bool) -> [String] {
        let open = state.withLockedValue { state -> [Ghost] in
            let open = state.ghosts.filter { $0.paxosPartition == partition }
            state.ghosts.removeAll { $0.paxosPartition == partition }
            return open
        }
        var landed: [String] = []
        for ghost in open where land() {
            ghost.apply()
            landed.append(ghost.label)
        }
        return landed
    }

    /// Waits until no simulated task runs.
    func quiesce() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLockedValue { state -> Bool in
                if state.running == 0 { return true }
                state.quiescent = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// The workers of the requests waiting, in arrival order.
    var pendingWorkers: [Int] { state.withLockedValue { $0.requests.map(\.worker) } }
    var pendingCount: Int { state.withLockedValue { $0.requests.count } }
    var ghostCount: Int { state.withLockedValue { $0.ghosts.count } }
    var sleeperCount: Int { state.withLockedValue { $0.sleepers.count } }
    /// The earliest sleep deadline.
    var nextWake: Duration? { state.withLockedValue { $0.sleepers.map(\.deadline).min() } }

    /// Lets the `index`-th waiting request through; returns its label. The caller then quiesces.
    @discardableResult
    func release(_ index: Int) -> @Sendable () -> String {
        let request = state.withLockedValue { state -> Request in
            state.running += 1
            return state.requests.remove(at: index)
        }
        request.continuation.resume()
        return request.label
    }

    /// Lands the `index`-th ghost request (it applies now, its client long gone).
    @discardableResult
    func landGhost(_ index: Int) -> String {
        let ghost = state.withLockedValue { $0.ghosts.remove(at: index) }
        ghost.apply()
        return ghost.label
    }

    /// Drops every ghost (the drain phase: the network is healed).
    func dropGhosts() { state.withLockedValue { $0.ghosts = [] } }

    /// Moves the shared time to `time` and wakes the first sleeper whose deadline it reached (in
    /// deadline, then arrival order); returns whether one woke. The caller quiesces and calls again.
    func advance(to time: Duration) -> Bool {
        let woken = state.withLockedValue { state -> Sleeper? in
            state.now = max(state.now, time)
            let due = state.sleepers.enumerated().filter { $0.element.deadline <= state.now }
                .min { ($0.element.deadline, $0.element.id) < ($1.element.deadline, $1.element.id) }
            guard let due else { return nil }
            state.running += 1
            return state.sleepers.remove(at: due.offset)
        }
        woken?.continuation.resume()
        return woken != nil
    }

    /// Crashes `worker`: its incarnation ends, and every request or sleep of it resumes with ``SimulatedCrash``
    /// one at a time (the caller quiesces after each). Returns the new incarnation.
    func crash(_ worker: Int) -> Int {
        state.withLockedValue { state in
            state.incarnations[worker, default: 0] += 1
            return state.incarnations[worker, default: 0]
        }
    }

    /// Resumes one waiting request or sleep of a dead incarnation (it throws); false when none is left.
    func reapOne() -> Bool {
        let continuation = state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
            if let index = state.requests.firstIndex(where: { state.incarnations[$0.worker, default: 0] != $0.incarnation }) {
                state.running += 1
                return state.requests.remove(at: index).continuation
            }
            if let index = state.sleepers.firstIndex(where: { state.incarnations[$0.worker, default: 0] != $0.incarnation }) {
                state.running += 1
                return state.sleepers.remove(at: index).continuation
            }
            return nil
        }
        continuation?.resume()
        return continuation != nil
    }
}
