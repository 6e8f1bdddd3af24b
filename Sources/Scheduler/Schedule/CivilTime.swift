/// A local wall-clock minute in the proleptic Gregorian calendar, with no time zone attached.
///
/// Cron matching works on wall-clock fields, and only the final step maps a wall-clock minute to
/// an instant through the job's time zone; keeping the calendar arithmetic in plain integers
/// (instead of `Calendar`) makes the search cheap and independent of Foundation's DST handling.
struct LocalMinute: Hashable, Comparable, Sendable {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int

    /// Minutes since 1970-01-01 00:00 of the same (naive) calendar.
    var minutesSinceEpoch: Int {
        (Civil.daysFromCivil(year: year, month: month, day: day) * 24 + hour) * 60 + minute
    }

    /// Seconds since 1970-01-01 00:00 of the same (naive) calendar.
    var secondsSinceEpoch: Int { minutesSinceEpoch * 60 }

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
    }

    init(minutesSinceEpoch value: Int) {
        let days = Civil.floorDiv(value, 1440)
        let inDay = value - days * 1440
        let date = Civil.civilFromDays(days)
        self.init(year: date.year, month: date.month, day: date.day, hour: inDay / 60, minute: inDay % 60)
    }

    static func < (lhs: LocalMinute, rhs: LocalMinute) -> Bool {
        (lhs.year, lhs.month, lhs.day, lhs.hour, lhs.minute) < (rhs.year, rhs.month, rhs.day, rhs.hour, rhs.minute)
    }
}

/// Calendar arithmetic on day numbers (days since 1970-01-01), after Howard Hinnant's
/// `days_from_civil` algorithms, valid far beyond the years a scheduler meets.
enum Civil {
    /// Floor division, so that instants before 1970 land in the right day.
    static func floorDiv(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// The day number of a calendar date.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yearOfEra = y - era * 400
        let shiftedMonth = (month + 9) % 12
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The calendar date of a day number.
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    /// Whether `year` has a 29th of February.
    static func isLeapYear(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    /// The number of days of a month (1...12).
    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// The day of the week, 0 = Sunday ... 6 = Saturday (cron's numbering).
    static func weekday(year: Int, month: Int, day: Int) -> Int {
        let days = daysFromCivil(year: year, month: month, day: day)
        // 1970-01-01 was a Thursday.
        return ((days % 7) + 7 + 4) % 7
    }
}
