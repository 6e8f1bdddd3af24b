public import Foundation

extension UUID: CQLCodable {
    /// Decodes `uuid` or `timeuuid`.
    @inlinable
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        switch type {
        case .uuid, .timeuuid:
            if let value = InlineValue.uuid(cqlBytes, range) {
                self = value
                return
            }
        default: break
        }
        self = try Self.checkedCQL(cqlBytes, range: range, type: type)
    }

    /// The checked decoder, which also says what is wrong.
    @usableFromInline
    static func checkedCQL(_ cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) -> UUID {
        switch type {
        case .uuid, .timeuuid: break
        default: throw .typeMismatch(expected: "UUID (from uuid or timeuuid)", actual: type.description)
        }
        try ValueBytes.requireWidth(cqlBytes, range, 16, type)
        // requireWidth proved 0 <= range.lowerBound and range.lowerBound + 16 == range.upperBound <= count.
        return cqlBytes.withUnsafeBytes { raw in
            UUID(uuid: raw.loadUnaligned(fromByteOffset: range.lowerBound, as: uuid_t.self))
        }
    }

    /// Writes `uuid`, or `timeuuid` when the UUID is version 1.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        switch type {
        case .uuid:
            writer.writeUUID(self)
        case .timeuuid:
            guard uuid.6 >> 4 == 1 else { throw .invalidValue(what: "timeuuid", detail: "\(self) is not a version 1 UUID") }
            writer.writeUUID(self)
        default:
            throw .typeMismatch(expected: type.description, actual: "Swift UUID")
        }
    }

    /// `uuid`.
    public static var defaultCQLType: DataType { .uuid }
}
