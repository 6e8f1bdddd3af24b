/// One column of a result's or a prepared statement's metadata (`<col_spec_i>`).
public struct ColumnSpec: Hashable, Sendable {
    /// The column's keyspace.
    public var keyspace: String
    /// The column's table.
    public var table: String
    /// The column's name (or a bind marker's name).
    public var name: String
    /// The column's type.
    public var type: DataType

    /// A column in `keyspace.table`.
    public init(keyspace: String, table: String, name: String, type: DataType) {
        self.keyspace = keyspace
        self.table = table
        self.name = name
        self.type = type
    }
}
