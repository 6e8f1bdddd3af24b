/// Parsing of `@every` durations: whole numbers with the units `d`, `h`, `m`, `s`, largest unit
/// first, each unit at most once (`30s`, `5m`, `1h30m`, `2h`, `1d`, `1d12h`).
enum EveryInterval {
    /// The shortest interval accepted.
    static let minimumSeconds = 1
    /// The longest interval accepted: longer ones are almost certainly a mistake.
    static let maximumSeconds = 366 * 86_400

    /// The duration in seconds, or an error saying what is wrong.
    static func parseSeconds(_ source: String) throws(ScheduleError) -> Int {
        let text = source.trimmingSpaces()
        let example = "such as 30s, 5m, 1h30m, 2h or 1d"
        guard !text.isEmpty else {
            throw ScheduleError("@every needs a duration \(example)")
        }
        if text.hasPrefix("-") {
            throw ScheduleError("@every duration must be positive, got \(text.quotedForMessage)")
        }
        let units: [(UInt8, Int)] = [(UInt8(ascii: "d"), 86_400), (UInt8(ascii: "h"), 3600), (UInt8(ascii: "m"), 60), (UInt8(ascii: "s"), 1)]
        var total = 0
        var digits = 0
        var number = 0
        var nextUnitIndex = 0
        var sawComponent = false
        for byte in text.utf8 {
            if byte >= 0x30 && byte <= 0x39 {
                digits += 1
                guard digits <= 9 else {
                    throw ScheduleError("@every duration \(text.quotedForMessage) is too long; the maximum is 366d")
                }
                number = number * 10 + Int(byte - 0x30)
                continue
            }
            guard digits > 0 else {
                throw ScheduleError("@every duration \(text.quotedForMessage) is not a duration \(example)")
            }
            guard let index = units.firstIndex(where: { $0.0 == byte }) else {
                throw ScheduleError("@every duration \(text.quotedForMessage) has an unknown unit; use d, h, m or s")
            }
            guard index >= nextUnitIndex else {
                throw ScheduleError("@every duration \(text.quotedForMessage) must list units from largest to smallest, each once")
            }
            // At most 9 digits times 86 400 plus three more such terms stays far inside Int64.
            total += number * units[index].1
            nextUnitIndex = index + 1
            digits = 0
            number = 0
            sawComponent = true
        }
        guard digits == 0, sawComponent else {
            throw ScheduleError("@every duration \(text.quotedForMessage) needs a unit after each number (d, h, m or s)")
        }
        guard total >= minimumSeconds else {
            throw ScheduleError("@every duration must be at least 1s")
        }
        guard total <= maximumSeconds else {
            throw ScheduleError("@every duration \(text.quotedForMessage) is longer than the maximum of 366d")
        }
        return total
    }

    /// The canonical spelling of a duration, e.g. `1h30m`.
    static func format(seconds: Int) -> String {
        var rest = seconds
        var text = ""
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text.isEmpty ? "0s" : text
    }
}
