public import Foundation

/// Any CQL value, typed by its CQL type: for tools, the embedded node and rendering.
///
/// Collections keep wire order (a decoded map or set re-encodes byte for byte).
public indirect enum CQLValue: Hashable, Sendable {
    /// A null value.
    case null
    /// `ascii` text.
    case ascii(String)
    /// `bigint`.
    case bigint(Int64)
    /// `blob` bytes.
    case blob([UInt8])
    /// `boolean`.
    case boolean(Bool)
    /// `counter`.
    case counter(Int64)
    /// `decimal`.
    case decimal(CQLDecimal)
    /// `double`.
    case double(Double)
    /// `float`.
    case float(Float)
    /// `inet`.
    case inet(InetAddress)
    /// `int`.
    case int(Int32)
    /// `smallint`.
    case smallint(Int16)
    /// `tinyint`.
    case tinyint(Int8)
    /// `text` (`varchar`).
    case text(String)
    /// Milliseconds since the epoch.
    case timestamp(Int64)
    /// `date`.
    case date(CQLDate)
    /// `time`.
    case time(CQLTime)
    /// `uuid`.
    case uuid(UUID)
    /// `timeuuid` (a version 1 UUID).
    case timeuuid(UUID)
    /// `varint`.
    case varint(CQLVarint)
    /// `duration`.
    case duration(CQLDuration)
    /// `list`, in order.
    case list([CQLValue])
    /// `set`, in wire order (the server sorts it).
    case set([CQLValue])
    /// Map entries in wire order.
    case map([CQLMapEntry])
    /// `tuple`, by position.
    case tuple([CQLValue])
    /// UDT fields in declaration order.
    case udt([CQLUDTField])
    /// A custom type's opaque bytes.
    case custom([UInt8])
}

/// One entry of a ``CQLValue/map(_:)``.
public struct CQLMapEntry: Hashable, Sendable {
    /// The key.
    public var key: CQLValue
    /// The value.
    public var value: CQLValue

    /// An entry.
    public init(key: CQLValue, value: CQLValue) {
        self.key = key
        self.value = value
    }
}

/// One field of a ``CQLValue/udt(_:)``.
public struct CQLUDTField: Hashable, Sendable {
    /// The field's name.
    public var name: String
    /// The field's value.
    public var value: CQLValue

    /// A field.
    public init(name: String, value: CQLValue) {
        self.name = name
        self.value = value
    }
}

extension CQLValue {
    /// Decodes `bytes[range]` as `type`; a nil range is null.
    public static func decode(_ bytes: [UInt8], range: Range<Int>?, as type: DataType) throws(WireError) -> CQLValue {
        guard let range else { return .null }
        try ValueBytes.check(bytes, range, type.description)
        switch type {
        case .ascii: return .ascii(try ValueBytes.readText(bytes, range, type))
        case .varchar: return .text(try ValueBytes.readText(bytes, range, type))
        case .bigint: return .bigint(try ValueBytes.readSigned(bytes, range, width: 8, type))
        case .counter: return .counter(try ValueBytes.readSigned(bytes, range, width: 8, type))
        case .int: return .int(Int32(truncatingIfNeeded: try ValueBytes.readSigned(bytes, range, width: 4, type)))
        case .smallint: return .smallint(Int16(truncatingIfNeeded: try ValueBytes.readSigned(bytes, range, width: 2, type)))
        case .tinyint: return .tinyint(Int8(truncatingIfNeeded: try ValueBytes.readSigned(bytes, range, width: 1, type)))
        case .blob: return .blob(Array(bytes[range]))
        case .custom: return .custom(Array(bytes[range]))
        case .boolean: return .boolean(try Bool(cqlBytes: bytes, range: range, type: type))
        case .decimal: return .decimal(try CQLDecimal(cqlBytes: bytes, range: range, type: type))
        case .double: return .double(try Double(cqlBytes: bytes, range: range, type: type))
        case .float: return .float(try Float(cqlBytes: bytes, range: range, type: type))
        case .inet: return .inet(try InetAddress(cqlBytes: bytes, range: range, type: type))
        case .timestamp: return .timestamp(try ValueBytes.readSigned(bytes, range, width: 8, type))
        case .date: return .date(try CQLDate(cqlBytes: bytes, range: range, type: type))
        case .time: return .time(try CQLTime(cqlBytes: bytes, range: range, type: type))
        case .uuid: return .uuid(try UUID(cqlBytes: bytes, range: range, type: type))
        case .timeuuid: return .timeuuid(try UUID(cqlBytes: bytes, range: range, type: type))
        case .varint: return .varint(try CQLVarint(cqlBytes: bytes, range: range, type: type))
        case .duration: return .duration(try CQLDuration(cqlBytes: bytes, range: range, type: type))
        case let .list(element):
            return .list(try decodeElements(bytes, range, element, type))
        case let .set(element):
            return .set(try decodeElements(bytes, range, element, type))
        case let .map(keyType, valueType):
            let ranges = try CollectionBytes.entryRanges(bytes, range, type)
            var entries: [CQLMapEntry] = []
            entries.reserveCapacity(ranges.count)
            for entry in ranges {
                entries.append(CQLMapEntry(key: try decode(bytes, range: entry.key, as: keyType),
                                           value: try decode(bytes, range: entry.value, as: valueType)))
            }
            return .map(entries)
        case let .tuple(types):
            let ranges = try CollectionBytes.fieldRanges(bytes, range, fieldCount: types.count, type)
            var values: [CQLValue] = []
            values.reserveCapacity(types.count)
            for (fieldType, fieldRange) in zip(types, ranges) { values.append(try decode(bytes, range: fieldRange, as: fieldType)) }
            return .tuple(values)
        case let .udt(userType):
            let ranges = try CollectionBytes.fieldRanges(bytes, range, fieldCount: userType.fields.count, type)
            var fields: [CQLUDTField] = []
            fields.reserveCapacity(ranges.count)
            for (field, fieldRange) in zip(userType.fields, ranges) {
                fields.append(CQLUDTField(name: field.name, value: try decode(bytes, range: fieldRange, as: field.type)))
            }
            return .udt(fields)
        }
    }

