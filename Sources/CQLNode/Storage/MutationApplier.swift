import CQLCodec
import Foundation

/// Validates and applies mutations to one table's partitions with Cassandra's semantics.
///
/// Tombstones are applied eagerly: data they shadow is dropped at once, and later writes they shadow are
/// refused, so a read only has to evaluate TTLs. Tombstones themselves are kept (to shadow late writes with
/// older timestamps) until a snapshot finds them past `gc_grace_seconds`.
struct MutationApplier {
    let table: TableSchema
    let clusteringColumns: [ColumnSchema]
    /// The table's column ids; every column a mutation names must be interned before ``apply(_:to:)``.
    let columns: ColumnIDs

    init(table: TableSchema, columns: ColumnIDs) {
        self.table = table
        self.clusteringColumns = table.clusteringColumns
        self.columns = columns
    }

    /// Cassandra's upper bound on a TTL: 20 years.
    static let maximumTTL: Int32 = 630_720_000

    // MARK: - Clustering helpers

    func compareClustering(_ a: [[UInt8]], _ b: [[UInt8]]) -> Int {
        ValueOrder.compareClustering(a, b, columns: clusteringColumns)
    }

    func slice(_ slice: ClusteringSlice, contains key: ClusteringKey) -> Bool {
        if let start = slice.start {
            let order = key.compare(start.prefix, limit: start.prefix.count, columns: clusteringColumns)
            if order < 0 || (order == 0 && !start.inclusive) { return false }
        }
        if let end = slice.end {
            let order = key.compare(end.prefix, limit: end.prefix.count, columns: clusteringColumns)
            if order > 0 || (order == 0 && !end.inclusive) { return false }
        }
        return true
    }

    func slice(_ slice: ClusteringSlice, contains clustering: [[UInt8]]) -> Bool {
        if let start = slice.start {
            let order = compareClustering(Array(clustering.prefix(start.prefix.count)), start.prefix)
            if order < 0 || (order == 0 && !start.inclusive) { return false }
        }
        if let end = slice.end {
            let order = compareClustering(Array(clustering.prefix(end.prefix.count)), end.prefix)
            if order > 0 || (order == 0 && !end.inclusive) { return false }
        }
        return true
    }

    /// The index of the row with this clustering, or where it would be inserted.
    func rowIndex(_ clustering: [[UInt8]], in rows: [ClusteredRow]) -> (index: Int, found: Bool) {
        var low = 0
        var high = rows.count
        while low < high {
            let mid = (low + high) / 2
            let order = rows[mid].clustering.compare(clustering, columns: clusteringColumns)
            if order == 0 { return (mid, true) }
            if order < 0 { low = mid + 1 } else { high = mid }
        }
        return (low, false)
    }

    /// The highest partition or range tombstone timestamp covering a row (its own tombstone aside).
    func shadow(of clustering: [[UInt8]], in partition: PartitionData) -> Int64 {
        var result = partition.deletion?.timestamp ?? .min
        for tombstone in partition.rangeTombstones where tombstone.deletion.timestamp > result {
            if slice(tombstone.slice, contains: clustering) { result = tombstone.deletion.timestamp }
        }
        return result
    }

    func staticShadow(of partition: PartitionData) -> Int64 {
        max(partition.deletion?.timestamp ?? .min, partition.staticRow.deletion?.timestamp ?? .min)
    }

    // MARK: - Validation

    func column(_ name: String) throws(StorageError) -> ColumnSchema {
        guard let column = table.column(named: name) else { throw .undefinedColumn(name) }
        guard !column.kind.isPrimaryKey else { throw .invalidRequest("PRIMARY KEY part \(name) found in SET part") }
        return column
    }

    func requireFullClustering(_ clustering: [[UInt8]]) throws(StorageError) {
        guard clustering.count == clusteringColumns.count else {
            let missing = clusteringColumns.dropFirst(clustering.count).map(\.name).joined(separator: ", ")
            throw .invalidRequest(clustering.count < clusteringColumns.count
                ? "Some clustering keys are missing: \(missing)"
                : "Too many clustering values: \(clustering.count) for \(clusteringColumns.count) clustering columns")
        }
    }

