import Foundation

/// Turns Swift values into bound `[value]`s for QUERY and EXECUTE, typed by the statement's
/// bind-marker metadata when there is some, or by each Swift type's default CQL type.
///
/// `nil` binds `.null`, ``CQLUnset`` binds `.unset`. Values go straight through
/// ``CQLEncodable``; other `Encodable` values map structs to UDTs (by field name), arrays and
/// sets to lists and sets, arrays to tuples by position, and dictionaries to maps.
package enum CQLBinder {
    /// Binds the stored properties of `value` to the bind markers of the same name
    /// (a Swift `jobId` also finds `job_id`); a marker without a property binds null.
    ///
    /// A value that is one ``CQLEncodable`` binds a single marker; an unkeyed value (an
    /// array) binds markers by position. A property that names no marker is an error.
    package static func encodeValues<T: Encodable>(_ value: T, for columns: [ColumnSpec]) throws -> [WireValue] {
        let root = try ValueNode.encode(value)
        switch root.content {
        case let .keyed(entries):
            var used = Set<String>()
            var values: [WireValue] = []
            values.reserveCapacity(columns.count)
            for column in columns {
                let match = entries.first { $0.key == column.name }
                    ?? entries.first { ColumnNameIndex.normalize($0.key) == ColumnNameIndex.normalize(column.name) }
                guard let match else {
                    values.append(.null)
                    continue
                }
                used.insert(match.key)
                values.append(try bind(match.node, as: column.type, context: "bind marker \"\(column.name)\""))
            }
            if let unknown = entries.first(where: { !used.contains($0.key) }) {
                throw WireError.invalidValue(what: "bound value \"\(unknown.key)\"",
                                             detail: "no bind marker of that name (markers: \(columns.map(\.name).joined(separator: ", ")))")
            }
            return values
        case let .unkeyed(items):
            try checkCount(items.count, columns.count)
            return try zip(items, columns).map { item, column in
                try bind(item, as: column.type, context: "bind marker \"\(column.name)\"")
            }
        case .value, .null, .empty:
            try checkCount(1, columns.count)
            return [try bind(root, as: columns[0].type, context: "bind marker \"\(columns[0].name)\"")]
        }
    }

    /// Binds values by position to markers of the given types.
    package static func encodeValues(_ values: [any CQLEncodable], types: [DataType]) throws(WireError) -> [WireValue] {
        try checkCount(values.count, types.count)
        var bound: [WireValue] = []
        bound.reserveCapacity(values.count)
        for (index, (value, type)) in zip(values, types).enumerated() {
            do throws(WireError) {
                bound.append(try value.cqlWireValue(as: type))
            } catch {
                throw error.inContext("bound value \(index)")
            }
        }
        return bound
    }

    /// Binds values by position to the markers of a prepared statement.
    package static func encodeValues(_ values: [any CQLEncodable], for columns: [ColumnSpec]) throws(WireError) -> [WireValue] {
        // The same as encodeValues(_:types:) without building an array of the types on every bind.
        try checkCount(values.count, columns.count)
        var bound: [WireValue] = []
        bound.reserveCapacity(values.count)
        for index in values.indices {
            do throws(WireError) {
                bound.append(try values[index].cqlWireValue(as: columns[index].type))
            } catch {
                throw error.inContext("bound value \(index)")
            }
        }
        return bound
    }

    /// Binds values for a statement without metadata, each as its Swift type's default CQL type
    /// (`Int` as `bigint`, `String` as `text`, `Date` as `timestamp`, ...).
    package static func encodeValues(_ values: [any CQLEncodable]) throws(WireError) -> [WireValue] {
        try encodeValues(values, types: values.map(\.inferredCQLType))
    }

    /// Binds named values for a statement without metadata (QUERY's `names for values`), in the given order.
    package static func encodeNamedValues(_ values: [(name: String, value: any CQLEncodable)]) throws(WireError) -> [(name: String, value: WireValue)] {
        var bound: [(name: String, value: WireValue)] = []
        bound.reserveCapacity(values.count)
        for (name, value) in values {
            do throws(WireError) {
                bound.append((name, try value.cqlWireValue(as: value.inferredCQLType)))
            } catch {
                throw error.inContext("bound value \"\(name)\"")
            }
        }
        return bound
    }

    private static func checkCount(_ given: Int, _ expected: Int) throws(WireError) {
        guard given == expected else {
            throw .invalidValue(what: "bound values", detail: "\(given) values for \(expected) bind markers")
        }
    }

    /// The `[value]` of an encoded node as `type`.
    static func bind(_ node: ValueNode, as type: DataType, context: String) throws -> WireValue {
        do throws(WireError) {
            return try node.wireValue(as: type)
        } catch {
            throw error.inContext(context)
        }
    }
}

