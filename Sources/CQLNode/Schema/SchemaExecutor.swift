import CQLCodec
import Foundation

/// Executes DDL (CREATE/ALTER/DROP KEYSPACE, TABLE and TYPE, TRUNCATE) and DESCRIBE as Cassandra 4.1 does.
///
/// A schema change, the rewrite of its keyspace's `system_schema` rows and the new `system.local.schema_version`
/// are applied in one storage transaction (so one commit log record group), awaited until durable, published as
/// an EVENT SCHEMA_CHANGE to registered connections, then answered as RESULT Schema_change. A change that
/// `IF [NOT] EXISTS` turns into a no-op answers RESULT Void and publishes nothing, as Cassandra 4 does.
struct SchemaExecutor: Sendable {
    /// The storage whose catalog the statements change.
    let storage: Storage

    /// An executor over `storage` (its system keyspaces installed with ``SystemKeyspaces/install(in:identity:)``).
    init(storage: Storage) {
        self.storage = storage
    }

    /// What a schema statement did.
    private struct Outcome: Sendable {
        var change: SchemaChange?
        var lsn: LogSequenceNumber
        var warnings: [String] = []
    }

    /// Runs a DDL or DESCRIBE statement; `keyspace` is the session's (or prepared statement's) keyspace.
    func execute(_ statement: StatementSyntax, context: RequestContext, keyspace: String?) async -> QueryResponse {
        do {
            if case let .describe(describe) = statement {
                let identity = SystemKeyspaces.storedIdentity(in: storage) ?? NodeIdentity()
                let describer = DescribeExecutor(catalog: storage.catalog, keyspace: keyspace, identity: identity)
                return QueryResponse(.result(.rows(try describer.run(describe))))
            }
            let outcome = try storage.withTransaction { (state: inout StorageState) throws(ServerError) -> Outcome in
                try apply(statement, keyspace: keyspace, state: &state)
            }
            do {
                try await storage.awaitDurable(outcome.lsn)
            } catch {
                throw ServerError.storage(error)
            }
            guard let change = outcome.change else { return QueryResponse(.result(.void), warnings: outcome.warnings) }
            context.events.publish(.schemaChange(change))
            return QueryResponse(.result(.schemaChange(change)), warnings: outcome.warnings)
        } catch let error as ServerError {
            return .error(error)
        } catch {
            return .error(ServerError(.serverError, message: "\(error)"))
        }
    }

    // MARK: Applying

