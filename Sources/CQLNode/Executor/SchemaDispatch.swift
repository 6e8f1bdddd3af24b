import CQLCodec

extension NodeExecutor {
    /// The one place DDL and DESCRIBE statements leave the data path: CREATE/ALTER/DROP KEYSPACE, TABLE and TYPE,
    /// TRUNCATE and DESCRIBE, run by ``SchemaExecutor``.
    func executeSchema(_ statement: StatementSyntax, context: RequestContext, keyspace: String?) async -> QueryResponse {
        await SchemaExecutor(storage: storage).execute(statement, context: context, keyspace: keyspace)
    }
}
