import CQLCodec
import Foundation

/// Turns CREATE TABLE, ALTER TABLE ADD and CREATE TYPE declarations into catalog schemas, refusing what
/// Cassandra 4.1 refuses with its messages.
enum TableDefinition {
    /// Where a type appears, which decides what it may contain.
    private enum Position {
        case column
        case primaryKey(String)
        case nested(container: String)
        case userTypeField
    }

    /// The table a CREATE TABLE declares in `keyspace`.
    static func table(_ create: CreateTable, keyspace: KeyspaceSchema, id: UUID = UUID()) throws(ServerError) -> TableSchema {
        guard create.primaryKeys.count == 1, let primaryKey = create.primaryKey else {
            if create.primaryKeys.isEmpty {
                throw .invalidRequest("No PRIMARY KEY specifed for table '\(create.name.name)' (exactly one required)")
            }
            throw .invalidRequest("Multiple PRIMARY KEYs specified (exactly one required)")
        }
        var declared: [String: ColumnDefinition] = [:]
        for column in create.columns {
            guard declared[column.name] == nil else {
                throw .invalidRequest("Duplicate column '\(column.name)' declaration for table \(keyspace.name).\(create.name.name)")
            }
            declared[column.name] = column
        }
        var seenKey = Set<String>()
        for name in primaryKey.partitionKey + primaryKey.clustering {
            guard declared[name] != nil else { throw .invalidRequest("Unknown definition \(name) referenced in PRIMARY KEY") }
            guard seenKey.insert(name).inserted else {
                throw .invalidRequest("Duplicate column '\(name)' in PRIMARY KEY clause for table '\(create.name.name)'")
            }
        }
        let order = try clusteringOrder(create.clusteringOrder, clustering: primaryKey.clustering)
        var columns: [ColumnSchema] = []
        for definition in create.columns {
            let kind: ColumnKind
            if let position = primaryKey.partitionKey.firstIndex(of: definition.name) {
                kind = .partitionKey(position: position)
            } else if let position = primaryKey.clustering.firstIndex(of: definition.name) {
                kind = .clustering(position: position, order: order[position])
            } else {
                kind = definition.isStatic ? .static : .regular
            }
            if definition.isStatic, kind.isPrimaryKey {
                throw .invalidRequest("Static column \(definition.name) cannot be part of the PRIMARY KEY")
            }
            let position: Position = kind.isPrimaryKey ? .primaryKey(definition.name) : .column
            let (type, frozen) = try resolve(definition.type, keyspace: keyspace, position: position)
            columns.append(ColumnSchema(name: definition.name, type: type, kind: kind, isFrozen: frozen))
        }
        if columns.contains(where: { $0.type == .counter }),
           columns.contains(where: { !$0.kind.isPrimaryKey && $0.type != .counter }) {
            throw .invalidRequest("Cannot mix counter and non counter columns in the same table")
        }
        let options = try TableOptions.normalize(create.properties, isCreate: true)
        return TableSchema(keyspace: keyspace.name, name: create.name.name, id: id, columns: columns, options: options)
    }

    private static func clusteringOrder(_ items: [ClusteringOrderItem], clustering: [String]) throws(ServerError) -> [ClusteringOrder] {
        var order = Array(repeating: ClusteringOrder.ascending, count: clustering.count)
        guard !items.isEmpty else { return order }
        for item in items where !clustering.contains(item.column) {
            throw .invalidRequest("Only clustering key columns can be defined in CLUSTERING ORDER directive")
        }
        let named = items.map(\.column)
        guard named == Array(clustering.prefix(named.count)) else {
            throw .invalidRequest("The order of columns in the CLUSTERING ORDER directive must match that of the clustering columns (\(clustering.joined(separator: ", ")) instead of \(named.joined(separator: ", ")))")
        }
        for (index, item) in items.enumerated() { order[index] = item.descending ? .descending : .ascending }
        return order
    }

    /// The columns an `ALTER TABLE ADD` declares.
    static func addedColumns(_ definitions: [ColumnDefinition], table: TableSchema, keyspace: KeyspaceSchema) throws(ServerError) -> [ColumnSchema] {
        var result: [ColumnSchema] = []
        for definition in definitions {
            let (type, frozen) = try resolve(definition.type, keyspace: keyspace, position: .column)
            if table.isCounterTable != (type == .counter), !table.columns.allSatisfy(\.kind.isPrimaryKey) {
                throw .invalidRequest(type == .counter ? "Cannot add a counter column (\(definition.name)) in a non counter table"
                    : "Cannot add a non counter column (\(definition.name)) in a counter table")
            }
            result.append(ColumnSchema(name: definition.name, type: type, kind: definition.isStatic ? .static : .regular, isFrozen: frozen))
        }
        return result
    }