    func requireClusteringFor(_ column: ColumnSchema, _ clustering: [[UInt8]]) throws(StorageError) {
        if column.kind != .static { try requireFullClustering(clustering) }
    }

    func validateTTL(_ ttl: Int32?) throws(StorageError) {
        guard let ttl else { return }
        if ttl < 0 { throw .invalidRequest("A TTL must be greater or equal to 0, but was \(ttl)") }
        if ttl > Self.maximumTTL { throw .invalidRequest("ttl is too large. requested (\(ttl)) maximum (\(Self.maximumTTL))") }
    }

    func validate(_ mutation: Mutation, existing: PartitionData?) throws(StorageError) {
        let isCounter = table.isCounterTable
        for operation in mutation.operations {
            switch operation {
            case .deletePartition:
                break
            case let .deleteRow(clustering, _):
                try requireFullClustering(clustering)
            case let .deleteRange(slice, _):
                for bound in [slice.start, slice.end].compactMap({ $0 }) where bound.prefix.count > clusteringColumns.count {
                    throw .invalidRequest("Too many clustering values in range deletion")
                }
            case let .insertRowMarker(clustering, _, ttl):
                if isCounter { throw .invalidRequest("INSERT statements are not allowed on counter tables, use UPDATE instead") }
                try requireFullClustering(clustering)
                try validateTTL(ttl)
            case let .setColumn(clustering, name, _, _, ttl):
                let column = try column(name)
                if column.type == .counter {
                    throw .invalidRequest("Cannot set the value of counter column \(name) (counters can only be incremented/decremented, not set)")
                }
                try requireClusteringFor(column, clustering)
                try validateTTL(ttl)
            case let .deleteColumn(clustering, name, _):
                let column = try column(name)
                try requireClusteringFor(column, clustering)
            case let .counterAdd(clustering, name, _, _):
                let column = try column(name)
                guard column.type == .counter else {
                    throw .invalidRequest("Invalid operation (\(name) = \(name) + ?) for non counter column \(name)")
                }
                try requireClusteringFor(column, clustering)
            case let .collection(clustering, name, collectionOperation, _, ttl):
                let column = try column(name)
                try requireClusteringFor(column, clustering)
                try validateTTL(ttl)
                try validate(collectionOperation, on: column, clustering: clustering, existing: existing,
                             now: mutation.nowInSeconds)
            }
        }
    }

    private func validate(_ operation: CollectionOperation, on column: ColumnSchema, clustering: [[UInt8]],
                          existing: PartitionData?, now: Int32) throws(StorageError) {
        guard column.isMultiCell else {
            throw .invalidRequest("Invalid operation for frozen or non-collection column \(column.name) of type \(column.type)")
        }
        let matches: Bool
        switch (operation, column.type) {
        case (.listAppend, .list), (.listPrepend, .list), (.listSetIndex, .list), (.listRemoveValues, .list),
             (.setAdd, .set), (.setRemove, .set), (.mapPut, .map), (.mapRemove, .map), (.setField, .udt), (.putCell, _):
            matches = true
        default:
            matches = false
        }
        guard matches else { throw .invalidRequest("Invalid operation for column \(column.name) of type \(column.type)") }
        if case let .setField(index, _) = operation, case let .udt(userType) = column.type,
           index < 0 || index >= userType.fields.count {
            throw .invalidRequest("Unknown field \(index) of user type \(userType.name)")
        }
        if case let .listSetIndex(index, _) = operation {
            let size = liveCells(of: column, clustering: clustering, in: existing, now: now).count
            // Cassandra tells a missing (null or emptied) list apart from a short one.
            guard size > 0 else { throw .invalidRequest("Attempted to set an element on a list which is null") }
            guard index >= 0, index < size else {
                throw .invalidRequest("List index \(index) out of bound, list has size \(size)")
            }
        }
    }

    func liveCells(of column: ColumnSchema, clustering: [[UInt8]], in partition: PartitionData?, now: Int32)
        -> [(path: [UInt8], cell: CellData)] {
        guard let partition else { return [] }
        return allCells(of: column, clustering: clustering, in: partition).filter { $0.cell.isLive(at: now) }
    }

    // MARK: - Application

