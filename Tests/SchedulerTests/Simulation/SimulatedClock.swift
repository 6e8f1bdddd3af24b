import Foundation
@testable import Scheduler
import NIOConcurrencyHelpers

/// A simulated worker's clock: the shared simulated time, its wall clock shifted by the worker's
/// skew, and sleeps that park on the turnstile until the simulator moves time past them.
struct SimulatedClock: SchedulerClock {
    let turnstile: Turnstile
    let worker: Int
    let incarnation: Int
    let skew: Duration
    static let epoch = Date(milliseconds: 1_767_225_600_000)

    func now() -> Date { Date(milliseconds: Self.epoch.millis + (turnstile.now + skew).milliseconds) }

    var instant: SchedulerInstant { SchedulerInstant(sinceOrigin: turnstile.now) }

    func sleep(until deadline: SchedulerInstant) async throws {
        try await turnstile.sleep(worker: worker, incarnation: incarnation, until: deadline.sinceOrigin)
    }
}

/// The simulation's one source of randomness, shared by everything a seed decides.
final class SimulationRandom: Sendable {
    private let generator: NIOLockedValueBox<SplitMix64>

    init(seed: UInt64) { generator = NIOLockedValueBox(SplitMix64(seed: seed)) }

    /// A number in `0..<upperBound`.
    func int(_ upperBound: Int) -> Int {
        generator.withLockedValue { Int.random(in: 0..<max(1, upperBound), using: &$0) }
    }

    /// True with probability `p`.
    func chance(_ p: Double) -> Bool {
        generator.withLockedValue { Double.random(in: 0..<1, using: &$0) < p }
    }

    func double(in range: ClosedRange<Double>) -> Double {
        generator.withLockedValue { Double.random(in: range, using: &$0) }
    }

    func uuid() -> UUID {
        generator.withLockedValue { generator in
            let a = generator.next(), b = generator.next()
            return withUnsafeBytes(of: (a, b)) { bytes in
                UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
            }
        }
    }
}
