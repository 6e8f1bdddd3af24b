import CQLCodec
import Foundation

/// Server-side DESCRIBE, as Cassandra 4.1 answers the statements cqlsh 6 sends: listings as rows of
/// `keyspace_name, type, name`, elements with their `create_statement`, DESCRIBE CLUSTER as
/// `cluster, partitioner, snitch` (plus `range_ownership` inside a user keyspace).
struct DescribeExecutor {
    /// The schema to describe.
    var catalog: Catalog
    /// The session keyspace.
    var keyspace: String?
    /// The node's identity (cluster name, tokens, address) for DESCRIBE CLUSTER.
    var identity: NodeIdentity = NodeIdentity()

    private static let listColumns = ["keyspace_name", "type", "name"]
    private static let elementColumns = listColumns + ["create_statement"]

    /// One described schema element.
    struct Element {
        var keyspace: String
        var type: String
        var name: String
        var createStatement: String
    }

    func run(_ describe: Describe) throws(ServerError) -> Rows {
        switch describe.target {
        case .cluster:
            return try cluster()
        case .keyspaces:
            return try list(sortedKeyspaces().map { Element(keyspace: $0.name, type: "keyspace", name: $0.name, createStatement: "") })
        case .tables:
            return try list(try listedKeyspaces().flatMap { space in
                space.tables.keys.sorted().map { Element(keyspace: space.name, type: "table", name: $0, createStatement: "") }
            })
        case .types:
            return try list(try listedKeyspaces().flatMap { space in
                space.userTypes.map(\.name).sorted().map { Element(keyspace: space.name, type: "type", name: $0, createStatement: "") }
            })
        case .functions, .aggregates:
            _ = try listedKeyspaces()
            return try list([])
        case let .schema(full):
            let spaces = sortedKeyspaces().filter { full || !SystemKeyspaces.isSystem($0.name) }
            return try elements(spaces.flatMap { keyspaceElements($0, only: false, internals: describe.withInternals) })
        case let .keyspace(name, only):
            let space = try existingKeyspace(orSession: name)
            return try elements(keyspaceElements(space, only: only, internals: describe.withInternals))
        case let .table(name):
            let space = try existingKeyspace(orSession: name.keyspace)
            guard let table = space.tables[name.name] else {
                throw .invalidRequest("Table '\(name.name)' not found in keyspace '\(space.name)'")
            }
            return try elements([tableElement(table, internals: describe.withInternals)])
        case let .type(name):
            let space = try existingKeyspace(orSession: name.keyspace)
            guard let type = space.userType(named: name.name) else {
                throw .invalidRequest("User defined type '\(name.name)' not found in '\(space.name)'")
            }
            return try elements([typeElement(type)])
        case let .index(name):
            let space = try existingKeyspace(orSession: name.keyspace)
            throw .invalidRequest("Table for existing index '\(name.name)' not found in '\(space.name)'")
        case let .materializedView(name):
            let space = try existingKeyspace(orSession: name.keyspace)
            throw .invalidRequest("Materialized view '\(name.name)' not found in '\(space.name)'")
        case let .function(name):
            let space = try existingKeyspace(orSession: name.keyspace)
            throw .invalidRequest("User defined function '\(name.name)' not found in '\(space.name)'")
        case let .aggregate(name):
            let space = try existingKeyspace(orSession: name.keyspace)
            throw .invalidRequest("User defined aggregate '\(name.name)' not found in '\(space.name)'")
        case let .named(name):
            if name.keyspace == nil, let space = catalog.keyspaces[name.name] {
                return try elements(keyspaceElements(space, only: false, internals: describe.withInternals))
            }
            let spaceName = name.keyspace ?? keyspace ?? name.name
            let space = try existingKeyspace(spaceName)
            if let table = space.tables[name.name] {
                return try elements([tableElement(table, internals: describe.withInternals)])
            }
            throw .invalidRequest("'\(name.name)' not found in keyspace '\(space.name)'")
        }
    }

    // MARK: Elements

