/// A parsed CQL statement with its bind markers.
struct ParsedStatement: Hashable, Sendable {
    /// The statement.
    var statement: StatementSyntax
    /// Every bind marker in order of appearance; `bindMarkers[i].index == i`.
    var bindMarkers: [BindMarker]

    /// A statement and its markers.
    init(statement: StatementSyntax, bindMarkers: [BindMarker]) {
        self.statement = statement
        self.bindMarkers = bindMarkers
    }
}

/// Every statement form the node understands.
indirect enum StatementSyntax: Hashable, Sendable {
    /// `USE ks`.
    case use(keyspace: String)
    /// `CREATE KEYSPACE`.
    case createKeyspace(CreateKeyspace)
    /// `ALTER KEYSPACE`.
    case alterKeyspace(AlterKeyspace)
    /// `DROP KEYSPACE [IF EXISTS] ks`.
    case dropKeyspace(name: String, ifExists: Bool)
    /// `CREATE TABLE`.
    case createTable(CreateTable)
    /// `ALTER TABLE`.
    case alterTable(AlterTable)
    /// `DROP TABLE [IF EXISTS] t`.
    case dropTable(QualifiedName, ifExists: Bool)
    /// `TRUNCATE [TABLE] t`.
    case truncate(QualifiedName)
    /// `CREATE TYPE`.
    case createType(CreateType)
    /// `DROP TYPE [IF EXISTS] t`.
    case dropType(QualifiedName, ifExists: Bool)
    /// `INSERT`.
    case insert(Insert)
    /// `UPDATE`.
    case update(Update)
    /// `DELETE`.
    case delete(Delete)
    /// `BEGIN ... BATCH ... APPLY BATCH`.
    case batch(BatchSyntax)
    /// `SELECT`.
    case select(Select)
    /// `DESCRIBE` / `DESC`.
    case describe(Describe)
    /// A statement Cassandra accepts that this node does not implement (indexes, views,
    /// functions, roles, ...): the executor answers it as Cassandra would refuse it.
    case unsupported(UnsupportedStatementKind)
}

/// The kinds of valid statements the node does not implement.
enum UnsupportedStatementKind: String, Hashable, Sendable {
    /// `CREATE INDEX`.
    case createIndex = "CREATE INDEX"
    /// `DROP INDEX`.
    case dropIndex = "DROP INDEX"
    /// `CREATE MATERIALIZED VIEW`.
    case createMaterializedView = "CREATE MATERIALIZED VIEW"
    /// `ALTER MATERIALIZED VIEW`.
    case alterMaterializedView = "ALTER MATERIALIZED VIEW"
    /// `DROP MATERIALIZED VIEW`.
    case dropMaterializedView = "DROP MATERIALIZED VIEW"
    /// `CREATE FUNCTION`.
    case createFunction = "CREATE FUNCTION"
    /// `DROP FUNCTION`.
    case dropFunction = "DROP FUNCTION"
    /// `CREATE AGGREGATE`.
    case createAggregate = "CREATE AGGREGATE"
    /// `DROP AGGREGATE`.
    case dropAggregate = "DROP AGGREGATE"
    /// `CREATE TRIGGER`.
    case createTrigger = "CREATE TRIGGER"
    /// `DROP TRIGGER`.
    case dropTrigger = "DROP TRIGGER"
    /// `ALTER TYPE`.
    case alterType = "ALTER TYPE"
    /// `CREATE USER`.
    case createUser = "CREATE USER"
    /// `ALTER USER`.
    case alterUser = "ALTER USER"
    /// `DROP USER`.
    case dropUser = "DROP USER"
    /// `LIST USERS`.
    case listUsers = "LIST USERS"
    /// `CREATE ROLE`.
    case createRole = "CREATE ROLE"
    /// `ALTER ROLE`.
    case alterRole = "ALTER ROLE"
    /// `DROP ROLE`.
    case dropRole = "DROP ROLE"
    /// `LIST ROLES`.
    case listRoles = "LIST ROLES"
    /// `GRANT`.
    case grant = "GRANT"
    /// `REVOKE`.
    case revoke = "REVOKE"
    /// `LIST PERMISSIONS`.
    case listPermissions = "LIST PERMISSIONS"
}

// MARK: DDL

/// A `WITH name = value` option of a keyspace or table.
struct Property: Hashable, Sendable {
    /// The option's name (lowercased unless quoted).
    var name: String
    /// Its value.
    var value: PropertyValue

    /// An option.
    init(name: String, value: PropertyValue) {
        self.name = name
        self.value = value
    }
}

/// The value of a `WITH` option.
enum PropertyValue: Hashable, Sendable {
    /// A constant (`'text'`, `1`, `true`, ...).
    case constant(Literal)
    /// An unreserved keyword used as a value.
    case keyword(String)
    /// `{'k': 'v', ...}`: entries as Cassandra keeps them, as raw text in order.
    case map([Entry])

