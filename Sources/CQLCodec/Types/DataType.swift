/// A CQL type as the native protocol describes it in an `[option]` (specification section 4.2.5.2).
public indirect enum DataType: Hashable, Sendable {
    /// A server-side type named by its Java class (`org.apache.cassandra.db.marshal.…`).
    case custom(String)
    case ascii
    case bigint
    case blob
    case boolean
    case counter
    case decimal
    case double
    case float
    case int
    case timestamp
    case uuid
    case varchar
    case varint
    case timeuuid
    case inet
    case date
    case time
    case smallint
    case tinyint
    /// `duration`: sent as the custom type `DurationType` in protocol v4, option 0x0015 in v5.
    case duration
    case list(DataType)
    case map(key: DataType, value: DataType)
    case set(DataType)
    case udt(UserType)
    case tuple([DataType])

    /// The Java class Cassandra names `duration` by in protocol v4.
    public static let durationClass = "org.apache.cassandra.db.marshal.DurationType"

    /// The deepest nesting of collection, tuple and UDT types the decoder accepts.
    public static let maximumNesting = 32
}

/// A user-defined type: its keyspace, name and ordered fields.
public struct UserType: Hashable, Sendable {
    /// The keyspace the type belongs to.
    public var keyspace: String
    /// The type's name.
    public var name: String
    /// The fields in declaration order.
    public var fields: [Field]

    /// A field of a user-defined type.
    public struct Field: Hashable, Sendable {
        /// The field's name.
        public var name: String
        /// The field's type.
        public var type: DataType

        /// A field with a name and a type.
        public init(name: String, type: DataType) {
            self.name = name
            self.type = type
        }
    }

    /// A user-defined type.
    public init(keyspace: String, name: String, fields: [Field]) {
        self.keyspace = keyspace
        self.name = name
        self.fields = fields
    }
}

extension DataType: CustomStringConvertible {
    /// The CQL name of a native type (`text`, `bigint`, `duration`); nil for collections, tuples,
    /// UDTs and custom classes, whose text depends on their parameters.
    public var nativeName: String? {
        switch self {
        case .ascii: "ascii"
        case .bigint: "bigint"
        case .blob: "blob"
        case .boolean: "boolean"
        case .counter: "counter"
        case .decimal: "decimal"
        case .double: "double"
        case .float: "float"
        case .int: "int"
        case .timestamp: "timestamp"
        case .uuid: "uuid"
        case .varchar: "text"
        case .varint: "varint"
        case .timeuuid: "timeuuid"
        case .inet: "inet"
        case .date: "date"
        case .time: "time"
        case .smallint: "smallint"
        case .tinyint: "tinyint"
        case .duration: "duration"
        case .custom, .list, .set, .map, .udt, .tuple: nil
        }
    }

    /// The type as CQL writes it (`map<text, frozen<list<int>>>`); UDTs by name.
    public var description: String {
        if let nativeName { return nativeName }
        switch self {
        case let .custom(name): return name == Self.durationClass ? "duration" : "'\(name)'"
        case let .list(element): return "list<\(element.description)>"
        case let .set(element): return "set<\(element.description)>"
        case let .map(key, value): return "map<\(key.description), \(value.description)>"
        case let .tuple(elements): return "tuple<\(elements.map(\.description).joined(separator: ", "))>"
        case let .udt(type): return type.name
        default: return "unknown"
        }
    }
}

extension ByteReader {
    /// Reads an `[option]` describing a type, refusing nesting deeper than ``DataType/maximumNesting``.
    public mutating func readDataType() throws(WireError) -> DataType {
        try readDataType(depth: 0)
    }

