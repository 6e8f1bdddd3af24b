import Foundation

/// Parses CQL statements as Cassandra 4.1's grammar accepts them.
enum CQLParser {
    /// The deepest nesting of parentheses, collection literals, types and selectors accepted;
    /// deeper input is a syntax error instead of unbounded recursion.
    static let maximumNesting = 64

    /// Parses one statement (a trailing `;` is allowed; several statements only inside a BATCH).
    static func parse(_ cql: String) throws(CQLSyntaxError) -> ParsedStatement {
        var parser = Parser(source: Array(cql.utf8))
        return try parser.parseQuery()
    }
}

/// A hand-written recursive-descent parser over the token array; one instance per statement.
struct Parser {
    let source: [UInt8]
    let tokens: [Token]
    let streamStarts: [Int]
    let lexFailure: Lexer.Failure?
    var index = 0
    var markers: [BindMarker] = []
    var depth = 0

    init(source: [UInt8]) {
        let output = Lexer.tokenize(source)
        self.source = source
        self.tokens = output.tokens
        self.streamStarts = output.streamStarts
        self.lexFailure = output.failure
    }

    /// `cqlStatement ';'* EOF`.
    mutating func parseQuery() throws(CQLSyntaxError) -> ParsedStatement {
        let statement = try parseStatement()
        while accept(.semicolon) {}
        guard current.kind == .eof else { throw mismatched(current, expecting: "EOF") }
        if let lexFailure { throw lexicalError(lexFailure) }
        return ParsedStatement(statement: statement, bindMarkers: markers)
    }

    // MARK: token access

    var current: Token { tokens[index] }

    func peek(_ offset: Int) -> Token {
        tokens[min(index + offset, tokens.count - 1)]
    }

    mutating func advance() {
        if index < tokens.count - 1 { index += 1 }
    }

    /// Consumes the symbol when it is next.
    mutating func accept(_ symbol: Symbol) -> Bool {
        guard current.isSymbol(symbol) else { return false }
        advance()
        return true
    }

    /// Consumes the keyword (or a synonym the lexer folds into it) when it is next.
    mutating func acceptKeyword(_ keyword: String) -> Bool {
        guard Parser.isKeyword(current, keyword) else { return false }
        advance()
        return true
    }

    /// Requires the symbol.
    mutating func expect(_ symbol: Symbol) throws(CQLSyntaxError) {
        guard accept(symbol) else { throw mismatched(current, expecting: "'\(symbol.rawValue)'") }
    }

    /// Requires the keyword.
    mutating func expectKeyword(_ keyword: String) throws(CQLSyntaxError) {
        guard acceptKeyword(keyword) else { throw mismatched(current, expecting: Parser.tokenName(keyword)) }
    }

    /// Whether `token` is `keyword`; `TABLE`/`COLUMNFAMILY`, `KEYSPACE`/`SCHEMA` and
    /// `TABLES`/`COLUMNFAMILIES` are one token each in Cassandra's lexer.
    static func isKeyword(_ token: Token, _ keyword: String) -> Bool {
        guard token.kind == .word else { return false }
        switch keyword {
        case "table": return token.value == "table" || token.value == "columnfamily"
        case "keyspace": return token.value == "keyspace" || token.value == "schema"
        case "tables": return token.value == "tables" || token.value == "columnfamilies"
        default: return token.value == keyword
        }
    }

    /// ANTLR's name for a keyword token, as it appears in "expecting K_FROM".
    static func tokenName(_ keyword: String) -> String {
        switch keyword {
        case "table": "K_COLUMNFAMILY"
        default: "K_" + keyword.uppercased()
        }
    }

    /// Saved position for the few places where the grammar decides by trying an alternative.
    struct Snapshot {
        var index: Int
        var markerCount: Int
    }

    var snapshot: Snapshot { Snapshot(index: index, markerCount: markers.count) }

    mutating func restore(_ snapshot: Snapshot) {
        index = snapshot.index
        markers.removeLast(markers.count - snapshot.markerCount)
    }

    /// Enters one nesting level; callers pair it with `defer { depth -= 1 }`.
    mutating func enter() throws(CQLSyntaxError) {
        guard depth < CQLParser.maximumNesting else {
            throw error("maximum nesting depth \(CQLParser.maximumNesting) exceeded at input \(display(current))", at: current)
        }
        depth += 1
    }

    // MARK: identifiers

    /// Whether the token can be an identifier: an unreserved word or a quoted name.
    static func isIdentifier(_ token: Token) -> Bool {
        switch token.kind {
        case .word: !CQLKeywords.reserved.contains(token.value)
        case .quotedName: !token.value.isEmpty
        default: false
        }
    }

    /// `ident` / `noncol_ident` / `fident`: an identifier.
    mutating func identifier() throws(CQLSyntaxError) -> Identifier {
        guard Parser.isIdentifier(current) else { throw noViableAlternative(current) }
        let value = current.value
        advance()
        return value
    }

