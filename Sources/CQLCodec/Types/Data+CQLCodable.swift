public import Foundation

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
        // One memcpy: appending Data as a generic sequence copies it through an iterator.
        case .blob, .custom: withUnsafeBytes { writer.bytes.append(contentsOf: $0) }
        default: throw .typeMismatch(expected: type.description, actual: "Swift Data")
        }
    }

    /// The bytes as a bound `blob`, copied once into an array of their exact size.
    public func cqlWireValue(as type: DataType) throws(WireError) -> WireValue {
        switch type {
        case .blob, .custom: .bytes(withUnsafeBytes { [UInt8]($0) })
        default: throw .typeMismatch(expected: type.description, actual: "Swift Data")
        }
    }

    /// `blob`.
    public static var defaultCQLType: DataType { .blob }
}