    private mutating func readDataType(depth: Int) throws(WireError) -> DataType {
        guard depth < DataType.maximumNesting else { throw .nestingTooDeep(limit: DataType.maximumNesting) }
        let id = try readUInt16("[option] id")
        switch id {
        case 0x0000:
            let name = try readString("custom type class")
            return name == DataType.durationClass ? .duration : .custom(name)
        case 0x0001: return .ascii
        case 0x0002: return .bigint
        case 0x0003: return .blob
        case 0x0004: return .boolean
        case 0x0005: return .counter
        case 0x0006: return .decimal
        case 0x0007: return .double
        case 0x0008: return .float
        case 0x0009: return .int
        case 0x000B: return .timestamp
        case 0x000C: return .uuid
        case 0x000D: return .varchar
        case 0x000E: return .varint
        case 0x000F: return .timeuuid
        case 0x0010: return .inet
        case 0x0011: return .date
        case 0x0012: return .time
        case 0x0013: return .smallint
        case 0x0014: return .tinyint
        case 0x0015: return .duration
        case 0x0020: return .list(try readDataType(depth: depth + 1))
        case 0x0021:
            let key = try readDataType(depth: depth + 1)
            return .map(key: key, value: try readDataType(depth: depth + 1))
        case 0x0022: return .set(try readDataType(depth: depth + 1))
        case 0x0030:
            let keyspace = try readString("UDT keyspace")
            let name = try readString("UDT name")
            let count = Int(try readUInt16("UDT field count"))
            try require(count * 4, "UDT fields")
            var fields: [UserType.Field] = []
            fields.reserveCapacity(count)
            for _ in 0..<count {
                let fieldName = try readString("UDT field name")
                fields.append(.init(name: fieldName, type: try readDataType(depth: depth + 1)))
            }
            return .udt(UserType(keyspace: keyspace, name: name, fields: fields))
        case 0x0031:
            let count = Int(try readUInt16("tuple arity"))
            try require(count * 2, "tuple element types")
            var elements: [DataType] = []
            elements.reserveCapacity(count)
            for _ in 0..<count { elements.append(try readDataType(depth: depth + 1)) }
            return .tuple(elements)
        default:
            throw .invalidValue(what: "[option] id", detail: "unknown type id 0x\(String(id, radix: 16))")
        }
    }
}

extension ByteWriter {
    /// Appends an `[option]` describing `type` as protocol v4 writes it (`duration` as a custom type).
    public mutating func writeDataType(_ type: DataType) {
        switch type {
        case let .custom(name):
            writeUInt16(0x0000)
            writeString(name)
        case .ascii: writeUInt16(0x0001)
        case .bigint: writeUInt16(0x0002)
        case .blob: writeUInt16(0x0003)
        case .boolean: writeUInt16(0x0004)
        case .counter: writeUInt16(0x0005)
        case .decimal: writeUInt16(0x0006)
        case .double: writeUInt16(0x0007)
        case .float: writeUInt16(0x0008)
        case .int: writeUInt16(0x0009)
        case .timestamp: writeUInt16(0x000B)
        case .uuid: writeUInt16(0x000C)
        case .varchar: writeUInt16(0x000D)
        case .varint: writeUInt16(0x000E)
        case .timeuuid: writeUInt16(0x000F)
        case .inet: writeUInt16(0x0010)
        case .date: writeUInt16(0x0011)
        case .time: writeUInt16(0x0012)
        case .smallint: writeUInt16(0x0013)
        case .tinyint: writeUInt16(0x0014)
        case .duration:
            writeUInt16(0x0000)
            writeString(DataType.durationClass)
        case let .list(element):
            writeUInt16(0x0020)
            writeDataType(element)
        case let .map(key, value):
            writeUInt16(0x0021)
            writeDataType(key)
            writeDataType(value)
        case let .set(element):
            writeUInt16(0x0022)
            writeDataType(element)
        case let .udt(type):
            writeUInt16(0x0030)
            writeString(type.keyspace)
            writeString(type.name)
            writeUInt16(UInt16(clamping: type.fields.count))
            for field in type.fields {
                writeString(field.name)
                writeDataType(field.type)
            }
        case let .tuple(elements):
            writeUInt16(0x0031)
            writeUInt16(UInt16(clamping: elements.count))
            for element in elements { writeDataType(element) }
        }
    }
}
