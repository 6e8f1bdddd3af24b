import Testing
@testable import CQLNode

@Suite("CQL lexer")
struct LexerTests {
    /// Kinds and processed values of every token but the final EOF.
    private func lex(_ text: String) -> [String] {
        let output = Lexer.tokenize(Array(text.utf8))
        return output.tokens.dropLast().map { token in
            switch token.kind {
            case .word: "word:\(token.value)"
            case .quotedName: "name:\(token.value)"
            case .string: "string:\(token.value)"
            case .integer: "int:\(token.value)"
            case .float: "float:\(token.value)"
            case .boolean: "bool:\(token.value)"
            case .duration: "duration:\(token.value)"
            case .uuid: "uuid:\(token.value)"
            case .hex: "hex:\(token.value)"
            case let .symbol(symbol): symbol.rawValue
            case .eof: "eof"
            }
        }
    }

    static let cases: [(String, [String])] = [
        ("SELECT Foo FROM ks.T", ["word:select", "word:foo", "word:from", "word:ks", ".", "word:t"]),
        ("\"MixedCase\" \"with \"\"quote\"\"\" \"\"", ["name:MixedCase", "name:with \"quote\"", "name:"]),
        ("'it''s' $$a 'b' $ c$$ ''", ["string:it's", "string:a 'b' $ c", "string:"]),
        ("1 -2 3.5 -4.25e10 1E-3 2. 0", ["int:1", "int:-2", "float:3.5", "float:-4.25e10", "float:1E-3", "float:2.", "int:0"]),
        ("NaN -NaN Infinity -infinity", ["float:NaN", "float:-NaN", "float:Infinity", "float:-infinity"]),
        ("true FALSE truex", ["bool:true", "bool:false", "word:truex"]),
        ("1h30m 2d 1mo 5us 3µs 7ns 10ms -1y2mo P1DT2H PT5M P2W P0001-02-03T04:05:06",
         ["duration:1h30m", "duration:2d", "duration:1mo", "duration:5us", "duration:3µs", "duration:7ns",
          "duration:10ms", "duration:-1y2mo", "duration:P1DT2H", "duration:PT5M", "duration:P2W",
          "duration:P0001-02-03T04:05:06"]),
        ("0xCAFE 0x 0xdeadbeef", ["hex:CAFE", "hex:", "hex:deadbeef"]),
        ("6be2a8d0-2d0e-4c65-9e5a-1a0b2c3d4e5f 12345678-1234-1234-1234-123456789abc",
         ["uuid:6be2a8d0-2d0e-4c65-9e5a-1a0b2c3d4e5f", "uuid:12345678-1234-1234-1234-123456789abc"]),
        ("? :name", ["?", ":", "word:name"]),
        ("= < > <= >= != + - ( ) [ ] { } , ; . : * / % += -= ..",
         ["=", "<", ">", "<=", ">=", "!=", "+", "-", "(", ")", "[", "]", "{", "}", ",", ";", ".", ":", "*", "/", "%", "+=", "-=", ".."]),
        ("a -- comment\nb // other\nc /* block\n */ d", ["word:a", "word:b", "word:c", "word:d"]),
        ("a--trailing comment without newline", ["word:a"]),
        ("x[1..2] c = c -3", ["word:x", "[", "int:1", "..", "int:2", "]", "word:c", "=", "word:c", "int:-3"]),
        ("a_1 B2", ["word:a_1", "word:b2"]),
        ("123abc", ["int:123", "word:abc"]),
    ]

    @Test("tokens of every lexical class", arguments: cases)
    func tokens(input: String, expected: [String]) {
        #expect(lex(input) == expected)
    }

    @Test("the stream counts whitespace and comments as ANTLR's hidden tokens")
    func streamIndex() {
        let output = Lexer.tokenize(Array("SELECT  *\n/* c */FROM t".utf8))
        #expect(output.tokens.map(\.streamIndex) == [0, 2, 5, 7, 8])
        #expect(output.streamStarts.count == 9)
    }

    static let failures: [(String, String)] = [
        ("SELECT @", "no viable alternative at character '@'"),
        ("SELECT 'abc", "mismatched character '<EOF>' expecting '''"),
        ("SELECT \"abc", "mismatched character '<EOF>' expecting '\"'"),
        ("SELECT $$abc", "mismatched character '<EOF>' expecting '$'"),
        ("SELECT /* abc", "mismatched character '<EOF>' expecting '*'"),
        ("SELECT é", "no viable alternative at character 'é'"),
    ]

    @Test("lexical errors are recorded with ANTLR's wording", arguments: failures)
    func lexicalErrors(input: String, reason: String) {
        let output = Lexer.tokenize(Array(input.utf8))
        #expect(output.failure?.reason == reason)
        #expect(output.tokens.last?.kind == .eof)
    }

    @Test("identifiers are quoted exactly when CQL needs it", arguments: [
        ("jobs", "jobs"), ("job_2", "job_2"), ("Jobs", "\"Jobs\""), ("select", "\"select\""), ("key", "key"),
        ("2x", "\"2x\""), ("_x", "\"_x\""), ("a\"b", "\"a\"\"b\""), ("", "\"\""), ("with space", "\"with space\""),
    ])
    func quoting(identifier: String, expected: String) {
        #expect(CQLKeywords.quoteIfNeeded(identifier) == expected)
    }
}
