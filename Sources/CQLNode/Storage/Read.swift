import CQLCodec
import Foundation

/// A live cell as a read returns it: value, `writetime()` and remaining `ttl()`.
struct CellValue: Hashable, Sendable {
    /// The serialized value.
    var value: [UInt8]
    /// The write timestamp in microseconds (`writetime()`).
    var writetime: Int64
    /// The seconds left before expiry (`ttl()`), or `nil` for a cell without TTL.
    var ttl: Int32?

    /// A cell value.
    init(value: [UInt8], writetime: Int64, ttl: Int32?) {
        self.value = value
        self.writetime = writetime
        self.ttl = ttl
    }
}

/// One live element of a multi-cell column: its cell path (set element, map key, list position, UDT field) and cell.
struct CollectionCell: Hashable, Sendable {
    /// The cell path: the element for sets, the key for maps, an opaque position for lists, the field index for UDTs.
    var path: [UInt8]
    /// The cell (for sets an empty value).
    var cell: CellValue

    /// A collection cell.
    init(path: [UInt8], cell: CellValue) {
        self.path = path
        self.cell = cell
    }
}

/// A column's live data in a row.
enum ColumnValue: Hashable, Sendable {
    /// A simple or frozen column.
    case cell(CellValue)
    /// A non-frozen collection or UDT: its live cells in order.
    case cells([CollectionCell])

    /// The value as the protocol serializes it for `type`: multi-cell columns are assembled, empty ones are null.
    func serialized(as type: DataType) -> [UInt8]? {
        switch self {
        case let .cell(cell):
            return cell.value
        case let .cells(cells):
            guard !cells.isEmpty else { return nil }
            var writer = ByteWriter(capacity: 64)
            switch type {
            case .list:
                writer.writeInt32(Int32(clamping: cells.count))
                for cell in cells { writer.writeBytes(cell.cell.value) }
            case .set:
                writer.writeInt32(Int32(clamping: cells.count))
                for cell in cells { writer.writeBytes(cell.path) }
            case .map:
                writer.writeInt32(Int32(clamping: cells.count))
                for cell in cells {
                    writer.writeBytes(cell.path)
                    writer.writeBytes(cell.cell.value)
                }
            case let .udt(userType):
                var byField: [Int: [UInt8]] = [:]
                for cell in cells where cell.path.count == 2 {
                    byField[Int(cell.path[0]) << 8 | Int(cell.path[1])] = cell.cell.value
                }
                for index in userType.fields.indices { writer.writeBytes(byField[index]) }
            default:
                return cells.first?.cell.value
            }
            return writer.bytes
        }
    }

    /// The latest write timestamp among the column's cells.
    var writetime: Int64 {
        switch self {
        case let .cell(cell): cell.writetime
        case let .cells(cells): cells.map(\.cell.writetime).max() ?? .min
        }
    }
}

/// A row a read returns: its keys and the selected live columns (static columns included).
struct StoredRow: Hashable, Sendable {
    /// The serialized partition key.
    var partitionKey: [UInt8]
    /// The partition's Murmur3 token.
    var token: Int64
    /// The clustering values (empty for a static-only row and for tables without clustering columns).
    var clustering: [[UInt8]]
    /// Whether this row stands for a partition that has static data but no rows (clustering columns are null).
    var isStaticOnly: Bool
    /// The selected live columns by name; missing columns are null.
    var columns: [String: ColumnValue]
    /// The row marker's timestamp and remaining TTL, when the row was created by an INSERT.
    var marker: CellValue?

    /// A row (virtual tables build their rows this way too).
    init(partitionKey: [UInt8], token: Int64, clustering: [[UInt8]], isStaticOnly: Bool = false,
                columns: [String: ColumnValue], marker: CellValue? = nil) {
        self.partitionKey = partitionKey
        self.token = token
        self.clustering = clustering
        self.isStaticOnly = isStaticOnly
        self.columns = columns
        self.marker = marker
    }
}

