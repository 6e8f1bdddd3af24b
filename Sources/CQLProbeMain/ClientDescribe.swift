import CQLWire
import Foundation

/// DESCRIBE built on the client from `system_schema`, for servers before Cassandra 4.0, which
/// have no server-side DESCRIBE: the same rows the server's DESCRIBE returns (`keyspace_name`,
/// `type`, `name`, `create_statement`, or the names of a listing), with CREATE statements written
/// as Cassandra 4 writes them, so the shell prints both alike and either replays to the same tables.
struct ClientDescribe {
    /// What DESCRIBE could not describe, worded as the server words it.
    struct Failure: Error {
        var message: String
    }

    struct Keyspace {
        var name: String
        var replication: [(String, String)]
        var durableWrites: Bool
    }

    struct Column {
        var name: String
        var kind: String
        var position: Int
        var type: String
        var clusteringOrder: String
    }

    struct Table {
        var keyspace: String
        var name: String
        var columns: [Column]
        var options: [(String, CQLValue)]
    }

    struct UserType {
        var keyspace: String
        var name: String
        var fields: [(String, String)]
    }

    /// One row as the server's DESCRIBE answers it.
    typealias Row = [String: CQLValue]

    var keyspaces: [Keyspace]
    var tables: [Table]
    var types: [UserType]
    var clusterName: String
    var partitioner: String

    /// Keyspaces DESCRIBE SCHEMA leaves out (FULL SCHEMA shows them).
    static let systemKeyspaces: Set<String> = ["system", "system_schema", "system_auth", "system_distributed", "system_traces",
                                                "system_virtual_schema", "system_views"]
    /// Table columns of `system_schema.tables` that are not options.
    static let notOptions: Set<String> = ["keyspace_name", "table_name", "id", "flags"]

    /// Table options in the order Cassandra's DESCRIBE writes them (3.11's own among them); others after, by name.
    static let optionOrder = ["additional_write_policy", "bloom_filter_fp_chance", "caching", "cdc", "comment", "compaction",
                              "compression", "memtable", "crc_check_chance", "dclocal_read_repair_chance",
                              "default_time_to_live", "extensions", "gc_grace_seconds", "max_index_interval",
                              "memtable_flush_period_in_ms", "min_index_interval", "read_repair", "read_repair_chance",
                              "speculative_retry"]

    static func optionRank(_ name: String) -> (Int, String) {
        (optionOrder.firstIndex(of: name) ?? optionOrder.count, name)
    }

