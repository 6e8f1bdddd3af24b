extension Int: CQLCodable {
    /// Decodes bigint, counter, varint (when it fits) or a narrower integer type; wider types are a type mismatch.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        let value = try ValueBytes.readInteger(cqlBytes, range, type, swiftType: "Int", accepting: 8)
        self = Int(truncatingIfNeeded: value)
    }

    /// Writes any integer type the value fits in.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        try ValueBytes.writeInteger(Int64(self), as: type, into: &writer, swiftType: "Int")
    }

    /// `bigint`.
    public static var defaultCQLType: DataType { .bigint }
}
