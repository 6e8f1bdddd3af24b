/// A Swift type that can be read from a CQL value's serialized bytes (specification section 6).
///
/// One conformance per Swift type, each in its own file. Conformances check the column's
/// ``DataType`` and throw ``WireError/typeMismatch(expected:actual:)`` when the Swift type
/// cannot hold it; widening (an `int` into `Int64`) is allowed, narrowing is not.
public protocol CQLDecodable {
    /// Decodes `cqlBytes[range]`, the content of a non-null value of CQL type `type`.
    init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError)
    /// The value for a CQL null: `nil` for optionals; other types throw.
    static func cqlNull() throws(WireError) -> Self
}

extension CQLDecodable {
    /// Non-optional types refuse null with a readable error.
    public static func cqlNull() throws(WireError) -> Self {
        throw .invalidValue(what: "value", detail: "unexpected null for non-optional \(Self.self)")
    }

    /// Decodes a value that may be null (`range` nil).
    public static func decodeCQL(_ bytes: [UInt8], range: Range<Int>?, type: DataType) throws(WireError) -> Self {
        guard let range else { return try cqlNull() }
        return try Self(cqlBytes: bytes, range: range, type: type)
    }
}

/// A Swift type that can be written as a CQL value's serialized bytes.
public protocol CQLEncodable {
    /// Appends the value's content bytes as CQL type `type` (the caller writes the length).
    func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError)
    /// The CQL type used when no statement metadata says otherwise (simple statements).
    static var defaultCQLType: DataType { get }
    /// The CQL type this particular value would be sent as without metadata.
    var inferredCQLType: DataType { get }
    /// The whole `[value]`: bytes, or `.null` / `.unset` for optionals and ``CQLUnset``.
    func cqlWireValue(as type: DataType) throws(WireError) -> WireValue
}

extension CQLEncodable {
    /// Most values are sent as their type's default.
    public var inferredCQLType: DataType { Self.defaultCQLType }

    /// Most values are never null: their content bytes.
    public func cqlWireValue(as type: DataType) throws(WireError) -> WireValue {
        var writer = ByteWriter(capacity: 16)
        try encodeCQL(into: &writer, as: type)
        return .bytes(writer.bytes)
    }

    /// The value as a `[value]` of its own inferred type.
    public func cqlWireValue() throws(WireError) -> WireValue {
        try cqlWireValue(as: inferredCQLType)
    }
}

/// Both directions.
public typealias CQLCodable = CQLDecodable & CQLEncodable

/// A bound value that leaves its column untouched (`[value]` length -2, protocol v4).
public struct CQLUnset: CQLEncodable, Encodable, Hashable, Sendable {
    /// The unset marker.
    public init() {}

    /// The unset marker.
    public static let unset = CQLUnset()

    /// Unset has no content; writing it inside a collection is an error.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        throw .invalidValue(what: type.description, detail: "unset is only allowed as a whole bound value")
    }

    /// Unset binds to any column.
    public static var defaultCQLType: DataType { .blob }

    /// Always `.unset`.
    public func cqlWireValue(as type: DataType) throws(WireError) -> WireValue { .unset }

    /// Encoders other than `CQLBinder` (which binds `.unset`) see nil.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encodeNil()
    }
}

extension ByteWriter {
    /// Appends `value` as a `[bytes]` element of a collection, tuple or UDT (null allowed, unset refused).
    public mutating func writeCQLElement(_ value: some CQLEncodable, as type: DataType) throws(WireError) {
        switch try value.cqlWireValue(as: type) {
        case .null: writeInt32(-1)
        case .unset: throw .invalidValue(what: type.description, detail: "unset inside a collection, tuple or UDT")
        case let .bytes(content):
            guard let length = Int32(exactly: content.count) else {
                throw .lengthTooLarge(what: type.description, length: content.count, limit: Int(Int32.max))
            }
            writeInt32(length)
            writeRaw(content)
        }
    }
}