/// What an `Encodable` value encoded to: a tree whose leaves are ``CQLEncodable`` values.
final class ValueNode {
    enum Content {
        case empty
        case null
        case value(any CQLEncodable)
        case keyed([(key: String, node: ValueNode)])
        case unkeyed([ValueNode])
    }

    var content: Content = .empty

    /// Encodes `value` into a new tree.
    static func encode<T: Encodable>(_ value: T) throws -> ValueNode {
        let node = ValueNode()
        try node.store(value, codingPath: [])
        return node
    }

    /// Stores `value` here: CQL-native values as leaves, others through their `Encodable` conformance.
    func store<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        if let bytes = value as? [UInt8] {
            content = .value(CQLBlob(bytes))
        } else if let native = value as? any CQLEncodable {
            content = .value(native)
        } else {
            try value.encode(to: NodeEncoder(node: self, codingPath: codingPath))
        }
    }

    func appendKeyed(_ key: String) -> ValueNode {
        let child = ValueNode()
        if case var .keyed(entries) = content {
            content = .empty
            entries.append((key, child))
            content = .keyed(entries)
        } else {
            content = .keyed([(key, child)])
        }
        return child
    }

    func appendUnkeyed() -> ValueNode {
        let child = ValueNode()
        if case var .unkeyed(items) = content {
            content = .empty
            items.append(child)
            content = .unkeyed(items)
        } else {
            content = .unkeyed([child])
        }
        return child
    }

    var itemCount: Int {
        if case let .unkeyed(items) = content { return items.count }
        return 0
    }

    /// The node as a `[value]` of CQL type `type`.
    func wireValue(as type: DataType) throws(WireError) -> WireValue {
        switch content {
        case .empty, .null:
            return .null
        case let .value(native):
            return try native.cqlWireValue(as: type)
        case .keyed, .unkeyed:
            var writer = ByteWriter(capacity: 64)
            try write(as: type, into: &writer)
            return .bytes(writer.bytes)
        }
    }

    private func writeElement(_ node: ValueNode, as type: DataType, into writer: inout ByteWriter) throws(WireError) {
        switch try node.wireValue(as: type) {
        case .null: writer.writeInt32(-1)
        case .unset: throw .invalidValue(what: type.description, detail: "unset inside a collection, tuple or UDT")
        case let .bytes(content):
            guard let length = Int32(exactly: content.count) else {
                throw .lengthTooLarge(what: type.description, length: content.count, limit: Int(Int32.max))
            }
            writer.writeInt32(length)
            writer.writeRaw(content)
        }
    }

    private func writeCount(_ count: Int, _ type: DataType, into writer: inout ByteWriter) throws(WireError) {
        guard let count32 = Int32(exactly: count) else {
            throw .lengthTooLarge(what: type.description, length: count, limit: Int(Int32.max))
        }
        writer.writeInt32(count32)
    }

    private func write(as type: DataType, into writer: inout ByteWriter) throws(WireError) {
        switch (content, type) {
        case let (.keyed(entries), .udt(userType)):
            for field in userType.fields {
                let match = entries.first { $0.key == field.name }
                    ?? entries.first { ColumnNameIndex.normalize($0.key) == ColumnNameIndex.normalize(field.name) }
                try writeElement(match?.node ?? ValueNode(), as: field.type, into: &writer)
            }
            let names = Set(userType.fields.map { ColumnNameIndex.normalize($0.name) })
            if let unknown = entries.first(where: { !names.contains(ColumnNameIndex.normalize($0.key)) }) {
                throw .invalidValue(what: type.description, detail: "no field named \(unknown.key)")
            }
        case let (.keyed(entries), .map(keyType, valueType)):
            try writeCount(entries.count, type, into: &writer)
            for entry in entries {
                let keyNode = ValueNode()
                keyNode.content = .value(try Self.mapKey(entry.key, as: keyType))
                try writeElement(keyNode, as: keyType, into: &writer)
                try writeElement(entry.node, as: valueType, into: &writer)
            }
        case let (.unkeyed(items), .list(element)), let (.unkeyed(items), .set(element)):
            try writeCount(items.count, type, into: &writer)
            for item in items { try writeElement(item, as: element, into: &writer) }
        case let (.unkeyed(items), .tuple(types)):
            guard items.count <= types.count else {
                throw .invalidValue(what: type.description, detail: "\(items.count) elements for \(types.count) types")
            }
            for (item, elementType) in zip(items, types) { try writeElement(item, as: elementType, into: &writer) }
        case let (.unkeyed(items), .udt(userType)):
            guard items.count <= userType.fields.count else {
                throw .invalidValue(what: type.description, detail: "\(items.count) values for \(userType.fields.count) fields")
            }
            for (item, field) in zip(items, userType.fields) { try writeElement(item, as: field.type, into: &writer) }
        case let (.unkeyed(items), .map(keyType, valueType)):
            guard items.count % 2 == 0 else {
                throw .invalidValue(what: type.description, detail: "an odd number of alternating keys and values")
            }
            try writeCount(items.count / 2, type, into: &writer)
            for index in stride(from: 0, to: items.count, by: 2) {
                try writeElement(items[index], as: keyType, into: &writer)
                try writeElement(items[index + 1], as: valueType, into: &writer)
            }
        case (.keyed, _):
            throw .typeMismatch(expected: type.description, actual: "a keyed Swift value (struct or dictionary)")
        case (.unkeyed, _):
            throw .typeMismatch(expected: type.description, actual: "an unkeyed Swift value (array or set)")
        case (.empty, _), (.null, _), (.value, _):
            switch try wireValue(as: type) {
            case let .bytes(content): writer.writeRaw(content)
            case .null, .unset: throw .invalidValue(what: type.description, detail: "null has no content bytes")
            }
        }
    }

    /// A dictionary's `String` coding key as a CQL map key of `type`.
    private static func mapKey(_ key: String, as type: DataType) throws(WireError) -> any CQLEncodable {
        switch type {
        case .varchar, .ascii: return key
        case .tinyint, .smallint, .int, .bigint, .counter, .varint:
            if let value = Int64(key) { return value }
        case .uuid, .timeuuid:
            if let value = UUID(uuidString: key) { return value }
        default: break
        }
        throw .typeMismatch(expected: type.description, actual: "map key \"\(key)\"")
    }
}

