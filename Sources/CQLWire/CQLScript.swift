import Foundation

/// Cuts CQL text into statements on `;` outside strings, quoted names, `$$` strings and comments,
/// one line at a time (so an interactive prompt knows when a statement is still open) or a whole
/// script at once.
///
/// `-- ...` and `// ...` comments run to the end of the line, `/* ... */` may span lines; comments
/// are dropped from the statements, and a chunk holding only comments is no statement.
/// `BEGIN BATCH ... APPLY BATCH` stays whole: its inner `;` do not end it. Words listed in
/// ``lineCommands`` (cqlsh's shell commands such as `CONSISTENCY`) start a statement that the end
/// of its line also ends.
public struct CQLScript: Sendable {
    /// One complete statement, with the line its end is on (for error locations).
    public struct Statement: Sendable, Hashable {
        /// The statement without its terminating `;` and without comments, trimmed.
        public var text: String
        /// The 1-based line holding the statement's end, as cqlsh reports it.
        public var line: Int

        /// Creates a statement.
        public init(text: String, line: Int) {
            self.text = text
            self.line = line
        }
    }

    /// Upper-case first words that make the end of a line end the statement as well as `;`.
    public let lineCommands: Set<String>

    private enum Quote: Sendable { case none, single, double, dollar, blockComment }

    private var current = ""
    private var quote = Quote.none
    private var words: [String] = []
    private var word = ""

    /// A splitter with nothing fed yet.
    public init(lineCommands: Set<String> = []) {
        self.lineCommands = lineCommands
    }

    /// Every statement of a whole script, the unterminated tail included.
    public static func statements(in text: String, lineCommands: Set<String> = []) -> [Statement] {
        var script = CQLScript(lineCommands: lineCommands)
        var statements: [Statement] = []
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            statements += script.feed(line: String(line.hasSuffix("\r") ? line.dropLast() : line), number: number)
        }
        if let tail = script.finish(line: max(number, 1)) { statements.append(tail) }
        return statements
    }

    /// Whether a statement has begun and not ended (a prompt shows a continuation).
    public var isPending: Bool { !current.allSatisfy(\.isWhitespace) || quote != .none }

    /// Feeds one line (without its newline), numbered `number`, and returns the statements it completed.
    public mutating func feed(line: String, number: Int) -> [Statement] {
        var completed: [Statement] = []
        let scalars = Array(line.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            let next: Unicode.Scalar? = index + 1 < scalars.count ? scalars[index + 1] : nil
            switch quote {
            case .single, .double:
                let closing: Unicode.Scalar = quote == .single ? "'" : "\""
                current.unicodeScalars.append(scalar)
                if scalar == closing {
                    if next == closing {
                        current.unicodeScalars.append(closing)
                        index += 1
                    } else {
                        quote = .none
                    }
                }
                index += 1
                continue
            case .dollar:
                current.unicodeScalars.append(scalar)
                if scalar == "$", next == "$" {
                    current.unicodeScalars.append("$")
                    quote = .none
                    index += 1
                }
                index += 1
                continue
            case .blockComment:
                if scalar == "*", next == "/" {
                    quote = .none
                    current.append(" ")
                    index += 1
                }
                index += 1
                continue
            case .none:
                break
            }
            switch scalar {
            case "'":
                endWord()
                quote = .single
                current.unicodeScalars.append(scalar)
            case "\"":
                endWord()
                quote = .double
                current.unicodeScalars.append(scalar)
            case "$" where next == "$":
                endWord()
                quote = .dollar
                current.append("$$")
                index += 1
            case "-" where next == "-", "/" where next == "/":
                // A line comment: the rest of the line is dropped.
                endWord()
                index = scalars.count
                continue
            case "/" where next == "*":
                endWord()
                quote = .blockComment
                index += 1
            case ";":
                endWord()
                if words.first == "BEGIN", words.suffix(2) != ["APPLY", "BATCH"] {
                    current.append(";")
                } else if let statement = take(line: number) {
                    completed.append(statement)
                }
            default:
                if scalar.properties.isAlphabetic || scalar == "_" || ("0"..."9").contains(scalar) {
                    word.unicodeScalars.append(scalar)
                } else {
                    endWord()
                }
                current.unicodeScalars.append(scalar)
            }
            index += 1
        }
        endWord()
        if quote == .none, let first = words.first, lineCommands.contains(first) {
            if let statement = take(line: number) { completed.append(statement) }
        } else if isPending {
            current.append("\n")
        }
        return completed
    }

    /// The unterminated statement left at the end of the input, if any.
    public mutating func finish(line: Int) -> Statement? {
        quote = .none
        endWord()
        return take(line: line)
    }

    /// Drops the statement being fed.
    public mutating func reset() {
        current = ""
        quote = .none
        words = []
        word = ""
    }

    private mutating func endWord() {
        if !word.isEmpty { words.append(word.uppercased()) }
        word = ""
    }

    private mutating func take(line: Int) -> Statement? {
        let text = current.trimmingCharacters(in: .whitespacesAndNewlines)
        current = ""
        words = []
        word = ""
        return text.isEmpty ? nil : Statement(text: text, line: line)
    }
}