    /// The row being edited: decoded once for a run of operations on it and packed again when the run ends.
    struct OpenRow {
        var clustering: [[UInt8]]
        var index: Int
        var found: Bool
        /// The partition and range tombstones over the row when it was opened.
        var floor: Int64
        var edit: RowEdit
    }

    /// Applies a validated mutation and returns it as replay must see it: list positions and default TTLs resolved.
    func apply(_ mutation: Mutation, to partition: inout PartitionData) -> Mutation {
        var resolved: [MutationOperation] = []
        resolved.reserveCapacity(mutation.operations.count)
        let now = mutation.nowInSeconds
        let defaultTTL = table.defaultTimeToLive
        func effective(_ ttl: Int32?) -> Int32? { ttl ?? (defaultTTL > 0 ? defaultTTL : nil) }
        // Operations that only touch one row go through `open`; anything reading or changing more of the
        // partition closes it first, so the partition is current whenever it is looked at.
        var open: OpenRow?

        for operation in mutation.operations {
            switch operation {
            case let .deletePartition(timestamp):
                close(&open, in: &partition)
                deletePartition(timestamp: timestamp, now: now, in: &partition)
                resolved.append(operation)
            case let .deleteRow(clustering, timestamp):
                withRow(clustering, &open, in: &partition) { row, _ in
                    let deletion = DeletionTime(timestamp: timestamp, localDeletionTime: now)
                    row.deletion = DeletionTime.latest(row.deletion, deletion)
                    row.purge(shadowedBy: timestamp)
                    row.deletion = DeletionTime.latest(row.deletion, deletion)
                }
                resolved.append(operation)
            case let .deleteRange(slice, timestamp):
                close(&open, in: &partition)
                deleteRange(slice, timestamp: timestamp, now: now, in: &partition)
                resolved.append(operation)
            case let .insertRowMarker(clustering, timestamp, ttl):
                let ttl = effective(ttl)
                withRow(clustering, &open, in: &partition) { row, shadow in
                    guard timestamp > shadow else { return }
                    let marker = CellData.live([], timestamp: timestamp, ttl: ttl, now: now)
                    row.marker = row.marker.map { CellData.reconcile($0, marker) } ?? marker
                }
                resolved.append(.insertRowMarker(clustering: clustering, timestamp: timestamp, ttl: ttl ?? 0))
            case let .setColumn(clustering, name, value, timestamp, ttl):
                let ttl = effective(ttl)
                guard let column = table.column(named: name), let id = columns.id(name) else { continue }
                if column.isMultiCell {
                    let tombstone = timestamp &- 1
                    updateRow(for: column, clustering: clustering, &open, in: &partition) { row, _ in
                        deleteComplex(&row, id: id, timestamp: tombstone, now: now)
                    }
                    close(&open, in: &partition)
                    resolved.append(.deleteColumn(clustering: clustering, column: name, timestamp: tombstone))
                    for put in wholeValueCells(value, column: column, in: partition, clustering: clustering, now: now) {
                        let op = CollectionOperation.putCell(path: put.path, value: put.value)
                        applyPut(op, column: column, id: id, clustering: clustering, timestamp: timestamp, ttl: ttl, now: now,
                                 &open, in: &partition)
                        resolved.append(.collection(clustering: clustering, column: name, op, timestamp: timestamp, ttl: ttl ?? 0))
                    }
                } else {
                    let cell = CellData.live(value, timestamp: timestamp, ttl: ttl, now: now)
                    writeSimple(cell, column: column, id: id, clustering: clustering, &open, in: &partition)
                    resolved.append(.setColumn(clustering: clustering, column: name, value: value, timestamp: timestamp, ttl: ttl ?? 0))
                }
            case let .deleteColumn(clustering, name, timestamp):
                guard let column = table.column(named: name), let id = columns.id(name) else { continue }
                if column.isMultiCell {
                    updateRow(for: column, clustering: clustering, &open, in: &partition) { row, _ in
                        deleteComplex(&row, id: id, timestamp: timestamp, now: now)
                    }
                } else {
                    writeSimple(.tombstone(timestamp: timestamp, now: now), column: column, id: id, clustering: clustering,
                                &open, in: &partition)
                }
                resolved.append(operation)
            case let .counterAdd(clustering, name, delta, timestamp):
                guard let column = table.column(named: name), let id = columns.id(name) else { continue }
                updateRow(for: column, clustering: clustering, &open, in: &partition) { row, shadow in
                    guard timestamp > shadow else { return }
                    var current: Int64 = 0
                    var stamp = timestamp
                    if let cell = row[simple: id], let value = cell.value, value.count == 8 {
                        current = value.reduce(0) { $0 << 8 | Int64($1) }
                        stamp = max(stamp, cell.timestamp)
                    }
                    let sum = current &+ delta
                    let bytes = (0..<8).map { UInt8(truncatingIfNeeded: sum >> (56 - 8 * $0)) }
                    row[simple: id] = CellData(value: bytes, timestamp: stamp, ttl: nil, localDeletionTime: .max)
                }
                resolved.append(operation)
            case let .collection(clustering, name, collectionOperation, timestamp, ttl):
                let ttl = effective(ttl)
                guard let column = table.column(named: name), let id = columns.id(name) else { continue }
                close(&open, in: &partition)
                for op in resolve(collectionOperation, column: column, clustering: clustering, in: partition, now: now) {
                    applyPut(op, column: column, id: id, clustering: clustering, timestamp: timestamp, ttl: ttl, now: now,
                             &open, in: &partition)
                    resolved.append(.collection(clustering: clustering, column: name, op, timestamp: timestamp, ttl: ttl ?? 0))
                }
            }
        }
        close(&open, in: &partition)
        return Mutation(tableID: mutation.tableID, partitionKey: mutation.partitionKey, operations: resolved,
                        nowInSeconds: now)
    }

