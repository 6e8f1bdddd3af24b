import Foundation

/// Decodes one cell into any `Decodable`: CQL-native Swift types through ``CQLDecodable``
/// (fast, no intermediate values), structs from UDTs by field name, arrays and sets from
/// lists and sets, tuples positionally, dictionaries from maps.
enum CellDecoding {
    /// Decodes `buffer[range]` of CQL type `type` as `T`; errors name `context()`.
    static func decode<T: Decodable>(_: T.Type, buffer: [UInt8], range: Range<Int>?, type: DataType,
                                     codingPath: @autoclosure () -> [any CodingKey],
                                     context: () -> String) throws -> T {
        // The usual column types by identity: no conformance lookup, no existential, no dynamic cast.
        if T.self == UUID.self { return try same(decodeCQL(UUID.self, buffer: buffer, range: range, type: type, context: context)) }
        if T.self == Date.self { return try same(decodeCQL(Date.self, buffer: buffer, range: range, type: type, context: context)) }
        if T.self == Data.self { return try same(decodeCQL(Data.self, buffer: buffer, range: range, type: type, context: context)) }
        if T.self == [UInt8].self {
            let blob = try decodeCQL(CQLBlob.self, buffer: buffer, range: range, type: type, context: context)
            if let bytes = blob.bytes as? T { return bytes }
        }
        if let native = T.self as? any CQLDecodable.Type {
            let value: any CQLDecodable
            do throws(WireError) {
                if let range {
                    value = try native.init(cqlBytes: buffer, range: range, type: type)
                } else {
                    value = try native.cqlNull()
                }
            } catch {
                throw error.inContext(context())
            }
            if let typed = value as? T { return typed }
        }
        return try T(from: CellDecoder(buffer: buffer, range: range, type: type, codingPath: codingPath(), context: context()))
    }

    /// `value` as `T`, which the caller has checked is `U` itself.
    @inline(__always)
    private static func same<T, U>(_ value: U) throws -> T {
        guard T.self == U.self else {
            throw WireError.invalidValue(what: "decoder", detail: "\(U.self) is not \(T.self)")
        }
        // Sound: T and U are the same type, so this is the identity.
        return unsafeBitCast(value, to: T.self)
    }

    /// Decodes a ``CQLDecodable`` without dynamic casts; errors name `context()`.
    @inline(__always)
    static func decodeCQL<T: CQLDecodable>(_: T.Type, buffer: [UInt8], range: Range<Int>?, type: DataType,
                                           context: () -> String) throws(WireError) -> T {
        do throws(WireError) {
            return try T.decodeCQL(buffer, range: range, type: type)
        } catch {
            throw error.inContext(context())
        }
    }

    /// Decodes an unsigned Swift integer through Int64, refusing negative or too large values.
    static func decodeUnsigned<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, buffer: [UInt8], range: Range<Int>?,
                                                                       type: DataType, context: () -> String) throws(WireError) -> T {
        let value = try decodeCQL(Int64.self, buffer: buffer, range: range, type: type, context: context)
        guard let exact = T(exactly: value) else {
            throw WireError.invalidValue(what: type.description, detail: "\(value) does not fit in \(T.self)").inContext(context())
        }
        return exact
    }
}

