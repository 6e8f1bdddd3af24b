import CQLCodec

// The in-memory form of rows, compact because a queued job is three rows and the embedded node keeps every
// row in memory: one byte buffer per row instead of a dictionary of per-value arrays. Buffers are only ever
// produced by `PackedRow.pack` in this process (snapshots and the log keep their own format and are decoded
// into `RowEdit` first), so the readers below stop at a malformed buffer instead of throwing.

/// LEB128 varints and zigzag, the packed row's integer encoding.
enum PackedVarint {
    static func size(_ value: UInt64) -> Int {
        var value = value
        var count = 1
        while value >= 0x80 {
            value >>= 7
            count += 1
        }
        return count
    }

    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    /// The varint at `offset` (advanced past it), or `nil` when the buffer ends inside it or it overflows.
    static func read(_ bytes: [UInt8], _ offset: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count, shift < 64 {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }

    static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }

    static func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1) }

    /// Appends `value` in little-endian order.
    static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// The little-endian `T` at `offset` (advanced past it), or `nil` when the buffer ends first.
    static func readLittleEndian<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: inout Int, as type: T.Type = T.self) -> T? {
        let size = MemoryLayout<T>.size
        guard offset >= 0, bytes.count - offset >= size else { return nil }
        var bits: T = 0
        for index in 0..<size { bits |= T(truncatingIfNeeded: bytes[offset + index]) << (8 * index) }
        offset += size
        return bits
    }
}

/// Per-table column ids: the packed rows name columns by a small number instead of a string.
///
/// Append-only, so an id never changes meaning while rows use it; `ALTER TABLE ... DROP` removes the column's
/// data from every row at once, so a column added again under the same name may reuse its id safely.
struct ColumnIDs: Sendable {
    private(set) var names: [String] = []
    private var ids: [String: Int] = [:]

    func id(_ name: String) -> Int? { ids[name] }

    /// The name of `id`, or `nil` for an id this table never issued.
    func name(_ id: Int) -> String? { id >= 0 && id < names.count ? names[id] : nil }

    @discardableResult
    mutating func intern(_ name: String) -> Int {
        if let id = ids[name] { return id }
        let id = names.count
        names.append(name)
        ids[name] = id
        return id
    }
}

/// One cell as it sits in a packed buffer: its metadata and where its value is.
struct PackedCell {
    var timestamp: Int64
    var ttl: Int32?
    var localDeletionTime: Int32
    var isTombstone: Bool
    /// The value's bytes in the buffer (empty for a tombstone).
    var value: Range<Int>

    func isLive(at now: Int32) -> Bool { !isTombstone && (ttl == nil || now < localDeletionTime) }

    func cellData(in bytes: [UInt8]) -> CellData {
        CellData(value: isTombstone ? nil : Array(bytes[value]), timestamp: timestamp, ttl: ttl, localDeletionTime: localDeletionTime)
    }
}

/// The packed row format.
///
/// ```
/// row      := flags:u8 base:i64le [marker:cell] [deletion: zigzag(ts - base) ldt:i32le] (id:varint cell)*
///             (flags 0x01 marker, 0x02 deletion; the empty row is zero bytes; cells ascend by id)
/// cell     := h:u8 [zigzag(ts - base)]{h&4} [ttl:varint]{h&2} [ldt:i32le]{h&8} [len:varint bytes]{!(h&1)}
///             (h 0x01 tombstone, 0x02 expiring, 0x04 timestamp differs from base, 0x08 explicit local
///             deletion time; a live cell without it has Int32.max)
/// ```
/// Most cells of a row share one write timestamp, so they carry no timestamp bytes at all.
enum PackedRow {
    static let markerFlag: UInt8 = 0x01
    static let deletionFlag: UInt8 = 0x02

    private static func header(_ cell: CellData, base: Int64) -> UInt8 {
        var header: UInt8 = 0
        if cell.value == nil { header |= 0x01 }
        if cell.ttl != nil { header |= 0x02 }
        if cell.timestamp != base { header |= 0x04 }
        if cell.value == nil || cell.ttl != nil || cell.localDeletionTime != .max { header |= 0x08 }
        return header
    }

    private static func size(_ cell: CellData, base: Int64) -> Int {
        let header = header(cell, base: base)
        var size = 1
        if header & 0x04 != 0 { size += PackedVarint.size(PackedVarint.zigzag(cell.timestamp &- base)) }
        if let ttl = cell.ttl { size += PackedVarint.size(UInt64(UInt32(bitPattern: ttl))) }
        if header & 0x08 != 0 { size += 4 }
        if let value = cell.value { size += PackedVarint.size(UInt64(value.count)) + value.count }
        return size
    }

    private static func append(_ cell: CellData, base: Int64, to bytes: inout [UInt8]) {
        let header = header(cell, base: base)
        bytes.append(header)
        if header & 0x04 != 0 { PackedVarint.append(PackedVarint.zigzag(cell.timestamp &- base), to: &bytes) }
        if let ttl = cell.ttl { PackedVarint.append(UInt64(UInt32(bitPattern: ttl)), to: &bytes) }
        if header & 0x08 != 0 { PackedVarint.appendLittleEndian(cell.localDeletionTime, to: &bytes) }
        if let value = cell.value {
            PackedVarint.append(UInt64(value.count), to: &bytes)
            bytes.append(contentsOf: value)
        }
    }

