import CQLCodec
import Foundation

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
        if let name = type.nativeName { return name }
        switch type {
        case let .custom(className): return className == DataType.durationClass ? "duration" : "'\(className)'"
        case let .list(element): return "list<\(nested(element))>"
        case let .set(element): return "set<\(nested(element))>"
        case let .map(key, value): return "map<\(nested(key)), \(nested(value))>"
        case let .udt(userType): return CQLKeywords.quoteIfNeeded(userType.name)
        case let .tuple(elements): return "tuple<\(elements.map(nested).joined(separator: ", "))>"
        default: return type.description
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