    /// `cident`: an identifier, or `""` (the legacy empty column name).
    mutating func columnIdentifier() throws(CQLSyntaxError) -> Identifier {
        if current.kind == .quotedName && current.value.isEmpty {
            advance()
            return ""
        }
        return try identifier()
    }

    /// `keyspaceName`.
    mutating func keyspaceName() throws(CQLSyntaxError) -> String {
        if current.isSymbol(.question) { throw semantic("Bind variables cannot be used for keyspace names") }
        return try identifier()
    }

    /// `columnFamilyName`: `[ks.]name`.
    mutating func tableName() throws(CQLSyntaxError) -> QualifiedName {
        if current.isSymbol(.question) { throw semantic("Bind variables cannot be used for keyspace names") }
        let first = try identifier()
        guard accept(.dot) else { return QualifiedName(name: first) }
        if current.isSymbol(.question) { throw semantic("Bind variables cannot be used for table names") }
        return QualifiedName(keyspace: first, name: try identifier())
    }

    // MARK: errors

    /// "no viable alternative at input 'x'".
    func noViableAlternative(_ token: Token) -> CQLSyntaxError {
        error("no viable alternative at input \(display(token))", at: token)
    }

    /// "mismatched input 'x' expecting Y".
    func mismatched(_ token: Token, expecting expected: String) -> CQLSyntaxError {
        error("mismatched input \(display(token)) expecting \(expected)", at: token)
    }

    /// An error the grammar's actions raise (no position), unless the lexer failed first.
    func semantic(_ message: String) -> CQLSyntaxError {
        if let lexFailure, lexFailure.streamIndex <= current.streamIndex { return lexicalError(lexFailure) }
        return CQLSyntaxError(message: Parser.bounded(message))
    }

    /// ANTLR's display of a token in a message: its text in quotes.
    func display(_ token: Token) -> String {
        let text: String
        switch token.kind {
        case .eof: text = "<EOF>"
        case .string, .quotedName: text = token.value
        default: text = String(decoding: source[token.start..<token.end], as: UTF8.self)
        }
        let escaped = text.replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: "\r", with: "\\r")
            .replacingOccurrences(of: "\t", with: "\\t")
        return "'\(escaped)'"
    }

    /// A positioned error: `line L:C reason (snippet)`, or the lexer's error when it came first.
    func error(_ reason: String, at token: Token) -> CQLSyntaxError {
        if let lexFailure, lexFailure.streamIndex <= token.streamIndex { return lexicalError(lexFailure) }
        guard token.kind != .eof else {
            // Cassandra's lexer hands the parser a position-less EOF token.
            return CQLSyntaxError(message: "line 0:-1 \(reason)", line: 0, column: -1)
        }
        let (line, column) = position(of: token.start)
        let message = Parser.bounded("line \(line):\(column) \(reason)\(snippet(for: token))")
        return CQLSyntaxError(message: message, line: line, column: column)
    }

    /// The longest message kept, in UTF-8 bytes: an ERROR frame's `[string]` holds at most 65535,
    /// and a message quoting a megabyte-long token helps nobody.
    static let maximumMessageLength = 8192

    /// The message, cut on a character boundary and marked with `...` when it is too long.
    static func bounded(_ message: String) -> String {
        guard message.utf8.count > maximumMessageLength else { return message }
        var cut = ""
        var length = 0
        for character in message {
            let size = character.utf8.count
            guard length + size <= maximumMessageLength - 3 else { break }
            cut.append(character)
            length += size
        }
        return cut + "..."
    }

    func lexicalError(_ failure: Lexer.Failure) -> CQLSyntaxError {
        let (line, column) = position(of: failure.offset)
        return CQLSyntaxError(message: Parser.bounded("line \(line):\(column) \(failure.reason)"), line: line, column: column)
    }

    /// ANTLR's 1-based line and 0-based column (in UTF-16 units) of a byte offset.
    func position(of offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        for (index, byte) in source[..<offset].enumerated() where byte == 0x0A {
            line += 1
            lineStart = index + 1
        }
        let column = String(decoding: source[lineStart..<offset], as: UTF8.self).utf16.count
        return (line, column)
    }

    /// Cassandra's query snippet: up to ten stream tokens before the offending one, which is
    /// bracketed, with `...` where the query goes on; lines are joined without separators.
    func snippet(for token: Token) -> String {
        let fromOffset = streamStarts[max(0, token.streamIndex - 10)]
        let includesStart = fromOffset == 0
        let includesEnd = source[token.end...].allSatisfy { $0 == 0x0A }
        var bytes: [UInt8] = []
        bytes.append(contentsOf: source[fromOffset..<token.start])
        bytes.append(0x5B)
        bytes.append(contentsOf: source[token.start..<token.end])
        bytes.append(0x5D)
        bytes.removeAll { $0 == 0x0A }
        let body = String(decoding: bytes, as: UTF8.self)
        return " (" + (includesStart ? "" : "...") + body + (includesEnd ? "" : "...") + ")"
    }
}
