import CQLCodec
import Foundation

/// The sort direction of a clustering column (`WITH CLUSTERING ORDER BY`).
enum ClusteringOrder: String, Hashable, Sendable {
    /// Ascending: the type's natural order.
    case ascending = "ASC"
    /// Descending: the type's natural order reversed.
    case descending = "DESC"
}

/// The role a column plays in a table, as `system_schema.columns.kind` names it.
enum ColumnKind: Hashable, Sendable {
    /// A component of the partition key, at its position (0-based).
    case partitionKey(position: Int)
    /// A clustering column, at its position (0-based), with its order.
    case clustering(position: Int, order: ClusteringOrder)
    /// A regular column: one value per row.
    case regular
    /// A static column: one value per partition.
    case `static`

    /// Whether the column belongs to the primary key.
    var isPrimaryKey: Bool {
        switch self {
        case .partitionKey, .clustering: true
        case .regular, .static: false
        }
    }
}

/// A column of a table.
struct ColumnSchema: Hashable, Sendable {
    /// The column's name (case as stored: unquoted names are lower case).
    var name: String
    /// The column's type.
    var type: DataType
    /// The column's role.
    var kind: ColumnKind
    /// Whether a collection or UDT column is frozen (one cell) or multi-cell.
    var isFrozen: Bool

    /// A column; `isFrozen` only matters for collections and UDTs.
    init(name: String, type: DataType, kind: ColumnKind, isFrozen: Bool = false) {
        self.name = name
        self.type = type
        self.kind = kind
        self.isFrozen = isFrozen
    }

    /// Whether the column is stored as several cells (a non-frozen collection or UDT).
    var isMultiCell: Bool {
        guard !isFrozen, !kind.isPrimaryKey else { return false }
        switch type {
        case .list, .set, .map, .udt: return true
        default: return false
        }
    }
}

/// A table: its columns in declaration order and its options.
struct TableSchema: Hashable, Sendable {
    /// The keyspace the table belongs to.
    var keyspace: String
    /// The table's name.
    var name: String
    /// The table's id (`system_schema.tables.id`).
    var id: UUID
    /// The columns in declaration order.
    var columns: [ColumnSchema]
    /// Table options in the order they were given (`comment`, `default_time_to_live`, ...).
    var options: [(String, String)]

    /// A table.
    init(keyspace: String, name: String, id: UUID = UUID(), columns: [ColumnSchema], options: [(String, String)] = []) {
        self.keyspace = keyspace
        self.name = name
        self.id = id
        self.columns = columns
        self.options = options
    }

