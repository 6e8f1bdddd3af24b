import CQLCodec

/// Cassandra's comparators over serialized values: the order of clustering columns, set elements and map keys.
///
/// Values are the protocol's serialized bytes. Empty values (which Cassandra accepts for most types) sort
/// first, as Cassandra's `AbstractType.compare` does. Malformed values fall back to bytewise order rather than
/// trapping, because a comparator must be total.
enum ValueOrder {
    /// Compares two serialized values of `type`: negative, zero or positive.
    static func compare(_ a: [UInt8], _ b: [UInt8], as type: DataType) -> Int {
        if a.isEmpty || b.isEmpty { return (a.isEmpty ? 0 : 1) - (b.isEmpty ? 0 : 1) }
        switch type {
        case .int, .bigint, .smallint, .tinyint, .timestamp, .counter, .time:
            return compareSigned(a[...], b[...])
        case .float, .double:
            return compareFloating(a, b)
        case .varint:
            return compareVarint(a[...], b[...])
        case .decimal:
            return compareDecimal(a, b)
        case .uuid:
            return compareUUID(a[...], b[...])
        case .timeuuid:
            return compareTimeUUID(a[...], b[...])
        case let .tuple(elements):
            return compareComponents(a, b, types: elements)
        case let .udt(userType):
            return compareComponents(a, b, types: userType.fields.map(\.type))
        case let .list(element), let .set(element):
            return compareCollection(a, b, types: [element])
        case let .map(key, value):
            return compareCollection(a, b, types: [key, value])
        case .ascii, .varchar, .blob, .inet, .date, .boolean, .duration, .custom:
            return compareBytes(a[...], b[...])
        }
    }

    /// ``compare(_:_:as:)`` over slices of a packed clustering key: the common clustering types compare in
    /// place, the rest through a copy.
    static func compare(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>, as type: DataType) -> Int {
        if a.isEmpty || b.isEmpty { return (a.isEmpty ? 0 : 1) - (b.isEmpty ? 0 : 1) }
        switch type {
        case .ascii, .varchar, .blob, .inet, .date, .boolean, .duration, .custom:
            return compareBytes(a, b)
        case .int, .bigint, .smallint, .tinyint, .timestamp, .counter, .time:
            return compareSigned(a, b)
        case .uuid:
            return compareUUID(a, b)
        case .timeuuid:
            return compareTimeUUID(a, b)
        default:
            return compare(Array(a), Array(b), as: type)
        }
    }

    /// Compares clustering prefixes column by column (with each column's order); a shorter equal prefix sorts first.
    static func compareClustering(_ a: [[UInt8]], _ b: [[UInt8]], columns: [ColumnSchema]) -> Int {
        for index in 0..<min(a.count, b.count, columns.count) {
            let column = columns[index]
            var result = compare(a[index], b[index], as: column.type)
            if case .clustering(_, .descending) = column.kind { result = -result }
            if result != 0 { return result }
        }
        return a.count - b.count
    }

    static func compareBytes(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        return a.count - b.count
    }

    /// Two's-complement integers of any width (a width mismatch compares as varints); both non-empty.
    private static func compareSigned(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        guard a.count == b.count else { return compareVarint(a, b) }
        let x = a[a.startIndex]
        let y = b[b.startIndex]
        if (x ^ y) & 0x80 != 0 { return x & 0x80 != 0 ? -1 : 1 }
        return compareBytes(a, b)
    }

    private static func sortableBits(_ bytes: [UInt8]) -> UInt64 {
        var bits: UInt64 = 0
        for byte in bytes { bits = bits << 8 | UInt64(byte) }
        let sign: UInt64 = 1 << UInt64(bytes.count * 8 - 1)
        let mask: UInt64 = bytes.count == 8 ? .max : (1 << UInt64(bytes.count * 8)) - 1
        // IEEE 754 totally ordered like Java's Float.compare: negatives flipped, positives above them.
        return bits & sign != 0 ? ~bits & mask : bits | sign
    }

    private static func compareFloating(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard a.count == b.count, a.count == 4 || a.count == 8 else { return compareBytes(a[...], b[...]) }
        let x = sortableBits(a)
        let y = sortableBits(b)
        return x == y ? 0 : (x < y ? -1 : 1)
    }

    /// Drops redundant sign-extension bytes of a two's complement big-endian integer.
    private static func trimmed(_ value: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = value
        while slice.count > 1 {
            let first = slice[slice.startIndex]
            let second = slice[slice.startIndex + 1]
            if (first == 0 && second & 0x80 == 0) || (first == 0xFF && second & 0x80 != 0) {
                slice = slice.dropFirst()
            } else {
                break
            }
        }
        return slice
    }

    private static func compareVarint(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        if a.isEmpty || b.isEmpty { return (a.isEmpty ? 0 : 1) - (b.isEmpty ? 0 : 1) }
        let x = trimmed(a)
        let y = trimmed(b)
        let xNegative = x[x.startIndex] & 0x80 != 0
        let yNegative = y[y.startIndex] & 0x80 != 0
        if xNegative != yNegative { return xNegative ? -1 : 1 }
        if x.count != y.count { return (x.count < y.count) != xNegative ? -1 : 1 }
        return compareBytes(x, y)
    }

