/// A parsed 5-field cron expression, `minute hour day-of-month month day-of-week`, with Vixie
/// cron's syntax: `*`, values, lists (`1,15`), ranges (`9-17`), steps (`*/15`, `0-30/10`, and
/// `5/10` meaning `5-59/10`), month names `JAN`...`DEC`, weekday names `SUN`...`SAT` (both
/// case-insensitive), and `7` as another Sunday.
///
/// Day matching follows Vixie cron: when both day-of-month and day-of-week are restricted (neither
/// field starts with `*`), a day matches if EITHER matches; otherwise both must match.
public struct CronExpression: Hashable, Sendable, CustomStringConvertible {
    /// Allowed minutes, bit n = minute n.
    let minutes: UInt64
    /// Allowed hours, bit n = hour n.
    let hours: UInt32
    /// Allowed days of the month, bit n = day n (1...31).
    let daysOfMonth: UInt32
    /// Allowed months, bit n = month n (1...12).
    let months: UInt16
    /// Allowed weekdays, bit n = weekday n (0 = Sunday ... 6 = Saturday).
    let daysOfWeek: UInt8
    /// Whether the day-of-month field starts with `*` (Vixie's DOM_STAR).
    let dayOfMonthIsStar: Bool
    /// Whether the day-of-week field starts with `*` (Vixie's DOW_STAR).
    let dayOfWeekIsStar: Bool

    /// The expression as written (macros expanded), e.g. `0 9 * * MON-FRI`.
    public let text: String

    /// The expression's text.
    public var description: String { text }

    /// The longest cron expression accepted; a real one is a few dozen characters.
    static let maximumLength = 512

    /// Parses a 5-field expression or one of the macros `@yearly` (`@annually`), `@monthly`,
    /// `@weekly`, `@daily` (`@midnight`) and `@hourly`.
    public init(parsing source: String) throws(ScheduleError) {
        guard source.utf8.count <= Self.maximumLength else {
            throw ScheduleError("cron expression is longer than \(Self.maximumLength) characters")
        }
        let trimmed = source.trimmingSpaces()
        var text = trimmed
        if trimmed.hasPrefix("@") {
            switch trimmed.lowercased() {
            case "@yearly", "@annually": text = "0 0 1 1 *"
            case "@monthly": text = "0 0 1 * *"
            case "@weekly": text = "0 0 * * 0"
            case "@daily", "@midnight": text = "0 0 * * *"
            case "@hourly": text = "0 * * * *"
            case "@reboot": throw ScheduleError("@reboot is not supported: a job runs from a schedule, not at start-up")
            default:
                throw ScheduleError("unknown macro \(trimmed.quotedForMessage); use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>")
            }
        }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ScheduleError("cron expression needs 5 fields (minute hour day-of-month month day-of-week), got \(fields.count)")
        }
        minutes = try CronField.minute.parse(fields[0])
        hours = UInt32(truncatingIfNeeded: try CronField.hour.parse(fields[1]))
        daysOfMonth = UInt32(truncatingIfNeeded: try CronField.dayOfMonth.parse(fields[2]))
        months = UInt16(truncatingIfNeeded: try CronField.month.parse(fields[3]))
        let weekdays = try CronField.dayOfWeek.parse(fields[4])
        // 7 is Sunday's second name.
        daysOfWeek = UInt8(truncatingIfNeeded: (weekdays & 0x7F) | ((weekdays >> 7) & 1))
        dayOfMonthIsStar = fields[2].hasPrefix("*")
        dayOfWeekIsStar = fields[4].hasPrefix("*")
        self.text = fields.joined(separator: " ")
        try checkDaysCanOccur()
    }

    /// Refuses expressions whose day-of-month never occurs in any chosen month (`0 0 30 2 *`),
    /// which would otherwise be accepted and never fire.
    private func checkDaysCanOccur() throws(ScheduleError) {
        // With a restricted day-of-week under the OR rule, some weekday always comes.
        if !dayOfWeekIsStar && !dayOfMonthIsStar { return }
        for month in 1...12 where months & (1 << month) != 0 {
            let longest = month == 2 ? 29 : Civil.daysInMonth(year: 2001, month: month)
            for day in 1...longest where daysOfMonth & (1 << day) != 0 {
                return
            }
        }
        throw ScheduleError("cron expression never fires: no chosen day-of-month exists in the chosen months")
    }

    /// Whether a calendar day matches the day-of-month, month and day-of-week fields.
    func matchesDay(year: Int, month: Int, day: Int) -> Bool {
        let dayOfMonthMatches = daysOfMonth & (1 << day) != 0
        let weekday = Civil.weekday(year: year, month: month, day: day)
        let dayOfWeekMatches = daysOfWeek & (1 << weekday) != 0
        if dayOfMonthIsStar || dayOfWeekIsStar {
            return dayOfMonthMatches && dayOfWeekMatches
        }
        return dayOfMonthMatches || dayOfWeekMatches
    }
}

