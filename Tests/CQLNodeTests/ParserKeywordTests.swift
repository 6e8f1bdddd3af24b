import Testing
@testable import CQLNode

/// Which words can be unquoted names, per Cassandra 4.1's `unreserved_keyword` rule.
@Suite("CQL parser: reserved and unreserved keywords")
struct ParserKeywordTests {
    static let unreserved = [
        "keys", "as", "cluster", "clustering", "compact", "storage", "tables", "columnfamilies", "type", "types",
        "values", "map", "list", "filtering", "permission", "permissions", "keyspaces", "all", "user", "users",
        "role", "roles", "superuser", "nosuperuser", "login", "nologin", "options", "password", "exists", "custom",
        "trigger", "contains", "internals", "only", "static", "frozen", "tuple", "function", "functions", "aggregate",
        "aggregates", "sfunc", "stype", "finalfunc", "initcond", "returns", "language", "called", "input", "like",
        "per", "partition", "group", "datacenters", "access", "default", "mbean", "mbeans", "replace", "unset",
        "ttl", "count", "writetime", "key", "cast", "json", "distinct", "status",
    ] + NativeType.allCases.map(\.rawValue) + ["varchar"]

    @Test("unreserved keywords name keyspaces, tables and columns", arguments: unreserved)
    func unreservedNames(word: String) throws {
        let create = try CQLParser.parse("CREATE TABLE \(word).\(word) (\(word) int PRIMARY KEY, v int)")
        guard case let .createTable(table) = create.statement else {
            Issue.record("not a CREATE TABLE")
            return
        }
        #expect(table.name == QualifiedName(keyspace: word, name: word))
        #expect(table.columns.first?.name == word)
        let select = try CQLParser.parse("SELECT \(word) FROM \(word) WHERE \(word) = 1")
        #expect(select.statement == .select(Select(
            table: QualifiedName(name: word), selection: [SelectItem(.column(word))],
            whereClause: [.compare(word, .equal, .literal(.integer("1")))]
        )))
        let update = try CQLParser.parse("UPDATE \(word) SET \(word) = \(word) + 1 WHERE k = 1")
        #expect(update.statement == .update(Update(
            table: QualifiedName(name: word), assignments: [.add(word, .literal(.integer("1")))],
            whereClause: [.compare("k", .equal, .literal(.integer("1")))]
        )))
    }

    @Test("reserved keywords need quotes", arguments: Array(CQLKeywords.reserved).sorted())
    func reservedNames(word: String) throws {
        #expect(throws: CQLSyntaxError.self) { try CQLParser.parse("CREATE TABLE t (\(word) int PRIMARY KEY)") }
        // null, NaN and Infinity are constants, which a select list may hold.
        if !["null", "nan", "infinity"].contains(word) {
            #expect(throws: CQLSyntaxError.self) { try CQLParser.parse("SELECT \(word) FROM t") }
        }
        let quoted = try CQLParser.parse("SELECT \"\(word)\" FROM \"\(word)\"")
        #expect(quoted.statement == .select(Select(table: QualifiedName(name: word), selection: [SelectItem(.column(word))])))
    }

    @Test("keywords are case-insensitive and unquoted names are lowercased")
    func caseFolding() throws {
        let mixed = try CQLParser.parse("sElEcT MyCol FrOm MyKs.MyTable wHeRe \"MyKey\" = 1 LiMiT 5")
        #expect(mixed.statement == .select(Select(
            table: QualifiedName(keyspace: "myks", name: "mytable"), selection: [SelectItem(.column("mycol"))],
            whereClause: [.compare("MyKey", .equal, .literal(.integer("1")))], limit: .literal(.integer("5"))
        )))
    }
}
