import CQLCodec

/// A duration literal Cassandra refuses (it answers these as Invalid, not Syntax).
struct DurationLiteralError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Cassandra's message, e.g. `Invalid duration. The hours should be after minutes`.
    var message: String

    /// An error with a message.
    init(message: String) {
        self.message = message
    }

    /// The message.
    var description: String { message }
}

extension CQLDuration {
    /// Converts a duration literal (`1h30m`, `-2d`, `P1DT2H`, `P2W`, `P0001-02-03T04:05:06`) as
    /// Cassandra's `Duration.from` does: units in decreasing order, each at most once, totals in range.
    init(cqlLiteral text: String) throws(DurationLiteralError) {
        let isNegative = text.hasPrefix("-")
        let body = Array(isNegative ? text.dropFirst() : Substring(text))
        let source = String(body)
        var builder = DurationBuilder()
        let unable = DurationLiteralError(message: "Unable to convert '\(source)' to a duration")
        var scanner = DurationScanner(characters: body)
        if body.first == "P" {
            scanner.index = 1
            if body.last == "W" {
                guard let weeks = scanner.number(), scanner.consume("W"), scanner.atEnd else { throw unable }
                try builder.add(weeks, unit: .weeks)
            } else if body.contains("-") {
                var values: [Int64] = []
                let fields: [(digits: Int, separator: Character?)] = [(4, "-"), (2, "-"), (2, "T"), (2, ":"), (2, ":"), (2, nil)]
                for field in fields {
                    guard let value = scanner.number(exactDigits: field.digits) else { throw unable }
                    values.append(value)
                    if let separator = field.separator {
                        guard scanner.consume(separator) else { throw unable }
                    }
                }
                guard scanner.atEnd else { throw unable }
                for (value, unit) in zip(values, [DurationUnit.years, .months, .days, .hours, .minutes, .seconds]) {
                    try builder.add(value, unit: unit)
                }
            } else {
                for (designator, unit) in [("Y", DurationUnit.years), ("M", .months), ("D", .days)] as [(Character, DurationUnit)] {
                    if let value = scanner.designated(designator) { try builder.add(value, unit: unit) }
                }
                if scanner.consume("T") {
                    for (designator, unit) in [("H", DurationUnit.hours), ("M", .minutes), ("S", .seconds)] as [(Character, DurationUnit)] {
                        if let value = scanner.designated(designator) { try builder.add(value, unit: unit) }
                    }
                }
                guard scanner.atEnd else { throw unable }
            }
        } else {
            guard !scanner.atEnd else { throw unable }
            while !scanner.atEnd {
                guard let value = scanner.number(), let unit = scanner.unit() else { throw unable }
                try builder.add(value, unit: unit)
            }
        }
        self.init(
            months: isNegative ? -builder.months : builder.months,
            days: isNegative ? -builder.days : builder.days,
            nanoseconds: isNegative ? -builder.nanoseconds : builder.nanoseconds
        )
    }
}

/// Duration units in the order a literal must give them.
enum DurationUnit: Int, Comparable {
    case years = 1, months, weeks, days, hours, minutes, seconds, milliseconds, microseconds, nanoseconds

    static func < (lhs: DurationUnit, rhs: DurationUnit) -> Bool { lhs.rawValue < rhs.rawValue }

    var name: String {
        switch self {
        case .years: "years"
        case .months: "months"
        case .weeks: "weeks"
        case .days: "days"
        case .hours: "hours"
        case .minutes: "minutes"
        case .seconds: "seconds"
        case .milliseconds: "milliseconds"
        case .microseconds: "microseconds"
        case .nanoseconds: "nanoseconds"
        }
    }
}

/// Accumulates a duration's parts, refusing misordered, repeated or overflowing units.
private struct DurationBuilder {
    var months: Int32 = 0
    var days: Int32 = 0
    var nanoseconds: Int64 = 0
    var lastUnit: DurationUnit?