    /// One entry of a map-valued option.
    struct Entry: Hashable, Sendable {
        /// The key's raw text.
        var key: String
        /// The value's raw text.
        var value: String

        /// An entry.
        init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// The raw text of a constant or keyword value; nil for maps.
    var text: String? {
        switch self {
        case let .constant(literal): literal.rawText
        case let .keyword(word): word
        case .map: nil
        }
    }
}

/// `CREATE KEYSPACE [IF NOT EXISTS] ks WITH ...`.
struct CreateKeyspace: Hashable, Sendable {
    /// The keyspace.
    var name: String
    /// `IF NOT EXISTS`.
    var ifNotExists: Bool
    /// `replication = {...}`, `durable_writes = ...`, in order.
    var properties: [Property]

    /// The statement.
    init(name: String, ifNotExists: Bool, properties: [Property]) {
        self.name = name
        self.ifNotExists = ifNotExists
        self.properties = properties
    }
}

/// `ALTER KEYSPACE [IF EXISTS] ks WITH ...`.
struct AlterKeyspace: Hashable, Sendable {
    /// The keyspace.
    var name: String
    /// `IF EXISTS`.
    var ifExists: Bool
    /// The new options.
    var properties: [Property]

    /// The statement.
    init(name: String, ifExists: Bool, properties: [Property]) {
        self.name = name
        self.ifExists = ifExists
        self.properties = properties
    }
}

/// A column declared by CREATE TABLE or ALTER TABLE ADD.
struct ColumnDefinition: Hashable, Sendable {
    /// The column's name.
    var name: Identifier
    /// Its type.
    var type: CQLTypeName
    /// `STATIC`.
    var isStatic: Bool

    /// A column definition.
    init(name: Identifier, type: CQLTypeName, isStatic: Bool = false) {
        self.name = name
        self.type = type
        self.isStatic = isStatic
    }
}

/// A primary key declaration: partition key columns, then clustering columns.
struct PrimaryKey: Hashable, Sendable {
    /// The partition key columns.
    var partitionKey: [Identifier]
    /// The clustering columns, in order.
    var clustering: [Identifier]

    /// A primary key.
    init(partitionKey: [Identifier], clustering: [Identifier] = []) {
        self.partitionKey = partitionKey
        self.clustering = clustering
    }
}

/// One column of `WITH CLUSTERING ORDER BY (...)`.
struct ClusteringOrderItem: Hashable, Sendable {
    /// The clustering column.
    var column: Identifier
    /// `DESC`.
    var descending: Bool

    /// An item.
    init(column: Identifier, descending: Bool) {
        self.column = column
        self.descending = descending
    }
}

/// `CREATE TABLE [IF NOT EXISTS] t (...) [WITH ...]`.
struct CreateTable: Hashable, Sendable {
    /// The table.
    var name: QualifiedName
    /// `IF NOT EXISTS`.
    var ifNotExists: Bool
    /// The columns in declaration order.
    var columns: [ColumnDefinition]
    /// Every primary key declaration (inline `PRIMARY KEY` or the `PRIMARY KEY (...)` clause);
    /// Cassandra requires exactly one and answers Invalid otherwise, so the executor checks.
    var primaryKeys: [PrimaryKey]
    /// `CLUSTERING ORDER BY (...)`.
    var clusteringOrder: [ClusteringOrderItem]
    /// The other `WITH` options, in order.
    var properties: [Property]

    /// The statement.
    init(
        name: QualifiedName, ifNotExists: Bool, columns: [ColumnDefinition], primaryKeys: [PrimaryKey],
        clusteringOrder: [ClusteringOrderItem] = [], properties: [Property] = []
    ) {
        self.name = name
        self.ifNotExists = ifNotExists
        self.columns = columns
        self.primaryKeys = primaryKeys
        self.clusteringOrder = clusteringOrder
        self.properties = properties
    }

    /// The primary key when exactly one was declared.
    var primaryKey: PrimaryKey? {
        primaryKeys.count == 1 ? primaryKeys.first : nil
    }
}

/// `ALTER TABLE [IF EXISTS] t ...`.
struct AlterTable: Hashable, Sendable {
    /// The table.
    var name: QualifiedName
    /// `IF EXISTS` after `ALTER TABLE`.
    var ifExists: Bool
    /// What changes.
    var action: Action

