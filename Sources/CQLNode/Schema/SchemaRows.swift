import CQLCodec
import Foundation

/// The rows `system_schema.*` (and `system_virtual_schema.*` for virtual keyspaces) hold for a keyspace,
/// written as Cassandra 4.1 writes them: kinds `partition_key`/`clustering`/`regular`/`static`, clustering
/// order `asc`/`desc`/`none`, type text such as `frozen<list<int>>`.
enum SchemaRows {
    /// The tables a keyspace has rows in, by schema keyspace.
    static let schemaTables = ["keyspaces", "tables", "columns", "dropped_columns", "triggers", "views", "types",
                               "functions", "aggregates", "indexes"]
    static let virtualSchemaTables = ["keyspaces", "tables", "columns"]

    /// Partition tombstones (at `timestamp`) for every row describing `keyspace`.
    static func deleteKeyspaceRows(_ keyspace: String, catalog: Catalog, timestamp: Int64) -> [Mutation] {
        let virtual = SystemKeyspaces.virtualNames.contains(keyspace)
        let schemaKeyspace = virtual ? "system_virtual_schema" : "system_schema"
        let tables = virtual ? virtualSchemaTables : schemaTables
        return tables.compactMap { name in
            guard let table = catalog.keyspaces[schemaKeyspace]?.tables[name] else { return nil }
            return Mutation(tableID: table.id, partitionKey: Array(keyspace.utf8),
                            operations: [.deletePartition(timestamp: timestamp)], nowInSeconds: nowSeconds())
        }
    }

    /// Every row describing `keyspace` (its keyspace row, tables, columns and types), written at `timestamp`.
    static func keyspaceRows(_ keyspace: KeyspaceSchema, catalog: Catalog, timestamp: Int64) throws(StorageError) -> [Mutation] {
        if SystemKeyspaces.virtualNames.contains(keyspace.name) {
            return try virtualKeyspaceRows(keyspace, catalog: catalog, timestamp: timestamp)
        }
        var rows: [Mutation] = []
        let replication = CQLValue.map(keyspace.replication.map { CQLMapEntry(key: .text($0.0), value: .text($0.1)) })
        rows.append(try row(in: catalog, "system_schema", "keyspaces", [
            "keyspace_name": .text(keyspace.name), "durable_writes": .boolean(keyspace.durableWrites),
            "replication": replication,
        ], timestamp: timestamp))
        for table in keyspace.tables.values.sorted(by: { $0.name < $1.name }) {
            var values: [String: CQLValue] = [
                "keyspace_name": .text(keyspace.name), "table_name": .text(table.name), "id": .uuid(table.id),
                "flags": .set([.text("compound")]), "dclocal_read_repair_chance": .double(0), "read_repair_chance": .double(0),
            ]
            for (name, value) in TableOptions.effective(table) {
                switch value {
                case let .text(text): values[name] = .text(text)
                case let .int(number): values[name] = .int(number)
                case let .double(number): values[name] = .double(number)
                case let .boolean(flag): values[name] = .boolean(flag)
                case let .map(entries):
                    values[name] = .map(entries.map { entry in
                        CQLMapEntry(key: .text(entry.0), value: name == "extensions" ? .blob(Array(entry.1.utf8)) : .text(entry.1))
                    })
                }
            }
            if table.isCounterTable { values["flags"] = .set([.text("compound"), .text("counter")]) }
            rows.append(try row(in: catalog, "system_schema", "tables", values, timestamp: timestamp))
            for column in table.columns {
                rows.append(try row(in: catalog, "system_schema", "columns", columnValues(column, table: table), timestamp: timestamp))
            }
        }
        for type in keyspace.userTypes {
            rows.append(try row(in: catalog, "system_schema", "types", [
                "keyspace_name": .text(keyspace.name), "type_name": .text(type.name),
                "field_names": .list(type.fields.map { .text($0.name) }),
                "field_types": .list(type.fields.map { .text(SchemaTypeText.nested($0.type)) }),
            ], timestamp: timestamp))
        }
        return rows
    }