    /// Packs the open row back into the partition (dropping it when nothing is left of it).
    private func close(_ open: inout OpenRow?, in partition: inout PartitionData) {
        guard let row = open else { return }
        open = nil
        let packed = RowData(row.edit)
        if row.found {
            if packed.isEmpty { partition.rows.remove(at: row.index) } else { partition.rows[row.index].row = packed }
        } else if !packed.isEmpty {
            partition.rows.insert(ClusteredRow(clustering: ClusteringKey(row.clustering), row: packed), at: row.index)
        }
    }

    /// Runs `body` on the row (created if missing) with the timestamp of the tombstones covering it.
    private func withRow(_ clustering: [[UInt8]], _ open: inout OpenRow?, in partition: inout PartitionData,
                         _ body: (inout RowEdit, Int64) -> Void) {
        var row: OpenRow
        if let current = open, compareClustering(current.clustering, clustering) == 0 {
            row = current
            open = nil
        } else {
            close(&open, in: &partition)
            let (index, found) = rowIndex(clustering, in: partition.rows)
            row = OpenRow(clustering: clustering, index: index, found: found, floor: shadow(of: clustering, in: partition),
                          edit: found ? partition.rows[index].row.edit() : RowEdit())
        }
        body(&row.edit, max(row.floor, row.edit.deletion?.timestamp ?? .min))
        open = row
    }

    /// Runs `body` on the row holding `column`: the static row for static columns, else the clustered row.
    private func updateRow(for column: ColumnSchema, clustering: [[UInt8]], _ open: inout OpenRow?,
                           in partition: inout PartitionData, _ body: (inout RowEdit, Int64) -> Void) {
        if column.kind == .static {
            let shadow = staticShadow(of: partition)
            var edit = partition.staticRow.edit()
            body(&edit, shadow)
            partition.staticRow = RowData(edit)
        } else {
            withRow(clustering, &open, in: &partition, body)
        }
    }

    private func deletePartition(timestamp: Int64, now: Int32, in partition: inout PartitionData) {
        partition.deletion = DeletionTime.latest(partition.deletion, DeletionTime(timestamp: timestamp, localDeletionTime: now))
        var statics = partition.staticRow.edit()
        statics.purge(shadowedBy: timestamp)
        partition.staticRow = RowData(statics)
        partition.rangeTombstones.removeAll { $0.deletion.timestamp <= timestamp }
        purgeRows(in: &partition, shadowedBy: timestamp) { _ in true }
    }

