import Foundation
import Synchronization

/// Whether a runtime is stopping, and the pauses of its loops, which stopping cuts short.
///
/// A stop interrupts only pauses (sleeps on the runtime's clock), never a request in flight, so
/// a lease acquisition or a completion under way still finishes and is recorded.
final class RuntimeLifecycle: Sendable {
    private struct State {
        var stopping = false
        var pauses: [UInt64: Task<Void, Never>] = [:]
        var nextPause: UInt64 = 0
    }

    let clock: any SchedulerClock
    private let state = Mutex(State())

    init(clock: any SchedulerClock) {
        self.clock = clock
    }

    /// Whether ``stop()`` was called.
    var isStopping: Bool { state.withLock { $0.stopping } }

    /// Marks the runtime stopping and ends every pause now.
    func stop() {
        let pauses = state.withLock { state -> [Task<Void, Never>] in
            state.stopping = true
            defer { state.pauses = [:] }
            return Array(state.pauses.values)
        }
        for pause in pauses { pause.cancel() }
    }

    /// Sleeps on the clock until `deadline`, the runtime stopping, or the caller's cancellation.
    func pause(until deadline: SchedulerInstant) async {
        let clock = self.clock
        let sleeper = Task<Void, Never> { try? await clock.sleep(until: deadline) }
        let id = state.withLock { state -> UInt64? in
            guard !state.stopping else { return nil }
            defer { state.nextPause += 1 }
            state.pauses[state.nextPause] = sleeper
            return state.nextPause
        }
        guard let id else {
            sleeper.cancel()
            return
        }
        await withTaskCancellationHandler {
            await sleeper.value
        } onCancel: {
            sleeper.cancel()
        }
        state.withLock { _ = $0.pauses.removeValue(forKey: id) }
    }
}
