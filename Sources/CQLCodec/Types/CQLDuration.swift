/// A CQL `duration`: months, days and nanoseconds, kept apart because their lengths vary.
///
/// Serialized as three zig-zag variable-length integers (Cassandra's `VIntCoding`); the
/// three parts share one sign, as Cassandra requires.
public struct CQLDuration: Hashable, Sendable, CustomStringConvertible {
    /// Whole months.
    public var months: Int32
    /// Whole days.
    public var days: Int32
    /// Nanoseconds.
    public var nanoseconds: Int64

    /// A duration from its three parts.
    public init(months: Int32, days: Int32, nanoseconds: Int64) {
        self.months = months
        self.days = days
        self.nanoseconds = nanoseconds
    }

    /// Whether the parts disagree in sign (Cassandra refuses such durations).
    public var hasMixedSigns: Bool {
        let negative = months < 0 || days < 0 || nanoseconds < 0
        let positive = months > 0 || days > 0 || nanoseconds > 0
        return negative && positive
    }

    /// Cassandra's text form: `1y2mo3d4h5m6s7ms8us9ns`, `-` first when negative, `0s` when zero.
    public var description: String {
        var text = months < 0 || days < 0 || nanoseconds < 0 ? "-" : ""
        var remainder = UInt64(months.magnitude)
        remainder = Self.append(&text, remainder, 12, "y")
        _ = Self.append(&text, remainder, 1, "mo")
        _ = Self.append(&text, UInt64(days.magnitude), 1, "d")
        remainder = nanoseconds.magnitude
        for (unit, name) in [(UInt64(3_600_000_000_000), "h"), (60_000_000_000, "m"), (1_000_000_000, "s"),
                             (1_000_000, "ms"), (1000, "us"), (1, "ns")] {
            remainder = Self.append(&text, remainder, unit, name)
        }
        return text.isEmpty || text == "-" ? "0s" : text
    }

    private static func append(_ text: inout String, _ value: UInt64, _ unit: UInt64, _ name: String) -> UInt64 {
        guard value >= unit, value != 0 else { return value }
        text += String(value / unit) + name
        return value % unit
    }
}

extension CQLDuration: CQLCodable {
    /// Decodes `duration`: zig-zag vints for months, days, nanoseconds.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        guard type == .duration || type == .custom(DataType.durationClass) else {
            throw .typeMismatch(expected: "CQLDuration (from duration)", actual: type.description)
        }
        try ValueBytes.check(cqlBytes, range, "duration")
        var reader = ByteReader(cqlBytes, range: range)
        let months = try reader.readZigZagVInt("duration months")
        let days = try reader.readZigZagVInt("duration days")
        let nanoseconds = try reader.readZigZagVInt("duration nanoseconds")
        try reader.expectEnd("duration")
        guard let months32 = Int32(exactly: months), let days32 = Int32(exactly: days) else {
            throw .invalidValue(what: "duration", detail: "months \(months) or days \(days) out of 32-bit range")
        }
        self.init(months: months32, days: days32, nanoseconds: nanoseconds)
    }

    /// Writes `duration`.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        guard type == .duration || type == .custom(DataType.durationClass) else {
            throw .typeMismatch(expected: type.description, actual: "Swift CQLDuration")
        }
        writer.writeZigZagVInt(Int64(months))
        writer.writeZigZagVInt(Int64(days))
        writer.writeZigZagVInt(nanoseconds)
    }

    /// `duration`.
    public static var defaultCQLType: DataType { .duration }
}

extension ByteReader {
    /// Reads an unsigned vint: the first byte's leading 1-bits count the extra bytes that follow.
    public mutating func readUnsignedVInt(_ what: @autoclosure () -> String = "vint") throws(WireError) -> UInt64 {
        let first = try readUInt8(what())
        let extra = (~first).leadingZeroBitCount
        var value = UInt64(extra >= 8 ? 0 : first & (0xFF >> UInt8(extra)))
        for _ in 0..<extra { value = value << 8 | UInt64(try readUInt8(what())) }
        return value
    }

    /// Reads a zig-zag encoded signed vint.
    public mutating func readZigZagVInt(_ what: @autoclosure () -> String = "vint") throws(WireError) -> Int64 {
        let raw = try readUnsignedVInt(what())
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }
}

extension ByteWriter {
    /// Appends an unsigned vint (1 to 9 bytes).
    public mutating func writeUnsignedVInt(_ value: UInt64) {
        let significant = 64 - (value | 1).leadingZeroBitCount
        let extra = significant <= 7 ? 0 : min(8, (significant - 1) / 7)
        guard extra > 0 else { return writeUInt8(UInt8(truncatingIfNeeded: value)) }
        let marker = UInt8(truncatingIfNeeded: 0xFF00 >> extra)
        let head = extra >= 8 ? 0 : UInt8(truncatingIfNeeded: value >> UInt64(8 * extra))
        writeUInt8(marker | head)
        for index in stride(from: extra - 1, through: 0, by: -1) {
            writeUInt8(UInt8(truncatingIfNeeded: value >> UInt64(8 * index)))
        }
    }

    /// Appends a zig-zag encoded signed vint.
    public mutating func writeZigZagVInt(_ value: Int64) {
        writeUnsignedVInt(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }
}
