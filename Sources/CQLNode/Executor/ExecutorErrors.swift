import CQLCodec

extension ServerError {
    /// An Invalid (0x2200) error with Cassandra's message.
    static func invalidRequest(_ message: String) -> ServerError { ServerError(.invalid, message: message) }

    /// A Syntax error (0x2000).
    static func syntax(_ message: String) -> ServerError { ServerError(.syntaxError, message: message) }

    /// A protocol error (0x000A).
    static func protocolViolation(_ message: String) -> ServerError { ServerError(.protocolError, message: message) }

    /// The error Cassandra answers for a storage refusal: AlreadyExists for existing keyspaces and tables, else Invalid.
    static func storage(_ error: StorageError) -> ServerError {
        switch error {
        case let .keyspaceAlreadyExists(keyspace):
            ServerError(.alreadyExists(keyspace: keyspace, table: ""), message: error.description)
        case let .tableAlreadyExists(keyspace, table):
            ServerError(.alreadyExists(keyspace: keyspace, table: table), message: error.description)
        case .configuration:
            ServerError(.configError, message: error.description)
        case .io, .corrupt:
            ServerError(.serverError, message: error.description)
        default:
            ServerError(.invalid, message: error.description)
        }
    }

    /// Cassandra's refusal of a query that needs `ALLOW FILTERING`.
    static let filteringRequired = ServerError.invalidRequest(
        "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. "
            + "If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING")

    /// A column the table does not have, as Cassandra 4.0 words it.
    static func undefinedColumn(_ name: String, in table: TableSchema) -> ServerError {
        .invalidRequest("Undefined column name \(name) in table \(table.keyspace).\(table.name)")
    }

    /// Cassandra's refusal of an unqualified table name outside any keyspace.
    static let noKeyspace = ServerError.invalidRequest(
        "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
}
