import Testing
@testable import CQLNode

@Suite("CQL parser: syntax errors and hostile input")
struct ParserErrorTests {
    static let messages: [(String, String)] = [
        // Recorded from Cassandra 3.11.10 (errors.pcap, ERROR 0x2000).
        ("SELEKT * FROM pg", "line 1:0 no viable alternative at input 'SELEKT' ([SELEKT]...)"),
        ("SELECT FROM x", "line 1:7 no viable alternative at input 'FROM' (SELECT [FROM]...)"),
        ("SELECT * FROM t x", "line 1:16 mismatched input 'x' expecting EOF (SELECT * FROM t [x])"),
        ("SELECT * FROM t; SELECT * FROM u", "line 1:17 mismatched input 'SELECT' expecting EOF (SELECT * FROM t; [SELECT]...)"),
        ("SELECT * FROM", "line 0:-1 no viable alternative at input '<EOF>'"),
        ("", "line 0:-1 no viable alternative at input '<EOF>'"),
        ("INSERT INTO t (a) VALUE (1)", "line 1:18 mismatched input 'VALUE' expecting K_VALUES (INSERT INTO t (a) [VALUE]...)"),
        ("INSERT INTO t (a) VALUES (1", "line 0:-1 mismatched input '<EOF>' expecting ')'"),
        ("UPDATE t SET v = 1", "line 0:-1 mismatched input '<EOF>' expecting K_WHERE"),
        ("DELETE FROM t WHERE k = 1 IF", "line 0:-1 no viable alternative at input '<EOF>'"),
        ("SELECT * FROM t WHERE k = = 1", "line 1:26 no viable alternative at input '=' (...FROM t WHERE k = [=]...)"),
        (
            "SELECT a, b, c, d, e, f FROM t WHERE k ! 1",
            "line 1:39 no viable alternative at character '!'"
        ),
        (
            "SELECT a, b, c, d, e, f FROM t WHERE k @ 1",
            "line 1:39 no viable alternative at character '@'"
        ),
        ("SELECT * FROM t WHERE k = 'abc", "line 1:30 mismatched character '<EOF>' expecting '''"),
        ("SELECT * FROM t WHERE select = 1", "line 1:22 no viable alternative at input 'select' (SELECT * FROM t WHERE [select]...)"),
        ("SELECT *\nFROM t\nWHERE k = = 1", "line 3:10 no viable alternative at input '=' (...FROM tWHERE k = [=]...)"),
        ("CREATE TABLE t (k int PRIMARY KEY) WITH CLUSTERING ORDER BY (c)", "line 1:62 no viable alternative at input ')' (...WITH CLUSTERING ORDER BY (c[)])"),
        ("CREATE TABLESPACE t", "line 1:7 no viable alternative at input 'TABLESPACE' (CREATE [TABLESPACE]...)"),
        ("BEGIN BATCH SELECT * FROM t APPLY BATCH", "line 1:12 mismatched input 'SELECT' expecting K_APPLY (BEGIN BATCH [SELECT]...)"),
        ("UPDATE t SET a = b + 1 WHERE k = 1", "Only expressions of the form X = X +<value> are supported."),
        ("UPDATE t SET a = [1] + b WHERE k = 1", "Only expressions of the form X = <value> + X are supported."),
        ("UPDATE t SET a = b -1 WHERE k = 1", "Only expressions of the form X = X - <value> are supported."),
        ("UPDATE t SET a = 1, a = 2 WHERE k = 1", "Multiple incompatible setting of column a"),
        ("SELECT * FROM t WHERE k = 'it''s' AND", "line 0:-1 no viable alternative at input '<EOF>'"),
        ("SELECT * FROM t WHERE m['k' = 1", "line 1:28 mismatched input '=' expecting ']' (...FROM t WHERE m['k' [=]...)"),
    ]