/// A `Decoder` over one cell; its containers read UDT fields, collection elements and map entries in place.
struct CellDecoder: Decoder {
    let buffer: [UInt8]
    let range: Range<Int>?
    let type: DataType
    let codingPath: [any CodingKey]
    let context: String
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy _: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let range = try nonNull("a keyed container (struct or dictionary)")
        switch type {
        case let .udt(userType):
            let ranges = try CollectionBytes.fieldRanges(buffer, range, fieldCount: userType.fields.count, type)
            let cells = FieldCells(buffer: buffer, ranges: ranges, types: userType.fields.map(\.type),
                                   names: userType.fields.map(\.name), parent: context)
            return KeyedDecodingContainer(CellKeyedContainer<Key, FieldCells>(cells: cells, codingPath: codingPath))
        case let .map(keyType, valueType):
            let cells = try MapCells(buffer: buffer, range: range, keyType: keyType, valueType: valueType, type: type,
                                     alternating: false, parent: context)
            return KeyedDecodingContainer(CellKeyedContainer<Key, MapCells>(cells: cells, codingPath: codingPath))
        default:
            throw WireError.typeMismatch(expected: "a UDT or map for a keyed container", actual: "\(type) in \(context)")
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let range = try nonNull("an unkeyed container (array, set or tuple)")
        switch type {
        case let .list(element), let .set(element):
            let ranges = try CollectionBytes.elementRanges(buffer, range, type)
            return CellUnkeyedContainer(cells: FieldCells(buffer: buffer, ranges: ranges, types: [element], names: nil, parent: context),
                                        codingPath: codingPath)
        case let .tuple(types):
            let ranges = try CollectionBytes.fieldRanges(buffer, range, fieldCount: types.count, type)
            return CellUnkeyedContainer(cells: FieldCells(buffer: buffer, ranges: ranges, types: types, names: nil, parent: context),
                                        codingPath: codingPath)
        case let .udt(userType):
            let ranges = try CollectionBytes.fieldRanges(buffer, range, fieldCount: userType.fields.count, type)
            let cells = FieldCells(buffer: buffer, ranges: ranges, types: userType.fields.map(\.type),
                                   names: userType.fields.map(\.name), parent: context)
            return CellUnkeyedContainer(cells: cells, codingPath: codingPath)
        case let .map(keyType, valueType):
            let cells = try MapCells(buffer: buffer, range: range, keyType: keyType, valueType: valueType, type: type,
                                     alternating: true, parent: context)
            return CellUnkeyedContainer(cells: cells, codingPath: codingPath)
        default:
            throw WireError.typeMismatch(expected: "a list, set, tuple, UDT or map for an unkeyed container", actual: "\(type) in \(context)")
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        CellSingleValueContainer(buffer: buffer, range: range, type: type, codingPath: codingPath, context: context)
    }

    private func nonNull(_ what: String) throws(WireError) -> Range<Int> {
        guard let range else { throw .invalidValue(what: context, detail: "unexpected null for \(what)") }
        return range
    }
}

/// A single cell as a single-value container.
struct CellSingleValueContainer: SingleValueDecodingContainer {
    let buffer: [UInt8]
    let range: Range<Int>?
    let type: DataType
    let codingPath: [any CodingKey]
    let context: String

    func decodeNil() -> Bool { range == nil }

    func decode<T: Decodable>(_: T.Type) throws -> T {
        try CellDecoding.decode(T.self, buffer: buffer, range: range, type: type, codingPath: codingPath, context: { context })
    }

    private func native<T: CQLDecodable>(_: T.Type) throws(WireError) -> T {
        try CellDecoding.decodeCQL(T.self, buffer: buffer, range: range, type: type, context: { context })
    }

    private func unsigned<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) throws(WireError) -> T {
        try CellDecoding.decodeUnsigned(T.self, buffer: buffer, range: range, type: type, context: { context })
    }

    func decode(_: Bool.Type) throws -> Bool { try native(Bool.self) }
    func decode(_: String.Type) throws -> String { try native(String.self) }
    func decode(_: Double.Type) throws -> Double { try native(Double.self) }
    func decode(_: Float.Type) throws -> Float { try native(Float.self) }
    func decode(_: Int.Type) throws -> Int { try native(Int.self) }
    func decode(_: Int8.Type) throws -> Int8 { try native(Int8.self) }
    func decode(_: Int16.Type) throws -> Int16 { try native(Int16.self) }
    func decode(_: Int32.Type) throws -> Int32 { try native(Int32.self) }
    func decode(_: Int64.Type) throws -> Int64 { try native(Int64.self) }
    func decode(_: UInt.Type) throws -> UInt { try unsigned(UInt.self) }
    func decode(_: UInt8.Type) throws -> UInt8 { try unsigned(UInt8.self) }
    func decode(_: UInt16.Type) throws -> UInt16 { try unsigned(UInt16.self) }
    func decode(_: UInt32.Type) throws -> UInt32 { try unsigned(UInt32.self) }
    func decode(_: UInt64.Type) throws -> UInt64 { try unsigned(UInt64.self) }
}