/// Where a read stopped, to resume after it (the storage side of a `paging_state`).
struct ReadPosition: Hashable, Sendable {
    /// The partition of the last returned row.
    var partitionKey: [UInt8]
    /// The clustering of the last returned row, or `nil` when that partition is finished.
    var clustering: [[UInt8]]?
    /// How many rows of that partition were returned so far (for `PER PARTITION LIMIT` across pages).
    var rowsInPartition: Int

    /// A position.
    init(partitionKey: [UInt8], clustering: [[UInt8]]?, rowsInPartition: Int = 0) {
        self.partitionKey = partitionKey
        self.clustering = clustering
        self.rowsInPartition = rowsInPartition
    }
}

/// A range of Murmur3 tokens (`token(pk) > ? AND token(pk) <= ?`); `nil` ends are open.
struct TokenRange: Hashable, Sendable {
    /// The lower token, if any.
    var lower: Int64?
    /// Whether the lower token itself is included.
    var lowerInclusive: Bool
    /// The upper token, if any.
    var upper: Int64?
    /// Whether the upper token itself is included.
    var upperInclusive: Bool

    /// A token range.
    init(lower: Int64? = nil, lowerInclusive: Bool = true, upper: Int64? = nil, upperInclusive: Bool = true) {
        self.lower = lower
        self.lowerInclusive = lowerInclusive
        self.upper = upper
        self.upperInclusive = upperInclusive
    }

    /// The whole ring.
    static let all = TokenRange()

    func admitsAbove(_ token: Int64) -> Bool {
        guard let upper else { return true }
        return token < upper || (upperInclusive && token == upper)
    }
}

/// What to read from the partitions a read visits.
struct ReadQuery: Sendable {
    /// The clustering slices to return, in clustering order and not overlapping (several for `IN`).
    var slices: [ClusteringSlice]
    /// Whether to return rows in reverse clustering order (`ORDER BY` against the table's order).
    var reversed: Bool
    /// The columns to return, or `nil` for all.
    var columns: Set<String>?
    /// The most rows to return (`LIMIT` or the page size).
    var limit: Int?
    /// The most rows per partition (`PER PARTITION LIMIT`).
    var perPartitionLimit: Int?
    /// The reader's clock in seconds: cells expired at `now` are not returned.
    var now: Int32
    /// Resume strictly after this position (paging).
    var resume: ReadPosition?

    /// A query; by default every row and column.
    init(slices: [ClusteringSlice] = [.all], reversed: Bool = false, columns: Set<String>? = nil,
                limit: Int? = nil, perPartitionLimit: Int? = nil, now: Int32, resume: ReadPosition? = nil) {
        self.slices = slices
        self.reversed = reversed
        self.columns = columns
        self.limit = limit
        self.perPartitionLimit = perPartitionLimit
        self.now = now
        self.resume = resume
    }
}

/// The rows a read returned and, when it stopped at its limit, where to resume.
struct ReadResult: Sendable {
    /// The rows in order.
    var rows: [StoredRow]
    /// Where the next page starts, or `nil` when the read reached the end.
    var resume: ReadPosition?

    /// A result.
    init(rows: [StoredRow], resume: ReadPosition?) {
        self.rows = rows
        self.resume = resume
    }
}

/// Reads rows out of a table's partitions with Cassandra's visibility rules.
struct TableReader {
    let table: TableSchema
    let applier: MutationApplier
    let query: ReadQuery
    let columns: ColumnIDs
    /// Which column ids the query selects (indexed by id), or `nil` for all.
    private let selection: [Bool]?

    init(table: TableSchema, columns: ColumnIDs, query: ReadQuery) {
        self.table = table
        self.applier = MutationApplier(table: table, columns: columns)
        self.query = query
        self.columns = columns
        self.selection = query.columns.map { selected in columns.names.map { selected.contains($0) } }
    }

    private func selected(_ id: Int) -> Bool {
        guard let selection else { return true }
        return id >= 0 && id < selection.count && selection[id]
    }

    static func cellValue(_ cell: CellData, now: Int32) -> CellValue? {
        guard cell.isLive(at: now), let value = cell.value else { return nil }
        return CellValue(value: value, writetime: cell.timestamp, ttl: cell.ttl.map { _ in cell.localDeletionTime &- now })
    }