    /// The change an ALTER TABLE makes.
    enum Action: Hashable, Sendable {
        /// `ADD [IF NOT EXISTS] c type [STATIC]` or `ADD (c type, ...)`.
        case add([ColumnDefinition], ifNotExists: Bool)
        /// `DROP [IF EXISTS] c` or `DROP (a, b)`, optionally `USING TIMESTAMP n`.
        case drop([Identifier], ifExists: Bool, timestamp: String?)
        /// `RENAME [IF EXISTS] a TO b [AND c TO d ...]`.
        case rename([Rename], ifExists: Bool)
        /// `ALTER c TYPE t` (Cassandra 4 refuses it as Invalid).
        case alterColumnType(Identifier, CQLTypeName)
        /// `WITH option = value AND ...`.
        case properties([Property])
        /// `DROP COMPACT STORAGE`.
        case dropCompactStorage
    }

    /// One `a TO b` of a RENAME.
    struct Rename: Hashable, Sendable {
        /// The current name.
        var from: Identifier
        /// The new name.
        var to: Identifier

        /// A rename.
        init(from: Identifier, to: Identifier) {
            self.from = from
            self.to = to
        }
    }

    /// The statement.
    init(name: QualifiedName, ifExists: Bool = false, action: Action) {
        self.name = name
        self.ifExists = ifExists
        self.action = action
    }
}

/// `CREATE TYPE [IF NOT EXISTS] t (field type, ...)`.
struct CreateType: Hashable, Sendable {
    /// The type.
    var name: QualifiedName
    /// `IF NOT EXISTS`.
    var ifNotExists: Bool
    /// The fields in order.
    var fields: [Field]

    /// A field of a new type.
    struct Field: Hashable, Sendable {
        /// The field's name.
        var name: Identifier
        /// Its type.
        var type: CQLTypeName

        /// A field.
        init(name: Identifier, type: CQLTypeName) {
            self.name = name
            self.type = type
        }
    }

    /// The statement.
    init(name: QualifiedName, ifNotExists: Bool, fields: [Field]) {
        self.name = name
        self.ifNotExists = ifNotExists
        self.fields = fields
    }
}

// MARK: DML

/// `USING TTL x AND TIMESTAMP y`: each an integer literal or a bind marker.
struct UpdateParameters: Hashable, Sendable {
    /// `TIMESTAMP`.
    var timestamp: Term?
    /// `TTL`.
    var timeToLive: Term?

    /// Parameters.
    init(timestamp: Term? = nil, timeToLive: Term? = nil) {
        self.timestamp = timestamp
        self.timeToLive = timeToLive
    }
}

/// The `IF` of an UPDATE or DELETE.
enum UpdateCondition: Hashable, Sendable {
    /// `IF EXISTS`.
    case exists
    /// `IF c = v AND ...`.
    case columns([ColumnCondition])
}

/// `INSERT INTO t ...`.
struct Insert: Hashable, Sendable {
    /// The table.
    var table: QualifiedName
    /// The inserted values.
    var values: Values
    /// `IF NOT EXISTS`.
    var ifNotExists: Bool
    /// `USING ...`.
    var parameters: UpdateParameters

    /// What an INSERT writes.
    enum Values: Hashable, Sendable {
        /// `(c1, c2) VALUES (t1, t2)`.
        case columns([Identifier], [Term])
        /// `JSON 'doc' [DEFAULT NULL | DEFAULT UNSET]`.
        case json(Term, defaultUnset: Bool)
    }

    /// The statement.
    init(table: QualifiedName, values: Values, ifNotExists: Bool = false, parameters: UpdateParameters = .init()) {
        self.table = table
        self.values = values
        self.ifNotExists = ifNotExists
        self.parameters = parameters
    }
}

/// `UPDATE t [USING ...] SET ... WHERE ... [IF ...]`.
struct Update: Hashable, Sendable {
    /// The table.
    var table: QualifiedName
    /// `USING ...`.
    var parameters: UpdateParameters
    /// The assignments in order.
    var assignments: [Assignment]
    /// The WHERE relations.
    var whereClause: [Relation]
    /// `IF EXISTS` / `IF conditions`.
    var condition: UpdateCondition?

    /// The statement.
    init(
        table: QualifiedName, parameters: UpdateParameters = .init(), assignments: [Assignment],
        whereClause: [Relation], condition: UpdateCondition? = nil
    ) {
        self.table = table
        self.parameters = parameters
        self.assignments = assignments
        self.whereClause = whereClause
        self.condition = condition
    }
}

/// `DELETE [targets] FROM t [USING TIMESTAMP x] WHERE ... [IF ...]`.
struct Delete: Hashable, Sendable {
    /// The table.
    var table: QualifiedName
    /// What is deleted; empty for whole rows.
    var targets: [DeletionTarget]
    /// `USING TIMESTAMP`.
    var timestamp: Term?
    /// The WHERE relations.
    var whereClause: [Relation]
    /// `IF EXISTS` / `IF conditions`.
    var condition: UpdateCondition?

