extension Int16: CQLCodable {
    /// Decodes smallint or a narrower integer type; wider types are a type mismatch.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        let value = try ValueBytes.readInteger(cqlBytes, range, type, swiftType: "Int16", accepting: 2)
        self = Int16(truncatingIfNeeded: value)
    }

    /// Writes any integer type the value fits in.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        try ValueBytes.writeInteger(Int64(self), as: type, into: &writer, swiftType: "Int16")
    }

    /// `smallint`.
    public static var defaultCQLType: DataType { .smallint }
}
