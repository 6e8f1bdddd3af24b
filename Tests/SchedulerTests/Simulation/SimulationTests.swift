import Foundation
import Testing
@testable import Scheduler

/// Deterministic simulation of the scheduler core: several workers with skewed clocks, crashes and
/// pauses, on a cluster that fails, times out with unknown outcomes, lands writes late and applies
/// unlogged batches partly, all from one seed. `SIM_SEED=<n>` replays one seed with its trace;
/// `SIM_SEEDS=<n>` sets how many seeds the sweep runs (10,000 by default).
@Suite("Simulation", .tags(.fast, .simulation))
struct SimulationTests {
    static func environment(_ name: String) -> UInt64? {
        ProcessInfo.processInfo.environment[name].flatMap { UInt64($0) }
    }

    static func replayCommand(_ seed: UInt64) -> String {
        "SIM_SEED=\(seed) swift test --skip-build --filter SimulationTests/replay"
    }

    @Test("every seed keeps every invariant")
    func seeds() async throws {
        let count = Self.environment("SIM_SEEDS") ?? 10_000
        let first = Self.environment("SIM_FIRST_SEED") ?? 1
        var failures: [String] = []
        var checks = 0
        var steps = 0
        let started = ContinuousClock.now
        for seed in first..<(first + count) {
            let outcome = await SimulationWorld(seed: seed).run()
            checks += outcome.checks
            steps += outcome.steps
            if let first = outcome.violations.first {
                failures.append("seed \(seed): \(first)\n  replay: \(Self.replayCommand(seed))")
                if failures.count >= 5 { break }
            }
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("simulation: \(count) seeds, \(steps) steps, \(checks) invariant checks in \(String(format: "%.1f", seconds)) s (\(String(format: "%.0f", Double(count) / max(seconds, 0.001))) seeds/s)")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test("one seed replays the same interleaving")
    func deterministic() async {
        let seed = Self.environment("SIM_SEED") ?? 4242
        var options = SimulationWorld.Options()
        options.trace = true
        let first = await SimulationWorld(seed: seed, options: options).run()
        let second = await SimulationWorld(seed: seed, options: options).run()
        #expect(first.trace.count > 50)
        #expect(first.trace == second.trace)
        #expect(first.violations == second.violations)
    }

    @Test("replays SIM_SEED with its trace")
    func replay() async {
        guard let seed = Self.environment("SIM_SEED") else { return }
        var options = SimulationWorld.Options()
        options.trace = true
        let outcome = await SimulationWorld(seed: seed, options: options).run()
        for line in outcome.trace { print(line) }
        #expect(outcome.violations.isEmpty, "seed \(seed): \(outcome.violations.joined(separator: "; "))")
    }
}

extension Tag {
    /// Unit and simulation tests: no embedded node, no sleeps; `scripts/test.sh --fast` runs them.
    @Tag static var fast: Self
    /// The deterministic simulation.
    @Tag static var simulation: Self
}