    /// Decodes a whole `[UInt8]` as `type` (convenience for tools and tests).
    public static func decode(_ bytes: [UInt8], as type: DataType) throws(WireError) -> CQLValue {
        try decode(bytes, range: bytes.startIndex..<bytes.endIndex, as: type)
    }

    private static func decodeElements(_ bytes: [UInt8], _ range: Range<Int>, _ elementType: DataType,
                                       _ type: DataType) throws(WireError) -> [CQLValue] {
        let ranges = try CollectionBytes.elementRanges(bytes, range, type)
        var values: [CQLValue] = []
        values.reserveCapacity(ranges.count)
        for elementRange in ranges { values.append(try decode(bytes, range: elementRange, as: elementType)) }
        return values
    }

    /// The serialized content as `type`, or nil for null.
    ///
    /// Integer values convert to any integer type they fit; text to `ascii` only when ASCII.
    public func encode(as type: DataType) throws(WireError) -> [UInt8]? {
        if case .null = self { return nil }
        var writer = ByteWriter(capacity: 16)
        try encodeCQL(into: &writer, as: type)
        return writer.bytes
    }

    /// Whether this is ``null``.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The CQL type this value would be sent as without metadata (collection element types from the first element).
    public var naturalType: DataType {
        switch self {
        case .null, .blob: .blob
        case .ascii: .ascii
        case .bigint: .bigint
        case .boolean: .boolean
        case .counter: .counter
        case .decimal: .decimal
        case .double: .double
        case .float: .float
        case .inet: .inet
        case .int: .int
        case .smallint: .smallint
        case .tinyint: .tinyint
        case .text: .varchar
        case .timestamp: .timestamp
        case .date: .date
        case .time: .time
        case .uuid: .uuid
        case .timeuuid: .timeuuid
        case .varint: .varint
        case .duration: .duration
        case let .list(values): .list(Self.commonType(values))
        case let .set(values): .set(Self.commonType(values))
        case let .map(entries):
            .map(key: Self.commonType(entries.map(\.key)), value: Self.commonType(entries.map(\.value)))
        case let .tuple(values): .tuple(values.map(\.naturalType))
        case let .udt(fields):
            .udt(UserType(keyspace: "", name: "", fields: fields.map { .init(name: $0.name, type: $0.value.naturalType) }))
        case .custom: .blob
        }
    }