    mutating func add(_ value: Int64, unit: DurationUnit) throws(DurationLiteralError) {
        if let lastUnit {
            if lastUnit == unit {
                throw DurationLiteralError(message: "Invalid duration. The \(unit.name) are specified multiple times")
            }
            if unit < lastUnit {
                throw DurationLiteralError(message: "Invalid duration. The \(lastUnit.name) should be after \(unit.name)")
            }
        }
        lastUnit = unit
        switch unit {
        case .years: months = try Self.sum(months, value, 12, "months")
        case .months: months = try Self.sum(months, value, 1, "months")
        case .weeks: days = try Self.sum(days, value, 7, "days")
        case .days: days = try Self.sum(days, value, 1, "days")
        case .hours: nanoseconds = try Self.sum(nanoseconds, value, 3_600_000_000_000)
        case .minutes: nanoseconds = try Self.sum(nanoseconds, value, 60_000_000_000)
        case .seconds: nanoseconds = try Self.sum(nanoseconds, value, 1_000_000_000)
        case .milliseconds: nanoseconds = try Self.sum(nanoseconds, value, 1_000_000)
        case .microseconds: nanoseconds = try Self.sum(nanoseconds, value, 1_000)
        case .nanoseconds: nanoseconds = try Self.sum(nanoseconds, value, 1)
        }
    }

    private static func tooLarge(_ unitName: String) -> DurationLiteralError {
        DurationLiteralError(message: "Invalid duration. The total number of \(unitName) must be less or equal to \(Int32.max)")
    }

    private static func sum(_ total: Int32, _ value: Int64, _ perUnit: Int64, _ unitName: String) throws(DurationLiteralError) -> Int32 {
        guard value <= (Int64(Int32.max) - Int64(total)) / perUnit else { throw tooLarge(unitName) }
        return total + Int32(value * perUnit)
    }

    private static func sum(_ total: Int64, _ value: Int64, _ perUnit: Int64) throws(DurationLiteralError) -> Int64 {
        guard value <= (Int64.max - total) / perUnit else { throw tooLarge("nanoseconds") }
        return total + value * perUnit
    }
}

/// A cursor over a literal's characters.
private struct DurationScanner {
    let characters: [Character]
    var index = 0

    var atEnd: Bool { index >= characters.count }

    mutating func consume(_ character: Character) -> Bool {
        guard index < characters.count, characters[index] == character else { return false }
        index += 1
        return true
    }

    /// `\d+` (or exactly `exactDigits` digits) as an Int64; nil when absent or too large.
    mutating func number(exactDigits: Int? = nil) -> Int64? {
        var end = index
        while end < characters.count, let digit = characters[end].wholeNumberValue, characters[end].isASCII, digit >= 0 {
            end += 1
        }
        guard end > index, exactDigits.map({ end - index == $0 }) ?? true else { return nil }
        guard let value = Int64(String(characters[index..<end])) else { return nil }
        index = end
        return value
    }

    /// `\d+` followed by `designator`, or nothing consumed.
    mutating func designated(_ designator: Character) -> Int64? {
        let start = index
        if let value = number(), consume(designator) { return value }
        index = start
        return nil
    }

    /// A unit of the standard format, case-insensitive, longest first.
    mutating func unit() -> DurationUnit? {
        let rest = characters[index...].prefix(2).map { Character($0.lowercased()) }
        let two = rest.count == 2 ? String(rest) : ""
        let units: [String: DurationUnit] = ["mo": .months, "ms": .milliseconds, "us": .microseconds, "µs": .microseconds, "ns": .nanoseconds]
        if let unit = units[two] {
            index += 2
            return unit
        }
        let single: [Character: DurationUnit] = ["y": .years, "w": .weeks, "d": .days, "h": .hours, "m": .minutes, "s": .seconds]
        guard let first = rest.first, let unit = single[first] else { return nil }
        index += 1
        return unit
    }
}
