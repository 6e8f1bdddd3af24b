import CQLWire
import Testing

@Suite("CQL script splitting")
struct CQLScriptTests {
    static func texts(_ script: String, lineCommands: Set<String> = []) -> [String] {
        CQLScript.statements(in: script, lineCommands: lineCommands).map(\.text)
    }

    @Test("`;` ends a statement outside strings, quoted names, $$ strings and comments; comments are dropped")
    func quotingAndComments() {
        #expect(Self.texts("a 'x;--y'; -- c;\n b;") == ["a 'x;--y'", "b"])
        #expect(Self.texts(#"SELECT "we;ird" FROM t; INSERT INTO t (v) VALUES ('it''s;')"#)
            == [#"SELECT "we;ird" FROM t"#, "INSERT INTO t (v) VALUES ('it''s;')"])
        #expect(Self.texts("CREATE FUNCTION f() RETURNS int LANGUAGE java AS $$ return 1; $$;")
            == ["CREATE FUNCTION f() RETURNS int LANGUAGE java AS $$ return 1; $$"])
        #expect(Self.texts("a /* one; \n two; */ b; // tail;\nc") == ["a \n  b", "c"])
        #expect(Self.texts("-- only a comment;\n/* and another */;").isEmpty)
    }

    @Test("BEGIN BATCH ... APPLY BATCH is one statement")
    func batch() {
        let script = "BEGIN BATCH\n INSERT INTO t (k) VALUES (1);\n UPDATE t SET v = 2 WHERE k = 1;\nAPPLY BATCH;\nSELECT * FROM t;"
        #expect(Self.texts(script) == [
            "BEGIN BATCH\n INSERT INTO t (k) VALUES (1);\n UPDATE t SET v = 2 WHERE k = 1;\nAPPLY BATCH", "SELECT * FROM t",
        ])
    }

    @Test("statements carry the line of their end; line commands end at their line; the tail without `;` is kept")
    func linesAndCommands() {
        let statements = CQLScript.statements(in: "SELECT *\nFROM t;\nCONSISTENCY QUORUM\nSELECT 1", lineCommands: ["CONSISTENCY"])
        #expect(statements == [
            CQLScript.Statement(text: "SELECT *\nFROM t", line: 2),
            CQLScript.Statement(text: "CONSISTENCY QUORUM", line: 3),
            CQLScript.Statement(text: "SELECT 1", line: 4),
        ])
        #expect(Self.texts("CONSISTENCY QUORUM\nSELECT 1;") == ["CONSISTENCY QUORUM\nSELECT 1"])
    }

    @Test("fed line by line, a statement is pending until its `;`")
    func pending() {
        var script = CQLScript()
        #expect(script.feed(line: "SELECT 'open", number: 1).isEmpty)
        #expect(script.isPending)
        #expect(script.feed(line: "quote' FROM t;", number: 2) == [CQLScript.Statement(text: "SELECT 'open\nquote' FROM t", line: 2)])
        #expect(!script.isPending)
        _ = script.feed(line: "SELECT", number: 3)
        script.reset()
        #expect(!script.isPending && script.finish(line: 3) == nil)
    }
}