    /// Packs a row into one buffer of exactly its size; `cells` must ascend by id without duplicates.
    static func pack(marker: CellData?, deletion: DeletionTime?, cells: [(id: Int, cell: CellData)]) -> [UInt8] {
        guard marker != nil || deletion != nil || !cells.isEmpty else { return [] }
        let base = marker?.timestamp ?? cells.first?.cell.timestamp ?? deletion?.timestamp ?? 0
        var total = 9
        if let marker { total += size(marker, base: base) }
        if let deletion { total += PackedVarint.size(PackedVarint.zigzag(deletion.timestamp &- base)) + 4 }
        for (id, cell) in cells { total += PackedVarint.size(UInt64(id)) + size(cell, base: base) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(total)
        bytes.append((marker == nil ? 0 : markerFlag) | (deletion == nil ? 0 : deletionFlag))
        PackedVarint.appendLittleEndian(base, to: &bytes)
        if let marker { append(marker, base: base, to: &bytes) }
        if let deletion {
            PackedVarint.append(PackedVarint.zigzag(deletion.timestamp &- base), to: &bytes)
            PackedVarint.appendLittleEndian(deletion.localDeletionTime, to: &bytes)
        }
        for (id, cell) in cells {
            PackedVarint.append(UInt64(id), to: &bytes)
            append(cell, base: base, to: &bytes)
        }
        return bytes
    }

    /// Reads one cell at `offset`, or `nil` when the buffer is malformed there.
    static func readCell(_ bytes: [UInt8], _ offset: inout Int, base: Int64) -> PackedCell? {
        guard offset >= 0, offset < bytes.count else { return nil }
        let header = bytes[offset]
        offset += 1
        var timestamp = base
        if header & 0x04 != 0 {
            guard let delta = PackedVarint.read(bytes, &offset) else { return nil }
            timestamp = base &+ PackedVarint.unzigzag(delta)
        }
        var ttl: Int32?
        if header & 0x02 != 0 {
            guard let raw = PackedVarint.read(bytes, &offset), raw <= UInt64(UInt32.max) else { return nil }
            ttl = Int32(bitPattern: UInt32(raw))
        }
        var localDeletionTime = Int32.max
        if header & 0x08 != 0 {
            guard let time = PackedVarint.readLittleEndian(bytes, &offset, as: Int32.self) else { return nil }
            localDeletionTime = time
        }
        let isTombstone = header & 0x01 != 0
        var value = offset..<offset
        if !isTombstone {
            guard let length = PackedVarint.read(bytes, &offset), length <= UInt64(bytes.count - offset) else { return nil }
            value = offset..<(offset + Int(length))
            offset += Int(length)
        }
        return PackedCell(timestamp: timestamp, ttl: ttl, localDeletionTime: localDeletionTime, isTombstone: isTombstone, value: value)
    }
}

/// Walks a packed row: the marker and deletion up front, then the cells in id order.
struct PackedRowReader {
    let bytes: [UInt8]
    private(set) var marker: PackedCell?
    private(set) var deletion: DeletionTime?
    private var base: Int64 = 0
    private var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        guard let flags = bytes.first else { return }
        offset = 1
        guard let base = PackedVarint.readLittleEndian(bytes, &offset, as: Int64.self) else {
            offset = bytes.count
            return
        }
        self.base = base
        if flags & PackedRow.markerFlag != 0 {
            marker = PackedRow.readCell(bytes, &offset, base: base)
            if marker == nil { offset = bytes.count }
        }
        if flags & PackedRow.deletionFlag != 0 {
            guard let delta = PackedVarint.read(bytes, &offset), let time = PackedVarint.readLittleEndian(bytes, &offset, as: Int32.self) else {
                offset = bytes.count
                return
            }
            deletion = DeletionTime(timestamp: base &+ PackedVarint.unzigzag(delta), localDeletionTime: time)
        }
    }

    /// The next cell and its column id, or `nil` at the end.
    mutating func next() -> (id: Int, cell: PackedCell)? {
        guard offset < bytes.count else { return nil }
        guard let raw = PackedVarint.read(bytes, &offset), raw <= UInt64(Int32.max),
              let cell = PackedRow.readCell(bytes, &offset, base: base) else {
            offset = bytes.count
            return nil
        }
        return (Int(raw), cell)
    }
}

/// A row decoded for editing: what ``RowData`` packs, with values as arrays.
struct RowEdit: Sendable {
    var marker: CellData?
    var deletion: DeletionTime?
    /// The simple cells, ascending by column id.
    var cells: [(id: Int, cell: CellData)] = []
    /// The multi-cell columns by column id.
    var complex: [Int: ComplexColumn] = [:]

    var isEmpty: Bool { marker == nil && deletion == nil && cells.isEmpty && complex.isEmpty }

