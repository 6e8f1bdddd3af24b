extension Dictionary: CQLDecodable where Key: CQLDecodable, Value: CQLDecodable {
    /// Decodes a `map`; a repeated key keeps its last value.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        guard case let .map(keyType, valueType) = type else {
            throw .typeMismatch(expected: "Dictionary (from map)", actual: type.description)
        }
        try ValueBytes.check(cqlBytes, range, type.description)
        var reader = ByteReader(cqlBytes, range: range)
        let count = try CollectionBytes.readCount(&reader, minimumElementSize: 8, type)
        var entries: [Key: Value] = [:]
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let key = try Key.decodeCQL(cqlBytes, range: try reader.readBytesRange("\(type) key"), type: keyType)
            entries[key] = try Value.decodeCQL(cqlBytes, range: try reader.readBytesRange("\(type) value"), type: valueType)
        }
        try reader.expectEnd(type.description)
        self = entries
    }
}

extension Dictionary: CQLEncodable where Key: CQLEncodable, Value: CQLEncodable {
    /// Writes a `map`: `[int]` count, then key and value `[bytes]` per entry.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        guard case let .map(keyType, valueType) = type else {
            throw .typeMismatch(expected: type.description, actual: "Swift Dictionary")
        }
        guard let count = Int32(exactly: self.count) else {
            throw .lengthTooLarge(what: type.description, length: self.count, limit: Int(Int32.max))
        }
        writer.writeInt32(count)
        for (key, value) in self {
            try writer.writeCQLElement(key, as: keyType)
            try writer.writeCQLElement(value, as: valueType)
        }
    }

    /// `map<key, value>`.
    public static var defaultCQLType: DataType { .map(key: Key.defaultCQLType, value: Value.defaultCQLType) }

    /// `map` of an entry's inferred types.
    public var inferredCQLType: DataType {
        guard let entry = first else { return Self.defaultCQLType }
        return .map(key: entry.key.inferredCQLType, value: entry.value.inferredCQLType)
    }
}