/// The `Encoder` that builds a ``ValueNode`` tree.
struct NodeEncoder: Encoder {
    let node: ValueNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy _: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .keyed = node.content {} else { node.content = .keyed([]) }
        return KeyedEncodingContainer(NodeKeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .unkeyed = node.content {} else { node.content = .unkeyed([]) }
        return NodeUnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        NodeSingleValueContainer(node: node, codingPath: codingPath)
    }
}

/// Stores unsigned integers as Int64 leaves (refusing those above Int64.max).
private func unsignedLeaf<T: FixedWidthInteger & UnsignedInteger>(_ value: T) throws -> any CQLEncodable {
    guard let exact = Int64(exactly: value) else {
        throw WireError.invalidValue(what: "\(T.self) value", detail: "\(value) does not fit in a CQL bigint")
    }
    return exact
}

struct NodeSingleValueContainer: SingleValueEncodingContainer {
    let node: ValueNode
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.content = .null }
    mutating func encode<T: Encodable>(_ value: T) throws { try node.store(value, codingPath: codingPath) }
    mutating func encode(_ value: Bool) throws { node.content = .value(value) }
    mutating func encode(_ value: String) throws { node.content = .value(value) }
    mutating func encode(_ value: Double) throws { node.content = .value(value) }
    mutating func encode(_ value: Float) throws { node.content = .value(value) }
    mutating func encode(_ value: Int) throws { node.content = .value(value) }
    mutating func encode(_ value: Int8) throws { node.content = .value(value) }
    mutating func encode(_ value: Int16) throws { node.content = .value(value) }
    mutating func encode(_ value: Int32) throws { node.content = .value(value) }
    mutating func encode(_ value: Int64) throws { node.content = .value(value) }
    mutating func encode(_ value: UInt) throws { node.content = .value(try unsignedLeaf(value)) }
    mutating func encode(_ value: UInt8) throws { node.content = .value(try unsignedLeaf(value)) }
    mutating func encode(_ value: UInt16) throws { node.content = .value(try unsignedLeaf(value)) }
    mutating func encode(_ value: UInt32) throws { node.content = .value(try unsignedLeaf(value)) }
    mutating func encode(_ value: UInt64) throws { node.content = .value(try unsignedLeaf(value)) }
}