    /// The partition key columns by position.
    var partitionKeyColumns: [ColumnSchema] {
        columns.compactMap { column -> (Int, ColumnSchema)? in
            if case let .partitionKey(position) = column.kind { return (position, column) }
            return nil
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// The clustering columns by position.
    var clusteringColumns: [ColumnSchema] {
        columns.compactMap { column -> (Int, ColumnSchema)? in
            if case let .clustering(position, _) = column.kind { return (position, column) }
            return nil
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// The serialized partition key for the partition key columns' values, in position order.
    func partitionKey(_ components: [[UInt8]]) -> [UInt8] { Murmur3Token.partitionKeyBytes(components) }

    /// The partition key columns' values inside a serialized partition key, or `nil` when it is malformed.
    func partitionKeyComponents(_ key: [UInt8]) -> [[UInt8]]? {
        let count = partitionKeyColumns.count
        guard count > 1 else { return [key] }
        var components: [[UInt8]] = []
        var offset = 0
        while offset < key.count {
            guard offset + 2 <= key.count else { return nil }
            let length = Int(key[offset]) << 8 | Int(key[offset + 1])
            let end = offset + 2 + length
            guard end < key.count, key[end] == 0 else { return nil }
            components.append(Array(key[(offset + 2)..<end]))
            offset = end + 1
        }
        return components.count == count ? components : nil
    }

    /// The static columns in declaration order.
    var staticColumns: [ColumnSchema] { columns.filter { $0.kind == .static } }

    /// The regular columns in declaration order.
    var regularColumns: [ColumnSchema] { columns.filter { $0.kind == .regular } }

    /// The column with this name, if any.
    func column(named name: String) -> ColumnSchema? { columns.first { $0.name == name } }

    /// Whether the table holds counters (every non-key column is a `counter`).
    var isCounterTable: Bool {
        columns.contains { !$0.kind.isPrimaryKey && $0.type == .counter }
    }

    /// The value of an option, if set.
    func option(_ name: String) -> String? { options.last { $0.0 == name }?.1 }

    /// `default_time_to_live` in seconds (0 when unset).
    var defaultTimeToLive: Int32 { option("default_time_to_live").flatMap { Int32($0) } ?? 0 }

    /// `gc_grace_seconds` (864000, ten days, when unset, as in Cassandra).
    var gcGraceSeconds: Int32 { option("gc_grace_seconds").flatMap { Int32($0) } ?? 864_000 }

    /// Tables are equal when every field, options included, is equal.
    static func == (lhs: TableSchema, rhs: TableSchema) -> Bool {
        lhs.keyspace == rhs.keyspace && lhs.name == rhs.name && lhs.id == rhs.id && lhs.columns == rhs.columns
            && lhs.options.elementsEqual(rhs.options) { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    /// Hashes the identifying fields.
    func hash(into hasher: inout Hasher) {
        hasher.combine(keyspace)
        hasher.combine(name)
        hasher.combine(id)
    }
}

/// A user-defined type declared in a keyspace.
struct UserTypeSchema: Hashable, Sendable {
    /// The keyspace the type belongs to.
    var keyspace: String
    /// The type's name.
    var name: String
    /// The fields in declaration order.
    var fields: [UserType.Field]

    /// A user-defined type.
    init(keyspace: String, name: String, fields: [UserType.Field]) {
        self.keyspace = keyspace
        self.name = name
        self.fields = fields
    }

    /// The type as the protocol describes it.
    var dataType: DataType { .udt(UserType(keyspace: keyspace, name: name, fields: fields)) }
}

/// A keyspace: replication, durable writes, its tables and user types.
struct KeyspaceSchema: Hashable, Sendable {
    /// The keyspace's name.
    var name: String
    /// Replication options in order: `class` first, then `replication_factor` or one entry per data center.
    var replication: [(String, String)]
    /// `durable_writes`.
    var durableWrites: Bool
    /// The tables by name.
    var tables: [String: TableSchema]
    /// The user types by name, in creation order.
    var userTypes: [UserTypeSchema]

    /// A keyspace without tables.
    init(name: String, replication: [(String, String)], durableWrites: Bool = true,
                tables: [String: TableSchema] = [:], userTypes: [UserTypeSchema] = []) {
        self.name = name
        self.replication = replication
        self.durableWrites = durableWrites
        self.tables = tables
        self.userTypes = userTypes
    }

    /// The replication factor for this data center (or `replication_factor`), as Cassandra counts replicas.
    func replicationFactor(dataCenter: String = "datacenter1") -> Int {
        let strategy = replication.first { $0.0 == "class" }?.1 ?? ""
        if strategy.hasSuffix("NetworkTopologyStrategy") {
            return replication.first { $0.0 == dataCenter }.flatMap { Int($0.1) } ?? 0
        }
        return replication.first { $0.0 == "replication_factor" }.flatMap { Int($0.1) } ?? 0
    }

    /// The user type with this name, if any.
    func userType(named name: String) -> UserTypeSchema? { userTypes.first { $0.name == name } }

    /// Keyspaces are equal when every field, replication included, is equal.
    static func == (lhs: KeyspaceSchema, rhs: KeyspaceSchema) -> Bool {
        lhs.name == rhs.name && lhs.durableWrites == rhs.durableWrites && lhs.tables == rhs.tables
            && lhs.userTypes == rhs.userTypes
            && lhs.replication.elementsEqual(rhs.replication) { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    /// Hashes the name.
    func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

/// All keyspaces the node knows: the schema catalog.
struct Catalog: Hashable, Sendable {
    /// The keyspaces by name.
    var keyspaces: [String: KeyspaceSchema]

    /// An empty catalog.
    init(keyspaces: [String: KeyspaceSchema] = [:]) { self.keyspaces = keyspaces }

    /// The table with this keyspace and name; throws Cassandra's error when either is missing.
    func table(keyspace: String, name: String) throws(StorageError) -> TableSchema {
        guard let space = keyspaces[keyspace] else { throw .keyspaceNotFound(keyspace) }
        guard let table = space.tables[name] else { throw .unconfiguredTable(keyspace: keyspace, table: name) }
        return table
    }

    /// The table with this id, if any.
    func table(id: UUID) -> TableSchema? {
        for space in keyspaces.values {
            for table in space.tables.values where table.id == id { return table }
        }
        return nil
    }
}
