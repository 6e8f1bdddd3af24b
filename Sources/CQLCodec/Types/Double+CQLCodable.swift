extension Double: CQLCodable {
    /// Decodes `double`, or widens `float`.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        switch type {
        case .double:
            self = Double(bitPattern: UInt64(bitPattern: try ValueBytes.readSigned(cqlBytes, range, width: 8, type)))
        case .float:
            self = Double(try Float(cqlBytes: cqlBytes, range: range, type: type))
        default:
            throw .typeMismatch(expected: "Double (from double or float)", actual: type.description)
        }
    }

    /// Writes `double`; `float` only when the value converts exactly.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        switch type {
        case .double:
            writer.writeInt64(Int64(bitPattern: bitPattern))
        case .float:
            let narrow = Float(self)
            guard Double(narrow) == self || isNaN else {
                throw .invalidValue(what: "float", detail: "\(self) is not exactly representable")
            }
            try narrow.encodeCQL(into: &writer, as: type)
        default:
            throw .typeMismatch(expected: type.description, actual: "Swift Double")
        }
    }

    /// `double`.
    public static var defaultCQLType: DataType { .double }
}