    private static func commonType(_ values: [CQLValue]) -> DataType {
        values.first(where: { !$0.isNull })?.naturalType ?? .blob
    }
}

extension CQLValue: CQLCodable {
    /// Decodes any CQL type.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        self = try Self.decode(cqlBytes, range: range, as: type)
    }

    /// Null is ``null``.
    public static func cqlNull() throws(WireError) -> CQLValue { .null }

    /// The value's content as `type`.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        switch self {
        case .null:
            throw .invalidValue(what: type.description, detail: "null has no content bytes")
        case let .bigint(value), let .counter(value):
            if type == .timestamp { return writer.writeInt64(value) }
            try ValueBytes.writeInteger(value, as: type, into: &writer, swiftType: "bigint")
        case let .int(value): try ValueBytes.writeInteger(Int64(value), as: type, into: &writer, swiftType: "int")
        case let .smallint(value): try ValueBytes.writeInteger(Int64(value), as: type, into: &writer, swiftType: "smallint")
        case let .tinyint(value): try ValueBytes.writeInteger(Int64(value), as: type, into: &writer, swiftType: "tinyint")
        case let .varint(value): try value.encodeCQL(into: &writer, as: type)
        case let .ascii(text), let .text(text): try text.encodeCQL(into: &writer, as: type)
        case let .blob(bytes), let .custom(bytes): try CQLBlob(bytes).encodeCQL(into: &writer, as: type)
        case let .boolean(value): try value.encodeCQL(into: &writer, as: type)
        case let .decimal(value): try value.encodeCQL(into: &writer, as: type)
        case let .double(value): try value.encodeCQL(into: &writer, as: type)
        case let .float(value): try value.encodeCQL(into: &writer, as: type)
        case let .inet(value): try value.encodeCQL(into: &writer, as: type)
        case let .timestamp(milliseconds):
            guard type == .timestamp || type == .bigint else { throw mismatch(type) }
            writer.writeInt64(milliseconds)
        case let .date(value): try value.encodeCQL(into: &writer, as: type)
        case let .time(value): try value.encodeCQL(into: &writer, as: type)
        case let .uuid(value), let .timeuuid(value): try value.encodeCQL(into: &writer, as: type)
        case let .duration(value): try value.encodeCQL(into: &writer, as: type)
        case let .list(values), let .set(values):
            switch type {
            case let .list(element), let .set(element):
                try CollectionBytes.writeElements(values, elementType: element, into: &writer, type)
            default:
                throw mismatch(type)
            }
        case let .map(entries):
            guard case let .map(keyType, valueType) = type else { throw mismatch(type) }
            guard let count = Int32(exactly: entries.count) else {
                throw .lengthTooLarge(what: type.description, length: entries.count, limit: Int(Int32.max))
            }
            writer.writeInt32(count)
            for entry in entries {
                try writer.writeCQLElement(entry.key, as: keyType)
                try writer.writeCQLElement(entry.value, as: valueType)
            }
        case let .tuple(values):
            guard case let .tuple(types) = type else { throw mismatch(type) }
            guard values.count <= types.count else {
                throw .invalidValue(what: type.description, detail: "\(values.count) elements for \(types.count) types")
            }
            for (value, elementType) in zip(values, types) { try writer.writeCQLElement(value, as: elementType) }
        case let .udt(fields):
            guard case let .udt(userType) = type else { throw mismatch(type) }
            var remaining = fields
            for field in userType.fields {
                let index = remaining.firstIndex { $0.name == field.name }
                let value = index.map { remaining.remove(at: $0).value } ?? .null
                try writer.writeCQLElement(value, as: field.type)
            }
            if let unknown = remaining.first {
                throw .invalidValue(what: type.description, detail: "no field named \(unknown.name)")
            }
        }
    }

    private func mismatch(_ type: DataType) -> WireError {
        .typeMismatch(expected: type.description, actual: "\(naturalType) value")
    }

    /// Null is `.null`; everything else its bytes.
    public func cqlWireValue(as type: DataType) throws(WireError) -> WireValue {
        guard let bytes = try encode(as: type) else { return .null }
        return .bytes(bytes)
    }

    /// `blob`: a dynamic value carries its type per instance (see ``inferredCQLType``).
    public static var defaultCQLType: DataType { .blob }

    /// The value's ``naturalType``.
    public var inferredCQLType: DataType { naturalType }
}
