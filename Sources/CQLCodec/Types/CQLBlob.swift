/// A CQL `blob` as bytes.
///
/// A wrapper rather than a conformance of `[UInt8]`, because `Array` already means a CQL
/// `list`; `Data` is a blob too.
public struct CQLBlob: Hashable, Sendable, CustomStringConvertible {
    /// The blob's bytes.
    public var bytes: [UInt8]

    /// A blob holding `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// `0x0102ff`, as cqlsh prints blobs.
    public var description: String { ValueBytes.hex(bytes) }
}

extension CQLBlob: CQLCodable {
    /// Decodes `blob` (or any custom type, whose bytes are opaque).
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        switch type {
        case .blob, .custom:
            try ValueBytes.check(cqlBytes, range, type.description)
            self.init(Array(cqlBytes[range]))
        default:
            throw .typeMismatch(expected: "CQLBlob (from blob)", actual: type.description)
        }
    }

    /// Writes `blob` or a custom type's bytes.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        switch type {
        case .blob, .custom: writer.writeRaw(bytes)
        default: throw .typeMismatch(expected: type.description, actual: "Swift CQLBlob")
        }
    }

    /// `blob`.
    public static var defaultCQLType: DataType { .blob }
}