    /// Purges the rows `covered` selects of everything at or below `timestamp` and drops the rows left empty.
    private func purgeRows(in partition: inout PartitionData, shadowedBy timestamp: Int64, _ covered: (ClusteredRow) -> Bool) {
        var kept: [ClusteredRow] = []
        kept.reserveCapacity(partition.rows.count)
        for var entry in partition.rows {
            if covered(entry) {
                var edit = entry.row.edit()
                edit.purge(shadowedBy: timestamp)
                entry.row = RowData(edit)
            }
            if !entry.row.isEmpty { kept.append(entry) }
        }
        partition.rows = kept
    }

    private func deleteRange(_ range: ClusteringSlice, timestamp: Int64, now: Int32, in partition: inout PartitionData) {
        let deletion = DeletionTime(timestamp: timestamp, localDeletionTime: now)
        var tombstones = partition.rangeTombstones
        if let index = tombstones.firstIndex(where: { $0.slice == range }) {
            tombstones[index].deletion = DeletionTime.latest(tombstones[index].deletion, deletion) ?? deletion
        } else {
            tombstones.append(RangeTombstone(slice: range, deletion: deletion))
        }
        partition.rangeTombstones = tombstones
        purgeRows(in: &partition, shadowedBy: timestamp) { slice(range, contains: $0.clustering) }
    }

    private func writeSimple(_ cell: CellData, column: ColumnSchema, id: Int, clustering: [[UInt8]], _ open: inout OpenRow?,
                             in partition: inout PartitionData) {
        updateRow(for: column, clustering: clustering, &open, in: &partition) { row, shadow in
            guard cell.timestamp > shadow else { return }
            row[simple: id] = row[simple: id].map { CellData.reconcile($0, cell) } ?? cell
        }
    }

    private func deleteComplex(_ row: inout RowEdit, id: Int, timestamp: Int64, now: Int32) {
        var complex = row.complex[id] ?? ComplexColumn(deletion: nil, cells: [])
        complex.deletion = DeletionTime.latest(complex.deletion, DeletionTime(timestamp: timestamp, localDeletionTime: now))
        complex.cells.removeAll { $0.cell.timestamp <= timestamp }
        row.setComplex(id, complex)
    }

    /// The order of cell paths within a multi-cell column.
    func comparePaths(_ a: [UInt8], _ b: [UInt8], column: ColumnSchema) -> Int {
        switch column.type {
        case let .set(element): ValueOrder.compare(a, b, as: element)
        case let .map(key, _): ValueOrder.compare(a, b, as: key)
        default: ValueOrder.compareBytes(a[...], b[...])
        }
    }

    private func applyPut(_ operation: CollectionOperation, column: ColumnSchema, id: Int, clustering: [[UInt8]],
                          timestamp: Int64, ttl: Int32?, now: Int32, _ open: inout OpenRow?, in partition: inout PartitionData) {
        let puts: [(path: [UInt8], value: [UInt8]?)]
        switch operation {
        case let .putCell(path, value): puts = [(path, value)]
        case let .setAdd(elements): puts = elements.map { ($0, []) }
        case let .setRemove(elements): puts = elements.map { ($0, nil) }
        case let .mapPut(entries): puts = entries.map { ($0.key, $0.value) }
        case let .mapRemove(keys): puts = keys.map { ($0, nil) }
        case .listAppend, .listPrepend, .listSetIndex, .listRemoveValues, .setField: puts = []
        }
        updateRow(for: column, clustering: clustering, &open, in: &partition) { row, shadow in
            var complex = row.complex[id] ?? ComplexColumn(deletion: nil, cells: [])
            let floor = max(shadow, complex.deletion?.timestamp ?? .min)
            guard timestamp > floor else { return }
            for put in puts {
                let cell = put.value.map { CellData.live($0, timestamp: timestamp, ttl: ttl, now: now) }
                    ?? CellData.tombstone(timestamp: timestamp, now: now)
                var low = 0
                var high = complex.cells.count
                var found = false
                while low < high {
                    let mid = (low + high) / 2
                    let order = comparePaths(complex.cells[mid].path, put.path, column: column)
                    if order == 0 {
                        low = mid
                        found = true
                        break
                    }
                    if order < 0 { low = mid + 1 } else { high = mid }
                }
                if found {
                    complex.cells[low].cell = CellData.reconcile(complex.cells[low].cell, cell)
                } else {
                    complex.cells.insert((put.path, cell), at: low)
                }
            }
            if !(complex.cells.isEmpty && complex.deletion == nil) { row.setComplex(id, complex) }
        }
    }

