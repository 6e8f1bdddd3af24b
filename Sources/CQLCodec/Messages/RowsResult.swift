extension RowsMetadata {
    /// The v4 `<flags>` masks of result metadata.
    enum Flag {
        static let globalTablesSpec: Int32 = 0x0001
        static let hasMorePages: Int32 = 0x0002
        static let noMetadata: Int32 = 0x0004
        static let all: Int32 = 0x0007
    }

    /// Whether `globalTableSpec` can be honoured: there are columns and they share one table.
    private var writesGlobalTableSpec: Bool {
        guard globalTableSpec, !noMetadata, let first = columns.first else { return false }
        return columns.allSatisfy { $0.keyspace == first.keyspace && $0.table == first.table }
    }

    /// The v4 `<flags>` this metadata encodes with.
    public var flags: Int32 {
        var flags: Int32 = 0
        if writesGlobalTableSpec { flags |= Flag.globalTablesSpec }
        if pagingState != nil { flags |= Flag.hasMorePages }
        if noMetadata { flags |= Flag.noMetadata }
        return flags
    }

    /// Reads `<metadata>`: `<flags><columns_count>[<paging_state>][<global_table_spec>?<col_spec_1>...<col_spec_n>]`.
    package init(from reader: inout ByteReader) throws(WireError) {
        let flags = try reader.readInt32("result metadata flags")
        guard flags & ~Flag.all == 0 else {
            throw .invalidValue(what: "result metadata flags", detail: "unknown bits 0x\(String(flags & ~Flag.all, radix: 16))")
        }
        let count = Int(try reader.readInt32("columns_count"))
        guard count >= 0 else { throw .negativeLength(what: "columns_count", length: count) }
        var pagingState: [UInt8]?
        if flags & Flag.hasMorePages != 0 {
            guard let state = try reader.readBytes("paging_state") else {
                throw .invalidValue(what: "paging_state", detail: "null while Has_more_pages is set")
            }
            pagingState = state
        }
        let noMetadata = flags & Flag.noMetadata != 0
        let global = flags & Flag.globalTablesSpec != 0
        var columns: [ColumnSpec] = []
        if !noMetadata {
            columns = try reader.readColumnSpecs(count: count, global: global)
        }
        self.init(columns: columns, columnCount: count, pagingState: pagingState, noMetadata: noMetadata,
                  globalTableSpec: global)
    }

    /// Appends `<metadata>`; the global table spec is used when asked for and possible.
    package func encode(into writer: inout ByteWriter) {
        writer.writeInt32(flags)
        writer.writeInt32(Int32(clamping: noMetadata ? columnCount : columns.count))
        if let pagingState { writer.writeBytes(pagingState) }
        if !noMetadata { writer.writeColumnSpecs(columns, global: writesGlobalTableSpec) }
    }
}

extension ByteReader {
    /// Reads `count` `<col_spec_i>`, preceded by one `<global_table_spec>` when `global`.
    mutating func readColumnSpecs(count: Int, global: Bool) throws(WireError) -> [ColumnSpec] {
        // Two optionals rather than an optional tuple, whose type metadata is looked up at run time
        // on every call (this runs for every response with rows).
        var globalKeyspace: String?
        var globalTable: String?
        if global {
            globalKeyspace = try readString("global keyspace")
            globalTable = try readString("global table")
        }
        // A column spec takes at least 4 bytes (global) or 8: refuse counts the body cannot hold.
        try require(count * (global ? 4 : 8), "column specs")
        var columns: [ColumnSpec] = []
        columns.reserveCapacity(count)
        for _ in 0..<count {
            let keyspace: String
            let tableName: String
            if let globalKeyspace, let globalTable {
                keyspace = globalKeyspace
                tableName = globalTable
            } else {
                keyspace = try readString("column keyspace")
                tableName = try readString("column table")
            }
            let name = try readString("column name")
            columns.append(ColumnSpec(keyspace: keyspace, table: tableName, name: name, type: try readDataType()))
        }
        return columns
    }
}

