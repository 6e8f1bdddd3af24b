/// How long a failed run waits before its retry: `initialSeconds · multiplier^(n−1)` before retry
/// `n`, at most `maxSeconds` (plus the runtime's jitter).
public struct Backoff: Hashable, Sendable, Codable {
    /// The delay before the first retry, in seconds.
    public var initialSeconds: Double
    /// The longest delay, in seconds.
    public var maxSeconds: Double
    /// The factor from one delay to the next.
    public var multiplier: Double

    /// A backoff from its three numbers.
    public init(initialSeconds: Double, maxSeconds: Double, multiplier: Double) {
        self.initialSeconds = initialSeconds
        self.maxSeconds = maxSeconds
        self.multiplier = multiplier
    }

    /// The behaviour of jobs that set none: 1 s, 2 s, 4 s, … doubling up to 300 s.
    public static let `default` = Backoff(initialSeconds: 1, maxSeconds: 300, multiplier: 2)

    enum CodingKeys: String, CodingKey {
        case initialSeconds = "initial_seconds", maxSeconds = "max_seconds", multiplier
    }
}
