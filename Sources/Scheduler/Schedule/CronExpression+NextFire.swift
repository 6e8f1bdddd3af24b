public import Foundation

extension CronExpression {
    /// How far ahead `nextFire` looks before concluding the expression does not fire again.
    /// Nine years covers a 29 February across a skipped leap year (2096 → 2104).
    public static let searchHorizonYears = 9

    /// The first instant strictly after `date` at which the expression fires in `timeZone`, or
    /// nil when it does not fire within ``searchHorizonYears``.
    ///
    /// Fires are wall-clock minutes in `timeZone`. A fire inside a spring-forward gap runs once at
    /// the first instant after the gap; a fire inside a fall-back overlap runs once, at the
    /// first occurrence of that wall-clock time (see `ZoneResolver`). The search jumps by
    /// fields (year, month, day, hour, minute), never minute by minute over long spans.
    public func nextFire(after date: Date, in timeZone: TimeZone) -> Date? {
        let after = date.timeIntervalSince1970
        // Far outside any calendar a scheduler meets (±30 000 years): no answer rather than
        // integer overflow.
        guard after.isFinite, abs(after) < 1e12 else { return nil }
        let resolver = ZoneResolver(zone: timeZone)
        let afterSeconds = Int(after.rounded(.down))
        var from = LocalMinute(minutesSinceEpoch: resolver.localMinute(atInstant: afterSeconds).minutesSinceEpoch + 1)
        let lastYear = from.year + Self.searchHorizonYears
        // Candidates at or before `date` only come from a fall-back overlap (at most a few hours
        // of minutes), so this bound is never reached by a correct search.
        for _ in 0..<10_000 {
            guard let candidate = nextMatch(from: from, lastYear: lastYear) else { return nil }
            let instant = resolver.instant(forLocalSeconds: candidate.secondsSinceEpoch)
            if Double(instant) > after {
                return Date(timeIntervalSince1970: Double(instant))
            }
            from = LocalMinute(minutesSinceEpoch: candidate.minutesSinceEpoch + 1)
        }
        return nil
    }

    /// The first wall-clock minute at or after `start` that matches every field, or nil past the
    /// end of `lastYear`.
    func nextMatch(from start: LocalMinute, lastYear: Int) -> LocalMinute? {
        var t = start
        while t.year <= lastYear {
            if months & (1 << t.month) == 0 {
                guard let month = Self.nextBit(in: UInt64(months), from: t.month + 1, through: 12) else {
                    t = LocalMinute(year: t.year + 1, month: 1, day: 1, hour: 0, minute: 0)
                    continue
                }
                t = LocalMinute(year: t.year, month: month, day: 1, hour: 0, minute: 0)
                continue
            }
            if t.day > Civil.daysInMonth(year: t.year, month: t.month) || !matchesDay(year: t.year, month: t.month, day: t.day) {
                t = Self.startOfNextDay(t)
                continue
            }
            if hours & (1 << t.hour) == 0 {
                guard let hour = Self.nextBit(in: UInt64(hours), from: t.hour + 1, through: 23) else {
                    t = Self.startOfNextDay(t)
                    continue
                }
                t.hour = hour
                t.minute = 0
                continue
            }
            if minutes & (1 << UInt64(t.minute)) == 0 {
                guard let minute = Self.nextBit(in: minutes, from: t.minute + 1, through: 59) else {
                    if t.hour == 23 {
                        t = Self.startOfNextDay(t)
                    } else {
                        t.hour += 1
                        t.minute = 0
                    }
                    continue
                }
                t.minute = minute
                continue
            }
            return t
        }
        return nil
    }

    private static func startOfNextDay(_ t: LocalMinute) -> LocalMinute {
        if t.day >= Civil.daysInMonth(year: t.year, month: t.month) {
            if t.month == 12 {
                return LocalMinute(year: t.year + 1, month: 1, day: 1, hour: 0, minute: 0)
            }
            return LocalMinute(year: t.year, month: t.month + 1, day: 1, hour: 0, minute: 0)
        }
        return LocalMinute(year: t.year, month: t.month, day: t.day + 1, hour: 0, minute: 0)
    }

    private static func nextBit(in bits: UInt64, from low: Int, through high: Int) -> Int? {
        guard low <= high else { return nil }
        for value in low...high where bits & (1 << UInt64(value)) != 0 {
            return value
        }
        return nil
    }
}