    /// The fields of a CREATE TYPE.
    static func userType(_ create: CreateType, keyspace: KeyspaceSchema) throws(ServerError) -> UserTypeSchema {
        var seen = Set<String>()
        var fields: [UserType.Field] = []
        for field in create.fields {
            guard seen.insert(field.name).inserted else {
                throw .invalidRequest("Duplicate field name \(field.name) in type \(create.name.name)")
            }
            if case let .userDefined(name) = field.type.unfrozen, name.name == create.name.name,
               (name.keyspace ?? keyspace.name) == keyspace.name {
                throw .invalidRequest("User type \(keyspace.name).\(create.name.name) cannot refer to itself")
            }
            let (type, _) = try resolve(field.type, keyspace: keyspace, position: .userTypeField)
            fields.append(UserType.Field(name: field.name, type: type))
        }
        return UserTypeSchema(keyspace: keyspace.name, name: create.name.name, fields: fields)
    }

    /// Resolves a declared type to its wire type and whether it is frozen, checking it as Cassandra does.
    private static func resolve(_ typeName: CQLTypeName, keyspace: KeyspaceSchema, position: Position) throws(ServerError) -> (DataType, Bool) {
        try check(typeName, keyspace: keyspace, position: position)
        let type = try typeName.dataType { (name: QualifiedName) throws(ServerError) -> UserType in
            try userType(named: name, keyspace: keyspace)
        }
        switch typeName {
        case .frozen, .tuple: return (type, true)
        default: return (type, false)
        }
    }

    private static func userType(named name: QualifiedName, keyspace: KeyspaceSchema) throws(ServerError) -> UserType {
        if let other = name.keyspace, other != keyspace.name {
            throw .invalidRequest("Statement on keyspace \(keyspace.name) cannot refer to a user type in keyspace \(other); user types can only be used in the keyspace they are defined in")
        }
        guard let found = keyspace.userType(named: name.name) else {
            throw .invalidRequest("Unknown type \(keyspace.name).\(name.name)")
        }
        return UserType(keyspace: found.keyspace, name: found.name, fields: found.fields)
    }

    private static func check(_ typeName: CQLTypeName, keyspace: KeyspaceSchema, position: Position) throws(ServerError) {
        switch typeName {
        case let .frozen(inner):
            switch inner {
            case .list, .set, .map, .tuple, .userDefined, .frozen: break
            default: throw .invalidRequest("frozen<> is only allowed on collections, tuples, and user-defined types (got \(inner))")
            }
            try checkElements(of: inner, keyspace: keyspace)
        case .list, .set, .map:
            switch position {
            case let .primaryKey(column):
                throw .invalidRequest("Invalid non-frozen collection type \(typeName) for PRIMARY KEY component \(column)")
            case let .nested(container):
                throw .invalidRequest("Non-frozen collections are not allowed inside collections: \(container)")
            case .column, .userTypeField: break
            }
            try checkElements(of: typeName, keyspace: keyspace)
        case .userDefined:
            switch position {
            case let .primaryKey(column):
                throw .invalidRequest("Invalid non-frozen user-defined type \(typeName) for PRIMARY KEY component \(column)")
            case let .nested(container):
                throw .invalidRequest("Non-frozen UDTs are not allowed inside collections: \(container)")
            case .userTypeField:
                throw .invalidRequest("A user type cannot contain non-frozen UDTs")
            case .column: break
            }
        case .tuple:
            try checkElements(of: typeName, keyspace: keyspace)
        case .native(.counter):
            switch position {
            case let .nested(container): throw .invalidRequest("Counters are not allowed inside collections: \(container)")
            case .userTypeField: throw .invalidRequest("A user type cannot contain counters")
            case let .primaryKey(column): throw .invalidRequest("counter type is not supported for PRIMARY KEY column '\(column)'")
            case .column: break
            }
        case .native(.duration):
            if case let .primaryKey(column) = position {
                throw .invalidRequest("duration type is not supported for PRIMARY KEY column '\(column)'")
            }
        case .native, .custom: break
        }
    }

    /// Checks the element types of a collection or tuple (always frozen inside).
    private static func checkElements(of typeName: CQLTypeName, keyspace: KeyspaceSchema) throws(ServerError) {
        let container = typeName.description
        switch typeName {
        case let .list(element), let .set(element):
            try check(element, keyspace: keyspace, position: .nested(container: container))
        case let .map(key, value):
            try check(key, keyspace: keyspace, position: .nested(container: container))
            try check(value, keyspace: keyspace, position: .nested(container: container))
        case let .tuple(elements):
            // Tuple elements are frozen implicitly, as in Cassandra 4.
            for element in elements {
                if case .native(.counter) = element {
                    throw .invalidRequest("Counters are not allowed inside tuples")
                }
                if case .frozen = element { try check(element, keyspace: keyspace, position: .column) }
                else { try checkElements(of: element, keyspace: keyspace) }
            }
        case let .frozen(inner):
            try checkElements(of: inner, keyspace: keyspace)
        case .userDefined, .native, .custom: break
        }
    }
}
