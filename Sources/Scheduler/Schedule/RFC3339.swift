public import Foundation

/// Parsing of RFC 3339 date-times with an explicit offset: `2026-03-08T07:30:00Z`,
/// `2026-03-08T02:30:00.250-05:00`. Lowercase `t`/`z` and a space separator are accepted, as
/// RFC 3339 §5.6 allows; a leap second (`:60`) counts as the second that follows it.
///
/// Why not `Date.ISO8601FormatStyle` / `ISO8601DateFormatter`: on Linux (Swift 6.3) they refuse
/// lowercase `t`/`z` and the space separator, accept `2026-02-30`, `24:00:00` and trailing text,
/// count years before 1582 in the Julian calendar (`0000-01-01T00:00:00Z` comes out two days off)
/// and print `.999` as `.998`. Every user (schedules, API answers, the console) calls ``format(_:)``.
public enum RFC3339 {
    /// The instant, or an error naming what is malformed.
    public static func parse(_ text: String) throws(ScheduleError) -> Date {
        let bytes = Array(text.utf8)
        var reader = DigitReader(bytes: bytes)
        let malformed = ScheduleError("\(text.quotedForMessage) is not an RFC 3339 time such as 2026-03-08T07:30:00Z")
        guard bytes.count <= 64,
              let year = reader.number(4), reader.expect(UInt8(ascii: "-")),
              let month = reader.number(2), reader.expect(UInt8(ascii: "-")),
              let day = reader.number(2),
              reader.expectOne(of: [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")]),
              let hour = reader.number(2), reader.expect(UInt8(ascii: ":")),
              let minute = reader.number(2), reader.expect(UInt8(ascii: ":")),
              let second = reader.number(2)
        else { throw malformed }
        var fraction = 0.0
        if reader.expect(UInt8(ascii: ".")) {
            var scale = 0.1
            var count = 0
            while let digit = reader.digit() {
                fraction += Double(digit) * scale
                scale /= 10
                count += 1
            }
            guard count > 0 else { throw malformed }
        }
        var offsetSeconds = 0
        if reader.expectOne(of: [UInt8(ascii: "Z"), UInt8(ascii: "z")]) {
            offsetSeconds = 0
        } else if let sign = reader.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            _ = reader.expect(sign)
            guard let offsetHours = reader.number(2), reader.expect(UInt8(ascii: ":")), let offsetMinutes = reader.number(2) else {
                throw malformed
            }
            guard offsetHours <= 23, offsetMinutes <= 59 else {
                throw ScheduleError("\(text.quotedForMessage) has an offset out of range")
            }
            offsetSeconds = (offsetHours * 3600 + offsetMinutes * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
        } else {
            throw ScheduleError("\(text.quotedForMessage) needs a UTC offset (Z or ±hh:mm)")
        }
        guard reader.atEnd else { throw malformed }
        guard (1...12).contains(month), (1...Civil.daysInMonth(year: year, month: month)).contains(day),
              hour <= 23, minute <= 59, second <= 60
        else {
            throw ScheduleError("\(text.quotedForMessage) is not a valid calendar date and time")
        }
        let days = Civil.daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        guard Self.representable.contains(Double(seconds)) else {
            throw ScheduleError("\(text.quotedForMessage) is outside 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z once converted to UTC")
        }
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// The instants (seconds since 1970) with a four-digit year in UTC: 0000-01-01T00:00:00Z up to 9999-12-31T23:59:59.999Z.
    static let representable: Range<Double> = -62_167_219_200 ..< 253_402_300_800

    /// Formats an instant as `yyyy-MM-ddTHH:mm:ss(.SSS)Z` in UTC.
    public static func format(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        // Outside four-digit years there is no RFC 3339 form; parse(_:) never yields such an instant.
        guard interval.isFinite, representable.contains(interval) else { return interval < 0 ? "0000-01-01T00:00:00Z" : "9999-12-31T23:59:59.999Z" }
        // Whole milliseconds, to the nearest (a Double near year 9999 holds .999 as .99899…), kept within year 9999.
        let total = min(Int((interval * 1000).rounded()), Int(representable.upperBound) * 1000 - 1)
        let whole = Civil.floorDiv(total, 1000)
        let millis = total - whole * 1000
        let days = Civil.floorDiv(whole, 86_400)
        let inDay = whole - days * 86_400
        let date = Civil.civilFromDays(days)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        var text = "\(pad(date.year, 4))-\(pad(date.month, 2))-\(pad(date.day, 2))T\(pad(inDay / 3600, 2)):\(pad(inDay / 60 % 60, 2)):\(pad(inDay % 60, 2))"
        if millis > 0 { text += ".\(pad(millis, 3))" }
        return text + "Z"
    }
}

/// A cursor over ASCII bytes for the fixed-width fields of RFC 3339.
private struct DigitReader {
    let bytes: [UInt8]
    var index = 0

    var atEnd: Bool { index == bytes.count }

    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func digit() -> Int? {
        guard let byte = peek(), byte >= 0x30, byte <= 0x39 else { return nil }
        index += 1
        return Int(byte - 0x30)
    }

    mutating func number(_ width: Int) -> Int? {
        var value = 0
        for _ in 0..<width {
            guard let digit = digit() else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    mutating func expect(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }

    mutating func expectOne(of choices: [UInt8]) -> Bool {
        guard let byte = peek(), choices.contains(byte) else { return false }
        index += 1
        return true
    }
}
