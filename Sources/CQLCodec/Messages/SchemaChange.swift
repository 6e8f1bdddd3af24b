/// A schema change, as a RESULT Schema_change or an EVENT SCHEMA_CHANGE (specification 4.2.6).
public struct SchemaChange: Sendable, Hashable {
    /// `<change_type>`.
    public enum ChangeType: String, Sendable, Hashable, CaseIterable {
        /// The object was created.
        case created = "CREATED"
        /// The object was altered.
        case updated = "UPDATED"
        /// The object was dropped.
        case dropped = "DROPPED"
    }

    /// `<target>`: what kind of schema object changed.
    public enum Target: String, Sendable, Hashable, CaseIterable {
        /// A keyspace.
        case keyspace = "KEYSPACE"
        /// A table (index changes count as table changes).
        case table = "TABLE"
        /// A user-defined type.
        case type = "TYPE"
        /// A user-defined function.
        case function = "FUNCTION"
        /// A user-defined aggregate.
        case aggregate = "AGGREGATE"
    }

    /// Whether the object was created, updated or dropped.
    public var changeType: ChangeType
    /// The kind of object.
    public var target: Target
    /// The keyspace changed or holding the changed object.
    public var keyspace: String
    /// The table, type, function or aggregate name; nil for a keyspace.
    public var name: String?
    /// The argument types (as CQL types) of a function or aggregate; nil otherwise.
    public var argumentTypes: [String]?

    /// A schema change; `name` is required except for keyspaces, `argumentTypes` for functions and aggregates.
    public init(changeType: ChangeType, target: Target, keyspace: String, name: String? = nil,
                argumentTypes: [String]? = nil) {
        self.changeType = changeType
        self.target = target
        self.keyspace = keyspace
        self.name = name
        self.argumentTypes = argumentTypes
    }

    /// Reads `<change_type><target><options>`.
    package init(from reader: inout ByteReader) throws(WireError) {
        let change = try reader.readString("schema change type")
        guard let changeType = ChangeType(rawValue: change) else {
            throw .invalidValue(what: "schema change type", detail: change)
        }
        let rawTarget = try reader.readString("schema change target")
        guard let target = Target(rawValue: rawTarget) else {
            throw .invalidValue(what: "schema change target", detail: rawTarget)
        }
        self.changeType = changeType
        self.target = target
        keyspace = try reader.readString("schema change keyspace")
        switch target {
        case .keyspace:
            name = nil
            argumentTypes = nil
        case .table, .type:
            name = try reader.readString("schema change name")
            argumentTypes = nil
        case .function, .aggregate:
            name = try reader.readString("schema change name")
            argumentTypes = try reader.readStringList("schema change argument types")
        }
    }

    /// Appends `<change_type><target><options>`; missing names are written empty to keep the layout.
    package func encode(into writer: inout ByteWriter) {
        writer.writeString(changeType.rawValue)
        writer.writeString(target.rawValue)
        writer.writeString(keyspace)
        switch target {
        case .keyspace: break
        case .table, .type: writer.writeString(name ?? "")
        case .function, .aggregate:
            writer.writeString(name ?? "")
            writer.writeStringList(argumentTypes ?? [])
        }
    }
}
