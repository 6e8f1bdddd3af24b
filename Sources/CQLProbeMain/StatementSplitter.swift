import Foundation

/// One complete statement cut from the input, with the line its end is on (for error locations).
struct InputStatement: Equatable {
    /// The statement without its terminating `;` and without comments.
    var text: String
    /// The 1-based input line holding the statement's end, as cqlsh reports it.
    var line: Int
}

/// Cuts input into statements on `;` outside strings, quoted names and comments, line by line,
/// so the interactive prompt knows when a statement is still open.
///
/// `BEGIN BATCH ... APPLY BATCH` stays whole (its inner `;` do not end it). Shell commands
/// (`CONSISTENCY`, `TRACING`, `DESCRIBE`, `EXIT`, ...) also end at the end of their line, as in cqlsh.
struct StatementSplitter {
    /// Words that start a shell command, which a newline ends as well as `;`.
    static let lineCommands: Set<String> = [
        "CONSISTENCY", "SERIAL", "TRACING", "EXIT", "QUIT", "DESCRIBE", "DESC", "HELP", "PAGING", "HISTORY",
    ]

    private enum Quote { case none, single, double, dollar, blockComment }

    private var current = ""
    private var quote = Quote.none
    private var words: [String] = []
    private var word = ""

    /// Whether a statement has begun and not ended (the prompt shows a continuation).
    var isPending: Bool { !current.allSatisfy(\.isWhitespace) || quote != .none }

    /// Feeds one line (without its newline) and returns the statements it completed.
    mutating func feed(line: String, number: Int) -> [InputStatement] {
        var completed: [InputStatement] = []
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
                } else {
                    if let statement = take(line: number) { completed.append(statement) }
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
        if quote == .none, let first = words.first, Self.lineCommands.contains(first) {
            if let statement = take(line: number) { completed.append(statement) }
        } else if isPending {
            current.append("\n")
        }
        return completed
    }

    /// The unterminated statement left at the end of the input, if any.
    mutating func finish(line: Int) -> InputStatement? {
        quote = .none
        endWord()
        return take(line: line)
    }

    /// Drops the statement being typed.
    mutating func reset() {
        current = ""
        quote = .none
        words = []
        word = ""
    }

    private mutating func endWord() {
        if !word.isEmpty { words.append(word.uppercased()) }
        word = ""
    }

    private mutating func take(line: Int) -> InputStatement? {
        let text = current.trimmingCharacters(in: .whitespacesAndNewlines)
        current = ""
        words = []
        word = ""
        return text.isEmpty ? nil : InputStatement(text: text, line: line)
    }
}

extension StatementSplitter {
    /// Every statement of a whole text (a `-e` argument or a `-f` file), the unterminated tail included.
    static func split(_ text: String) -> [InputStatement] {
        var splitter = StatementSplitter()
        var statements: [InputStatement] = []
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            statements += splitter.feed(line: String(line.hasSuffix("\r") ? line.dropLast() : line), number: number)
        }
        if let tail = splitter.finish(line: max(number, 1)) { statements.append(tail) }
        return statements
    }
}