    /// Reads the schema tables.
    static func load(_ session: CQLSession) async throws -> ClientDescribe {
        func rows(_ cql: String) async throws -> [RowView] {
            var statement = CQLStatement(cql, values: [])
            statement.consistency = .one
            var rows: [RowView] = []
            for try await row in session.rows(statement) { rows.append(row) }
            return rows
        }
        func text(_ row: RowView, _ name: String) -> String { ((try? row.decode(String?.self, named: name)) ?? nil) ?? "" }

        let keyspaces = try await rows("SELECT keyspace_name, durable_writes, replication FROM system_schema.keyspaces").map { row in
            let replication = ((try? row.decode([String: String]?.self, named: "replication")) ?? nil) ?? [:]
            let ordered = replication.filter { $0.key == "class" }.map { ($0.key, $0.value) }
                + replication.filter { $0.key != "class" }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            return Keyspace(name: text(row, "keyspace_name"), replication: ordered,
                            durableWrites: ((try? row.decode(Bool?.self, named: "durable_writes")) ?? nil) ?? true)
        }.sorted { $0.name < $1.name }
        var columns: [String: [Column]] = [:]
        for row in try await rows("SELECT keyspace_name, table_name, column_name, clustering_order, kind, position, type "
                                  + "FROM system_schema.columns") {
            let column = Column(name: text(row, "column_name"), kind: text(row, "kind"),
                                position: Int(((try? row.decode(Int32?.self, named: "position")) ?? nil) ?? -1),
                                type: text(row, "type"), clusteringOrder: text(row, "clustering_order"))
            columns[text(row, "keyspace_name") + "." + text(row, "table_name"), default: []].append(column)
        }
        let tables = try await rows("SELECT * FROM system_schema.tables").map { row in
            let keyspace = text(row, "keyspace_name")
            let name = text(row, "table_name")
            var options: [(String, CQLValue)] = []
            for index in 0..<row.count {
                guard let spec = try? row.column(at: index), !notOptions.contains(spec.name),
                      let value = try? row.value(at: index), !value.isNull else { continue }
                options.append((spec.name, value))
            }
            return Table(keyspace: keyspace, name: name, columns: columns[keyspace + "." + name] ?? [],
                         options: options.sorted { optionRank($0.0) < optionRank($1.0) })
        }.sorted { ($0.keyspace, $0.name) < ($1.keyspace, $1.name) }
        let types = try await rows("SELECT keyspace_name, type_name, field_names, field_types FROM system_schema.types").map { row in
            let names = ((try? row.decode([String]?.self, named: "field_names")) ?? nil) ?? []
            let types = ((try? row.decode([String]?.self, named: "field_types")) ?? nil) ?? []
            return UserType(keyspace: text(row, "keyspace_name"), name: text(row, "type_name"), fields: Array(zip(names, types)))
        }.sorted { ($0.keyspace, $0.name) < ($1.keyspace, $1.name) }
        let local = try await rows("SELECT cluster_name, partitioner FROM system.local WHERE key = 'local'").first
        return ClientDescribe(keyspaces: keyspaces, tables: tables, types: types,
                              clusterName: local.map { text($0, "cluster_name") } ?? "",
                              partitioner: local.map { text($0, "partitioner") } ?? "")
    }

    /// The rows of `DESCRIBE ...` (`words`: the statement's words as typed, the first being DESCRIBE or DESC).
    func rows(for words: [String], sessionKeyspace: String?) throws(Failure) -> [Row] {
        let upper = words.map { $0.uppercased() }
        let what = upper.count > 1 ? upper[1] : ""
        let argument = words.count > 2 ? words[2] : nil
        switch what {
        case "KEYSPACES":
            return keyspaces.map { ["keyspace_name": .text($0.name), "type": .text("keyspace"), "name": .text($0.name)] }
        case "TABLES", "COLUMNFAMILIES":
            return tables.filter { sessionKeyspace == nil || $0.keyspace == sessionKeyspace }.map { table in
                ["keyspace_name": .text(table.keyspace), "type": .text("table"), "name": .text(table.name)]
            }
        case "TYPES":
            return types.filter { sessionKeyspace == nil || $0.keyspace == sessionKeyspace }.map { type in
                ["keyspace_name": .text(type.keyspace), "type": .text("type"), "name": .text(type.name)]
            }
        case "KEYSPACE":
            let name: String
            if let argument { name = Self.identifier(argument) } else { name = try requireKeyspace(sessionKeyspace) }
            return elements(of: try keyspace(name))
        case "TABLE", "COLUMNFAMILY":
            guard let argument else { throw Failure(message: "DESCRIBE TABLE needs a table name") }
            return [element(try table(argument, sessionKeyspace: sessionKeyspace))]
        case "TYPE":
            guard let argument else { throw Failure(message: "DESCRIBE TYPE needs a type name") }
            let (keyspace, name) = try Self.qualified(argument, sessionKeyspace: sessionKeyspace)
            guard let type = types.first(where: { $0.keyspace == keyspace && $0.name == name }) else {
                throw Failure(message: "User defined type '\(name)' not found in '\(keyspace)'")
            }
            return [element(type)]
        case "SCHEMA":
            return keyspaces.filter { !Self.systemKeyspaces.contains($0.name) }.flatMap(elements)
        case "FULL" where upper.count > 2 && upper[2] == "SCHEMA":
            return keyspaces.flatMap(elements)
        case "CLUSTER":
            return [["cluster": .text(clusterName), "partitioner": .text(partitioner.split(separator: ".").last.map(String.init) ?? "")]]
        case "":
            throw Failure(message: "DESCRIBE needs what to describe")
        default:
            let name = Self.identifier(words[1])
            if !words[1].contains("."), let space = keyspaces.first(where: { $0.name == name }) { return elements(of: space) }
            return [element(try table(words[1], sessionKeyspace: sessionKeyspace))]
        }
    }

