extension Bool: CQLCodable {
    /// Decodes `boolean` (one byte, non-zero is true).
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        guard type == .boolean else { throw .typeMismatch(expected: "Bool (from boolean)", actual: type.description) }
        self = try ValueBytes.readSigned(cqlBytes, range, width: 1, type) != 0
    }

    /// Writes `boolean`.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        guard type == .boolean else { throw .typeMismatch(expected: type.description, actual: "Swift Bool") }
        writer.writeUInt8(self ? 1 : 0)
    }

    /// `boolean`.
    public static var defaultCQLType: DataType { .boolean }
}