    private static func virtualKeyspaceRows(_ keyspace: KeyspaceSchema, catalog: Catalog, timestamp: Int64) throws(StorageError) -> [Mutation] {
        var rows = [try row(in: catalog, "system_virtual_schema", "keyspaces", ["keyspace_name": .text(keyspace.name)], timestamp: timestamp)]
        for table in keyspace.tables.values.sorted(by: { $0.name < $1.name }) {
            rows.append(try row(in: catalog, "system_virtual_schema", "tables", [
                "keyspace_name": .text(keyspace.name), "table_name": .text(table.name), "comment": .text(table.option("comment") ?? ""),
            ], timestamp: timestamp))
            for column in table.columns {
                rows.append(try row(in: catalog, "system_virtual_schema", "columns", columnValues(column, table: table), timestamp: timestamp))
            }
        }
        return rows
    }

    private static func columnValues(_ column: ColumnSchema, table: TableSchema) -> [String: CQLValue] {
        let kind: String
        let position: Int32
        var order = "none"
        switch column.kind {
        case let .partitionKey(index):
            kind = "partition_key"
            position = Int32(clamping: index)
        case let .clustering(index, clusteringOrder):
            kind = "clustering"
            position = Int32(clamping: index)
            order = clusteringOrder == .ascending ? "asc" : "desc"
        case .regular:
            kind = "regular"
            position = -1
        case .static:
            kind = "static"
            position = -1
        }
        return [
            "keyspace_name": .text(table.keyspace), "table_name": .text(table.name), "column_name": .text(column.name),
            "clustering_order": .text(order), "column_name_bytes": .blob(Array(column.name.utf8)), "kind": .text(kind),
            "position": .int(position), "type": .text(SchemaTypeText.column(column.type, frozen: column.isFrozen)),
        ]
    }

    /// One row of a system table from column values: the key columns select the row, the others are written
    /// (nulls are skipped); `rowMarker` makes the row exist on its own, as an INSERT does.
    static func row(in catalog: Catalog, _ keyspace: String, _ tableName: String, _ values: [String: CQLValue],
                    timestamp: Int64, rowMarker: Bool = true) throws(StorageError) -> Mutation {
        let table = try catalog.table(keyspace: keyspace, name: tableName)
        var partition: [[UInt8]] = []
        for column in table.partitionKeyColumns {
            partition.append(try encode(values[column.name] ?? .null, column))
        }
        var clustering: [[UInt8]] = []
        for column in table.clusteringColumns {
            clustering.append(try encode(values[column.name] ?? .null, column))
        }
        var operations: [MutationOperation] = []
        if rowMarker { operations.append(.insertRowMarker(clustering: clustering, timestamp: timestamp, ttl: nil)) }
        for column in table.columns where !column.kind.isPrimaryKey {
            guard let value = values[column.name], !value.isNull else { continue }
            operations.append(.setColumn(clustering: clustering, column: column.name, value: try encode(value, column),
                                         timestamp: timestamp, ttl: nil))
        }
        return Mutation(tableID: table.id, partitionKey: table.partitionKey(partition), operations: operations,
                        nowInSeconds: nowSeconds())
    }

    private static func encode(_ value: CQLValue, _ column: ColumnSchema) throws(StorageError) -> [UInt8] {
        do {
            guard let bytes = try value.encode(as: column.type) else {
                throw StorageError.invalidRequest("Invalid null value for column \(column.name)")
            }
            return bytes
        } catch let error as StorageError {
            throw error
        } catch {
            throw .invalidRequest("Cannot encode system table column \(column.name): \(error)")
        }
    }

    static func nowSeconds() -> Int32 { Int32(clamping: Int(Date().timeIntervalSince1970)) }
}
