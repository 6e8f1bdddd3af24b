import Foundation
import Testing
@testable import Scheduler

/// Parses an RFC 3339 fixture time; fixtures are written by hand, so a typo fails the test.
func instant(_ text: String) throws -> Date {
    try RFC3339.parse(text)
}

/// The next `count` fires after `start`, as RFC 3339 UTC strings ("nil" once there is none).
func fires(_ schedule: Schedule, after start: String, count: Int) throws -> [String] {
    var current = try instant(start)
    var result: [String] = []
    for _ in 0..<count {
        guard let next = schedule.nextFire(after: current) else {
            result.append("nil")
            break
        }
        result.append(RFC3339.format(next))
        current = next
    }
    return result
}

@Suite("Next fire times", .tags(.fast))
struct NextFireTests {
    struct Case: Sendable, CustomStringConvertible {
        let schedule: String
        let zone: String?
        let after: String
        let expected: [String]
        var description: String { "\(schedule) in \(zone ?? "UTC") after \(after)" }
    }

    static let calendarCases: [Case] = [
        // Leap days: only in leap years, and 2100 is not one (2096 → 2104).
        Case(schedule: "0 0 29 2 *", zone: nil, after: "2026-01-01T00:00:00Z",
             expected: ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]),
        Case(schedule: "0 12 29 2 *", zone: nil, after: "2096-03-01T00:00:00Z", expected: ["2104-02-29T12:00:00Z"]),
        // Month ends: the 31st skips the shorter months.
        Case(schedule: "0 0 31 * *", zone: nil, after: "2026-01-31T00:00:00Z",
             expected: ["2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"]),
        Case(schedule: "59 23 30 * *", zone: nil, after: "2026-01-30T23:59:00Z",
             expected: ["2026-03-30T23:59:00Z", "2026-04-30T23:59:00Z"]),
        // Year rollover.
        Case(schedule: "@yearly", zone: nil, after: "2026-06-15T10:00:00Z", expected: ["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"]),
        Case(schedule: "*/20 * * * *", zone: nil, after: "2026-12-31T23:45:10Z",
             expected: ["2027-01-01T00:00:00Z", "2027-01-01T00:20:00Z"]),
        // Vixie OR rule: Friday the 13th syntax means every Friday AND every 13th.
        Case(schedule: "0 0 13 * 5", zone: nil, after: "2026-01-01T00:00:00Z",
             expected: ["2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z"]),
        // A field starting with * keeps the AND rule: odd days that are Mondays.
        Case(schedule: "0 0 */2 * MON", zone: nil, after: "2026-01-01T00:00:00Z",
             expected: ["2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z", "2026-02-09T00:00:00Z"]),
        // 7 is Sunday too.
        Case(schedule: "30 8 * * 7", zone: nil, after: "2026-01-01T00:00:00Z", expected: ["2026-01-04T08:30:00Z"]),
        // Weekdays in another zone: 09:00 Tokyo is 00:00 UTC.
        Case(schedule: "0 9 * * MON-FRI", zone: "Asia/Tokyo", after: "2026-01-01T00:00:00Z",
             expected: ["2026-01-02T00:00:00Z", "2026-01-05T00:00:00Z"]),
        // Strictly after: a time exactly on a fire moves to the next one; seconds are ignored.
        Case(schedule: "*/5 * * * *", zone: nil, after: "2026-01-01T00:05:00Z", expected: ["2026-01-01T00:10:00Z"]),
        Case(schedule: "*/5 * * * *", zone: nil, after: "2026-01-01T00:04:59.900Z", expected: ["2026-01-01T00:05:00Z"]),
    ]

    /// New York: 2026-03-08 02:00 EST → 03:00 EDT (07:00Z); 2026-11-01 02:00 EDT → 01:00 EST (06:00Z).
    /// Paris: 2026-03-29 02:00 CET → 03:00 CEST (01:00Z); 2026-10-25 03:00 CEST → 02:00 CET (01:00Z).
    static let dstCases: [Case] = [
        // Spring forward: 02:30 does not exist; it runs once at the end of the gap (03:00 EDT).
        Case(schedule: "30 2 * * *", zone: "America/New_York", after: "2026-03-07T12:00:00Z",
             expected: ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]),
        // Every fire inside the gap, and 03:00 itself, collapse into one fire.
        Case(schedule: "*/15 * * * *", zone: "America/New_York", after: "2026-03-08T06:40:00Z",
             expected: ["2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z"]),
        // Fall back: 01:30 happens twice; it runs once, at the first (EDT) occurrence.
        Case(schedule: "30 1 * * *", zone: "America/New_York", after: "2026-10-31T12:00:00Z",
             expected: ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]),
        // Half-hourly across the overlap: the repeated 01:00 and 01:30 (EST) do not fire again.
        Case(schedule: "*/30 * * * *", zone: "America/New_York", after: "2026-11-01T04:50:00Z",
             expected: ["2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z"]),
        // Seen from inside the second pass of the overlap, the next fire is after it.
        Case(schedule: "*/30 * * * *", zone: "America/New_York", after: "2026-11-01T06:10:00Z",
             expected: ["2026-11-01T07:00:00Z"]),
        // Paris, both transitions.
        Case(schedule: "30 2 * * *", zone: "Europe/Paris", after: "2026-03-28T12:00:00Z",
             expected: ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]),
        Case(schedule: "30 2 * * *", zone: "Europe/Paris", after: "2026-10-24T12:00:00Z",
             expected: ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]),
        // A daily 09:00 keeps its wall-clock time across the change (UTC time shifts by an hour).
        Case(schedule: "0 9 * * *", zone: "Europe/Paris", after: "2026-03-28T12:00:00Z",
             expected: ["2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"]),
    ]

    @Test("calendar edge cases", arguments: calendarCases)
    func calendar(_ testCase: Case) throws {
        let schedule = try Schedule.parse(testCase.schedule, timeZone: testCase.zone)
        #expect(try fires(schedule, after: testCase.after, count: testCase.expected.count) == testCase.expected)
    }

    @Test("DST transitions fire once, at the documented instants", arguments: dstCases)
    func daylightSaving(_ testCase: Case) throws {
        let schedule = try Schedule.parse(testCase.schedule, timeZone: testCase.zone)
        #expect(try fires(schedule, after: testCase.after, count: testCase.expected.count) == testCase.expected)
    }

    @Test("a schedule that stops matching within the horizon answers nil")
    func horizon() throws {
        // From March 2097 the next 29 February is in 2104: a search bounded at 2103 finds none.
        let expression = try CronExpression(parsing: "0 0 29 2 *")
        let start = LocalMinute(year: 2097, month: 3, day: 1, hour: 0, minute: 0)
        #expect(expression.nextMatch(from: start, lastYear: 2103) == nil)
        #expect(expression.nextMatch(from: start, lastYear: 2104) == LocalMinute(year: 2104, month: 2, day: 29, hour: 0, minute: 0))
        #expect(expression.nextFire(after: Date(timeIntervalSince1970: .infinity), in: Schedule.utc) == nil)
    }

    @Test("@every is elapsed time, unaffected by DST")
    func every() throws {
        let schedule = try Schedule.parse("@every 1h30m", timeZone: "America/New_York")
        #expect(try fires(schedule, after: "2026-03-08T06:00:00Z", count: 3)
            == ["2026-03-08T07:30:00Z", "2026-03-08T09:00:00Z", "2026-03-08T10:30:00Z"])
        let start = try instant("2026-01-01T00:00:00Z")
        #expect(schedule.firstFire(activatedAt: start) == start.addingTimeInterval(5400))
    }

    @Test("one-shot schedules")
    func oneShots() throws {
        let now = try instant("2026-01-01T00:00:00Z")
        #expect(Schedule.now.firstFire(activatedAt: now) == now)
        #expect(Schedule.now.nextFire(after: now) == nil)
        let later = try instant("2026-02-01T00:00:00Z")
        #expect(Schedule.at(later).firstFire(activatedAt: now) == later)
        #expect(Schedule.at(later).nextFire(after: now) == later)
        #expect(Schedule.at(later).nextFire(after: later) == nil)
        // A time already past runs at activation.
        #expect(Schedule.at(now).firstFire(activatedAt: later) == later)
        #expect(!Schedule.at(now).isRecurring)
    }

    @Test("missed fires run once now, then the schedule continues from now")
    func missedFires() throws {
        let cron = try Schedule.parse("*/10 * * * *")
        let lastFire = try instant("2026-01-01T00:00:00Z")
        let now = try instant("2026-01-01T05:03:00Z")
        // Thirty slots were missed; the job runs once, at now, not thirty times.
        let recovery = try #require(cron.nextFire(after: lastFire, now: now))
        #expect(recovery == now)
        // After that run, the next fire is the next slot after now.
        #expect(cron.nextFire(after: recovery, now: now) == (try instant("2026-01-01T05:10:00Z")))
        // Nothing missed: the next slot.
        #expect(cron.nextFire(after: lastFire, now: try instant("2026-01-01T00:04:00Z")) == (try instant("2026-01-01T00:10:00Z")))

        let every = Schedule.every(seconds: 60)
        #expect(every.nextFire(after: lastFire, now: now) == now)
        #expect(every.nextFire(after: now, now: now) == now.addingTimeInterval(60))
    }

    @Test("next-fire search jumps by fields (a sparse schedule over years stays cheap)")
    func sparseSearchIsBounded() throws {
        // `*/12` months is January only: one fire a year, found by jumping months and days.
        let expression = try CronExpression(parsing: "0 0 29 */12 *")
        var current = try instant("2026-01-01T00:00:00Z")
        for _ in 0..<10 {
            current = try #require(expression.nextFire(after: current, in: Schedule.utc))
        }
        #expect(RFC3339.format(current) == "2035-01-29T00:00:00Z")
    }
}