    private func requireKeyspace(_ sessionKeyspace: String?) throws(Failure) -> String {
        guard let sessionKeyspace else { throw Failure(message: "No keyspace specified and no current keyspace") }
        return sessionKeyspace
    }

    private func keyspace(_ name: String) throws(Failure) -> Keyspace {
        guard let space = keyspaces.first(where: { $0.name == name }) else { throw Failure(message: "'\(name)' not found in keyspaces") }
        return space
    }

    private func table(_ text: String, sessionKeyspace: String?) throws(Failure) -> Table {
        let (keyspace, name) = try Self.qualified(text, sessionKeyspace: sessionKeyspace)
        _ = try self.keyspace(keyspace)
        guard let table = tables.first(where: { $0.keyspace == keyspace && $0.name == name }) else {
            throw Failure(message: "'\(name)' not found in keyspace '\(keyspace)'")
        }
        return table
    }

    /// `ks.name` or `name` in the session keyspace, each part unquoted (`"Name"` keeps its case).
    private static func qualified(_ text: String, sessionKeyspace: String?) throws(Failure) -> (String, String) {
        let parts = text.split(separator: ".", maxSplits: 1).map { identifier(String($0)) }
        if parts.count == 2 { return (parts[0], parts[1]) }
        guard let sessionKeyspace else { throw Failure(message: "No keyspace specified and no current keyspace") }
        return (sessionKeyspace, parts.first ?? "")
    }

    /// A name as typed: a quoted one as written, an unquoted one lowercased (a trailing ';' dropped).
    static func identifier(_ text: String) -> String {
        var text = text
        while text.hasSuffix(";") { text.removeLast() }
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
            return String(text.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
        }
        return text.lowercased()
    }

    private func elements(of space: Keyspace) -> [Row] {
        [row(space.name, "keyspace", space.name, Self.createKeyspace(space))]
            + types.filter { $0.keyspace == space.name }.map(element)
            + tables.filter { $0.keyspace == space.name }.map(element)
    }

    private func element(_ table: Table) -> Row { row(table.keyspace, "table", table.name, Self.createTable(table)) }

    private func element(_ type: UserType) -> Row { row(type.keyspace, "type", type.name, Self.createType(type)) }

    private func row(_ keyspace: String, _ type: String, _ name: String, _ create: String) -> Row {
        ["keyspace_name": .text(Self.quoted(keyspace)), "type": .text(type), "name": .text(Self.quoted(name)),
         "create_statement": .text(create)]
    }

    // MARK: CREATE statements

    static func createKeyspace(_ space: Keyspace) -> String {
        let replication = "{" + space.replication.map { "\(literal($0.0)): \(literal($0.1))" }.joined(separator: ", ") + "}"
        return "CREATE KEYSPACE \(quoted(space.name)) WITH replication = \(replication)  AND durable_writes = \(space.durableWrites);"
    }

    static func createType(_ type: UserType) -> String {
        "CREATE TYPE \(quoted(type.keyspace)).\(quoted(type.name)) (\n"
            + type.fields.map { "    \(quoted($0.0)) \($0.1)" }.joined(separator: ",\n") + "\n);"
    }

