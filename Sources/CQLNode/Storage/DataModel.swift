import CQLCodec
import Foundation

/// A tombstone's time: what it shadows (`timestamp`) and when it was written (`localDeletionTime`, seconds).
struct DeletionTime: Hashable, Sendable {
    var timestamp: Int64
    var localDeletionTime: Int32

    /// The later of two optional deletions.
    static func latest(_ a: DeletionTime?, _ b: DeletionTime?) -> DeletionTime? {
        guard let a else { return b }
        guard let b else { return a }
        return b.timestamp > a.timestamp ? b : a
    }
}

/// One cell: a value (or a tombstone) with its write timestamp and optional expiry.
struct CellData: Hashable, Sendable {
    /// The value, or `nil` for a tombstone.
    var value: [UInt8]?
    /// The write timestamp in microseconds.
    var timestamp: Int64
    /// The TTL it was written with, for expiring cells.
    var ttl: Int32?
    /// For an expiring cell, when it expires; for a tombstone, when it was written (seconds).
    var localDeletionTime: Int32

    static func live(_ value: [UInt8], timestamp: Int64, ttl: Int32?, now: Int32) -> CellData {
        guard let ttl, ttl > 0 else { return CellData(value: value, timestamp: timestamp, ttl: nil, localDeletionTime: .max) }
        let (expiry, overflow) = now.addingReportingOverflow(ttl)
        return CellData(value: value, timestamp: timestamp, ttl: ttl, localDeletionTime: overflow ? .max : expiry)
    }

    static func tombstone(timestamp: Int64, now: Int32) -> CellData {
        CellData(value: nil, timestamp: timestamp, ttl: nil, localDeletionTime: now)
    }

    func isLive(at now: Int32) -> Bool {
        value != nil && (ttl == nil || now < localDeletionTime)
    }

    /// Cassandra's reconciliation: the higher timestamp wins; on a tie a tombstone wins, then the greater value,
    /// then the later expiry.
    static func reconcile(_ a: CellData, _ b: CellData) -> CellData {
        if a.timestamp != b.timestamp { return a.timestamp > b.timestamp ? a : b }
        switch (a.value, b.value) {
        case (nil, _): return a
        case (_, nil): return b
        case let (.some(x), .some(y)):
            let order = ValueOrder.compareBytes(x[...], y[...])
            if order != 0 { return order > 0 ? a : b }
            return a.localDeletionTime >= b.localDeletionTime ? a : b
        }
    }
}

/// The cells of a multi-cell column (non-frozen collection or UDT), sorted by cell path.
struct ComplexColumn: Hashable, Sendable {
    var deletion: DeletionTime?
    var cells: [(path: [UInt8], cell: CellData)]

    static func == (lhs: ComplexColumn, rhs: ComplexColumn) -> Bool {
        lhs.deletion == rhs.deletion
            && lhs.cells.elementsEqual(rhs.cells) { $0.path == $1.path && $0.cell == $1.cell }
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(deletion)
        hasher.combine(cells.count)
    }
}

/// A row with its clustering values.
struct ClusteredRow: Hashable, Sendable {
    var clustering: ClusteringKey
    var row: RowData
}

/// A range tombstone over a clustering slice.
struct RangeTombstone: Hashable, Sendable {
    var slice: ClusteringSlice
    var deletion: DeletionTime
}

/// A partition's position in the ring: Murmur3 token, then key bytes (unsigned), as Cassandra orders them.
struct PartitionPosition: Hashable, Comparable, Sendable {
    var token: Int64
    var key: [UInt8]

    init(key: [UInt8]) {
        self.key = key
        self.token = Murmur3Token.token(of: key)
    }

    static func < (lhs: PartitionPosition, rhs: PartitionPosition) -> Bool {
        if lhs.token != rhs.token { return lhs.token < rhs.token }
        return ValueOrder.compareBytes(lhs.key[...], rhs.key[...]) < 0
    }
}

/// What few partitions have besides rows: a partition tombstone, static columns, range tombstones.
struct PartitionExtras: Hashable, Sendable {
    var deletion: DeletionTime?
    var staticRow = RowData()
    var rangeTombstones: [RangeTombstone] = []

    var isEmpty: Bool { deletion == nil && staticRow.isEmpty && rangeTombstones.isEmpty }
}

/// One partition: tombstones, the static row and the rows in clustering order.
///
/// The extras live in an array of at most one element, so the common partition (rows only) spends eight bytes
/// and no allocation on them, and copy-on-write still comes for free.
struct PartitionData: Hashable, Sendable {
    var rows: [ClusteredRow] = []
    private var extras: [PartitionExtras] = []

    private mutating func updateExtras(_ body: (inout PartitionExtras) -> Void) {
        if extras.isEmpty {
            var fresh = PartitionExtras()
            body(&fresh)
            if !fresh.isEmpty { extras = [fresh] }
        } else {
            body(&extras[0])
            if extras[0].isEmpty { extras = [] }
        }
    }

    var deletion: DeletionTime? {
        get { extras.first?.deletion }
        set { updateExtras { $0.deletion = newValue } }
    }

    var staticRow: RowData {
        get { extras.first?.staticRow ?? RowData() }
        set { updateExtras { $0.staticRow = newValue } }
    }

    var rangeTombstones: [RangeTombstone] {
        get { extras.first?.rangeTombstones ?? [] }
        set { updateExtras { $0.rangeTombstones = newValue } }
    }

    var isEmpty: Bool { extras.isEmpty && rows.isEmpty }
}

/// One table's data: partitions by position, and the positions in ring order for scans.
struct TableData: Sendable {
    /// The ids packed rows use for this table's columns.
    var columns = ColumnIDs()
    var partitions: [PartitionPosition: PartitionData] = [:]
    var order: [PartitionPosition] = []

    /// The index of the first position not less than `position`.
    func lowerBound(_ position: PartitionPosition) -> Int {
        var low = 0
        var high = order.count
        while low < high {
            let mid = (low + high) / 2
            if order[mid] < position { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The index of the first partition whose token is greater than (or, when `inclusive`, equal to) `token`.
    func firstIndex(token: Int64, inclusive: Bool) -> Int {
        var low = 0
        var high = order.count
        while low < high {
            let mid = (low + high) / 2
            if order[mid].token < token || (!inclusive && order[mid].token == token) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    mutating func insertPositionIfNeeded(_ position: PartitionPosition) {
        guard partitions[position] == nil else { return }
        order.insert(position, at: lowerBound(position))
        partitions[position] = PartitionData()
    }

    mutating func removeIfEmpty(_ position: PartitionPosition) {
        guard let partition = partitions[position], partition.isEmpty else { return }
        partitions[position] = nil
        let index = lowerBound(position)
        if index < order.count, order[index] == position { order.remove(at: index) }
    }
}