struct NodeKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: ValueNode
    let codingPath: [any CodingKey]

    private func leaf(_ key: Key) -> ValueNode { node.appendKeyed(key.stringValue) }

    mutating func encodeNil(forKey key: Key) throws { leaf(key).content = .null }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try leaf(key).store(value, codingPath: codingPath + [key])
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws { leaf(key).content = .value(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { leaf(key).content = .value(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { leaf(key).content = .value(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { leaf(key).content = .value(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { leaf(key).content = .value(value) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { leaf(key).content = .value(value) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { leaf(key).content = .value(value) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { leaf(key).content = .value(value) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { leaf(key).content = .value(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { leaf(key).content = .value(try unsignedLeaf(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { leaf(key).content = .value(try unsignedLeaf(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { leaf(key).content = .value(try unsignedLeaf(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { leaf(key).content = .value(try unsignedLeaf(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { leaf(key).content = .value(try unsignedLeaf(value)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        NodeEncoder(node: leaf(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        NodeEncoder(node: leaf(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.appendKeyed("super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { NodeEncoder(node: leaf(key), codingPath: codingPath + [key]) }
}

struct NodeUnkeyedContainer: UnkeyedEncodingContainer {
    let node: ValueNode
    let codingPath: [any CodingKey]
    var count: Int { node.itemCount }

    private func leaf() -> ValueNode { node.appendUnkeyed() }

    mutating func encodeNil() throws { leaf().content = .null }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let child = leaf()
        try child.store(value, codingPath: codingPath + [CellCodingKey(intValue: count - 1)])
    }
    mutating func encode(_ value: Bool) throws { leaf().content = .value(value) }
    mutating func encode(_ value: String) throws { leaf().content = .value(value) }
    mutating func encode(_ value: Double) throws { leaf().content = .value(value) }
    mutating func encode(_ value: Float) throws { leaf().content = .value(value) }
    mutating func encode(_ value: Int) throws { leaf().content = .value(value) }
    mutating func encode(_ value: Int8) throws { leaf().content = .value(value) }
    mutating func encode(_ value: Int16) throws { leaf().content = .value(value) }
    mutating func encode(_ value: Int32) throws { leaf().content = .value(value) }
    mutating func encode(_ value: Int64) throws { leaf().content = .value(value) }
    mutating func encode(_ value: UInt) throws { leaf().content = .value(try unsignedLeaf(value)) }
    mutating func encode(_ value: UInt8) throws { leaf().content = .value(try unsignedLeaf(value)) }
    mutating func encode(_ value: UInt16) throws { leaf().content = .value(try unsignedLeaf(value)) }
    mutating func encode(_ value: UInt32) throws { leaf().content = .value(try unsignedLeaf(value)) }
    mutating func encode(_ value: UInt64) throws { leaf().content = .value(try unsignedLeaf(value)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        NodeEncoder(node: leaf(), codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        NodeEncoder(node: leaf(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { NodeEncoder(node: leaf(), codingPath: codingPath) }
}
