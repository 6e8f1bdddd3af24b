extension CQLDuration {
    /// Parses a duration as CQL literals write it: Cassandra's unit format (`1y2mo3w4d5h6m7s8ms9us10ns`,
    /// `µs` too, units in any case, a leading `-`) or ISO 8601 (`P1Y2M3DT4H5M6S`, `P2W`).
    /// Nil when malformed, when a unit repeats, or when a part overflows.
    public init?(_ text: String) {
        var scalars = Substring(text).unicodeScalars[...]
        let negative = scalars.first == "-"
        if negative { scalars = scalars.dropFirst() }
        guard !scalars.isEmpty else { return nil }
        var parts = Parts()
        if scalars.first == "P" || scalars.first == "p" {
            guard parts.parseISO(scalars.dropFirst()) else { return nil }
        } else {
            guard parts.parseUnits(scalars) else { return nil }
        }
        guard let months = Int32(exactly: negative ? -parts.months : parts.months),
              let days = Int32(exactly: negative ? -parts.days : parts.days),
              parts.nanoseconds <= UInt64(Int64.max) || (negative && parts.nanoseconds == Int64.min.magnitude)
        else { return nil }
        let nanoseconds = negative ? Int64(truncatingIfNeeded: 0 &- parts.nanoseconds) : Int64(parts.nanoseconds)
        self.init(months: months, days: days, nanoseconds: nanoseconds)
    }

    /// The three magnitudes being accumulated, with overflow checks.
    private struct Parts {
        var months: Int64 = 0
        var days: Int64 = 0
        var nanoseconds: UInt64 = 0
        var seen: Set<String> = []

        mutating func add(_ count: UInt64, unit: String) -> Bool {
            guard seen.insert(unit).inserted else { return false }
            let nanosecondsPerUnit: [String: UInt64] = [
                "h": 3_600_000_000_000, "m": 60_000_000_000, "s": 1_000_000_000, "ms": 1_000_000, "us": 1000, "µs": 1000, "ns": 1,
            ]
            switch unit {
            case "y": return addMonths(count, times: 12)
            case "mo": return addMonths(count, times: 1)
            case "w": return addDays(count, times: 7)
            case "d": return addDays(count, times: 1)
            default:
                guard let scale = nanosecondsPerUnit[unit] else { return false }
                let (product, overflow) = count.multipliedReportingOverflow(by: scale)
                let (sum, overflowSum) = nanoseconds.addingReportingOverflow(product)
                guard !overflow, !overflowSum else { return false }
                nanoseconds = sum
                return true
            }
        }

        private mutating func addMonths(_ count: UInt64, times: Int64) -> Bool {
            guard count <= UInt64(Int32.max) else { return false }
            months += Int64(count) * times
            return months <= Int64(Int32.max) + 1
        }

        private mutating func addDays(_ count: UInt64, times: Int64) -> Bool {
            guard count <= UInt64(Int32.max) else { return false }
            days += Int64(count) * times
            return days <= Int64(Int32.max) + 1
        }

        /// `12h30m`: numbers each followed by a unit.
        mutating func parseUnits(_ scalars: Substring.UnicodeScalarView.SubSequence) -> Bool {
            var rest = scalars
            while !rest.isEmpty {
                guard let (count, afterNumber) = Self.number(rest) else { return false }
                let unitEnd = afterNumber.firstIndex { $0.properties.numericType != nil } ?? afterNumber.endIndex
                let unit = String(String.UnicodeScalarView(afterNumber[..<unitEnd])).lowercased()
                guard !unit.isEmpty, add(count, unit: unit) else { return false }
                rest = afterNumber[unitEnd...]
            }
            return true
        }

        /// `1Y2M3DT4H5M6S` (after the `P`), or `2W`.
        mutating func parseISO(_ scalars: Substring.UnicodeScalarView.SubSequence) -> Bool {
            var rest = scalars
            var inTime = false
            var any = false
            while !rest.isEmpty {
                if rest.first == "T" || rest.first == "t" {
                    guard !inTime else { return false }
                    inTime = true
                    rest = rest.dropFirst()
                    continue
                }
                guard let (count, afterNumber) = Self.number(rest), let designator = afterNumber.first else { return false }
                let unit: String
                switch (String(designator).uppercased(), inTime) {
                case ("Y", false): unit = "y"
                case ("M", false): unit = "mo"
                case ("W", false): unit = "w"
                case ("D", false): unit = "d"
                case ("H", true): unit = "h"
                case ("M", true): unit = "m"
                case ("S", true): unit = "s"
                default: return false
                }
                guard add(count, unit: unit) else { return false }
                any = true
                rest = afterNumber.dropFirst()
            }
            return any
        }

        private static func number(_ scalars: Substring.UnicodeScalarView.SubSequence)
            -> (UInt64, Substring.UnicodeScalarView.SubSequence)? {
            var value: UInt64 = 0
            var rest = scalars
            var digits = 0
            while let scalar = rest.first, scalar.value >= 0x30, scalar.value <= 0x39 {
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflowSum) = shifted.addingReportingOverflow(UInt64(scalar.value - 0x30))
                guard !overflow, !overflowSum else { return nil }
                value = sum
                digits += 1
                rest = rest.dropFirst()
            }
            return digits > 0 ? (value, rest) : nil
        }
    }
}