    static func cellValue(_ cell: PackedCell, in bytes: [UInt8], now: Int32) -> CellValue? {
        guard cell.isLive(at: now) else { return nil }
        return CellValue(value: Array(bytes[cell.value]), writetime: cell.timestamp,
                         ttl: cell.ttl.map { _ in cell.localDeletionTime &- now })
    }

    static func columnValue(_ complex: ComplexColumn, now: Int32) -> ColumnValue? {
        let cells = complex.cells.compactMap { item in
            cellValue(item.cell, now: now).map { CollectionCell(path: item.path, cell: $0) }
        }
        return cells.isEmpty ? nil : .cells(cells)
    }

    static func isLive(_ row: RowData, now: Int32) -> Bool {
        var reader = row.reader
        if let marker = reader.marker, marker.isLive(at: now) { return true }
        while let (_, cell) = reader.next() {
            if cell.isLive(at: now) { return true }
        }
        return row.complex.values.contains { columnValue($0, now: now) != nil }
    }

    private func values(of row: RowData, into output: inout [String: ColumnValue]) {
        var reader = row.reader
        while let (id, cell) = reader.next() {
            guard selected(id), let name = columns.name(id), let value = Self.cellValue(cell, in: row.packed, now: query.now) else {
                continue
            }
            output[name] = .cell(value)
        }
        for (id, complex) in row.complex where selected(id) {
            if let name = columns.name(id), let value = Self.columnValue(complex, now: query.now) { output[name] = value }
        }
    }