    static func createTable(_ table: Table) -> String {
        func kind(_ name: String) -> [Column] { table.columns.filter { $0.kind == name }.sorted { $0.position < $1.position } }
        /// Single-cell columns before multi-cell ones (non-frozen collections), each by name, as Cassandra orders them.
        func group(_ columns: [Column]) -> [Column] {
            let multiCell = { (column: Column) in ["list<", "set<", "map<"].contains { column.type.hasPrefix($0) } }
            return columns.filter { !multiCell($0) }.sorted { $0.name < $1.name } + columns.filter(multiCell).sorted { $0.name < $1.name }
        }
        let partitionKey = kind("partition_key")
        let clustering = kind("clustering")
        let columns = partitionKey + clustering + group(kind("static")) + group(kind("regular"))
        let singleKey = partitionKey.count == 1 && clustering.isEmpty
        var text = "CREATE TABLE \(quoted(table.keyspace)).\(quoted(table.name)) (\n"
        for (index, column) in columns.enumerated() {
            text += "    \(quoted(column.name)) \(column.type)"
            if column.kind == "static" { text += " static" }
            if singleKey, column.kind == "partition_key" { text += " PRIMARY KEY" }
            if !singleKey || index < columns.count - 1 { text += "," }
            text += "\n"
        }
        if !singleKey {
            let names = partitionKey.map { quoted($0.name) }
            var key = names.count > 1 ? "(\(names.joined(separator: ", ")))" : names.joined()
            if !clustering.isEmpty { key += ", " + clustering.map { quoted($0.name) }.joined(separator: ", ") }
            text += "    PRIMARY KEY (\(key))\n"
        }
        var options: [String] = []
        if !clustering.isEmpty {
            options.append("CLUSTERING ORDER BY (" + clustering.map { "\(quoted($0.name)) \($0.clusteringOrder.uppercased())" }
                .joined(separator: ", ") + ")")
        }
        for (name, value) in table.options {
            guard let rendered = optionText(value) else { continue }
            options.append("\(name) = \(rendered)")
        }
        return text + ") WITH " + options.joined(separator: "\n    AND ") + ";"
    }

    /// A table option's value as CQL; nil for values a CREATE TABLE does not take (sets, lists).
    static func optionText(_ value: CQLValue) -> String? {
        switch value {
        case let .text(text), let .ascii(text): return literal(text)
        case let .map(entries):
            var parts: [String] = []
            for entry in entries {
                guard let key = optionText(entry.key), let value = optionText(entry.value) else { return nil }
                parts.append("\(key): \(value)")
            }
            return "{" + parts.joined(separator: ", ") + "}"
        case let .double(number): return String(number)
        case let .boolean(flag): return flag ? "true" : "false"
        case .set, .list: return nil
        default: return value.cqlLiteral
        }
    }

    /// A string literal: single-quoted, quotes doubled.
    static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// Cassandra's reserved words: an identifier spelled like one is quoted.
    static let reserved: Set<String> = [
        "add", "allow", "alter", "and", "apply", "asc", "authorize", "batch", "begin", "by", "columnfamily", "create",
        "default", "delete", "desc", "describe", "drop", "entries", "execute", "from", "full", "grant", "if", "in", "index",
        "infinity", "insert", "into", "is", "keyspace", "limit", "materialized", "mbean", "mbeans", "modify", "nan",
        "norecursive", "not", "null", "of", "on", "or", "order", "primary", "rename", "replace", "revoke", "schema",
        "select", "set", "table", "to", "token", "truncate", "unlogged", "unset", "update", "use", "using", "view",
        "where", "with",
    ]

    /// An identifier as CQL needs it written: bare when lowercase letters, digits and `_` starting
    /// with a letter and not a reserved word; double-quoted otherwise.
    static func quoted(_ name: String) -> String {
        let bare = name.first.map { $0.isASCII && $0.isLowercase } == true
            && name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" }
            && !reserved.contains(name)
        return bare ? name : "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
