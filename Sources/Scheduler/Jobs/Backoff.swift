/// How long a failed run waits before its retry: `initialSeconds` after the first failed try,
/// multiplied by `multiplier` per further failed try, capped at `maxSeconds`, plus up to 20 %
/// jitter (so retries of many jobs failing together spread out).
///
/// ``default`` is 1 s, 2 s, 4 s, ... up to 300 s: what every job gets unless it names its own.
public struct Backoff: Sendable, Hashable, Codable {
    /// Delay after the first failed try, in seconds.
    public var initialSeconds: Double
    /// The longest delay, in seconds.
    public var maxSeconds: Double
    /// Factor between the delays of consecutive tries (1 keeps the delay constant).
    public var multiplier: Double

    /// A backoff; see each property.
    public init(initialSeconds: Double, maxSeconds: Double, multiplier: Double) {
        self.initialSeconds = initialSeconds
        self.maxSeconds = maxSeconds
        self.multiplier = multiplier
    }

    /// 1 s, doubled per try, capped at 300 s.
    public static let `default` = Backoff(initialSeconds: 1, maxSeconds: 300, multiplier: 2)

    enum CodingKeys: String, CodingKey {
        case initialSeconds = "initial_seconds", maxSeconds = "max_seconds", multiplier
    }

    /// The delay before try `tries + 1` after `tries` failed tries, without jitter:
    /// initial · multiplier^(tries−1), capped at `maxSeconds` (never negative, never NaN).
    public func baseDelay(afterTries tries: Int) -> Duration {
        let initial = initialSeconds.isFinite ? max(0, initialSeconds) : 0
        let cap = maxSeconds.isFinite ? max(0, maxSeconds) : initial
        let factor = multiplier.isFinite ? max(1, multiplier) : 1
        var delay = initial
        var step = 1
        // Multiplies step by step: at most ~log(cap/initial) steps, and no overflow to infinity for a large try count.
        while step < tries, delay < cap, delay > 0, factor > 1 {
            delay *= factor
            step += 1
        }
        return .seconds(min(delay, cap))
    }

    /// ``baseDelay(afterTries:)`` stretched by `jitter`, clamped to 1.0...1.2.
    public func delay(afterTries tries: Int, jitter: Double) -> Duration {
        let factor = jitter.isFinite ? min(1.2, max(1.0, jitter)) : 1.0
        return baseDelay(afterTries: tries) * factor
    }
}