    private func sortedKeyspaces() -> [KeyspaceSchema] {
        catalog.keyspaces.values.sorted { $0.name < $1.name }
    }

    /// Listing statements cover the session keyspace only, when there is one.
    private func listedKeyspaces() throws(ServerError) -> [KeyspaceSchema] {
        guard let keyspace else { return sortedKeyspaces() }
        return [try existingKeyspace(keyspace)]
    }

    private func requireSessionKeyspace() throws(ServerError) -> String {
        guard let keyspace else { throw .invalidRequest("No keyspace specified and no current keyspace") }
        return keyspace
    }

    private func existingKeyspace(orSession name: String?) throws(ServerError) -> KeyspaceSchema {
        if let name { return try existingKeyspace(name) }
        return try existingKeyspace(try requireSessionKeyspace())
    }

    private func existingKeyspace(_ name: String) throws(ServerError) -> KeyspaceSchema {
        guard let space = catalog.keyspaces[name] else { throw .invalidRequest("'\(name)' not found in keyspaces") }
        return space
    }

    func keyspaceElements(_ space: KeyspaceSchema, only: Bool, internals: Bool) -> [Element] {
        var result = [Element(keyspace: space.name, type: "keyspace", name: space.name, createStatement: Self.createKeyspace(space))]
        guard !only else { return result }
        result += space.userTypes.map(typeElement)
        result += space.tables.values.sorted { $0.name < $1.name }.map { tableElement($0, internals: internals) }
        return result
    }

    private func tableElement(_ table: TableSchema, internals: Bool) -> Element {
        Element(keyspace: table.keyspace, type: "table", name: table.name,
                createStatement: Self.createTable(table, internals: internals))
    }

    private func typeElement(_ type: UserTypeSchema) -> Element {
        Element(keyspace: type.keyspace, type: "type", name: type.name, createStatement: Self.createType(type))
    }

    // MARK: CREATE statements

    static func createKeyspace(_ space: KeyspaceSchema) -> String {
        let name = CQLKeywords.quoteIfNeeded(space.name)
        if SystemKeyspaces.virtualNames.contains(space.name) {
            return "/*\nWarning: Keyspace \(name) is a virtual keyspace and cannot be recreated with CQL.\n"
                + "Structure, for reference:\nVIRTUAL KEYSPACE \(name);\n*/"
        }
        let replication = SchemaTypeText.mapLiteral(space.replication.sorted { $0.0 < $1.0 })
        return "CREATE KEYSPACE \(name) WITH replication = \(replication)  AND durable_writes = \(space.durableWrites);"
    }

    static func createType(_ type: UserTypeSchema) -> String {
        var text = "CREATE TYPE \(CQLKeywords.quoteIfNeeded(type.keyspace)).\(CQLKeywords.quoteIfNeeded(type.name)) (\n"
        text += type.fields.map { "    \(CQLKeywords.quoteIfNeeded($0.name)) \(SchemaTypeText.nested($0.type))" }.joined(separator: ",\n")
        return text + "\n);"
    }

    /// Columns in Cassandra's create order: partition key, clustering, then static and regular columns, each
    /// group with single-cell columns before multi-cell ones, by name.
    static func createOrder(_ table: TableSchema) -> [ColumnSchema] {
        func group(_ columns: [ColumnSchema]) -> [ColumnSchema] {
            columns.filter { !$0.isMultiCell }.sorted { $0.name < $1.name } + columns.filter(\.isMultiCell).sorted { $0.name < $1.name }
        }
        return table.partitionKeyColumns + table.clusteringColumns + group(table.staticColumns) + group(table.regularColumns)
    }