/// A keyed container over row columns, UDT fields or map entries.
struct CellKeyedContainer<Key: CodingKey, Cells: CellList>: KeyedDecodingContainerProtocol {
    let cells: Cells
    let codingPath: [any CodingKey]

    var allKeys: [Key] { (0..<cells.count).compactMap { Key(stringValue: cells.key(at: $0)) } }

    func contains(_ key: Key) -> Bool { cells.index(forKey: key.stringValue) != nil }

    private func locate(_ key: Key) throws(WireError) -> Int {
        guard let index = cells.index(forKey: key.stringValue) else {
            let known = (0..<cells.count).map { cells.key(at: $0) }.joined(separator: ", ")
            throw .invalidValue(what: "key \"\(key.stringValue)\"", detail: "no such column or field (have: \(known))")
        }
        return index
    }

    func decodeNil(forKey key: Key) throws -> Bool { try cells.cell(at: try locate(key)).range == nil }

    func decode<T: Decodable>(_: T.Type, forKey key: Key) throws -> T {
        let index = try locate(key)
        let cell = try cells.cell(at: index)
        return try CellDecoding.decode(T.self, buffer: cells.buffer, range: cell.range, type: cell.type,
                                       codingPath: codingPath + [key], context: { cells.context(at: index) })
    }

    private func native<T: CQLDecodable>(_: T.Type, _ key: Key) throws(WireError) -> T {
        let index = try locate(key)
        let cell = try cells.cell(at: index)
        return try CellDecoding.decodeCQL(T.self, buffer: cells.buffer, range: cell.range, type: cell.type,
                                          context: { cells.context(at: index) })
    }

