import Foundation

/// One lexical token of a CQL statement.
struct Token: Sendable {
    /// The lexical class.
    enum Kind: Hashable, Sendable {
        /// An unquoted word: a keyword or an identifier (`value` is lowercased).
        case word
        /// A `"double-quoted"` identifier (`value` keeps its case, `""` unescaped).
        case quotedName
        /// `'single-quoted'` or `$$dollar-quoted$$` text (`value` is the unescaped content).
        case string
        /// An integer, possibly negative.
        case integer
        /// A floating point number, including NaN and (-)Infinity.
        case float
        /// `true` or `false`.
        case boolean
        /// A duration such as `1h30m` or `P1DT2H`.
        case duration
        /// A UUID written as 8-4-4-4-12 hex digits.
        case uuid
        /// A `0x…` blob (`value` holds the hex digits without the prefix).
        case hex
        /// A punctuation mark or operator.
        case symbol(Symbol)
        /// The end of input.
        case eof
    }

    var kind: Kind
    /// The processed text (see ``Kind``).
    var value: String
    /// Byte offset of the first byte in the UTF-8 source.
    var start: Int
    /// Byte offset just past the last byte.
    var end: Int
    /// Index in ANTLR's token stream, which also counts whitespace and comments; error snippets count in it.
    var streamIndex: Int

    /// Whether this is the unquoted word `word` (given lowercased).
    func isWord(_ word: String) -> Bool { kind == .word && value == word }

    /// Whether this is the symbol `symbol`.
    func isSymbol(_ symbol: Symbol) -> Bool { kind == .symbol(symbol) }
}

/// Punctuation and operators.
enum Symbol: String, Hashable, Sendable, CaseIterable {
    case semicolon = ";"
    case leftParen = "("
    case rightParen = ")"
    case comma = ","
    case dot = "."
    case colon = ":"
    case leftBracket = "["
    case rightBracket = "]"
    case leftBrace = "{"
    case rightBrace = "}"
    case equal = "="
    case less = "<"
    case greater = ">"
    case lessOrEqual = "<="
    case greaterOrEqual = ">="
    case notEqual = "!="
    case plus = "+"
    case minus = "-"
    case star = "*"
    case slash = "/"
    case percent = "%"
    case question = "?"
    case range = ".."
    case plusEqual = "+="
    case minusEqual = "-="
}

/// Cassandra 4.1's keyword classes: which words the grammar reserves.
enum CQLKeywords {
    /// Words that can never be unquoted identifiers (the keywords outside the grammar's
    /// `unreserved_keyword` rule).
    static let reserved: Set<String> = [
        "add", "allow", "alter", "and", "apply", "asc", "authorize", "batch", "begin", "by",
        "columnfamily", "create", "delete", "desc", "describe", "drop", "entries", "execute",
        "from", "full", "grant", "if", "in", "index", "infinity", "insert", "into", "is",
        "keyspace", "limit", "materialized", "modify", "nan", "norecursive", "not", "null", "of",
        "on", "or", "order", "primary", "rename", "revoke", "schema", "select", "set", "table",
        "to", "token", "truncate", "unlogged", "update", "use", "using", "view", "where", "with",
    ]

    /// Keywords that may still be unquoted names (Cassandra 4.1's `unreserved_keyword` rule); every
    /// other word that is not in ``reserved`` is a plain identifier.
    static let unreserved: Set<String> = [
        "keys", "as", "cluster", "clustering", "compact", "storage", "tables", "columnfamilies", "type", "types",
        "values", "map", "list", "filtering", "permission", "permissions", "keyspaces", "all", "user", "users",
        "role", "roles", "superuser", "nosuperuser", "login", "nologin", "options", "password", "exists", "custom",
        "trigger", "contains", "internals", "only", "static", "frozen", "tuple", "function", "functions", "aggregate",
        "aggregates", "sfunc", "stype", "finalfunc", "initcond", "returns", "language", "called", "input", "like",
        "per", "partition", "group", "datacenters", "access", "default", "mbean", "mbeans", "replace", "unset",
        "ttl", "count", "writetime", "key", "cast", "json", "distinct",
        "ascii", "bigint", "blob", "boolean", "counter", "date", "decimal", "double", "duration", "float", "inet",
        "int", "smallint", "text", "time", "timestamp", "timeuuid", "tinyint", "uuid", "varchar", "varint",
    ]

    /// Unreserved keywords that still cannot name a function (`unreserved_keyword` minus
    /// `unreserved_function_keyword`).
    static let nonFunctionKeywords: Set<String> = ["ttl", "count", "writetime", "key", "cast", "json", "distinct"]

    /// Whether `word` (any case) is reserved.
    static func isReserved(_ word: String) -> Bool {
        reserved.contains(word.lowercased())
    }

    /// The identifier as CQL must write it: bare when it is lowercase, starts with a letter
    /// and is not reserved, otherwise double-quoted with `"` doubled.
    static func quoteIfNeeded(_ identifier: String) -> String {
        var bare = !identifier.isEmpty
        for (index, byte) in identifier.utf8.enumerated() {
            let isLower = byte >= 0x61 && byte <= 0x7A
            let isDigitOrUnderscore = (byte >= 0x30 && byte <= 0x39) || byte == 0x5F
            if !(isLower || (index > 0 && isDigitOrUnderscore)) {
                bare = false
                break
            }
        }
        if bare && !reserved.contains(identifier) { return identifier }
        return "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