    @Test("errors read like Cassandra's: line, column, reason, snippet", arguments: messages)
    func message(cql: String, expected: String) {
        #expect {
            try CQLParser.parse(cql)
        } throws: { error in
            (error as? CQLSyntaxError)?.message == expected
        }
    }

    @Test("the reported position is the offending token's")
    func position() throws {
        let error = try #require(throws: CQLSyntaxError.self) { try CQLParser.parse("SELECT *\n  FROM t WHERE LIMIT 1") }
        #expect(error.line == 2)
        #expect(error.column == 15)
    }

    @Test("statements may end with semicolons, and only a batch holds several statements")
    func terminators() throws {
        #expect(throws: Never.self) { try CQLParser.parse("SELECT * FROM t;;") }
        #expect(throws: CQLSyntaxError.self) { try CQLParser.parse("INSERT INTO t (k) VALUES (1); INSERT INTO t (k) VALUES (2)") }
        #expect(throws: Never.self) {
            try CQLParser.parse("BEGIN BATCH INSERT INTO t (k) VALUES (1); INSERT INTO t (k) VALUES (2); APPLY BATCH;")
        }
    }

    @Test("nesting is limited instead of recursing without bound", arguments: ["[", "{", "(", "[(", "frozen<list<"])
    func nesting(opener: String) throws {
        let closer = String(opener.reversed().compactMap { character -> Character? in
            switch character {
            case "[": "]"
            case "{": "}"
            case "(": ")"
            case "<": ">"
            default: nil
            }
        })
        func statement(depth: Int) -> String {
            let inner = String(repeating: opener, count: depth) + "1" + String(repeating: closer, count: depth)
            if opener.hasPrefix("frozen") {
                return "CREATE TABLE t (k int PRIMARY KEY, v " + String(repeating: opener, count: depth) + "int" + String(repeating: closer, count: depth) + ")"
            }
            return "INSERT INTO t (k) VALUES (\(inner))"
        }
        #expect(throws: Never.self) { try CQLParser.parse(statement(depth: 10)) }
        let error = try #require(throws: CQLSyntaxError.self) { try CQLParser.parse(statement(depth: 10_000)) }
        #expect(error.message.contains("maximum nesting depth 64 exceeded"))
    }

    @Test("deep parentheses in WHERE, selectors and type hints are limited too")
    func otherNesting() {
        let deepRelation = "SELECT * FROM t WHERE " + String(repeating: "(", count: 5_000) + "k = 1" + String(repeating: ")", count: 5_000)
        let deepSelector = "SELECT " + String(repeating: "(", count: 5_000) + "a" + String(repeating: ")", count: 5_000) + " FROM t"
        let deepHints = "SELECT * FROM t WHERE k = " + String(repeating: "(int) ", count: 5_000) + "?"
        let deepCasts = "SELECT * FROM t WHERE k = " + String(repeating: "CAST(", count: 5_000) + "1" + String(repeating: " AS int)", count: 5_000)
        let negations = "SELECT " + String(repeating: "- ", count: 5_000) + "a FROM t"
        for cql in [deepRelation, deepSelector, deepHints, deepCasts] {
            #expect(throws: CQLSyntaxError.self) { try CQLParser.parse(cql) }
        }
        #expect(throws: Never.self) { try CQLParser.parse(negations) }
    }

    @Test("huge statements parse")
    func hugeInput() throws {
        let values = (0..<100_000).map(String.init).joined(separator: ", ")
        let parsed = try CQLParser.parse("SELECT * FROM t WHERE k IN (\(values))")
        guard case let .select(select) = parsed.statement, case let .in(_, .terms(terms)) = select.whereClause.first else {
            Issue.record("not an IN relation")
            return
        }
        #expect(terms.count == 100_000)
        let text = String(repeating: "x", count: 1_000_000)
        let insert = try CQLParser.parse("INSERT INTO t (k, v) VALUES (1, '\(text)')")
        #expect(insert.statement == .insert(Insert(table: QualifiedName(name: "t"), values: .columns(["k", "v"], [.literal(.integer("1")), .literal(.string(text))]))))
        let markers = Array(repeating: "?", count: 50_000).joined(separator: ",")
        #expect(try CQLParser.parse("INSERT INTO t (k) VALUES (\(markers))").bindMarkers.count == 50_000)
    }

    @Test("messages quoting huge tokens stay short enough for an ERROR frame")
    func boundedMessage() throws {
        let huge = String(repeating: "é", count: 100_000)
        let error = try #require(throws: CQLSyntaxError.self) { try CQLParser.parse("SELECT * FROM t WHERE k = '\(huge)' '\(huge)'") }
        #expect(error.message.hasPrefix("line 1:"))
        #expect(error.message.hasSuffix("..."))
        #expect(error.message.utf8.count <= Parser.maximumMessageLength)
    }

    @Test("random garbage never traps: it parses or throws a syntax error")
    func garbage() {
        var generator = SplitMix64(seed: 0x5EED)
        let fragments = [
            "SELECT", "FROM", "WHERE", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "DELETE", "BEGIN", "BATCH", "APPLY",
            "CREATE", "TABLE", "KEYSPACE", "TYPE", "DROP", "ALTER", "ADD", "WITH", "AND", "IF", "NOT", "EXISTS", "IN",
            "token", "count", "ttl", "writetime", "CAST", "AS", "json", "DISTINCT", "frozen", "list", "map", "set", "tuple",
            "int", "text", "k", "\"Q\"", "'s'", "$$d$$", "1", "-2", "3.5", "NaN", "-Infinity", "true", "0xAB", "1h", "P1D",
            "6be2a8d0-2d0e-4c65-9e5a-1a0b2c3d4e5f", "?", ":n", "(", ")", "[", "]", "{", "}", "<", ">", "=", "!=", "<=",
            ">=", "+", "-", "*", "/", "%", ",", ";", ".", ":", "..", "+=", "-=", "--", "/*", "*/", "'", "\"", "$$", "@", "é",
            "\n", "CONTAINS", "KEY", "LIMIT", "ORDER", "BY", "DESC", "PER", "PARTITION", "ALLOW", "FILTERING", "USING",
            "TIMESTAMP", "TTL", "PRIMARY", "STATIC", "DESCRIBE", "null",
        ]
        for _ in 0..<3_000 {
            let count = Int(generator.next() % 40)
            var cql = ""
            for _ in 0..<count {
                cql += fragments[Int(generator.next() % UInt64(fragments.count))]
                if generator.next() % 4 != 0 { cql += " " }
            }
            do {
                _ = try CQLParser.parse(cql)
            } catch {
                #expect(!error.message.isEmpty, "empty message for \(cql)")
                if let line = error.line {
                    #expect(error.message.hasPrefix("line \(line):"), "\(error.message) for \(cql)")
                }
            }
        }
        var bytes = SplitMix64(seed: 42)
        for _ in 0..<2_000 {
            let length = Int(bytes.next() % 64)
            let raw = (0..<length).map { _ in UInt8(truncatingIfNeeded: bytes.next()) }
            _ = try? CQLParser.parse(String(decoding: raw, as: UTF8.self))
        }
    }
}

