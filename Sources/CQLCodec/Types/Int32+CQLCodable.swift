extension Int32: CQLCodable {
    /// Decodes int or a narrower integer type; wider types are a type mismatch.
    @inlinable
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        if case .int = type, let value = InlineValue.int32(cqlBytes, range) {
            self = value
            return
        }
        self = try Self.checkedCQL(cqlBytes, range: range, type: type)
    }

    /// The checked decoder, for every accepted type, which also says what is wrong.
    @usableFromInline
    static func checkedCQL(_ cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) -> Int32 {
        let value = try ValueBytes.readInteger(cqlBytes, range, type, swiftType: "Int32", accepting: 4)
        return Int32(truncatingIfNeeded: value)
    }

    /// Writes any integer type the value fits in.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        try ValueBytes.writeInteger(Int64(self), as: type, into: &writer, swiftType: "Int32")
    }

    /// `int`.
    public static var defaultCQLType: DataType { .int }
}