/// One of the five cron fields, with its range and names.
enum CronField: Sendable {
    case minute, hour, dayOfMonth, month, dayOfWeek

    /// The field's name in error messages.
    var name: String {
        switch self {
        case .minute: return "minute"
        case .hour: return "hour"
        case .dayOfMonth: return "day-of-month"
        case .month: return "month"
        case .dayOfWeek: return "day-of-week"
        }
    }

    /// The smallest and largest value written in the field (`7` is a day-of-week value).
    var bounds: ClosedRange<Int> {
        switch self {
        case .minute: return 0...59
        case .hour: return 0...23
        case .dayOfMonth: return 1...31
        case .month: return 1...12
        case .dayOfWeek: return 0...7
        }
    }

    /// Names accepted in place of numbers, index + offset = value.
    private var names: (list: [String], first: Int) {
        switch self {
        case .month: return (["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)
        case .dayOfWeek: return (["sun", "mon", "tue", "wed", "thu", "fri", "sat"], 0)
        default: return ([], 0)
        }
    }

    /// Parses the field's text into a bit set of allowed values.
    func parse(_ text: String) throws(ScheduleError) -> UInt64 {
        var bits: UInt64 = 0
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        for item in items {
            bits |= try parseItem(String(item))
        }
        return bits
    }

    private func parseItem(_ item: String) throws(ScheduleError) -> UInt64 {
        guard !item.isEmpty else {
            throw ScheduleError("\(name) field: empty list item")
        }
        let parts = item.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else {
            throw ScheduleError("\(name) field: \(item.quotedForMessage) has more than one step")
        }
        var step = 1
        if parts.count == 2 {
            let stepText = String(parts[1])
            guard let value = Self.smallNumber(stepText) else {
                throw ScheduleError("\(name) field: step \(stepText.quotedForMessage) is not a positive number")
            }
            guard value >= 1 else {
                throw ScheduleError("\(name) field: step must be at least 1")
            }
            guard value <= bounds.upperBound - bounds.lowerBound + 1 else {
                throw ScheduleError("\(name) field: step \(value) is larger than the field's range \(bounds.lowerBound)-\(bounds.upperBound)")
            }
            step = value
        }
        let base = String(parts[0])
        let low: Int
        let high: Int
        if base == "*" {
            low = bounds.lowerBound
            high = self == .dayOfWeek ? 6 : bounds.upperBound
        } else {
            let range = base.split(separator: "-", omittingEmptySubsequences: false)
            guard range.count <= 2 else {
                throw ScheduleError("\(name) field: \(base.quotedForMessage) is not a value or a range")
            }
            low = try value(String(range[0]))
            if range.count == 2 {
                high = try value(String(range[1]))
                guard low <= high else {
                    throw ScheduleError("\(name) field: range \(base) runs backwards")
                }
            } else {
                // `5/10` means from 5 to the end of the range, as in cronie and Quartz.
                high = parts.count == 2 ? (self == .dayOfWeek ? 6 : bounds.upperBound) : low
            }
        }
        var bits: UInt64 = 0
        var current = low
        while current <= high {
            bits |= 1 << UInt64(current)
            current += step
        }
        return bits
    }

    /// A number or name within the field's bounds.
    private func value(_ text: String) throws(ScheduleError) -> Int {
        guard !text.isEmpty else {
            throw ScheduleError("\(name) field: missing value")
        }
        if let number = Self.smallNumber(text) {
            guard bounds.contains(number) else {
                throw ScheduleError("\(name) field: \(text) is out of range \(bounds.lowerBound)-\(bounds.upperBound)")
            }
            return number
        }
        let names = self.names
        if let index = names.list.firstIndex(of: text.lowercased()) {
            return index + names.first
        }
        if names.list.isEmpty {
            throw ScheduleError("\(name) field: \(text.quotedForMessage) is not a number")
        }
        throw ScheduleError("\(name) field: \(text.quotedForMessage) is not a number or a name (\(names.list.first?.uppercased() ?? "")-\(names.list.last?.uppercased() ?? ""))")
    }

    /// Decimal digits only, at most 4 of them so that no arithmetic can overflow.
    static func smallNumber(_ text: String) -> Int? {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= 4, utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var value = 0
        for byte in utf8 { value = value * 10 + Int(byte - 0x30) }
        return value
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks.
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }

    /// The string in quotes for an error message, shortened so hostile input cannot bloat a log.
    var quotedForMessage: String {
        let limit = 40
        if count <= limit { return "'\(self)'" }
        return "'\(prefix(limit))...'"
    }
}
