extension InetAddress: CQLCodable {
    /// Decodes `inet` (4 or 16 bytes, no length prefix).
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        guard type == .inet else { throw .typeMismatch(expected: "InetAddress (from inet)", actual: type.description) }
        try ValueBytes.check(cqlBytes, range, "inet")
        guard let address = InetAddress(bytes: Array(cqlBytes[range])) else {
            throw .invalidValue(what: "inet", detail: "\(range.count) bytes, expected 4 or 16")
        }
        self = address
    }

    /// Writes `inet`.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        guard type == .inet else { throw .typeMismatch(expected: type.description, actual: "Swift InetAddress") }
        writer.writeRaw(bytes)
    }

    /// `inet`.
    public static var defaultCQLType: DataType { .inet }
}
