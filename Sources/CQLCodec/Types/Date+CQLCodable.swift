public import Foundation

extension Date: CQLCodable {
    /// Decodes `timestamp` (milliseconds since the epoch).
    @inlinable
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        // A pattern match reads the enum tag; `==` on the indirect enum would call its Equatable witness.
        if case .timestamp = type, let milliseconds = InlineValue.int64(cqlBytes, range) {
            self = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            return
        }
        self = try Self.checkedCQL(cqlBytes, range: range, type: type)
    }

    /// The checked decoder, which also says what is wrong.
    @usableFromInline
    static func checkedCQL(_ cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) -> Date {
        guard case .timestamp = type else { throw .typeMismatch(expected: "Date (from timestamp)", actual: type.description) }
        let milliseconds = try ValueBytes.readSigned(cqlBytes, range, width: 8, type)
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// Writes `timestamp`, rounding down to whole milliseconds.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        guard type == .timestamp else { throw .typeMismatch(expected: type.description, actual: "Swift Date") }
        guard let exact = cqlMilliseconds else {
            throw .invalidValue(what: "timestamp", detail: "\(self) is out of range")
        }
        writer.writeInt64(exact)
    }

    /// `timestamp`.
    public static var defaultCQLType: DataType { .timestamp }

    /// Milliseconds since the epoch, rounded down; nil outside Int64.
    ///
    /// A value within a microsecond of a whole millisecond counts as it, so a decoded
    /// timestamp (whose seconds are not exact in binary) re-encodes to the same number.
    public var cqlMilliseconds: Int64? {
        let milliseconds = timeIntervalSince1970 * 1000
        let nearest = milliseconds.rounded()
        let whole = abs(milliseconds - nearest) < 0.001 ? nearest : milliseconds.rounded(.down)
        guard whole.isFinite, whole >= -9.2e18, whole <= 9.2e18 else { return nil }
        return Int64(whole)
    }
}