extension ParserErrorTests {
    @Test("mutations of valid statements parse or fail with a positioned message inside the text")
    func mutations() {
        let seeds = ParserDataTests.cases.map(\.0) + ParserSchemaTests.cases.map(\.0) + ParserDataTests.schedulerStatements
        let inserts = ["(", ")", "'", "\"", "[", "{", "?", ",", ";", "-", "--", "/*", "..", "IF", "AND", "0x", "1h", "é", "\n"]
        var generator = SplitMix64(seed: 7)
        for seed in seeds {
            let characters = Array(seed)
            for _ in 0..<60 {
                var mutated = characters
                let position = Int(generator.next() % UInt64(mutated.count + 1))
                switch generator.next() % 3 {
                case 0:
                    let length = min(Int(generator.next() % 6) + 1, mutated.count - position)
                    mutated.removeSubrange(position..<(position + length))
                case 1:
                    mutated.insert(contentsOf: inserts[Int(generator.next() % UInt64(inserts.count))], at: position)
                default:
                    mutated.removeSubrange(position...)
                }
                let text = String(mutated)
                do {
                    _ = try CQLParser.parse(text)
                } catch {
                    guard let line = error.line, let column = error.column, line > 0 else { continue }
                    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                    #expect(line <= lines.count, "\(error.message) for \(text)")
                    if line <= lines.count {
                        #expect(column <= lines[line - 1].utf16.count, "\(error.message) for \(text)")
                    }
                }
            }
        }
    }
}

/// A small deterministic generator so failures reproduce.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