extension ByteWriter {
    /// Appends `<col_spec_i>`, preceded by the first column's table as `<global_table_spec>` when `global`.
    mutating func writeColumnSpecs(_ columns: [ColumnSpec], global: Bool) {
        if global, let first = columns.first {
            writeString(first.keyspace)
            writeString(first.table)
        }
        for column in columns {
            if !global {
                writeString(column.keyspace)
                writeString(column.table)
            }
            writeString(column.name)
            writeDataType(column.type)
        }
    }
}

extension Rows {
    /// Reads `<metadata><rows_count><rows_content>`, keeping the content as a range of `reader.bytes`.
    ///
    /// Every one of `rows_count × columns_count` cells is checked to be present, so row views
    /// can trust the layout; the counts are never used to allocate.
    package init(from reader: inout ByteReader) throws(WireError) {
        var cache = RowsMetadataCache()
        try self.init(from: &reader, metadataCache: &cache)
    }

    /// Reads rows whose metadata may be one `metadataCache` already decoded.
    init(from reader: inout ByteReader, metadataCache: inout RowsMetadataCache) throws(WireError) {
        let metadata = try RowsMetadata(from: &reader, cache: &metadataCache)
        let rowCount = Int(try reader.readInt32("rows_count"))
        guard rowCount >= 0 else { throw .negativeLength(what: "rows_count", length: rowCount) }
        if rowCount > 0, metadata.columnCount == 0 {
            throw .invalidValue(what: "rows_count", detail: "\(rowCount) rows of zero columns")
        }
        let (cells, overflow) = rowCount.multipliedReportingOverflow(by: metadata.columnCount)
        guard !overflow else { throw .lengthTooLarge(what: "rows_content", length: rowCount, limit: Int(Int32.max)) }
        let start = reader.offset
        if let end = CellWalk.skip(reader.bytes, from: start, count: cells, end: reader.end) {
            try reader.skip(end - start, "rows_content")
        } else {
            // Only malformed content gets here: the checked reader names the cell that does not fit.
            for _ in 0..<cells {
                let length = Int(try reader.readInt32("cell"))
                if length > 0 { try reader.skip(length, "cell") }
            }
        }
        self.init(metadata: metadata, rowCount: rowCount, buffer: reader.bytes, contentRange: start..<reader.offset)
    }

    /// Rows built from cells (nil is null), one inner array per row of `metadata.columnCount` cells.
    package init(metadata: RowsMetadata, cells: [[[UInt8]?]]) throws(WireError) {
        var writer = ByteWriter(capacity: 64)
        for row in cells {
            guard row.count == metadata.columnCount else {
                throw .invalidValue(what: "row", detail: "\(row.count) cells for \(metadata.columnCount) columns")
            }
            for cell in row { writer.writeBytes(cell) }
        }
        self.init(metadata: metadata, rowCount: cells.count, buffer: writer.bytes, contentRange: 0..<writer.count)
    }

    /// Rows built from values; unset, which rows cannot carry, is written as null.
    package init(metadata: RowsMetadata, values: [[WireValue]]) throws(WireError) {
        try self.init(metadata: metadata, cells: values.map { row in
            row.map { value in
                if case let .bytes(content) = value { content } else { nil }
            }
        })
    }

    /// The cells of every row, copied (for tests and small results; the fast path reads `buffer`).
    package func cellValues() throws(WireError) -> [[[UInt8]?]] {
        var reader = ByteReader(buffer, range: contentRange)
        var rows: [[[UInt8]?]] = []
        for _ in 0..<rowCount {
            var row: [[UInt8]?] = []
            for _ in 0..<metadata.columnCount { row.append(try reader.readBytes("cell")) }
            rows.append(row)
        }
        return rows
    }

    /// Appends `<metadata><rows_count><rows_content>`, the content byte for byte.
    package func encode(into writer: inout ByteWriter) {
        metadata.encode(into: &writer)
        writer.writeInt32(Int32(clamping: rowCount))
        writer.writeRaw(buffer[contentRange])
    }
}

extension Rows: Equatable {
    /// Rows are equal when their metadata, count and content bytes are, wherever the buffers lie.
    public static func == (lhs: Rows, rhs: Rows) -> Bool {
        lhs.metadata == rhs.metadata && lhs.rowCount == rhs.rowCount
            && lhs.buffer[lhs.contentRange].elementsEqual(rhs.buffer[rhs.contentRange])
    }
}
