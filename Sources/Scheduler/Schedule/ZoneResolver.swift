import Foundation

/// Maps between instants and local wall-clock time in one time zone, resolving the two DST
/// anomalies the way cron and Quartz do:
///
/// - a wall-clock time inside a spring-forward gap (e.g. 02:30 on the night New York moves from
///   02:00 EST to 03:00 EDT) does not exist; it resolves to the first instant after the gap
///   (03:00 EDT), so every fire scheduled inside the gap collapses into one fire at that instant;
/// - a wall-clock time inside a fall-back overlap (01:30 on the night New York moves from 02:00
///   EDT back to 01:00 EST) exists twice; it resolves to its first occurrence (01:30 EDT), so it
///   fires once.
struct ZoneResolver: Sendable {
    /// The zone whose rules apply.
    let zone: TimeZone

    /// Seconds east of UTC in effect at an instant given in whole seconds since 1970.
    func offset(atInstant seconds: Int) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds)))
    }

    /// The local wall-clock minute in effect at an instant (whole seconds since 1970).
    func localMinute(atInstant seconds: Int) -> LocalMinute {
        let local = seconds + offset(atInstant: seconds)
        return LocalMinute(minutesSinceEpoch: Civil.floorDiv(local, 60))
    }

    /// The instant (whole seconds since 1970) at which the local wall-clock time given as naive
    /// seconds since 1970 happens: its first occurrence in an overlap, the end of the gap in a
    /// spring-forward gap.
    func instant(forLocalSeconds local: Int) -> Int {
        // A DST change is never closer than a day to another one in any zone's rules, so the
        // offsets in effect a day around the naive instant are every offset the answer can use.
        var offsets: [Int] = []
        for probe in [local - 86_400, local, local + 86_400] {
            let value = offset(atInstant: probe)
            if !offsets.contains(value) { offsets.append(value) }
        }
        var earliest: Int?
        for candidateOffset in offsets {
            let candidate = local - candidateOffset
            if offset(atInstant: candidate) == candidateOffset, candidate < (earliest ?? Int.max) {
                earliest = candidate
            }
        }
        if let earliest { return earliest }
        // No offset maps back onto this wall-clock time: it lies in a gap. The transition lies
        // between the instant read with the largest offset and the one read with the smallest.
        guard let largest = offsets.max(), let smallest = offsets.min() else { return local }
        var low = local - largest
        var high = local - smallest
        let before = offset(atInstant: low)
        guard before != offset(atInstant: high) else { return high }
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if offset(atInstant: middle) == before { low = middle } else { high = middle }
        }
        return high
    }
}
