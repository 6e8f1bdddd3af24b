/// A CQL `time`: nanoseconds since midnight, 0 through 86 399 999 999 999.
public struct CQLTime: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Nanoseconds since midnight.
    public let nanosecondsSinceMidnight: Int64

    /// The last valid value (23:59:59.999999999).
    public static let maximumNanoseconds: Int64 = 86_400 * 1_000_000_000 - 1

    /// A time; nil outside 0...``maximumNanoseconds``.
    public init?(nanosecondsSinceMidnight: Int64) {
        guard (0...Self.maximumNanoseconds).contains(nanosecondsSinceMidnight) else { return nil }
        self.nanosecondsSinceMidnight = nanosecondsSinceMidnight
    }

    /// A time from its parts; nil when a part is out of range.
    public init?(hour: Int, minute: Int, second: Int, nanosecond: Int = 0) {
        guard (0..<24).contains(hour), (0..<60).contains(minute), (0..<60).contains(second),
              (0..<1_000_000_000).contains(nanosecond) else { return nil }
        let seconds = Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)
        self.init(nanosecondsSinceMidnight: seconds * 1_000_000_000 + Int64(nanosecond))
    }

    /// `13:45:01.123456789`, as cqlsh prints times.
    public var description: String {
        let seconds = nanosecondsSinceMidnight / 1_000_000_000
        return CivilCalendar.pad(seconds / 3600, 2) + ":" + CivilCalendar.pad(seconds / 60 % 60, 2) + ":"
            + CivilCalendar.pad(seconds % 60, 2) + "." + CivilCalendar.pad(nanosecondsSinceMidnight % 1_000_000_000, 9)
    }

    /// Earlier times first.
    public static func < (lhs: CQLTime, rhs: CQLTime) -> Bool { lhs.nanosecondsSinceMidnight < rhs.nanosecondsSinceMidnight }
}

extension CQLTime: CQLCodable {
    /// Decodes `time`, refusing values outside a day.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        guard type == .time else { throw .typeMismatch(expected: "CQLTime (from time)", actual: type.description) }
        let nanoseconds = try ValueBytes.readSigned(cqlBytes, range, width: 8, type)
        guard let time = CQLTime(nanosecondsSinceMidnight: nanoseconds) else {
            throw .invalidValue(what: "time", detail: "\(nanoseconds) ns is outside 0...\(Self.maximumNanoseconds)")
        }
        self = time
    }

    /// Writes `time`.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        guard type == .time else { throw .typeMismatch(expected: type.description, actual: "Swift CQLTime") }
        writer.writeInt64(nanosecondsSinceMidnight)
    }

    /// `time`.
    public static var defaultCQLType: DataType { .time }
}
