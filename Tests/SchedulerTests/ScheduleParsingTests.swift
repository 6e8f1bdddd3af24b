import Foundation
import Testing
@testable import Scheduler

@Suite("Schedule parsing", .tags(.fast))
struct ScheduleParsingTests {
    static let validCron: [(String, String)] = [
        ("* * * * *", "* * * * *"),
        ("0 9 * * MON-FRI", "0 9 * * MON-FRI"),
        ("*/15 0-6,22-23 1,15 jan-jun,DEC sun,7", "*/15 0-6,22-23 1,15 jan-jun,DEC sun,7"),
        ("  5/10  3 * * *  ", "5/10 3 * * *"),
        ("0 0 29 2 *", "0 0 29 2 *"),
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@ANNUALLY", "0 0 1 1 *"),
        ("0-59/20 1-23/2 */3 */2 1-5/2", "0-59/20 1-23/2 */3 */2 1-5/2"),
    ]

    @Test("valid cron expressions parse", arguments: validCron)
    func validCronParses(source: String, text: String) throws {
        let schedule = try Schedule.parse(source)
        guard case .cron(let expression, let zone) = schedule else {
            Issue.record("\(source) parsed as \(schedule)")
            return
        }
        #expect(expression.text == text)
        #expect(zone.secondsFromGMT(for: Date()) == 0)
    }

    static let invalidCron: [(String, String)] = [
        ("* * * *", "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got 4"),
        ("* * * * * *", "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got 6"),
        ("60 * * * *", "minute field: 60 is out of range 0-59"),
        ("* 24 * * *", "hour field: 24 is out of range 0-23"),
        ("* * 0 * *", "day-of-month field: 0 is out of range 1-31"),
        ("* * 32 * *", "day-of-month field: 32 is out of range 1-31"),
        ("* * * 13 *", "month field: 13 is out of range 1-12"),
        ("* * * * 8", "day-of-week field: 8 is out of range 0-7"),
        ("* * * FOO *", "month field: 'FOO' is not a number or a name (JAN-DEC)"),
        ("* * * * funday", "day-of-week field: 'funday' is not a number or a name (SUN-SAT)"),
        ("x * * * *", "minute field: 'x' is not a number"),
        ("*/0 * * * *", "minute field: step must be at least 1"),
        ("*/61 * * * *", "minute field: step 61 is larger than the field's range 0-59"),
        ("*/a * * * *", "minute field: step 'a' is not a positive number"),
        ("1/2/3 * * * *", "minute field: '1/2/3' has more than one step"),
        ("30-10 * * * *", "minute field: range 30-10 runs backwards"),
        ("1-2-3 * * * *", "minute field: '1-2-3' is not a value or a range"),
        ("1,,2 * * * *", "minute field: empty list item"),
        ("-5 * * * *", "minute field: missing value"),
        ("0 0 30 2 *", "cron expression never fires: no chosen day-of-month exists in the chosen months"),
        ("0 0 31 4,6,9,11 *", "cron expression never fires: no chosen day-of-month exists in the chosen months"),
        ("@reboot", "@reboot is not supported: a job runs from a schedule, not at start-up"),
        ("@fortnightly", "unknown macro '@fortnightly'; use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>"),
        ("", "schedule is empty; use now, an RFC 3339 time, @every <duration> or a cron expression"),
    ]

    @Test("invalid cron expressions are refused with a message naming the problem", arguments: invalidCron)
    func invalidCronRefused(source: String, message: String) {
        #expect(throws: ScheduleError(message)) { try Schedule.parse(source) }
    }

    @Test("a restricted day-of-week keeps an impossible day-of-month valid (OR rule)")
    func impossibleDayWithWeekday() throws {
        _ = try Schedule.parse("0 0 30 2 MON")
    }

    static let intervals: [(String, Int)] = [
        ("@every 30s", 30), ("@every 5m", 300), ("@every 1h30m", 5400), ("@every 2h", 7200),
        ("@every 1d", 86_400), ("@every 1d12h", 129_600), ("@every 1s", 1), ("@every 366d", 366 * 86_400),
        ("@EVERY 90s", 90), ("@every   1h0m5s", 3605),
    ]

    @Test("@every durations", arguments: intervals)
    func everyParses(source: String, seconds: Int) throws {
        #expect(try Schedule.parse(source) == .every(seconds: seconds))
    }

    static let badIntervals: [(String, String)] = [
        ("@every", "@every needs a duration such as 30s, 5m, 1h30m, 2h or 1d"),
        ("@every 0s", "@every duration must be at least 1s"),
        ("@every 0m0s", "@every duration must be at least 1s"),
        ("@every -5m", "@every duration must be positive, got '-5m'"),
        ("@every 367d", "@every duration '367d' is longer than the maximum of 366d"),
        ("@every 9999999999s", "@every duration '9999999999s' is too long; the maximum is 366d"),
        ("@every 5", "@every duration '5' needs a unit after each number (d, h, m or s)"),
        ("@every 5w", "@every duration '5w' has an unknown unit; use d, h, m or s"),
        ("@every 30m1h", "@every duration '30m1h' must list units from largest to smallest, each once"),
        ("@every 1.5h", "@every duration '1.5h' has an unknown unit; use d, h, m or s"),
        ("@every h", "@every duration 'h' is not a duration such as 30s, 5m, 1h30m, 2h or 1d"),
    ]

