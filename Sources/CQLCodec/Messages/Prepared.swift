/// `<metadata>` of a RESULT Prepared: the bind markers (specification 4.2.5.4).
public struct PreparedMetadata: Sendable, Hashable {
    /// The bind markers' specs, in marker order.
    public var columns: [ColumnSpec]
    /// For each partition key column in order, the index of the marker that binds it.
    public var pkIndices: [UInt16]
    /// Whether the markers are described with one `<global_table_spec>` when encoded.
    public var globalTableSpec: Bool

    /// Metadata for `columns`; `globalTableSpec` defaults to whether all columns share a table.
    public init(columns: [ColumnSpec], pkIndices: [UInt16] = [], globalTableSpec: Bool? = nil) {
        self.columns = columns
        self.pkIndices = pkIndices
        self.globalTableSpec = globalTableSpec ?? (columns.first.map { first in
            columns.allSatisfy { $0.keyspace == first.keyspace && $0.table == first.table }
        } ?? false)
    }

    /// The number of bind markers.
    public var columnCount: Int { columns.count }

    private var writesGlobalTableSpec: Bool {
        guard globalTableSpec, let first = columns.first else { return false }
        return columns.allSatisfy { $0.keyspace == first.keyspace && $0.table == first.table }
    }

    /// The v4 `<flags>` (only Global_tables_spec exists).
    public var flags: Int32 { writesGlobalTableSpec ? 0x0001 : 0 }

    /// Reads `<flags><columns_count><pk_count>[<pk_index_1>...<pk_index_n>][<global_table_spec>?<col_spec_1>...<col_spec_n>]`.
    package init(from reader: inout ByteReader) throws(WireError) {
        let flags = try reader.readInt32("prepared metadata flags")
        guard flags & ~0x0001 == 0 else {
            throw .invalidValue(what: "prepared metadata flags", detail: "unknown bits 0x\(String(flags & ~0x0001, radix: 16))")
        }
        let count = Int(try reader.readInt32("columns_count"))
        guard count >= 0 else { throw .negativeLength(what: "columns_count", length: count) }
        let pkCount = Int(try reader.readInt32("pk_count"))
        guard pkCount >= 0 else { throw .negativeLength(what: "pk_count", length: pkCount) }
        try reader.require(pkCount * 2, "pk_index")
        var pkIndices: [UInt16] = []
        pkIndices.reserveCapacity(pkCount)
        for _ in 0..<pkCount { pkIndices.append(try reader.readShort()) }
        self.pkIndices = pkIndices
        globalTableSpec = flags & 0x0001 != 0
        columns = try reader.readColumnSpecs(count: count, global: globalTableSpec)
    }

    /// Appends the metadata.
    package func encode(into writer: inout ByteWriter) {
        let global = writesGlobalTableSpec
        writer.writeInt32(flags)
        writer.writeInt32(Int32(clamping: columns.count))
        writer.writeInt32(Int32(clamping: pkIndices.count))
        for index in pkIndices { writer.writeShort(index) }
        writer.writeColumnSpecs(columns, global: global)
    }
}

/// RESULT Prepared: the id and metadata of a prepared statement (specification 4.2.5.4).
public struct Prepared: Sendable, Hashable {
    /// The prepared statement id for EXECUTE.
    public var id: [UInt8]
    /// The bind markers.
    public var metadata: PreparedMetadata
    /// The columns an execution returns (often No_metadata and empty for non-SELECTs).
    public var resultMetadata: RowsMetadata

    /// A prepared result.
    public init(id: [UInt8], metadata: PreparedMetadata, resultMetadata: RowsMetadata) {
        self.id = id
        self.metadata = metadata
        self.resultMetadata = resultMetadata
    }

    /// Reads `<id><metadata><result_metadata>`.
    package init(from reader: inout ByteReader) throws(WireError) {
        id = try reader.readShortBytes("prepared id")
        metadata = try PreparedMetadata(from: &reader)
        resultMetadata = try RowsMetadata(from: &reader)
    }

    /// Appends `<id><metadata><result_metadata>`.
    package func encode(into writer: inout ByteWriter) {
        writer.writeShortBytes(id)
        metadata.encode(into: &writer)
        resultMetadata.encode(into: &writer)
    }
}
