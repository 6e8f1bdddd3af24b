extension String: CQLCodable {
    /// Decodes `text`/`varchar` or `ascii`.
    @inlinable
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        switch type {
        case .varchar, .ascii:
            if let text = InlineValue.asciiText(cqlBytes, range) {
                self = text
                return
            }
        default: break
        }
        self = try Self.checkedCQL(cqlBytes, range: range, type: type)
    }

    /// The checked decoder (UTF-8 validation, the ascii rule), which also says what is wrong.
    @usableFromInline
    static func checkedCQL(_ cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) -> String {
        switch type {
        case .varchar, .ascii: return try ValueBytes.readText(cqlBytes, range, type)
        default: throw .typeMismatch(expected: "String (from text, varchar or ascii)", actual: type.description)
        }
    }

    /// Writes `text`, or `ascii` after checking every character is ASCII.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        switch type {
        case .varchar:
            writer.writeRaw(utf8)
        case .ascii:
            guard utf8.allSatisfy({ $0 < 0x80 }) else { throw .invalidValue(what: "ascii", detail: "text has non-ASCII characters") }
            writer.writeRaw(utf8)
        default:
            throw .typeMismatch(expected: type.description, actual: "Swift String")
        }
    }

    /// `text`.
    public static var defaultCQLType: DataType { .varchar }
}
