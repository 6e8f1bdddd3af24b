/// Why the storage engine refused a schema change, a mutation or a read; messages use Cassandra's wording.
public enum StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `CREATE KEYSPACE` of a keyspace that exists (ERROR code AlreadyExists, with an empty table).
    case keyspaceAlreadyExists(String)
    /// `CREATE TABLE` of a table that exists (ERROR code AlreadyExists).
    case tableAlreadyExists(keyspace: String, table: String)
    /// `CREATE TYPE` of a type that exists (Invalid).
    case typeAlreadyExists(keyspace: String, type: String)
    /// A statement on a table of a missing keyspace (Invalid: "Keyspace ks does not exist").
    case keyspaceNotFound(String)
    /// `USE` or a DDL statement naming a missing keyspace (Invalid: "Keyspace 'ks' does not exist").
    case keyspaceNotFoundQuoted(String)
    /// `DROP`/`ALTER`/DDL on a missing keyspace (Invalid: "Keyspace 'ks' doesn't exist").
    case keyspaceDoesNotExist(String)
    /// A DML statement or read on a missing table (Invalid: "table t does not exist", as Cassandra 4.0 words it).
    case unconfiguredTable(keyspace: String, table: String)
    /// `DROP`/`ALTER TABLE` of a missing table (Invalid: "Table 'ks.t' doesn't exist").
    case tableDoesNotExist(keyspace: String, table: String)
    /// `DROP TYPE` of a missing type (Invalid).
    case typeDoesNotExist(keyspace: String, type: String)
    /// `DROP TYPE` of a type a table or another type uses (Invalid).
    case typeInUse(keyspace: String, type: String, usedBy: String)
    /// A mutation names a table id the catalog does not know (the table was dropped meanwhile).
    case unknownTableID(String)
    /// A column name the table does not have (Invalid).
    case undefinedColumn(String)
    /// `ALTER TABLE ADD` of an existing column (Invalid).
    case columnAlreadyExists(String)
    /// `ALTER TABLE DROP` of a missing column (Invalid).
    case columnNotFound(column: String, table: String)
    /// `ALTER TABLE DROP` of a primary key column (Invalid).
    case cannotDropPrimaryKeyColumn(String)
    /// A table definition, column operation or value the data model refuses (Invalid), with Cassandra's message.
    case invalidRequest(String)
    /// A keyspace or table definition Cassandra refuses as a configuration error (ConfigErrors).
    case configuration(String)
    /// The commit log or a snapshot could not be written or read.
    case io(operation: String, path: String, errno: Int32)
    /// A commit log record or snapshot is not a valid encoding.
    case corrupt(String)

    /// Cassandra's message for this error.
    public var description: String {
        switch self {
        case let .keyspaceAlreadyExists(name): "Cannot add existing keyspace \"\(name)\""
        case let .tableAlreadyExists(keyspace, table): "Cannot add already existing table \"\(table)\" to keyspace \"\(keyspace)\""
        case let .typeAlreadyExists(_, type): "A user type with name '\(type)' already exists"
        case let .keyspaceNotFound(name): "Keyspace \(name) does not exist"
        case let .keyspaceNotFoundQuoted(name): "Keyspace '\(name)' does not exist"
        case let .keyspaceDoesNotExist(name): "Keyspace '\(name)' doesn't exist"
        case let .unconfiguredTable(_, table): "table \(table) does not exist"
        case let .tableDoesNotExist(keyspace, table): "Table '\(keyspace).\(table)' doesn't exist"
        case let .typeDoesNotExist(keyspace, type): "Type '\(keyspace).\(type)' doesn't exist"
        case let .typeInUse(keyspace, type, usedBy): "Cannot drop user type '\(keyspace).\(type)' as it is still used by \(usedBy)"
        case let .unknownTableID(id): "unknown table id \(id)"
        case let .undefinedColumn(name): "Undefined column name \(name)"
        case let .columnAlreadyExists(name): "Column with name '\(name)' already exists"
        case let .columnNotFound(column, table): "Column \(column) was not found in table '\(table)'"
        case let .cannotDropPrimaryKeyColumn(name): "Cannot drop PRIMARY KEY column \(name)"
        case let .invalidRequest(message): message
        case let .configuration(message): message
        case let .io(operation, path, errno): "\(operation) \(path) failed: errno \(errno)"
        case let .corrupt(detail): "corrupt storage file: \(detail)"
        }
    }

    /// Whether the native protocol answers this as AlreadyExists (0x2400) rather than Invalid (0x2200).
    public var isAlreadyExists: Bool {
        switch self {
        case .keyspaceAlreadyExists, .tableAlreadyExists: true
        default: false
        }
    }
}
