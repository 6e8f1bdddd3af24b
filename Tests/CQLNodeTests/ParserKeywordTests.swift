import Testing
@testable import CQLNode

/// Which words can be unquoted names, per Cassandra 4.1's `unreserved_keyword` rule.
@Suite("CQL parser: reserved and unreserved keywords")
struct ParserKeywordTests {
    static let unreserved = Array(CQLKeywords.unreserved).sorted() + ["status", "varchar"]

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

    @Test("the keyword classes agree with the grammar's native types and do not overlap")
    func classes() {
        #expect(CQLKeywords.reserved.isDisjoint(with: CQLKeywords.unreserved))
        #expect(Set(NativeType.allCases.map(\.rawValue)).isSubset(of: CQLKeywords.unreserved))
        #expect(["key", "ttl", "writetime", "count", "json", "distinct", "type"].allSatisfy(CQLKeywords.unreserved.contains))
    }

    @Test("option values may be constants, maps or unreserved keywords, not other words")
    func optionValues() throws {
        let keyword = try CQLParser.parse("ALTER TABLE t WITH caching = all")
        #expect(keyword.statement == .alterTable(AlterTable(name: QualifiedName(name: "t"), action: .properties([
            Property(name: "caching", value: .keyword("all")),
        ]))))
        #expect(throws: CQLSyntaxError.self) { try CQLParser.parse("ALTER TABLE t WITH caching = everything") }
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
