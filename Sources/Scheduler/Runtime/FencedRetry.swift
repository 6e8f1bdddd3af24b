import CQLWire
import Foundation

/// Retries the writes of a run that its fencing token makes idempotent (the completion, the history
/// row, the re-queue) instead of giving the run up on the first failure: a run given up stays
/// `running` until its lease expires and is then run again, so one timed-out write would cost a
/// duplicate run. The writes are retried with exponential backoff on the runtime's clock, for as
/// long as the run's lease has not expired; past that another worker may reclaim the run, and its
/// token fences this worker's writes out anyway.
struct FencedRetry: Sendable {
    let clock: any SchedulerClock
    /// First pause between tries; doubled per try up to ``maximumBackoff``.
    var initialBackoff: Duration = .milliseconds(50)
    var maximumBackoff: Duration = .seconds(2)

    /// Runs `body` until it succeeds, throwing its last error once the next try would start at or after
    /// `deadline` (wall clock), or at once for an error no retry can cure.
    func run<Result: Sendable>(until deadline: Date, _ body: () async throws -> Result) async throws -> Result {
        var backoff = initialBackoff
        while true {
            do {
                return try await body()
            } catch {
                guard Self.isTransient(error), clock.now().adding(backoff) < deadline else { throw error }
                try await clock.sleep(for: backoff)
                backoff = min(backoff * 2, maximumBackoff)
            }
        }
    }

    /// A write found not applied (after an unknown outcome) while its fence still holds: send it again.
    struct NotApplied: Error, Hashable {}

    /// Whether a later try of the same write may succeed: timeouts, unavailable or overloaded
    /// replicas, lost connections, unknown LWT outcomes. Not cancellation, bad statements or decoding.
    static func isTransient(_ error: any Error) -> Bool {
        if error is NotApplied { return true }
        if let error = error as? CQLError {
            switch error {
            case .connectionFailed, .connectionClosed, .requestTimedOut, .tooManyRequests, .lwtOutcomeUnknown, .noHostAvailable: return true
            default: return false
            }
        }
        if let error = error as? ServerError {
            switch error.kind {
            case .unavailable, .overloaded, .isBootstrapping, .writeTimeout, .readTimeout, .writeFailure, .readFailure, .serverError: return true
            default: return false
            }
        }
        return false
    }
}
