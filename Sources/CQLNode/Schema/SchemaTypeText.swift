import CQLWire

/// Cassandra's text form of column types, as `system_schema.columns.type`, `system_schema.types.field_types`
/// and DESCRIBE write them.
///
/// Types nested in a collection, tuple or UDT are always frozen in Cassandra, so they print as `frozen<...>`;
/// tuples print frozen at every level; a top-level collection or UDT prints frozen only when the column is.
enum SchemaTypeText {
    /// The text of a column's type; `frozen` says whether the column itself is frozen.
    static func column(_ type: DataType, frozen: Bool) -> String {
        switch type {
        case .list, .set, .map, .udt:
            let bare = unfrozen(type)
            return frozen ? "frozen<\(bare)>" : bare
        default:
            return nested(type)
        }
    }

    /// The text of a type nested in another one (always frozen).
    static func nested(_ type: DataType) -> String {
        switch type {
        case .list, .set, .map, .udt, .tuple: "frozen<\(unfrozen(type))>"
        default: unfrozen(type)
        }
    }

    /// The type without an outer `frozen<>`.
    static func unfrozen(_ type: DataType) -> String {
        switch type {
        case let .custom(className): className == DataType.durationClass ? "duration" : "'\(className)'"
        case .ascii: "ascii"
        case .bigint: "bigint"
        case .blob: "blob"
        case .boolean: "boolean"
        case .counter: "counter"
        case .decimal: "decimal"
        case .double: "double"
        case .float: "float"
        case .int: "int"
        case .timestamp: "timestamp"
        case .uuid: "uuid"
        case .varchar: "text"
        case .varint: "varint"
        case .timeuuid: "timeuuid"
        case .inet: "inet"
        case .date: "date"
        case .time: "time"
        case .smallint: "smallint"
        case .tinyint: "tinyint"
        case .duration: "duration"
        case let .list(element): "list<\(nested(element))>"
        case let .set(element): "set<\(nested(element))>"
        case let .map(key, value): "map<\(nested(key)), \(nested(value))>"
        case let .udt(userType): CQLKeywords.quoteIfNeeded(userType.name)
        case let .tuple(elements): "tuple<\(elements.map(nested).joined(separator: ", "))>"
        }
    }

    /// A CQL string literal: single quotes, inner quotes doubled.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// A map of text as CQL writes it in DDL options: `{'k': 'v', ...}`, in the given order.
    static func mapLiteral(_ entries: [(String, String)]) -> String {
        "{" + entries.map { "\(quoted($0.0)): \(quoted($0.1))" }.joined(separator: ", ") + "}"
    }
}