    static func createTable(_ table: TableSchema, internals: Bool) -> String {
        let virtual = SystemKeyspaces.virtualNames.contains(table.keyspace)
        let qualified = "\(CQLKeywords.quoteIfNeeded(table.keyspace)).\(CQLKeywords.quoteIfNeeded(table.name))"
        var text = virtual
            ? "/*\nWarning: Table \(qualified) is a virtual table and cannot be recreated with CQL.\nStructure, for reference:\nVIRTUAL TABLE "
            : "CREATE TABLE "
        text += qualified + " (\n"
        let partitionKey = table.partitionKeyColumns
        let clustering = table.clusteringColumns
        let singleKey = partitionKey.count == 1 && clustering.isEmpty
        let columns = createOrder(table)
        for (index, column) in columns.enumerated() {
            text += "    \(CQLKeywords.quoteIfNeeded(column.name)) \(SchemaTypeText.column(column.type, frozen: column.isFrozen))"
            if column.kind == .static { text += " static" }
            if singleKey, column.kind.isPrimaryKey { text += " PRIMARY KEY" }
            if !singleKey || index < columns.count - 1 { text += "," }
            text += "\n"
        }
        if !singleKey {
            let names = partitionKey.map { CQLKeywords.quoteIfNeeded($0.name) }
            var key = names.count > 1 ? "(\(names.joined(separator: ", ")))" : names.joined()
            if !clustering.isEmpty { key += ", " + clustering.map { CQLKeywords.quoteIfNeeded($0.name) }.joined(separator: ", ") }
            text += "    PRIMARY KEY (\(key))\n"
        }
        text += ") WITH "
        var options: [String] = []
        if internals { options.append("ID = \(table.id.uuidString.lowercased())") }
        if !clustering.isEmpty {
            let order = clustering.map { column -> String in
                guard case let .clustering(_, direction) = column.kind else { return CQLKeywords.quoteIfNeeded(column.name) }
                return "\(CQLKeywords.quoteIfNeeded(column.name)) \(direction.rawValue)"
            }
            options.append("CLUSTERING ORDER BY (\(order.joined(separator: ", ")))")
        }
        if virtual {
            options.append("comment = \(SchemaTypeText.quoted(table.option("comment") ?? ""))")
        } else {
            for (name, value) in TableOptions.effective(table) {
                options.append("\(name) = \(TableOptions.describeText(value))")
            }
        }
        text += options.joined(separator: "\n    AND ") + ";"
        if virtual { text += "\n*/" }
        return text
    }

    // MARK: Results

    private func list(_ elements: [Element]) throws(ServerError) -> Rows {
        try rows(Self.listColumns.map { ($0, DataType.varchar) }, elements.map { [$0.keyspace, $0.type, $0.name].map(Self.text) })
    }

    private func elements(_ elements: [Element]) throws(ServerError) -> Rows {
        try rows(Self.elementColumns.map { ($0, DataType.varchar) }, elements.map { element in
            [CQLKeywords.quoteIfNeeded(element.keyspace), element.type, CQLKeywords.quoteIfNeeded(element.name),
             element.createStatement].map(Self.text)
        })
    }

    private func cluster() throws(ServerError) -> Rows {
        var columns: [(String, DataType)] = [("cluster", .varchar), ("partitioner", .varchar), ("snitch", .varchar)]
        var values = [Self.text(identity.clusterName), Self.text("Murmur3Partitioner"), Self.text("SimpleSnitch")]
        if let keyspace, !SystemKeyspaces.isSystem(keyspace) {
            let type = DataType.map(key: .varchar, value: .list(.varchar))
            columns.append(("range_ownership", type))
            let endpoint = CQLValue.text("\(identity.address):7000")
            let ownership = CQLValue.map(identity.tokens.sorted().map { CQLMapEntry(key: .text(String($0)), value: .list([endpoint])) })
            do {
                values.append(try ownership.cqlWireValue(as: type))
            } catch {
                throw ServerError(.serverError, message: "\(error)")
            }
        }
        return try rows(columns, [values])
    }

    private static func text(_ string: String) -> WireValue { .bytes(Array(string.utf8)) }

    private func rows(_ columns: [(String, DataType)], _ values: [[WireValue]]) throws(ServerError) -> Rows {
        let metadata = RowsMetadata(columns: columns.map { ColumnSpec(keyspace: "system", table: "describe", name: $0.0, type: $0.1) })
        do {
            return try Rows(metadata: metadata, values: values)
        } catch {
            throw ServerError(.serverError, message: "\(error)")
        }
    }
}
