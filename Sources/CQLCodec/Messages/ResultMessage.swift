/// RESULT: the outcome of QUERY, PREPARE, EXECUTE or BATCH (specification 4.2.5).
public enum ResultMessage: Sendable, Equatable {
    /// Kind 0x0001: nothing to return.
    case void
    /// Kind 0x0002: rows of a SELECT (or of an LWT's `[applied]`).
    case rows(Rows)
    /// Kind 0x0003: the keyspace a `USE` switched to.
    case setKeyspace(String)
    /// Kind 0x0004: a prepared statement.
    case prepared(Prepared)
    /// Kind 0x0005: a schema change made by the statement.
    case schemaChange(SchemaChange)

    /// The `<kind>` [int].
    public var kind: Int32 {
        switch self {
        case .void: 0x0001
        case .rows: 0x0002
        case .setKeyspace: 0x0003
        case .prepared: 0x0004
        case .schemaChange: 0x0005
        }
    }

    /// Reads the body: `<kind>` and the kind's content. Rows stay in `reader.bytes` without copying.
    package init(from reader: inout ByteReader) throws(WireError) {
        var cache = RowsMetadataCache()
        try self.init(from: &reader, metadataCache: &cache)
    }

    /// Reads the body; rows metadata may be one `metadataCache` already decoded.
    init(from reader: inout ByteReader, metadataCache: inout RowsMetadataCache) throws(WireError) {
        let kind = try reader.readInt32("result kind")
        switch kind {
        case 0x0001: self = .void
        case 0x0002: self = .rows(try Rows(from: &reader, metadataCache: &metadataCache))
        case 0x0003: self = .setKeyspace(try reader.readString("keyspace"))
        case 0x0004: self = .prepared(try Prepared(from: &reader))
        case 0x0005: self = .schemaChange(try SchemaChange(from: &reader))
        default: throw .invalidValue(what: "result kind", detail: "0x\(String(kind, radix: 16))")
        }
    }

    /// Appends the body.
    package func encode(into writer: inout ByteWriter) {
        writer.writeInt32(kind)
        switch self {
        case .void: break
        case let .rows(rows): rows.encode(into: &writer)
        case let .setKeyspace(keyspace): writer.writeString(keyspace)
        case let .prepared(prepared): prepared.encode(into: &writer)
        case let .schemaChange(change): change.encode(into: &writer)
        }
    }
}
