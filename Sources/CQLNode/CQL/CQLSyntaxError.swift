/// A statement the CQL grammar refuses, with the message Cassandra would send in its
/// ERROR 0x2000 (Syntax) frame, e.g. `line 1:0 no viable alternative at input 'SELEKT' ([SELEKT]...)`.
struct CQLSyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The whole message, phrased as Cassandra phrases it.
    var message: String
    /// The 1-based line of the offending input (0 at end of input, as ANTLR reports it); nil for semantic errors.
    var line: Int?
    /// The 0-based column of the offending input (-1 at end of input); nil for semantic errors.
    var column: Int?

    /// An error with a message and, when the grammar located it, its position.
    init(message: String, line: Int? = nil, column: Int? = nil) {
        self.message = message
        self.line = line
        self.column = column
    }

    /// The message as it goes into the ERROR frame.
    var description: String { message }
}
