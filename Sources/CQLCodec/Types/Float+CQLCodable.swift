extension Float: CQLCodable {
    /// Decodes `float`.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        guard type == .float else { throw .typeMismatch(expected: "Float (from float)", actual: type.description) }
        let raw = try ValueBytes.readSigned(cqlBytes, range, width: 4, type)
        self = Float(bitPattern: UInt32(truncatingIfNeeded: raw))
    }

    /// Writes `float`, or widens to `double`.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        switch type {
        case .float: writer.writeInt32(Int32(bitPattern: bitPattern))
        case .double: try Double(self).encodeCQL(into: &writer, as: type)
        default: throw .typeMismatch(expected: type.description, actual: "Swift Float")
        }
    }

    /// `float`.
    public static var defaultCQLType: DataType { .float }
}
