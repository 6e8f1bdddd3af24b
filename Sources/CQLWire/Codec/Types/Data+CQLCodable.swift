import Foundation

extension Data: CQLCodable {
    /// Decodes `blob` (or a custom type's opaque bytes).
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        self = Data(try CQLBlob(cqlBytes: cqlBytes, range: range, type: type).bytes)
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
