extension Array: CQLDecodable where Element: CQLDecodable {
    /// Decodes a `list` or a `set` in wire order, or a `tuple` whose elements all decode as `Element`.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        let elementType: DataType
        switch type {
        case let .list(element), let .set(element): elementType = element
        case let .tuple(types):
            let ranges = try CollectionBytes.fieldRanges(cqlBytes, range, fieldCount: types.count, type)
            var elements: [Element] = []
            elements.reserveCapacity(types.count)
            for (elementType, elementRange) in zip(types, ranges) {
                elements.append(try Element.decodeCQL(cqlBytes, range: elementRange, type: elementType))
            }
            self = elements
            return
        default: throw .typeMismatch(expected: "Array (from list, set or tuple)", actual: type.description)
        }
        try ValueBytes.check(cqlBytes, range, type.description)
        var reader = ByteReader(cqlBytes, range: range)
        let count = try CollectionBytes.readCount(&reader, minimumElementSize: 4, type)
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for _ in 0..<count {
            let elementRange = try reader.readBytesRange("\(type) element")
            elements.append(try Element.decodeCQL(cqlBytes, range: elementRange, type: elementType))
        }
        try reader.expectEnd(type.description)
        self = elements
    }
}

extension Array: CQLEncodable where Element: CQLEncodable {
    /// Writes a `list` or a `set` (a set's elements in the array's order), or a `tuple` by position.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        switch type {
        case let .list(element), let .set(element):
            try CollectionBytes.writeElements(self, elementType: element, into: &writer, type)
        case let .tuple(types):
            guard count <= types.count else {
                throw .invalidValue(what: type.description, detail: "\(count) elements for \(types.count) types")
            }
            for (element, elementType) in zip(self, types) { try writer.writeCQLElement(element, as: elementType) }
        default:
            throw .typeMismatch(expected: type.description, actual: "Swift Array")
        }
    }

    /// `list<element>`.
    public static var defaultCQLType: DataType { .list(Element.defaultCQLType) }

    /// `list` of the first element's inferred type.
    public var inferredCQLType: DataType { .list(first?.inferredCQLType ?? Element.defaultCQLType) }
}

extension CollectionBytes {
    /// Writes a v4 collection body: `[int]` count, then each element as `[bytes]`.
    static func writeElements<Elements: Collection>(_ elements: Elements, elementType: DataType,
                                                    into writer: inout ByteWriter, _ type: DataType) throws(WireError)
        where Elements.Element: CQLEncodable {
        guard let count = Int32(exactly: elements.count) else {
            throw .lengthTooLarge(what: type.description, length: elements.count, limit: Int(Int32.max))
        }
        writer.writeInt32(count)
        for element in elements { try writer.writeCQLElement(element, as: elementType) }
    }
}
