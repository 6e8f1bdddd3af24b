/// The rows of a RESULT of kind Rows, kept as the received bytes (the zero-copy fast path).
///
/// `buffer[contentRange]` holds `rowCount` rows, each a `[bytes]` per column of
/// `metadata.columns`. Row views and `Decodable` decoding read from it without copying.
public struct Rows: Sendable {
    /// The result metadata: flags, columns, paging state.
    public var metadata: RowsMetadata
    /// How many rows `buffer[contentRange]` holds.
    public var rowCount: Int
    /// The bytes the rows were decoded from (usually the whole frame body).
    public var buffer: [UInt8]
    /// Where the rows content lies in `buffer`.
    public var contentRange: Range<Int>

    /// Rows over `buffer[contentRange]`.
    public init(metadata: RowsMetadata, rowCount: Int, buffer: [UInt8], contentRange: Range<Int>) {
        self.metadata = metadata
        self.rowCount = rowCount
        self.buffer = buffer
        self.contentRange = contentRange
    }
}

/// `<metadata>` of a Rows result or of a prepared statement's result (specification 4.2.5.2).
public struct RowsMetadata: Hashable, Sendable {
    /// The columns, in result order. Empty when the server sent `No_metadata`.
    public var columns: [ColumnSpec]
    /// The column count the server announced (equals `columns.count` unless `No_metadata`).
    public var columnCount: Int
    /// The paging state to resume after this page, when more pages exist (`Has_more_pages`).
    public var pagingState: [UInt8]?
    /// Whether the server set `No_metadata` (the client asked for `skip_metadata`).
    public var noMetadata: Bool
    /// Whether the columns shared one keyspace and table (`Global_tables_spec`) when encoded.
    public var globalTableSpec: Bool
    /// A new result metadata id (protocol v5 `Metadata_changed`), kept for completeness.
    public var newMetadataID: [UInt8]?

    /// Metadata for `columns`; `globalTableSpec` defaults to whether all columns share a table.
    public init(columns: [ColumnSpec], columnCount: Int? = nil, pagingState: [UInt8]? = nil,
                noMetadata: Bool = false, globalTableSpec: Bool? = nil, newMetadataID: [UInt8]? = nil) {
        self.columns = columns
        self.columnCount = columnCount ?? columns.count
        self.pagingState = pagingState
        self.noMetadata = noMetadata
        self.globalTableSpec = globalTableSpec ?? (columns.first.map { first in
            columns.allSatisfy { $0.keyspace == first.keyspace && $0.table == first.table }
        } ?? false)
        self.newMetadataID = newMetadataID
    }
}