    /// The decimal digits of a non-negative big-endian magnitude.
    private static func decimalDigits(_ magnitude: [UInt8]) -> [UInt8] {
        var number = Array(magnitude.drop { $0 == 0 })
        var digits: [UInt8] = []
        while !number.isEmpty {
            var remainder = 0
            var quotient: [UInt8] = []
            quotient.reserveCapacity(number.count)
            for byte in number {
                let current = remainder << 8 | Int(byte)
                let q = current / 10
                remainder = current % 10
                if !(quotient.isEmpty && q == 0) { quotient.append(UInt8(q)) }
            }
            digits.append(UInt8(remainder))
            number = quotient
        }
        return digits.reversed()
    }

    /// Sign and magnitude of a two's complement big-endian integer.
    private static func signMagnitude(_ value: ArraySlice<UInt8>) -> (negative: Bool, magnitude: [UInt8]) {
        guard let first = value.first, first & 0x80 != 0 else { return (false, Array(value)) }
        var bytes = value.map { ~$0 }
        var index = bytes.count - 1
        while index >= 0 {
            let (sum, overflow) = bytes[index].addingReportingOverflow(1)
            bytes[index] = sum
            if !overflow { break }
            index -= 1
        }
        return (true, bytes)
    }

    private static func compareDecimal(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard a.count > 4, b.count > 4 else { return compareBytes(a[...], b[...]) }
        func parse(_ bytes: [UInt8]) -> (sign: Int, digits: [UInt8], exponent: Int) {
            let scale = Int(Int32(bitPattern: UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])))
            let (negative, magnitude) = signMagnitude(bytes[4...])
            var digits = decimalDigits(magnitude)
            // value = 0.d1d2d3... × 10^exponent, independent of trailing zeros.
            let exponent = digits.count - scale
            while digits.last == 0 { digits.removeLast() }
            guard !digits.isEmpty else { return (0, [], 0) }
            return (negative ? -1 : 1, digits, exponent)
        }
        let x = parse(a)
        let y = parse(b)
        if x.sign != y.sign { return x.sign < y.sign ? -1 : 1 }
        if x.sign == 0 { return 0 }
        var result: Int
        if x.exponent != y.exponent {
            result = x.exponent < y.exponent ? -1 : 1
        } else {
            result = compareBytes(x.digits[...], y.digits[...])
        }
        return x.sign * result
    }

    private static func long(_ bytes: ArraySlice<UInt8>, at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        let start = bytes.startIndex + offset
        for index in start..<(start + 8) { value = value << 8 | UInt64(bytes[index]) }
        return value
    }

    private static func timestampOrder(_ msb: UInt64) -> UInt64 {
        (msb << 48) | ((msb << 16) & 0xFFFF_0000_0000) | (msb >> 32)
    }

    private static func compareUUID(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        guard a.count == 16, b.count == 16 else { return compareBytes(a, b) }
        let msbA = long(a, at: 0)
        let msbB = long(b, at: 0)
        let versionA = Int((msbA >> 12) & 0xF)
        let versionB = Int((msbB >> 12) & 0xF)
        if versionA != versionB { return versionA - versionB }
        let x = versionA == 1 ? timestampOrder(msbA) : msbA
        let y = versionA == 1 ? timestampOrder(msbB) : msbB
        if x != y { return x < y ? -1 : 1 }
        let lsbA = long(a, at: 8)
        let lsbB = long(b, at: 8)
        return lsbA == lsbB ? 0 : (lsbA < lsbB ? -1 : 1)
    }

    private static func compareTimeUUID(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        guard a.count == 16, b.count == 16 else { return compareBytes(a, b) }
        let x = timestampOrder(long(a, at: 0))
        let y = timestampOrder(long(b, at: 0))
        if x != y { return x < y ? -1 : 1 }
        // TimeUUIDType compares the low half as signed bytes, for compatibility with old data.
        for offset in 8..<16 where a[a.startIndex + offset] != b[b.startIndex + offset] {
            return Int8(bitPattern: a[a.startIndex + offset]) < Int8(bitPattern: b[b.startIndex + offset]) ? -1 : 1
        }
        return 0
    }

    /// Splits `[int length][bytes]` components (length < 0 is null); stops at malformed input.
    static func components(_ bytes: [UInt8], from start: Int) -> [[UInt8]?] {
        var result: [[UInt8]?] = []
        var offset = start
        while offset + 4 <= bytes.count {
            let length = Int32(bitPattern: UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
                | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3]))
            offset += 4
            if length < 0 {
                result.append(nil)
                continue
            }
            let end = offset + Int(length)
            guard end <= bytes.count else { break }
            result.append(Array(bytes[offset..<end]))
            offset = end
        }
        return result
    }

    private static func compareParts(_ x: [[UInt8]?], _ y: [[UInt8]?], types: [DataType]) -> Int {
        guard !types.isEmpty else { return 0 }
        for index in 0..<min(x.count, y.count) {
            let type = types[index % types.count]
            switch (x[index], y[index]) {
            case (nil, nil): continue
            case (nil, _): return -1
            case (_, nil): return 1
            case let (.some(p), .some(q)):
                let result = compare(p, q, as: type)
                if result != 0 { return result }
            }
        }
        return x.count - y.count
    }

    private static func compareComponents(_ a: [UInt8], _ b: [UInt8], types: [DataType]) -> Int {
        compareParts(components(a, from: 0), components(b, from: 0), types: types)
    }

    private static func compareCollection(_ a: [UInt8], _ b: [UInt8], types: [DataType]) -> Int {
        guard a.count >= 4, b.count >= 4 else { return compareBytes(a[...], b[...]) }
        return compareParts(components(a, from: 4), components(b, from: 4), types: types)
    }
}
