extension Set: CQLDecodable where Element: CQLDecodable {
    /// Decodes a `set` (or a `list`, dropping duplicates).
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        switch type {
        case .set, .list: self = Set(try [Element](cqlBytes: cqlBytes, range: range, type: type))
        default: throw .typeMismatch(expected: "Set (from set or list)", actual: type.description)
        }
    }
}

extension Set: CQLEncodable where Element: CQLEncodable {
    /// Writes a `set` or a `list`, in the set's iteration order (the server sorts sets).
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        switch type {
        case let .set(element), let .list(element):
            try CollectionBytes.writeElements(self, elementType: element, into: &writer, type)
        default:
            throw .typeMismatch(expected: type.description, actual: "Swift Set")
        }
    }

    /// `set<element>`.
    public static var defaultCQLType: DataType { .set(Element.defaultCQLType) }

    /// `set` of an element's inferred type.
    public var inferredCQLType: DataType { .set(first?.inferredCQLType ?? Element.defaultCQLType) }
}