    private func apply(_ statement: StatementSyntax, keyspace session: String?, state: inout StorageState) throws(ServerError) -> Outcome {
        switch statement {
        case let .createKeyspace(create):
            try Self.checkName(create.name, what: "Keyspace")
            var durableWrites = true
            var replication: [(String, String)]?
            for property in create.properties {
                switch property.name {
                case "replication": replication = try KeyspaceReplication.validate(property.value, keyspace: create.name)
                case "durable_writes": durableWrites = try Self.boolean(property.value, name: "durable_writes")
                default: throw .syntax("Unknown property '\(property.name)'")
                }
            }
            if state.catalog.keyspaces[create.name] != nil {
                if create.ifNotExists { return Outcome(change: nil, lsn: 0) }
                throw .storage(.keyspaceAlreadyExists(create.name))
            }
            guard let replication else { throw .invalidRequest("Missing mandatory option 'replication'") }
            let schema = KeyspaceSchema(name: create.name, replication: replication, durableWrites: durableWrites)
            var outcome = try change(.createKeyspace(schema, ifNotExists: create.ifNotExists), rewrite: create.name,
                                     event: SchemaChange(changeType: .created, target: .keyspace, keyspace: create.name),
                                     state: &state)
            outcome.warnings = KeyspaceReplication.warnings(replication, keyspace: create.name)
            return outcome
        case let .alterKeyspace(alter):
            try Self.checkModifiable(alter.name, altering: true)
            guard let existing = state.catalog.keyspaces[alter.name] else {
                if alter.ifExists { return Outcome(change: nil, lsn: 0) }
                throw .storage(.keyspaceDoesNotExist(alter.name))
            }
            var replication: [(String, String)]?
            var durableWrites: Bool?
            for property in alter.properties {
                switch property.name {
                case "replication": replication = try KeyspaceReplication.validate(property.value, keyspace: alter.name)
                case "durable_writes": durableWrites = try Self.boolean(property.value, name: "durable_writes")
                default: throw .syntax("Unknown property '\(property.name)'")
                }
            }
            var outcome = try change(.alterKeyspace(name: alter.name, replication: replication, durableWrites: durableWrites),
                                     rewrite: alter.name,
                                     event: SchemaChange(changeType: .updated, target: .keyspace, keyspace: alter.name),
                                     state: &state)
            outcome.warnings = KeyspaceReplication.warnings(replication ?? existing.replication, keyspace: alter.name)
            return outcome
        case let .dropKeyspace(name, ifExists):
            try Self.checkModifiable(name, altering: false)
            return try change(.dropKeyspace(name, ifExists: ifExists), rewrite: name,
                              event: SchemaChange(changeType: .dropped, target: .keyspace, keyspace: name), state: &state)
        case let .createTable(create):
            let keyspaceName = try Self.keyspace(of: create.name, session: session)
            try Self.checkModifiable(keyspaceName, altering: false)
            try Self.checkName(create.name.name, what: "Table")
            guard let keyspace = state.catalog.keyspaces[keyspaceName] else {
                throw .storage(.keyspaceDoesNotExist(keyspaceName))
            }
            if keyspace.tables[create.name.name] != nil {
                if create.ifNotExists { return Outcome(change: nil, lsn: 0) }
                throw .storage(.tableAlreadyExists(keyspace: keyspaceName, table: create.name.name))
            }
            let table = try TableDefinition.table(create, keyspace: keyspace)
            return try change(.createTable(table, ifNotExists: create.ifNotExists), rewrite: keyspaceName,
                              event: SchemaChange(changeType: .created, target: .table, keyspace: keyspaceName, name: table.name),
                              state: &state)
        case let .alterTable(alter):
            return try alterTable(alter, session: session, state: &state)
        case let .dropTable(name, ifExists):
            let keyspaceName = try Self.keyspace(of: name, session: session)
            try Self.checkModifiable(keyspaceName, altering: false)
            if state.catalog.keyspaces[keyspaceName] == nil {
                if ifExists { return Outcome(change: nil, lsn: 0) }
                throw .storage(.keyspaceDoesNotExist(keyspaceName))
            }
            return try change(.dropTable(keyspace: keyspaceName, table: name.name, ifExists: ifExists), rewrite: keyspaceName,
                              event: SchemaChange(changeType: .dropped, target: .table, keyspace: keyspaceName, name: name.name),
                              state: &state)
        case let .truncate(name):
            let keyspaceName = try Self.keyspace(of: name, session: session)
            if SystemKeyspaces.isSystem(keyspaceName) {
                throw ServerError(.unauthorized, message: "\(keyspaceName) keyspace is not user-modifiable.")
            }
            do {
                let outcome = try state.apply(.truncateTable(keyspace: keyspaceName, table: name.name))
                guard case let .applied(lsn) = outcome else { return Outcome(change: nil, lsn: 0) }
                return Outcome(change: nil, lsn: lsn)
            } catch {
                throw .storage(error)
            }
        case let .createType(create):
            let keyspaceName = try Self.keyspace(of: create.name, session: session)
            try Self.checkModifiable(keyspaceName, altering: false)
            guard let keyspace = state.catalog.keyspaces[keyspaceName] else {
                throw .storage(.keyspaceDoesNotExist(keyspaceName))
            }
            if keyspace.userType(named: create.name.name) != nil {
                if create.ifNotExists { return Outcome(change: nil, lsn: 0) }
                throw .storage(.typeAlreadyExists(keyspace: keyspaceName, type: create.name.name))
            }
            if NativeType(keyword: create.name.name) != nil || ["byte", "complex", "enum", "date", "interval", "macaddr", "bitstring"].contains(create.name.name) {
                throw .invalidRequest("\(create.name.name) is a reserved type name")
            }
            let type = try TableDefinition.userType(create, keyspace: keyspace)
            return try change(.createType(type, ifNotExists: create.ifNotExists), rewrite: keyspaceName,
                              event: SchemaChange(changeType: .created, target: .type, keyspace: keyspaceName, name: type.name),
                              state: &state)
        case let .dropType(name, ifExists):
            let keyspaceName = try Self.keyspace(of: name, session: session)
            try Self.checkModifiable(keyspaceName, altering: false)
            return try change(.dropType(keyspace: keyspaceName, name: name.name, ifExists: ifExists), rewrite: keyspaceName,
                              event: SchemaChange(changeType: .dropped, target: .type, keyspace: keyspaceName, name: name.name),
                              state: &state)
        default:
            throw .invalidRequest("Not a schema statement")
        }
    }

