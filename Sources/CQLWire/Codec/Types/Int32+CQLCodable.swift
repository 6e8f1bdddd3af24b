extension Int32: CQLCodable {
    /// Decodes int or a narrower integer type; wider types are a type mismatch.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        let value = try ValueBytes.readInteger(cqlBytes, range, type, swiftType: "Int32", accepting: 4)
        self = Int32(truncatingIfNeeded: value)
    }

    /// Writes any integer type the value fits in.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        try ValueBytes.writeInteger(Int64(self), as: type, into: &writer, swiftType: "Int32")
    }

    /// `int`.
    public static var defaultCQLType: DataType { .int }
}
