public import Foundation

/// A CQL `date`: a day without time zone, as days since 1970-01-01 shifted by 2^31 on the wire.
public struct CQLDate: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The wire value: days since the epoch plus 2^31 (the epoch is `0x80000000`).
    public var rawValue: UInt32

    /// A date from its wire value.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// A date `daysSinceEpoch` days after (or before) 1970-01-01.
    public init(daysSinceEpoch: Int32) {
        rawValue = UInt32(bitPattern: daysSinceEpoch) ^ 0x8000_0000
    }

    /// Days since 1970-01-01 (negative before it).
    public var daysSinceEpoch: Int32 { Int32(bitPattern: rawValue ^ 0x8000_0000) }

    /// A proleptic Gregorian date; nil for an invalid day or one outside the `date` range.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= CivilCalendar.daysInMonth(year: Int64(year), month: Int64(month)),
              year > -6_000_000, year < 6_000_000,
              let days = Int32(exactly: CivilCalendar.days(year: Int64(year), month: Int64(month), day: Int64(day)))
        else { return nil }
        self.init(daysSinceEpoch: days)
    }

    /// Parses `yyyy-mm-dd` (a leading `-` for years before 1 BC).
    public init?(_ text: String) {
        let negative = text.hasPrefix("-")
        let parts = (negative ? text.dropFirst() : Substring(text)).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else { return nil }
        self.init(year: negative ? -year : year, month: month, day: day)
    }

    /// Year, month (1–12) and day (1–31).
    public var components: (year: Int, month: Int, day: Int) {
        let civil = CivilCalendar.civil(days: Int64(daysSinceEpoch))
        return (Int(civil.year), Int(civil.month), Int(civil.day))
    }

    /// `2024-02-29`, as cqlsh prints dates.
    public var description: String {
        let (year, month, day) = components
        return CivilCalendar.formatYear(Int64(year)) + "-" + CivilCalendar.pad(month, 2) + "-" + CivilCalendar.pad(day, 2)
    }

    /// Earlier dates first.
    public static func < (lhs: CQLDate, rhs: CQLDate) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension CQLDate {
    /// The day (in UTC) that `date` falls on.
    public init(_ date: Foundation.Date) {
        let days = (date.timeIntervalSince1970 / 86_400).rounded(.down)
        self.init(daysSinceEpoch: Int32(clamping: Int64(exactly: days.clamped(-3e9, 3e9)) ?? 0))
    }

    /// Midnight UTC of this day.
    public var foundationDate: Foundation.Date {
        Foundation.Date(timeIntervalSince1970: Double(daysSinceEpoch) * 86_400)
    }
}

private extension Double {
    func clamped(_ lower: Double, _ upper: Double) -> Double { Swift.min(Swift.max(self, lower), upper) }
}

extension CQLDate: CQLCodable {
    /// Decodes `date`.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        guard type == .date else { throw .typeMismatch(expected: "CQLDate (from date)", actual: type.description) }
        let raw = try ValueBytes.readSigned(cqlBytes, range, width: 4, type)
        self.init(rawValue: UInt32(truncatingIfNeeded: raw))
    }

    /// Writes `date`.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        guard type == .date else { throw .typeMismatch(expected: type.description, actual: "Swift CQLDate") }
        writer.writeInt32(Int32(bitPattern: rawValue))
    }

    /// `date`.
    public static var defaultCQLType: DataType { .date }
}

/// Proleptic Gregorian calendar arithmetic on day counts (Howard Hinnant's civil algorithms).
package enum CivilCalendar {
    /// Days since 1970-01-01 of a civil date (months and days outside their range roll over).
    package static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The civil date of a day count since 1970-01-01.
    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days in a month of the proleptic Gregorian calendar.
    static func daysInMonth(year: Int64, month: Int64) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Zero-padded decimal.
    static func pad(_ value: some BinaryInteger, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// A year with at least four digits and a `-` when negative.
    static func formatYear(_ year: Int64) -> String {
        year < 0 ? "-" + pad(year.magnitude, 4) : pad(year, 4)
    }

    /// `2024-01-02 03:04:05.678000+0000`, as cqlsh prints timestamps (UTC).
    static func formatTimestamp(milliseconds: Int64) -> String {
        var millisOfDay = milliseconds % 86_400_000
        var days = milliseconds / 86_400_000
        if millisOfDay < 0 {
            millisOfDay += 86_400_000
            days -= 1
        }
        let (year, month, day) = civil(days: days)
        let seconds = millisOfDay / 1000
        return formatYear(year) + "-" + pad(month, 2) + "-" + pad(day, 2) + " "
            + pad(seconds / 3600, 2) + ":" + pad(seconds / 60 % 60, 2) + ":" + pad(seconds % 60, 2)
            + "." + pad(millisOfDay % 1000, 3) + "000+0000"
    }
}