    /// The first index whose row satisfies `predicate`, which must be false then true along the rows.
    private func partitionPoint(_ rows: [ClusteredRow], _ predicate: (ClusteredRow) -> Bool) -> Int {
        var low = 0
        var high = rows.count
        while low < high {
            let mid = (low + high) / 2
            if predicate(rows[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// The rows inside the query's slices, as merged index ranges in clustering order (found by binary search).
    private func ranges(in rows: [ClusteredRow]) -> [Range<Int>] {
        var ranges: [Range<Int>] = query.slices.map { slice in
            let lower = partitionPoint(rows) { row in
                guard let start = slice.start else { return true }
                let order = row.clustering.compare(start.prefix, limit: start.prefix.count, columns: applier.clusteringColumns)
                return order > 0 || (order == 0 && start.inclusive)
            }
            let upper = partitionPoint(rows) { row in
                guard let end = slice.end else { return false }
                let order = row.clustering.compare(end.prefix, limit: end.prefix.count, columns: applier.clusteringColumns)
                return order > 0 || (order == 0 && !end.inclusive)
            }
            return lower..<max(lower, upper)
        }.filter { !$0.isEmpty }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<Int>] = []
        for range in ranges {
            if let last = merged.last, range.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    /// Appends the partition's rows to `output`; returns where to resume when `limit` rows have been reached.
    func read(_ position: PartitionPosition, _ partition: PartitionData, after resume: ReadPosition?,
              into output: inout [StoredRow], limit: Int) -> ReadPosition? {
        var statics: [String: ColumnValue] = [:]
        values(of: partition.staticRow, into: &statics)
        var count = resume?.rowsInPartition ?? 0
        let perPartition = query.perPartitionLimit ?? .max
        let startAfter = resume?.clustering
        let ranges = ranges(in: partition.rows)
        let indices = query.reversed
            ? AnySequence(ranges.reversed().lazy.flatMap { $0.reversed() })
            : AnySequence(ranges.lazy.flatMap { $0 })
        for index in indices {
            guard count < perPartition else { break }
            let entry = partition.rows[index]
            if let startAfter {
                let order = entry.clustering.compare(startAfter, columns: applier.clusteringColumns)
                if query.reversed ? order >= 0 : order <= 0 { continue }
            }
            guard Self.isLive(entry.row, now: query.now) else { continue }
            var columns = statics
            values(of: entry.row, into: &columns)
            let marker = entry.row.reader.marker.flatMap { Self.cellValue($0, in: entry.row.packed, now: query.now) }
            let clustering = entry.clustering.values
            output.append(StoredRow(partitionKey: position.key, token: position.token, clustering: clustering,
                                    isStaticOnly: false, columns: columns, marker: marker))
            count += 1
            if output.count >= limit {
                let done = count >= perPartition || table.clusteringColumns.isEmpty
                return ReadPosition(partitionKey: position.key, clustering: done ? nil : clustering, rowsInPartition: count)
            }
        }
        // Without clustering restrictions, a partition with static data but no live row reads as one row.
        if resume == nil, count == 0, perPartition > 0, !statics.isEmpty, !query.slices.isEmpty,
           query.slices.allSatisfy(\.isUnrestricted) {
            output.append(StoredRow(partitionKey: position.key, token: position.token, clustering: [],
                                    isStaticOnly: true, columns: statics, marker: nil))
            if output.count >= limit { return ReadPosition(partitionKey: position.key, clustering: nil, rowsInPartition: 1) }
        }
        return nil
    }

    /// Reads partitions in ring order within `range`, from the query's resume position.
    func scan(_ data: TableData, range: TokenRange) -> ReadResult {
        let limit = query.limit ?? .max
        var rows: [StoredRow] = []
        var index: Int
        var resume = query.resume
        if let position = resume {
            let key = PartitionPosition(key: position.partitionKey)
            index = data.lowerBound(key)
            if index < data.order.count, data.order[index] == key, position.clustering == nil {
                index += 1
                resume = nil
            } else if index >= data.order.count || data.order[index] != key {
                resume = nil
            }
        } else {
            index = range.lower.map { data.firstIndex(token: $0, inclusive: range.lowerInclusive) } ?? 0
        }
        while index < data.order.count, limit > 0 {
            let position = data.order[index]
            guard range.admitsAbove(position.token) else { break }
            if let partition = data.partitions[position],
               let stop = read(position, partition, after: resume, into: &rows, limit: limit) {
                return ReadResult(rows: rows, resume: stop)
            }
            resume = nil
            index += 1
        }
        return ReadResult(rows: rows, resume: nil)
    }

    /// Reads one partition.
    func read(_ data: TableData, partitionKey: [UInt8]) -> ReadResult {
        let position = PartitionPosition(key: partitionKey)
        var rows: [StoredRow] = []
        guard let partition = data.partitions[position], (query.limit ?? 1) > 0 else { return ReadResult(rows: [], resume: nil) }
        var resume = query.resume
        if let given = resume {
            if given.partitionKey != partitionKey {
                resume = nil
            } else if given.clustering == nil {
                return ReadResult(rows: [], resume: nil)
            }
        }
        let stop = read(position, partition, after: resume, into: &rows, limit: query.limit ?? .max)
        return ReadResult(rows: rows, resume: stop)
    }

    /// The partitions with live data, each as a static-only row (`SELECT DISTINCT`).
    func distinct(_ data: TableData, range: TokenRange) -> ReadResult {
        let limit = query.limit ?? .max
        var rows: [StoredRow] = []
        var index: Int
        if let resume = query.resume {
            let key = PartitionPosition(key: resume.partitionKey)
            index = data.lowerBound(key)
            if index < data.order.count, data.order[index] == key { index += 1 }
        } else {
            index = range.lower.map { data.firstIndex(token: $0, inclusive: range.lowerInclusive) } ?? 0
        }
        while index < data.order.count, rows.count < limit {
            let position = data.order[index]
            guard range.admitsAbove(position.token) else { break }
            index += 1
            guard let partition = data.partitions[position] else { continue }
            let live = Self.isLive(partition.staticRow, now: query.now)
                || partition.rows.contains { Self.isLive($0.row, now: query.now) }
            guard live else { continue }
            var statics: [String: ColumnValue] = [:]
            values(of: partition.staticRow, into: &statics)
            rows.append(StoredRow(partitionKey: position.key, token: position.token, clustering: [],
                                  isStaticOnly: true, columns: statics, marker: nil))
        }
        let more = rows.count >= limit && index < data.order.count
        return ReadResult(rows: rows, resume: more ? rows.last.map { ReadPosition(partitionKey: $0.partitionKey, clustering: nil) } : nil)
    }
}