    /// The statement.
    init(
        table: QualifiedName, targets: [DeletionTarget] = [], timestamp: Term? = nil,
        whereClause: [Relation], condition: UpdateCondition? = nil
    ) {
        self.table = table
        self.targets = targets
        self.timestamp = timestamp
        self.whereClause = whereClause
        self.condition = condition
    }
}

/// A statement inside a BATCH.
enum BatchChild: Hashable, Sendable {
    /// An INSERT.
    case insert(Insert)
    /// An UPDATE.
    case update(Update)
    /// A DELETE.
    case delete(Delete)
}

/// `BEGIN [UNLOGGED | COUNTER] BATCH [USING ...] ... APPLY BATCH`.
struct BatchSyntax: Hashable, Sendable {
    /// The batch's kind.
    var kind: Kind
    /// `USING ...`.
    var parameters: UpdateParameters
    /// The statements in order.
    var statements: [BatchChild]

    /// The batch kinds of the grammar (and of the BATCH message's `type` byte).
    enum Kind: UInt8, Hashable, Sendable {
        /// `BEGIN BATCH`: written to the batch log first.
        case logged = 0
        /// `BEGIN UNLOGGED BATCH`.
        case unlogged = 1
        /// `BEGIN COUNTER BATCH`: counter updates only.
        case counter = 2
    }

    /// The statement.
    init(kind: Kind, parameters: UpdateParameters = .init(), statements: [BatchChild]) {
        self.kind = kind
        self.parameters = parameters
        self.statements = statements
    }
}

/// One `ORDER BY` column.
struct Ordering: Hashable, Sendable {
    /// The clustering column.
    var column: Identifier
    /// `DESC`.
    var descending: Bool

    /// An ordering.
    init(column: Identifier, descending: Bool = false) {
        self.column = column
        self.descending = descending
    }
}

/// `SELECT ...`.
struct Select: Hashable, Sendable {
    /// The table.
    var table: QualifiedName
    /// `SELECT JSON`.
    var isJSON: Bool
    /// `SELECT DISTINCT`.
    var isDistinct: Bool
    /// The selected items; empty for `*`.
    var selection: [SelectItem]
    /// The WHERE relations.
    var whereClause: [Relation]
    /// `GROUP BY` columns.
    var groupBy: [Identifier]
    /// `ORDER BY`.
    var orderBy: [Ordering]
    /// `PER PARTITION LIMIT` (integer literal or marker).
    var perPartitionLimit: Term?
    /// `LIMIT` (integer literal or marker).
    var limit: Term?
    /// `ALLOW FILTERING`.
    var allowFiltering: Bool

    /// Whether the statement selects `*`.
    var selectsAll: Bool { selection.isEmpty }

    /// The statement.
    init(
        table: QualifiedName, isJSON: Bool = false, isDistinct: Bool = false, selection: [SelectItem] = [],
        whereClause: [Relation] = [], groupBy: [Identifier] = [], orderBy: [Ordering] = [],
        perPartitionLimit: Term? = nil, limit: Term? = nil, allowFiltering: Bool = false
    ) {
        self.table = table
        self.isJSON = isJSON
        self.isDistinct = isDistinct
        self.selection = selection
        self.whereClause = whereClause
        self.groupBy = groupBy
        self.orderBy = orderBy
        self.perPartitionLimit = perPartitionLimit
        self.limit = limit
        self.allowFiltering = allowFiltering
    }
}

/// `DESCRIBE ...` (cqlsh 6 sends these to Cassandra 4 as statements).
struct Describe: Hashable, Sendable {
    /// What is described.
    var target: Target
    /// `WITH INTERNALS`.
    var withInternals: Bool

    /// What a DESCRIBE names.
    enum Target: Hashable, Sendable {
        /// `CLUSTER`.
        case cluster
        /// `[FULL] SCHEMA`.
        case schema(full: Bool)
        /// `KEYSPACES`.
        case keyspaces
        /// `[ONLY] KEYSPACE [ks]` (nil: the current keyspace).
        case keyspace(String?, only: Bool)
        /// `TABLES`.
        case tables
        /// `TABLE t`.
        case table(QualifiedName)
        /// `INDEX i`.
        case index(QualifiedName)
        /// `MATERIALIZED VIEW v`.
        case materializedView(QualifiedName)
        /// `TYPES`.
        case types
        /// `TYPE t`.
        case type(QualifiedName)
        /// `FUNCTIONS`.
        case functions
        /// `FUNCTION f`.
        case function(QualifiedName)
        /// `AGGREGATES`.
        case aggregates
        /// `AGGREGATE a`.
        case aggregate(QualifiedName)
        /// `DESCRIBE name` / `DESCRIBE ks.name`: a keyspace, table, view, index, type, ... by name.
        case named(QualifiedName)
    }

    /// The statement.
    init(target: Target, withInternals: Bool = false) {
        self.target = target
        self.withInternals = withInternals
    }
}