    /// A list cell path: a signed position, stored so that bytewise order is numeric order.
    static func listPath(_ position: Int64) -> [UInt8] {
        let biased = UInt64(bitPattern: position) ^ (1 << 63)
        return (0..<8).map { UInt8(truncatingIfNeeded: biased >> (56 - 8 * UInt64($0))) }
    }

    static func listPosition(_ path: [UInt8]) -> Int64 {
        guard path.count == 8 else { return 0 }
        let biased = path.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int64(bitPattern: biased ^ (1 << 63))
    }

    /// All cells of a multi-cell column, tombstones included (their paths must not be reused).
    private func allCells(of column: ColumnSchema, clustering: [[UInt8]], in partition: PartitionData) -> [(path: [UInt8], cell: CellData)] {
        guard let id = columns.id(column.name) else { return [] }
        let row: RowData?
        if column.kind == .static {
            row = partition.staticRow
        } else {
            let (index, found) = rowIndex(clustering, in: partition.rows)
            row = found ? partition.rows[index].row : nil
        }
        return row?.complex[id]?.cells ?? []
    }

    /// Turns an element-level change whose cell paths depend on the current state into exact cell writes.
    private func resolve(_ operation: CollectionOperation, column: ColumnSchema, clustering: [[UInt8]],
                         in partition: PartitionData, now: Int32) -> [CollectionOperation] {
        switch operation {
        case let .listAppend(values):
            let cells = allCells(of: column, clustering: clustering, in: partition)
            let last = cells.last.map { Self.listPosition($0.path) } ?? 0
            return values.enumerated().map { .putCell(path: Self.listPath(last &+ 1 &+ Int64($0.offset)), value: $0.element) }
        case let .listPrepend(values):
            let cells = allCells(of: column, clustering: clustering, in: partition)
            let first = cells.first.map { Self.listPosition($0.path) } ?? 0
            let count = Int64(values.count)
            return values.enumerated().map { .putCell(path: Self.listPath(first &- count &+ Int64($0.offset)), value: $0.element) }
        case let .listSetIndex(index, value):
            let live = liveCells(of: column, clustering: clustering, in: partition, now: now)
            guard index >= 0, index < live.count else { return [] }
            return [.putCell(path: live[index].path, value: value)]
        case let .listRemoveValues(values):
            let live = liveCells(of: column, clustering: clustering, in: partition, now: now)
            return live.filter { cell in values.contains { $0 == cell.cell.value } }.map { .putCell(path: $0.path, value: nil) }
        case let .setField(index, value):
            let path = [UInt8(truncatingIfNeeded: index >> 8), UInt8(truncatingIfNeeded: index)]
            return [.putCell(path: path, value: value)]
        case .setAdd, .setRemove, .mapPut, .mapRemove, .putCell:
            return [operation]
        }
    }

    /// The cells a whole-value write of a multi-cell column becomes (after its collection tombstone).
    private func wholeValueCells(_ value: [UInt8], column: ColumnSchema, in partition: PartitionData,
                                 clustering: [[UInt8]], now: Int32) -> [(path: [UInt8], value: [UInt8]?)] {
        switch column.type {
        case .list:
            let elements = ValueOrder.components(value, from: 4)
            let cells = allCells(of: column, clustering: clustering, in: partition)
            let last = cells.last.map { Self.listPosition($0.path) } ?? 0
            return elements.enumerated().compactMap { item in
                item.element.map { (Self.listPath(last &+ 1 &+ Int64(item.offset)), $0) }
            }
        case .set:
            return ValueOrder.components(value, from: 4).compactMap { element in element.map { ($0, []) } }
        case .map:
            let parts = ValueOrder.components(value, from: 4)
            return stride(from: 0, to: parts.count - 1, by: 2).compactMap { index in
                guard let key = parts[index], let value = parts[index + 1] else { return nil }
                return (key, value)
            }
        case .udt:
            return ValueOrder.components(value, from: 0).enumerated().compactMap { item in
                item.element.map { ([UInt8(truncatingIfNeeded: item.offset >> 8), UInt8(truncatingIfNeeded: item.offset)], $0) }
            }
        default:
            return []
        }
    }
}