    private func position(of id: Int) -> (index: Int, found: Bool) {
        var low = 0
        var high = cells.count
        while low < high {
            let mid = (low + high) / 2
            if cells[mid].id == id { return (mid, true) }
            if cells[mid].id < id { low = mid + 1 } else { high = mid }
        }
        return (low, false)
    }

    /// The simple cell of column `id`; setting one drops a multi-cell value of the same id and keeps ids ascending.
    subscript(simple id: Int) -> CellData? {
        get {
            let (index, found) = position(of: id)
            return found ? cells[index].cell : nil
        }
        set {
            let (index, found) = position(of: id)
            switch (found, newValue) {
            case let (true, cell?): cells[index].cell = cell
            case (true, nil): cells.remove(at: index)
            case let (false, cell?):
                complex[id] = nil
                cells.insert((id, cell), at: index)
            case (false, nil): break
            }
        }
    }

    /// Sets a multi-cell column, dropping a simple cell of the same id.
    mutating func setComplex(_ id: Int, _ column: ComplexColumn?) {
        let (index, found) = position(of: id)
        if column != nil, found { cells.remove(at: index) }
        complex[id] = column
    }

    /// Drops everything a deletion at `timestamp` shadows.
    mutating func purge(shadowedBy timestamp: Int64) {
        if let marker, marker.timestamp <= timestamp { self.marker = nil }
        if let deletion, deletion.timestamp <= timestamp { self.deletion = nil }
        cells.removeAll { $0.cell.timestamp <= timestamp }
        for (id, var column) in complex {
            column.cells.removeAll { $0.cell.timestamp <= timestamp }
            if let deletion = column.deletion, deletion.timestamp <= timestamp { column.deletion = nil }
            complex[id] = column.cells.isEmpty && column.deletion == nil ? nil : column
        }
    }
}

/// A row (or the static row) in memory: marker, row tombstone and simple cells packed in one buffer, and the
/// multi-cell columns (which the scheduler's tables never use) on the side.
struct RowData: Hashable, Sendable {
    /// ``PackedRow`` bytes; empty for a row without marker, tombstone or simple cells.
    var packed: [UInt8] = []
    /// Multi-cell columns by column id.
    var complex: [Int: ComplexColumn] = [:]

    init() {}

    init(_ edit: RowEdit) {
        packed = PackedRow.pack(marker: edit.marker, deletion: edit.deletion, cells: edit.cells)
        complex = edit.complex
    }

    var isEmpty: Bool { packed.isEmpty && complex.isEmpty }

    var reader: PackedRowReader { PackedRowReader(packed) }

    var deletion: DeletionTime? { packed.isEmpty ? nil : reader.deletion }

    /// The row decoded for editing.
    func edit() -> RowEdit {
        var edit = RowEdit()
        edit.complex = complex
        guard !packed.isEmpty else { return edit }
        var reader = reader
        edit.marker = reader.marker?.cellData(in: packed)
        edit.deletion = reader.deletion
        while let (id, cell) = reader.next() { edit.cells.append((id, cell.cellData(in: packed))) }
        return edit
    }

    /// Whether any simple or multi-cell column has one of these ids.
    func contains(anyOf ids: Set<Int>) -> Bool {
        if complex.keys.contains(where: ids.contains) { return true }
        var reader = reader
        while let (id, _) = reader.next() {
            if ids.contains(id) { return true }
        }
        return false
    }
}

/// Clustering values packed in one buffer: each as `len:varint bytes`, in clustering order.
struct ClusteringKey: Hashable, Sendable {
    var packed: [UInt8]

    init(_ values: [[UInt8]]) {
        guard !values.isEmpty else {
            packed = []
            return
        }
        var total = 0
        for value in values { total += PackedVarint.size(UInt64(value.count)) + value.count }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(total)
        for value in values {
            PackedVarint.append(UInt64(value.count), to: &bytes)
            bytes.append(contentsOf: value)
        }
        packed = bytes
    }

    /// The component at `offset` (advanced past it), or `nil` at the end.
    private func component(_ offset: inout Int) -> ArraySlice<UInt8>? {
        guard offset < packed.count, let length = PackedVarint.read(packed, &offset),
              length <= UInt64(packed.count - offset) else { return nil }
        let start = offset
        offset += Int(length)
        return packed[start..<offset]
    }

    /// The clustering values.
    var values: [[UInt8]] {
        var result: [[UInt8]] = []
        var offset = 0
        while let value = component(&offset) { result.append(Array(value)) }
        return result
    }

    /// Compares the first `limit` values with `other` like ``ValueOrder/compareClustering(_:_:columns:)``
    /// compares `Array(values.prefix(limit))` with `other`.
    func compare(_ other: [[UInt8]], limit: Int = .max, columns: [ColumnSchema]) -> Int {
        var offset = 0
        var count = 0
        while count < limit, let value = component(&offset) {
            if count < other.count, count < columns.count {
                let column = columns[count]
                var result = ValueOrder.compare(value, other[count][...], as: column.type)
                if case .clustering(_, .descending) = column.kind { result = -result }
                if result != 0 { return result }
            }
            count += 1
        }
        return count - other.count
    }
}