    private func unsigned<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, _ key: Key) throws(WireError) -> T {
        let index = try locate(key)
        let cell = try cells.cell(at: index)
        return try CellDecoding.decodeUnsigned(T.self, buffer: cells.buffer, range: cell.range, type: cell.type,
                                               context: { cells.context(at: index) })
    }

    func decode(_: Bool.Type, forKey key: Key) throws -> Bool { try native(Bool.self, key) }
    func decode(_: String.Type, forKey key: Key) throws -> String { try native(String.self, key) }
    func decode(_: Double.Type, forKey key: Key) throws -> Double { try native(Double.self, key) }
    func decode(_: Float.Type, forKey key: Key) throws -> Float { try native(Float.self, key) }
    func decode(_: Int.Type, forKey key: Key) throws -> Int { try native(Int.self, key) }
    func decode(_: Int8.Type, forKey key: Key) throws -> Int8 { try native(Int8.self, key) }
    func decode(_: Int16.Type, forKey key: Key) throws -> Int16 { try native(Int16.self, key) }
    func decode(_: Int32.Type, forKey key: Key) throws -> Int32 { try native(Int32.self, key) }
    func decode(_: Int64.Type, forKey key: Key) throws -> Int64 { try native(Int64.self, key) }
    func decode(_: UInt.Type, forKey key: Key) throws -> UInt { try unsigned(UInt.self, key) }
    func decode(_: UInt8.Type, forKey key: Key) throws -> UInt8 { try unsigned(UInt8.self, key) }
    func decode(_: UInt16.Type, forKey key: Key) throws -> UInt16 { try unsigned(UInt16.self, key) }
    func decode(_: UInt32.Type, forKey key: Key) throws -> UInt32 { try unsigned(UInt32.self, key) }
    func decode(_: UInt64.Type, forKey key: Key) throws -> UInt64 { try unsigned(UInt64.self, key) }

    private func cellDecoder(_ key: Key) throws -> CellDecoder {
        let index = try locate(key)
        let cell = try cells.cell(at: index)
        return CellDecoder(buffer: cells.buffer, range: cell.range, type: cell.type,
                           codingPath: codingPath + [key], context: cells.context(at: index))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try cellDecoder(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try cellDecoder(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        throw WireError.invalidValue(what: "decoder", detail: "super decoders are not supported for CQL rows")
    }

    func superDecoder(forKey key: Key) throws -> any Decoder { try cellDecoder(key) }
}

/// An unkeyed container over row columns, collection elements, tuple or UDT fields, or map entries.
struct CellUnkeyedContainer<Cells: CellList>: UnkeyedDecodingContainer {
    let cells: Cells
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(cells: Cells, codingPath: [any CodingKey]) {
        self.cells = cells
        self.codingPath = codingPath
    }

    var count: Int? { cells.count }
    var isAtEnd: Bool { currentIndex >= cells.count }

    private func current() throws(WireError) -> (range: Range<Int>?, type: DataType) {
        guard currentIndex < cells.count else {
            throw .invalidValue(what: "unkeyed container", detail: "read past the last of \(cells.count) elements")
        }
        return try cells.cell(at: currentIndex)
    }

    mutating func decodeNil() throws -> Bool {
        guard try current().range == nil else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_: T.Type) throws -> T {
        let cell = try current()
        let index = currentIndex
        let value = try CellDecoding.decode(T.self, buffer: cells.buffer, range: cell.range, type: cell.type,
                                            codingPath: codingPath + [CellCodingKey(intValue: index)],
                                            context: { cells.context(at: index) })
        currentIndex += 1
        return value
    }

    private mutating func native<T: CQLDecodable>(_: T.Type) throws(WireError) -> T {
        let cell = try current()
        let index = currentIndex
        let value = try CellDecoding.decodeCQL(T.self, buffer: cells.buffer, range: cell.range, type: cell.type,
                                               context: { cells.context(at: index) })
        currentIndex += 1
        return value
    }

    private mutating func unsigned<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) throws(WireError) -> T {
        let cell = try current()
        let index = currentIndex
        let value = try CellDecoding.decodeUnsigned(T.self, buffer: cells.buffer, range: cell.range, type: cell.type,
                                                    context: { cells.context(at: index) })
        currentIndex += 1
        return value
    }

    mutating func decode(_: Bool.Type) throws -> Bool { try native(Bool.self) }
    mutating func decode(_: String.Type) throws -> String { try native(String.self) }
    mutating func decode(_: Double.Type) throws -> Double { try native(Double.self) }
    mutating func decode(_: Float.Type) throws -> Float { try native(Float.self) }
    mutating func decode(_: Int.Type) throws -> Int { try native(Int.self) }
    mutating func decode(_: Int8.Type) throws -> Int8 { try native(Int8.self) }
    mutating func decode(_: Int16.Type) throws -> Int16 { try native(Int16.self) }
    mutating func decode(_: Int32.Type) throws -> Int32 { try native(Int32.self) }
    mutating func decode(_: Int64.Type) throws -> Int64 { try native(Int64.self) }
    mutating func decode(_: UInt.Type) throws -> UInt { try unsigned(UInt.self) }
    mutating func decode(_: UInt8.Type) throws -> UInt8 { try unsigned(UInt8.self) }
    mutating func decode(_: UInt16.Type) throws -> UInt16 { try unsigned(UInt16.self) }
    mutating func decode(_: UInt32.Type) throws -> UInt32 { try unsigned(UInt32.self) }
    mutating func decode(_: UInt64.Type) throws -> UInt64 { try unsigned(UInt64.self) }

    private mutating func nextDecoder() throws -> CellDecoder {
        let cell = try current()
        let decoder = CellDecoder(buffer: cells.buffer, range: cell.range, type: cell.type,
                                  codingPath: codingPath + [CellCodingKey(intValue: currentIndex)],
                                  context: cells.context(at: currentIndex))
        currentIndex += 1
        return decoder
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try nextDecoder().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try nextDecoder().unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try nextDecoder() }
}
