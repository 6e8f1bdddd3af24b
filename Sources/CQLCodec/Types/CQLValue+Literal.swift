import Foundation

extension CQLValue {
    /// The value as cqlsh prints it in a result cell: text unquoted at top level and quoted
    /// inside collections, blobs as `0x…`, timestamps as `2024-01-02 03:04:05.678000+0000`.
    public var cqlLiteral: String { literal(nested: false) }

    /// The value as a CQL literal that a statement could contain (text always quoted).
    public var cqlSourceLiteral: String { literal(nested: true) }

    private func literal(nested: Bool) -> String {
        switch self {
        case .null: return "null"
        case let .ascii(text), let .text(text): return nested ? Self.quoted(text) : text
        case let .bigint(value), let .counter(value): return String(value)
        case let .blob(bytes), let .custom(bytes): return ValueBytes.hex(bytes)
        case let .boolean(value): return nested ? (value ? "true" : "false") : (value ? "True" : "False")
        case let .decimal(value): return value.description
        case let .double(value): return Self.floatingLiteral(value, precision: 12)
        case let .float(value): return Self.floatingLiteral(Double(value), precision: 5)
        case let .inet(address): return nested ? Self.quoted(address.description) : address.description
        case let .int(value): return String(value)
        case let .smallint(value): return String(value)
        case let .tinyint(value): return String(value)
        case let .timestamp(milliseconds):
            let text = CivilCalendar.formatTimestamp(milliseconds: milliseconds)
            return nested ? Self.quoted(text) : text
        case let .date(date): return nested ? Self.quoted(date.description) : date.description
        case let .time(time): return nested ? Self.quoted(time.description) : time.description
        case let .uuid(uuid), let .timeuuid(uuid): return uuid.uuidString.lowercased()
        case let .varint(value): return value.description
        case let .duration(value): return value.description
        case let .list(values): return "[" + values.map { $0.literal(nested: true) }.joined(separator: ", ") + "]"
        case let .set(values): return "{" + values.map { $0.literal(nested: true) }.joined(separator: ", ") + "}"
        case let .map(entries):
            return "{" + entries.map { $0.key.literal(nested: true) + ": " + $0.value.literal(nested: true) }
                .joined(separator: ", ") + "}"
        case let .tuple(values): return "(" + values.map { $0.literal(nested: true) }.joined(separator: ", ") + ")"
        case let .udt(fields):
            return "{" + fields.map { Self.identifier($0.name) + ": " + $0.value.literal(nested: true) }
                .joined(separator: ", ") + "}"
        }
    }

    /// `'it''s'`.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// A field name, double-quoted when it is not a plain lowercase identifier.
    static func identifier(_ name: String) -> String {
        let plain = name.utf8.first.map { ($0 >= 0x61 && $0 <= 0x7A) } ?? false
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
        return plain ? name : "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// cqlsh's `%.Ng` formatting with `NaN`/`Infinity` spelled as CQL spells them.
    static func floatingLiteral(_ value: Double, precision: Int) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return String(format: "%.\(precision)g", value)
    }
}

extension CQLValue: CustomStringConvertible {
    /// The cqlsh rendering (``cqlLiteral``).
    public var description: String { cqlLiteral }
}
