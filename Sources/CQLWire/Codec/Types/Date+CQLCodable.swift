import Foundation

extension Date: CQLCodable {
    /// Decodes `timestamp` (milliseconds since the epoch).
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        guard type == .timestamp else { throw .typeMismatch(expected: "Date (from timestamp)", actual: type.description) }
        let milliseconds = try ValueBytes.readSigned(cqlBytes, range, width: 8, type)
        self = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// Writes `timestamp`, rounding down to whole milliseconds.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        guard type == .timestamp else { throw .typeMismatch(expected: type.description, actual: "Swift Date") }
        let milliseconds = (timeIntervalSince1970 * 1000).rounded(.down)
        guard let exact = Int64(exactly: milliseconds) else {
            throw .invalidValue(what: "timestamp", detail: "\(self) is out of range")
        }
        writer.writeInt64(exact)
    }

    /// `timestamp`.
    public static var defaultCQLType: DataType { .timestamp }
}
