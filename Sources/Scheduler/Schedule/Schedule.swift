public import Foundation

/// When a job runs, parsed from the API's `schedule` string and optional `timezone`.
///
/// - `now`: once, as soon as the job is activated.
/// - an RFC 3339 time with an offset (`2026-03-08T07:30:00Z`): once, at that instant; a time
///   already past when the job is activated runs immediately.
/// - `@every <duration>` (`30s`, `5m`, `1h30m`, `1d`; 1s...366d): repeatedly, every duration of
///   absolute elapsed time, unaffected by DST; the first fire is one interval after activation.
/// - a 5-field cron expression or `@hourly`/`@daily`/`@weekly`/`@monthly`/`@yearly`: at the
///   matching wall-clock minutes of the job's time zone (UTC by default); DST resolution is
///   described on ``CronExpression/nextFire(after:in:)``.
public enum Schedule: Hashable, Sendable {
    /// Once, immediately on activation.
    case now
    /// Once, at an instant.
    case at(Date)
    /// Repeatedly, every `seconds` of elapsed time.
    case every(seconds: Int)
    /// Repeatedly, at the expression's wall-clock minutes in the time zone.
    case cron(CronExpression, TimeZone)

    /// The longest `schedule` string accepted.
    public static let maximumLength = 512

    /// Parses the API's `schedule` string with its optional IANA `timezone` (UTC when nil).
    /// The time zone is checked for every form, but only cron schedules use it.
    public static func parse(_ source: String, timeZone identifier: String? = nil) throws(ScheduleError) -> Schedule {
        guard source.utf8.count <= maximumLength else {
            throw ScheduleError("schedule is longer than \(maximumLength) characters")
        }
        let zone = try timeZone(identifier: identifier)
        let text = source.trimmingSpaces()
        guard !text.isEmpty else {
            throw ScheduleError("schedule is empty; use now, an RFC 3339 time, @every <duration> or a cron expression")
        }
        let lowered = text.lowercased()
        if lowered == "now" {
            return .now
        }
        if lowered == "@every" || lowered.hasPrefix("@every ") || lowered.hasPrefix("@every\t") {
            return .every(seconds: try EveryInterval.parseSeconds(String(text.dropFirst(6))))
        }
        if looksLikeDate(text) {
            return .at(try RFC3339.parse(text))
        }
        return .cron(try CronExpression(parsing: text), zone)
    }

    /// Resolves an IANA time zone identifier (`Europe/Paris`); nil means UTC.
    public static func timeZone(identifier: String?) throws(ScheduleError) -> TimeZone {
        guard let identifier else { return utc }
        // Identifiers become file paths inside some tz implementations: keep them to the
        // characters IANA names use.
        let allowed = identifier.utf8.allSatisfy { byte in
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
        }
        guard !identifier.isEmpty, identifier.utf8.count <= 64, allowed, !identifier.contains("..") else {
            throw ScheduleError("\(identifier.quotedForMessage) is not an IANA time zone name such as Europe/Paris")
        }
        guard let zone = TimeZone(identifier: identifier) else {
            throw ScheduleError("unknown time zone \(identifier.quotedForMessage); use an IANA name such as America/New_York")
        }
        return zone
    }

    /// UTC, the default time zone.
    public static let utc: TimeZone = TimeZone(secondsFromGMT: 0) ?? TimeZone.current

    /// Whether the job fires more than once.
    public var isRecurring: Bool {
        switch self {
        case .now, .at: return false
        case .every, .cron: return true
        }
    }

    /// The time of the first run when the job is activated at `now` (never before `now`).
    public func firstFire(activatedAt now: Date) -> Date? {
        switch self {
        case .now: return now
        case .at(let date): return max(date, now)
        case .every(let seconds): return now.addingTimeInterval(Double(seconds))
        case .cron(let expression, let zone): return expression.nextFire(after: now, in: zone)
        }
    }

    /// The first fire strictly after `date`: nil for `now` (it has no fire of its own) and for an
    /// `at` time not after `date`; `date` plus the interval for `@every`.
    public func nextFire(after date: Date) -> Date? {
        switch self {
        case .now: return nil
        case .at(let instant): return instant > date ? instant : nil
        case .every(let seconds): return date.addingTimeInterval(Double(seconds))
        case .cron(let expression, let zone): return expression.nextFire(after: date, in: zone)
        }
    }

    /// The next fire of a recurring job whose previous fire was `lastFire`, seen at `now`.
    ///
    /// When fires were missed (no worker ran, or a run outlasted its interval), the job runs ONCE
    /// at `now` rather than once per missed slot; the run after that follows from the fire after
    /// `now` (call this again with `lastFire` = the fire just run).
    public func nextFire(after lastFire: Date, now: Date) -> Date? {
        guard let next = nextFire(after: lastFire) else { return nil }
        return next < now ? now : next
    }

    /// The schedule in the API's spelling (cron macros expanded, `@every` canonical).
    public var text: String {
        switch self {
        case .now: return "now"
        case .at(let date): return RFC3339.format(date)
        case .every(let seconds): return "@every \(EveryInterval.format(seconds: seconds))"
        case .cron(let expression, _): return expression.text
        }
    }

    /// The time zone a cron schedule fires in; UTC for the other forms.
    public var timeZone: TimeZone {
        if case .cron(_, let zone) = self { return zone }
        return Self.utc
    }

    private static func looksLikeDate(_ text: String) -> Bool {
        let bytes = Array(text.utf8.prefix(5))
        guard bytes.count == 5 else { return false }
        return bytes[0..<4].allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && bytes[4] == UInt8(ascii: "-")
    }
}
