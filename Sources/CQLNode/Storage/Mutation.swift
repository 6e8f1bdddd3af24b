import Foundation

/// One end of a clustering slice: a clustering prefix and whether rows equal to it on that prefix are included.
struct ClusteringBound: Hashable, Sendable {
    /// The leading clustering values (fewer than the table's clustering columns is a prefix).
    var prefix: [[UInt8]]
    /// Whether rows whose clustering starts with `prefix` are inside the bound.
    var inclusive: Bool

    /// A bound at a clustering prefix.
    init(_ prefix: [[UInt8]], inclusive: Bool) {
        self.prefix = prefix
        self.inclusive = inclusive
    }
}

/// A contiguous clustering range in the table's clustering order; `nil` ends are open.
///
/// Bounds follow storage order, not value order: on a `DESC` column `ck > 5` is an *end* bound.
struct ClusteringSlice: Hashable, Sendable {
    /// The lower end in clustering order, or `nil` for the partition's first row.
    var start: ClusteringBound?
    /// The upper end in clustering order, or `nil` for the partition's last row.
    var end: ClusteringBound?

    /// A slice between two bounds.
    init(start: ClusteringBound?, end: ClusteringBound?) {
        self.start = start
        self.end = end
    }

    /// Every row of the partition.
    static let all = ClusteringSlice(start: nil, end: nil)

    /// The rows whose clustering starts with `prefix` (`ck1 = ? AND ck2 = ?`).
    static func prefix(_ values: [[UInt8]]) -> ClusteringSlice {
        values.isEmpty ? .all : ClusteringSlice(start: .init(values, inclusive: true), end: .init(values, inclusive: true))
    }

    /// Whether the slice selects every row.
    var isUnrestricted: Bool { start == nil && end == nil }
}

/// An element-level change of a non-frozen collection or UDT column.
enum CollectionOperation: Hashable, Sendable {
    /// `l = l + [...]`.
    case listAppend([[UInt8]])
    /// `l = [...] + l`.
    case listPrepend([[UInt8]])
    /// `l[index] = value` (`nil` deletes the element: `DELETE l[index]`).
    case listSetIndex(Int, [UInt8]?)
    /// `l = l - [...]`: removes every element equal to one of the values.
    case listRemoveValues([[UInt8]])
    /// `s = s + {...}`.
    case setAdd([[UInt8]])
    /// `s = s - {...}`.
    case setRemove([[UInt8]])
    /// `m = m + {k: v}` or `m[k] = v`.
    case mapPut([MapEntry])
    /// `m = m - {k}` or `DELETE m[k]`.
    case mapRemove([[UInt8]])
    /// `u.field = value` on a non-frozen UDT (`nil` deletes the field).
    case setField(index: Int, value: [UInt8]?)
    /// A cell written at an exact cell path; what list and UDT operations resolve to before logging.
    case putCell(path: [UInt8], value: [UInt8]?)

    /// A map entry.
    struct MapEntry: Hashable, Sendable {
        /// The serialized key.
        var key: [UInt8]
        /// The serialized value.
        var value: [UInt8]

        /// An entry.
        init(key: [UInt8], value: [UInt8]) {
            self.key = key
            self.value = value
        }
    }
}

/// One change inside a ``Mutation``; `clustering` is ignored for static columns (and is `[]` without clustering columns).
enum MutationOperation: Hashable, Sendable {
    /// `DELETE FROM t WHERE pk = ?`: a partition tombstone.
    case deletePartition(timestamp: Int64)
    /// `DELETE FROM t WHERE pk = ? AND <full clustering>`: a row tombstone.
    case deleteRow(clustering: [[UInt8]], timestamp: Int64)
    /// `DELETE ... WHERE pk = ? AND ck1 = ?` (or a range): a range tombstone over a clustering slice.
    case deleteRange(ClusteringSlice, timestamp: Int64)
    /// The row marker an INSERT writes, so the row exists even when all its regular columns are null.
    case insertRowMarker(clustering: [[UInt8]], timestamp: Int64, ttl: Int32?)
    /// Writes a simple (or frozen) column's value; a non-frozen collection column gets a whole-value overwrite.
    case setColumn(clustering: [[UInt8]], column: String, value: [UInt8], timestamp: Int64, ttl: Int32?)
    /// Deletes a column's value (`DELETE c FROM ...`, `SET c = null`), for collections the whole collection.
    case deleteColumn(clustering: [[UInt8]], column: String, timestamp: Int64)
    /// `SET c = c + delta` on a counter column.
    case counterAdd(clustering: [[UInt8]], column: String, delta: Int64, timestamp: Int64)
    /// An element-level change of a non-frozen collection or UDT column.
    case collection(clustering: [[UInt8]], column: String, CollectionOperation, timestamp: Int64, ttl: Int32?)
}

/// Changes to one partition of one table, applied atomically.
struct Mutation: Hashable, Sendable {
    /// The table's id (``TableSchema/id``).
    var tableID: UUID
    /// The serialized partition key (``Murmur3Token/partitionKeyBytes(_:)`` for composite keys).
    var partitionKey: [UInt8]
    /// The changes in order.
    var operations: [MutationOperation]
    /// The coordinator's clock in seconds: TTL expiry times and tombstone deletion times derive from it.
    var nowInSeconds: Int32

    /// A mutation.
    init(tableID: UUID, partitionKey: [UInt8], operations: [MutationOperation], nowInSeconds: Int32) {
        self.tableID = tableID
        self.partitionKey = partitionKey
        self.operations = operations
        self.nowInSeconds = nowInSeconds
    }
}

/// A change of one column set by `ALTER TABLE`.
enum TableAlteration: Sendable {
    /// `ADD` columns (regular or static).
    case addColumns([ColumnSchema])
    /// `DROP` columns; their data is discarded.
    case dropColumns([String])
    /// `WITH option = value`: replaces or adds options.
    case setOptions([(String, String)])
}

/// A schema change, recorded in the commit log like data.
enum SchemaMutation: Sendable {
    /// `CREATE KEYSPACE [IF NOT EXISTS]`.
    case createKeyspace(KeyspaceSchema, ifNotExists: Bool)
    /// `ALTER KEYSPACE`: new replication and durable writes.
    case alterKeyspace(name: String, replication: [(String, String)]?, durableWrites: Bool?)
    /// `DROP KEYSPACE [IF EXISTS]`.
    case dropKeyspace(String, ifExists: Bool)
    /// `CREATE TABLE [IF NOT EXISTS]`.
    case createTable(TableSchema, ifNotExists: Bool)
    /// `ALTER TABLE [IF EXISTS]`.
    case alterTable(keyspace: String, table: String, TableAlteration, ifExists: Bool)
    /// `DROP TABLE [IF EXISTS]`.
    case dropTable(keyspace: String, table: String, ifExists: Bool)
    /// `TRUNCATE`.
    case truncateTable(keyspace: String, table: String)
    /// `CREATE TYPE [IF NOT EXISTS]`.
    case createType(UserTypeSchema, ifNotExists: Bool)
    /// `DROP TYPE [IF EXISTS]`.
    case dropType(keyspace: String, name: String, ifExists: Bool)
}