    @Test("bad @every durations are refused", arguments: badIntervals)
    func everyRefused(source: String, message: String) {
        #expect(throws: ScheduleError(message)) { try Schedule.parse(source) }
    }

    static let times: [(String, Double)] = [
        ("2026-03-08T07:30:00Z", 1_772_955_000),
        ("2026-03-08T02:30:00-05:00", 1_772_955_000),
        ("2026-03-08T08:30:00+01:00", 1_772_955_000),
        ("2026-03-08t07:30:00z", 1_772_955_000),
        ("2026-03-08 07:30:00Z", 1_772_955_000),
        ("2026-03-08T07:30:00.250Z", 1_772_955_000.25),
        ("2024-02-29T00:00:00+05:30", 1_709_145_000),
        ("1970-01-01T00:00:00Z", 0),
        ("9999-12-31T23:59:59Z", 253_402_300_799),
        ("0000-01-01T00:00:00Z", -62_167_219_200),
    ]

    @Test("RFC 3339 times with offsets", arguments: times)
    func rfc3339Parses(source: String, seconds: Double) throws {
        #expect(try Schedule.parse(source) == .at(Date(timeIntervalSince1970: seconds)))
    }

    static let badTimes: [(String, String)] = [
        ("2026-03-08T07:30:00", "'2026-03-08T07:30:00' needs a UTC offset (Z or ±hh:mm)"),
        ("2026-02-30T00:00:00Z", "'2026-02-30T00:00:00Z' is not a valid calendar date and time"),
        ("2025-02-29T00:00:00Z", "'2025-02-29T00:00:00Z' is not a valid calendar date and time"),
        ("2026-03-08T24:00:00Z", "'2026-03-08T24:00:00Z' is not a valid calendar date and time"),
        ("2026-03-08T07:30:00+24:00", "'2026-03-08T07:30:00+24:00' has an offset out of range"),
        ("2026-03-08T07:30Z", "'2026-03-08T07:30Z' is not an RFC 3339 time such as 2026-03-08T07:30:00Z"),
        ("2026-03-08T07:30:00.Z", "'2026-03-08T07:30:00.Z' is not an RFC 3339 time such as 2026-03-08T07:30:00Z"),
        ("2026-03-08T07:30:00Zjunk", "'2026-03-08T07:30:00Zjunk' is not an RFC 3339 time such as 2026-03-08T07:30:00Z"),
        ("9999-12-31T23:59:59-00:01",
         "'9999-12-31T23:59:59-00:01' is outside 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z once converted to UTC"),
        ("0000-01-01T00:00:00+00:01",
         "'0000-01-01T00:00:00+00:01' is outside 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z once converted to UTC"),
    ]

    @Test("times at the ends of four-digit years print as RFC 3339 (not \"invalid\")", arguments: [
        ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"), ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
        ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"), ("2026-03-08T02:30:00-05:00", "2026-03-08T07:30:00Z"),
    ])
    func rfc3339RoundTrips(source: String, printed: String) throws {
        #expect(RFC3339.format(try RFC3339.parse(source)) == printed)
    }

    @Test("malformed RFC 3339 times are refused", arguments: badTimes)
    func rfc3339Refused(source: String, message: String) {
        #expect(throws: ScheduleError(message)) { try Schedule.parse(source) }
    }

    @Test("time zones: IANA names resolve, unknown or malformed ones are refused")
    func timeZones() throws {
        let paris = try Schedule.parse("0 9 * * *", timeZone: "Europe/Paris")
        #expect(paris.timeZone.identifier == "Europe/Paris")
        #expect(throws: ScheduleError("unknown time zone 'Mars/Olympus_Mons'; use an IANA name such as America/New_York")) {
            try Schedule.parse("0 9 * * *", timeZone: "Mars/Olympus_Mons")
        }
        #expect(throws: ScheduleError("'../../etc/passwd' is not an IANA time zone name such as Europe/Paris")) {
            try Schedule.parse("0 9 * * *", timeZone: "../../etc/passwd")
        }
        #expect(throws: ScheduleError("'' is not an IANA time zone name such as Europe/Paris")) {
            try Schedule.parse("now", timeZone: "")
        }
    }

    @Test("now, in any case")
    func now() throws {
        #expect(try Schedule.parse("now") == .now)
        #expect(try Schedule.parse(" NOW ") == .now)
    }

    @Test("canonical text")
    func canonicalText() throws {
        #expect(try Schedule.parse("@every 90m").text == "@every 1h30m")
        #expect(try Schedule.parse("2026-03-08T02:30:00-05:00").text == "2026-03-08T07:30:00Z")
        #expect(try Schedule.parse("@weekly").text == "0 0 * * 0")
        #expect(try Schedule.parse("now").text == "now")
    }
}
