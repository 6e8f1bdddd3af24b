import Foundation

extension Data: CQLCodable {
    /// Decodes `blob` (or a custom type's opaque bytes).
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        switch type {
        case .blob, .custom:
            try ValueBytes.check(cqlBytes, range, type.description)
            // One copy straight from the checked range: CQLBlob would copy into an Array first, and
            // Data's generic initializer from an ArraySlice goes byte by byte.
            self = cqlBytes.withUnsafeBufferPointer { Data(buffer: UnsafeBufferPointer(rebasing: $0[range])) }
        default:
            throw .typeMismatch(expected: "Data (from blob)", actual: type.description)
        }
    }

    /// Writes `blob`.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        switch type {
        case .blob, .custom: writer.writeRaw(self)
        default: throw .typeMismatch(expected: type.description, actual: "Swift Data")
        }
    }

    /// `blob`.
    public static var defaultCQLType: DataType { .blob }
}
