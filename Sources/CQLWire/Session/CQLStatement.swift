/// A statement to run: CQL text or a prepared statement, with its values and per-statement options.
///
/// Options left nil take the session's defaults.
public struct CQLStatement: Sendable {
    /// What is sent: QUERY with text, or EXECUTE of a prepared id.
    public enum Body: Sendable {
        /// A simple statement (QUERY).
        case simple(String)
        /// A prepared statement (EXECUTE).
        case prepared(PreparedStatement)
    }

    /// The statement itself.
    public var body: Body
    /// The bound values, by position or by bind-marker name.
    public var values: QueryValues
    /// The consistency level; nil uses the session's default.
    public var consistency: Consistency?
    /// The serial consistency of a conditional statement (SERIAL or LOCAL_SERIAL); nil uses the session's default.
    public var serialConsistency: Consistency?
    /// Rows per page; nil uses the session's default, 0 or less turns paging off.
    public var pageSize: Int32?
    /// Where to resume a paged read (from ``QueryResult/pagingState``).
    public var pagingState: [UInt8]?
    /// The write timestamp in microseconds; nil uses a client-side timestamp when the session makes them.
    public var timestamp: Int64?
    /// Whether running the statement twice has the effect of running it once (the retry policy only retries these).
    public var isIdempotent: Bool
    /// Whether this is a conditional statement (LWT); nil detects it from the CQL (`IF` in INSERT/UPDATE/DELETE).
    public var isConditional: Bool?
    /// How long to wait for the answer; nil uses the session's default.
    public var timeout: Duration?
    /// Whether the server should trace the request.
    public var tracing: Bool

    /// A statement with every option at the session's default.
    public init(_ body: Body, values: QueryValues = .none, consistency: Consistency? = nil,
                serialConsistency: Consistency? = nil, pageSize: Int32? = nil, pagingState: [UInt8]? = nil,
                timestamp: Int64? = nil, isIdempotent: Bool = false, isConditional: Bool? = nil,
                timeout: Duration? = nil, tracing: Bool = false) {
        self.body = body
        self.values = values
        self.consistency = consistency
        self.serialConsistency = serialConsistency
        self.pageSize = pageSize
        self.pagingState = pagingState
        self.timestamp = timestamp
        self.isIdempotent = isIdempotent
        self.isConditional = isConditional
        self.timeout = timeout
        self.tracing = tracing
    }

    /// A simple statement with already serialized values.
    public init(_ cql: String, values: [WireValue], isIdempotent: Bool = false) {
        self.init(.simple(cql), values: values.isEmpty ? .none : .positional(values), isIdempotent: isIdempotent)
    }

    /// A simple statement binding Swift values, each as its type's default CQL type (`Int` as bigint, `String` as text).
    public init(_ cql: String, _ values: [any CQLEncodable] = [], isIdempotent: Bool = false) throws(WireError) {
        let bound = try CQLBinder.encodeValues(values)
        self.init(cql, values: bound, isIdempotent: isIdempotent)
    }

    /// The CQL text (a prepared statement's source text).
    public var cql: String {
        switch body {
        case let .simple(text): text
        case let .prepared(prepared): prepared.query
        }
    }

    /// Whether the statement is conditional, as set or as detected from its CQL.
    public var isLightweightTransaction: Bool {
        if let isConditional { return isConditional }
        switch body {
        case let .simple(text): return CQLText.isConditional(text)
        case let .prepared(prepared): return prepared.isConditional
        }
    }

    /// A copy resuming at `pagingState`.
    public func resuming(at pagingState: [UInt8]?) -> CQLStatement {
        var copy = self
        copy.pagingState = pagingState
        return copy
    }
}

/// Several statements applied together (BATCH): logged (atomic), unlogged or counter.
public struct BatchStatement: Sendable {
    /// The batch type.
    public var type: Batch.BatchType
    /// The statements, simple or prepared, with their values.
    public var statements: [CQLStatement]
    /// The consistency level; nil uses the session's default.
    public var consistency: Consistency?
    /// The serial consistency of a conditional batch; nil uses the session's default.
    public var serialConsistency: Consistency?
    /// The write timestamp in microseconds; nil uses a client-side timestamp when the session makes them.
    public var timestamp: Int64?
    /// Whether the batch may be retried.
    public var isIdempotent: Bool
    /// Whether the batch is conditional; nil detects it from its statements.
    public var isConditional: Bool?
    /// How long to wait for the answer; nil uses the session's default.
    public var timeout: Duration?

    /// A batch of `statements`.
    public init(_ type: Batch.BatchType = .logged, _ statements: [CQLStatement], consistency: Consistency? = nil,
                serialConsistency: Consistency? = nil, timestamp: Int64? = nil, isIdempotent: Bool = false,
                isConditional: Bool? = nil, timeout: Duration? = nil) {
        self.type = type
        self.statements = statements
        self.consistency = consistency
        self.serialConsistency = serialConsistency
        self.timestamp = timestamp
        self.isIdempotent = isIdempotent
        self.isConditional = isConditional
        self.timeout = timeout
    }

    /// Whether any statement of the batch is conditional (or the batch is marked so).
    public var isLightweightTransaction: Bool {
        isConditional ?? statements.contains { $0.isLightweightTransaction }
    }
}

/// Facts about CQL text the client needs without a parser.
enum CQLText {
    /// Whether `cql` is a conditional DML statement: INSERT, UPDATE, DELETE or BATCH with an
    /// `IF` keyword outside strings, quoted names and comments (DDL's `IF NOT EXISTS` is not an LWT).
    static func isConditional(_ cql: String) -> Bool {
        let words = keywords(of: cql)
        guard let first = words.first, ["INSERT", "UPDATE", "DELETE", "BEGIN"].contains(first) else { return false }
        return words.contains("IF")
    }

    /// Unquoted words, uppercased, in order.
    static func keywords(of cql: String) -> [String] {
        var words: [String] = []
        var current = ""
        let scalars = Array(cql.unicodeScalars)
        var index = 0
        func flush() {
            if !current.isEmpty { words.append(current.uppercased()) }
            current = ""
        }
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "'", "\"":
                flush()
                index += 1
                while index < scalars.count {
                    if scalars[index] == scalar {
                        if index + 1 < scalars.count, scalars[index + 1] == scalar { index += 2; continue }
                        break
                    }
                    index += 1
                }
                index += 1
            case "$" where index + 1 < scalars.count && scalars[index + 1] == "$":
                flush()
                index += 2
                while index + 1 < scalars.count, !(scalars[index] == "$" && scalars[index + 1] == "$") { index += 1 }
                index += 2
            case "-" where index + 1 < scalars.count && scalars[index + 1] == "-",
                 "/" where index + 1 < scalars.count && scalars[index + 1] == "/":
                flush()
                while index < scalars.count, scalars[index] != "\n" { index += 1 }
            case "/" where index + 1 < scalars.count && scalars[index + 1] == "*":
                flush()
                index += 2
                while index + 1 < scalars.count, !(scalars[index] == "*" && scalars[index + 1] == "/") { index += 1 }
                index += 2
            default:
                if scalar.properties.isAlphabetic || scalar == "_" || ("0"..."9").contains(scalar) {
                    current.unicodeScalars.append(scalar)
                } else {
                    flush()
                }
                index += 1
            }
        }
        flush()
        return words
    }
}