    private func alterTable(_ alter: AlterTable, session: String?, state: inout StorageState) throws(ServerError) -> Outcome {
        let keyspaceName = try Self.keyspace(of: alter.name, session: session)
        try Self.checkModifiable(keyspaceName, altering: false)
        guard let keyspace = state.catalog.keyspaces[keyspaceName] else {
            if alter.ifExists { return Outcome(change: nil, lsn: 0) }
            throw .storage(.keyspaceDoesNotExist(keyspaceName))
        }
        guard let table = keyspace.tables[alter.name.name] else {
            if alter.ifExists { return Outcome(change: nil, lsn: 0) }
            throw .storage(.tableDoesNotExist(keyspace: keyspaceName, table: alter.name.name))
        }
        let alteration: TableAlteration
        switch alter.action {
        case let .add(definitions, ifNotExists):
            var fresh: [ColumnDefinition] = []
            for definition in definitions {
                if table.column(named: definition.name) != nil {
                    if ifNotExists { continue }
                    throw .storage(.columnAlreadyExists(definition.name))
                }
                fresh.append(definition)
            }
            if fresh.isEmpty { return Outcome(change: nil, lsn: 0) }
            alteration = .addColumns(try TableDefinition.addedColumns(fresh, table: table, keyspace: keyspace))
        case let .drop(names, ifExists, _):
            var present: [String] = []
            for name in names {
                guard let column = table.column(named: name) else {
                    if ifExists { continue }
                    throw .storage(.columnNotFound(column: name, table: "\(keyspaceName).\(table.name)"))
                }
                if column.kind.isPrimaryKey { throw .storage(.cannotDropPrimaryKeyColumn(name)) }
                present.append(name)
            }
            if present.isEmpty { return Outcome(change: nil, lsn: 0) }
            alteration = .dropColumns(present)
        case let .rename(renames, _):
            for rename in renames {
                guard let column = table.column(named: rename.from) else {
                    throw .invalidRequest("Column \(rename.from) was not found in table \(keyspaceName).\(table.name)")
                }
                if !column.kind.isPrimaryKey {
                    throw .invalidRequest("Cannot rename non PRIMARY KEY column \(rename.from)")
                }
            }
            throw .invalidRequest("Renaming PRIMARY KEY columns is not supported by this node")
        case .alterColumnType:
            throw .invalidRequest("Altering column types is no longer supported")
        case let .properties(properties):
            let options = try TableOptions.normalize(properties, isCreate: false)
            if table.isCounterTable, let ttl = options.first(where: { $0.0 == "default_time_to_live" }), ttl.1 != "0" {
                throw .invalidRequest("Cannot set default_time_to_live on a table with counters")
            }
            alteration = .setOptions(options)
        case .dropCompactStorage:
            throw .invalidRequest("Cannot DROP COMPACT STORAGE as table \(keyspaceName).\(table.name) is not a compact table")
        }
        return try change(.alterTable(keyspace: keyspaceName, table: table.name, alteration, ifExists: alter.ifExists),
                          rewrite: keyspaceName,
                          event: SchemaChange(changeType: .updated, target: .table, keyspace: keyspaceName, name: table.name),
                          state: &state)
    }

    /// Applies a schema mutation, then rewrites the keyspace's schema rows and the schema version.
    private func change(_ mutation: SchemaMutation, rewrite keyspace: String, event: SchemaChange,
                        state: inout StorageState) throws(ServerError) -> Outcome {
        do {
            guard case let .applied(schemaLSN) = try state.apply(mutation) else { return Outcome(change: nil, lsn: 0) }
            let timestamp = SchemaClock.next()
            let catalog = state.catalog
            var rows = SchemaRows.deleteKeyspaceRows(keyspace, catalog: catalog, timestamp: timestamp)
            if let schema = catalog.keyspaces[keyspace] {
                rows += try SchemaRows.keyspaceRows(schema, catalog: catalog, timestamp: timestamp + 1)
            }
            rows.append(try SystemKeyspaces.schemaVersionUpdate(catalog: catalog, version: UUID(), timestamp: timestamp + 1))
            let lsn = try state.apply(rows)
            return Outcome(change: event, lsn: max(schemaLSN, lsn))
        } catch {
            throw .storage(error)
        }
    }

    // MARK: Checks

    /// The keyspace a possibly unqualified name lives in.
    static func keyspace(of name: QualifiedName, session: String?) throws(ServerError) -> String {
        guard let keyspace = name.keyspace ?? session else { throw .noKeyspace }
        return keyspace
    }

    /// Refuses changes to the node's own keyspaces as Cassandra does (Unauthorized); replicated system
    /// keyspaces may have their replication altered.
    static func checkModifiable(_ keyspace: String, altering: Bool) throws(ServerError) {
        guard SystemKeyspaces.isSystem(keyspace) else { return }
        if altering, ["system_auth", "system_distributed", "system_traces"].contains(keyspace) { return }
        throw ServerError(.unauthorized, message: "\(keyspace) keyspace is not user-modifiable.")
    }

    /// Cassandra's rule for keyspace and table names.
    static func checkName(_ name: String, what: String) throws(ServerError) {
        let valid = !name.isEmpty && name.utf8.count <= 48
            && name.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "_" }
        guard valid else {
            throw .invalidRequest("\(what) name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore characters (got \"\(name)\")")
        }
    }

    static func boolean(_ value: PropertyValue, name: String) throws(ServerError) -> Bool {
        switch value.text?.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .syntax("Invalid boolean value \(value.text ?? "{...}") for '\(name)'")
        }
    }
}
