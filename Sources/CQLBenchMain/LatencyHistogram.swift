/// Latencies in log-linear buckets, as HdrHistogram keeps them: exact below 128 ns, then 64 buckets per
/// power of two (under 1.6 % error), so recording is one increment and percentiles need no sorting.
struct LatencyHistogram: Sendable {
    private static let linearLimit: UInt64 = 128
    private static let subBuckets = 64
    private static let subBucketBits = 6
    private var counts = [UInt64](repeating: 0, count: 128 + 64 * 58)

    /// How many values were recorded.
    private(set) var count: UInt64 = 0
    /// The largest value recorded, in nanoseconds.
    private(set) var maximum: UInt64 = 0

    private static func index(of value: UInt64) -> Int {
        if value < linearLimit { return Int(value) }
        let bits = 64 - value.leadingZeroBitCount
        let shift = bits - (subBucketBits + 1)
        let mantissa = Int(value >> UInt64(shift)) - subBuckets
        return Int(linearLimit) + (shift - 1) * subBuckets + mantissa
    }

    /// The upper bound of bucket `index` (the value percentiles report).
    private static func upperBound(of index: Int) -> UInt64 {
        if index < Int(linearLimit) { return UInt64(index) }
        let offset = index - Int(linearLimit)
        let shift = offset / subBuckets + 1
        let mantissa = UInt64(offset % subBuckets + subBuckets)
        return ((mantissa + 1) << UInt64(shift)) - 1
    }

    /// Records one latency in nanoseconds.
    mutating func record(nanoseconds: UInt64) {
        let index = min(Self.index(of: nanoseconds), counts.count - 1)
        counts[index] &+= 1
        count &+= 1
        maximum = max(maximum, nanoseconds)
    }

    /// Adds another histogram's counts.
    mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] &+= other.counts[index] }
        count &+= other.count
        maximum = max(maximum, other.maximum)
    }

    /// The latency in nanoseconds at or below which `fraction` of the values lie (0 when empty).
    func percentile(_ fraction: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = max(1, UInt64((fraction * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for (index, bucket) in counts.enumerated() where bucket > 0 {
            seen += bucket
            if seen >= rank { return min(Self.upperBound(of: index), maximum) }
        }
        return maximum
    }
}
