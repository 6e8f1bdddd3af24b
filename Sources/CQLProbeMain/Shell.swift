import CQLWire
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered standard output, flushed before prompts and error lines so the two streams interleave in order.
final class Terminal {
    private var buffer = ""

    /// Queues one line.
    func line(_ text: String = "") {
        buffer += text
        buffer += "\n"
        if buffer.utf8.count > 1 << 16 { flush() }
    }

    /// Queues text without a newline.
    func write(_ text: String) { buffer += text }

    /// Writes what is queued.
    func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer.utf8))
        buffer = ""
    }

    /// Writes a line to standard error after what is queued for standard output.
    func error(_ text: String) {
        flush()
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Reads one line of standard input off the cooperative pool (a blocking read would hold one of its few threads).
func readInputLine() async -> String? {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: readLine(strippingNewline: true)) }
    }
}

/// The statement loop shared by `-e`, `-f` and the prompt: shell commands run here, everything else
/// goes to the node, results print as cqlsh prints them.
final class Shell {
    let session: CQLSession
    let terminal: Terminal
    /// The name errors are prefixed with (`<stdin>` or the `-f` file).
    let sourceName: String
    /// Whether errors carry `FILE:LINE:` (everything but an interactive terminal).
    let showLineNumbers: Bool
    /// Whether the user is at a terminal (pages wait at `---MORE---`, tables end with a blank line).
    let interactive: Bool
    var consistency: Consistency
    var serialConsistency: Consistency = .serial
    var tracing = false
    var pageSize: Int32? = 100
    /// Whether any statement failed (scripts exit 2).
    var failed = false
    /// Whether EXIT or QUIT was read.
    var exitRequested = false
    /// Statements entered at the prompt, oldest first.
    var history: [String] = []
    let historyFile: String?

    init(session: CQLSession, terminal: Terminal, sourceName: String, showLineNumbers: Bool, interactive: Bool,
         consistency: Consistency, historyFile: String?) {
        self.session = session
        self.terminal = terminal
        self.sourceName = sourceName
        self.showLineNumbers = showLineNumbers
        self.interactive = interactive
        self.consistency = consistency
        self.historyFile = historyFile
        if let historyFile, let text = try? String(contentsOfFile: historyFile, encoding: .utf8) {
            history = text.split(separator: "\n").map(String.init)
        }
    }

    /// The prompt: `cqlsh> ` or `cqlsh:KEYSPACE> `, `   ... ` inside a statement.
    func prompt(continuing: Bool) -> String {
        if continuing { return "   ... " }
        if let keyspace = session.keyspace { return "cqlsh:\(keyspace)> " }
        return "cqlsh> "
    }

    func printError(_ text: String, line: Int) {
        failed = true
        terminal.error(showLineNumbers ? "\(sourceName):\(line):\(text)" : text)
    }

    /// Remembers a statement typed at the prompt, in memory and in the history file.
    func remember(_ statement: String) {
        let entry = statement.replacingOccurrences(of: "\n", with: " ")
        history.append(entry)
        guard let historyFile else { return }
        if !FileManager.default.fileExists(atPath: historyFile) {
            FileManager.default.createFile(atPath: historyFile, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        if let handle = FileHandle(forWritingAtPath: historyFile) {
            handle.seekToEndOfFile()
            handle.write(Data((entry + "\n").utf8))
            handle.closeFile()
        }
    }

    /// Runs every statement in order; stops after EXIT.
    func run(_ statements: [InputStatement]) async {
        for statement in statements {
            await run(statement)
            if exitRequested { return }
        }
    }

    /// Runs one statement: a shell command, DESCRIBE, or CQL for the node.
    func run(_ statement: InputStatement) async {
        let words = statement.text.split(whereSeparator: { $0.isWhitespace }).map { $0.uppercased() }
        guard let first = words.first else { return }
        switch first {
        case "EXIT", "QUIT":
            exitRequested = true
        case "CONSISTENCY":
            if words.count == 1 {
                terminal.line("Current consistency level is \(consistency).")
            } else if let level = Consistency(name: words[1]) {
                consistency = level
                terminal.line("Consistency level set to \(level).")
            } else {
                printError("Improper CONSISTENCY command.", line: statement.line)
            }
        case "SERIAL" where words.count >= 2 && words[1] == "CONSISTENCY":
            if words.count == 2 {
                terminal.line("Current serial consistency level is \(serialConsistency).")
            } else if let level = Consistency(name: words[2]), level.isSerial {
                serialConsistency = level
                terminal.line("Serial consistency level set to \(level).")
            } else {
                printError("Improper SERIAL command.", line: statement.line)
            }
        case "TRACING":
            tracing = onOffSwitch("TRACING", current: tracing, words: words, line: statement.line)
        case "PAGING":
            if words.count >= 2, let size = Int32(words[1]), size > 0 {
                pageSize = size
                terminal.line("Page size: \(size)")
            } else {
                let on = onOffSwitch("PAGING", current: pageSize != nil, words: words, line: statement.line)
                pageSize = on ? (pageSize ?? 100) : nil
            }
        case "HISTORY":
            let count = words.count >= 2 ? Int(words[1]) ?? history.count : history.count
            for (index, entry) in history.enumerated().suffix(max(0, count)) { terminal.line("\(index + 1)  \(entry)") }
        case "HELP":
            terminal.line(Self.help)
        case "DESCRIBE", "DESC":
            await describe(statement, words: words)
        default:
            await execute(statement, firstWord: first)
        }
        terminal.flush()
    }

    private func onOffSwitch(_ name: String, current: Bool, words: [String], line: Int) -> Bool {
        guard words.count >= 2 else {
            terminal.line("\(name) is \(current ? "ON" : "OFF")")
            return current
        }
        guard words[1] == "ON" || words[1] == "OFF" else {
            printError("Improper \(name) command.", line: line)
            return current
        }
        let wanted = words[1] == "ON"
        terminal.line(wanted == current ? "\(name) is already \(words[1])" : "\(name) set to \(words[1])")
        return wanted
    }

    private func statement(_ text: String) -> CQLStatement {
        var statement = CQLStatement(text, values: [])
        statement.consistency = consistency
        statement.serialConsistency = serialConsistency
        statement.pageSize = pageSize ?? 0
        statement.tracing = tracing
        return statement
    }

    private func execute(_ input: InputStatement, firstWord: String) async {
        do {
            var request = statement(input.text)
            var result = try await session.execute(request)
            if !result.schemaInAgreement {
                // cqlsh's words, after the DataStax driver's agreement wait ran out.
                terminal.error("Warning: schema version mismatch detected, which might be caused by DOWN nodes; if this is not "
                               + "the case, check the schema versions of your nodes in system.local and system.peers.")
            }
            if firstWord == "SELECT" || firstWord == "LIST" {
                let traced = result
                terminal.line()
                var total = 0
                var first = true
                while true {
                    let rows = result.rows
                    if rows.rowCount > 0 || first {
                        let names = rows.metadata.columns.map(\.name)
                        let cells = try ResultFormatting.cells(of: rows)
                        for line in ResultFormatting.table(names: names, rows: cells.isEmpty ? nil : cells,
                                                           withHeader: first || interactive) {
                            terminal.line(line)
                        }
                        if cells.isEmpty { terminal.line() } else if interactive { terminal.line() }
                        total += cells.count
                    }
                    guard let pagingState = result.pagingState else {
                        if !interactive { terminal.line() }
                        break
                    }
                    if interactive {
                        terminal.write("---MORE---")
                        terminal.flush()
                        guard await readInputLine() != nil else { break }
                    }
                    request = request.resuming(at: pagingState)
                    result = try await session.execute(request)
                    first = false
                }
                terminal.line("(\(total) rows)")
                // As cqlsh: the trace of the statement (its first page) after the row count.
                await printTracing(traced)
            } else {
                if result.hasRows, !result.rows.metadata.columns.isEmpty {
                    // A conditional statement's [applied] row, printed as cqlsh prints CAS results.
                    terminal.line()
                    let cells = try ResultFormatting.cells(of: result.rows)
                    for line in ResultFormatting.table(names: result.rows.metadata.columns.map(\.name),
                                                       rows: cells.isEmpty ? nil : cells, withHeader: true) {
                        terminal.line(line)
                    }
                    if interactive || cells.isEmpty { terminal.line() }
                }
                await printTracing(result)
            }
            printWarnings(result.warnings)
        } catch {
            printError(ResultFormatting.errorText(error), line: input.line)
        }
    }

    /// The trace of a traced statement, as cqlsh prints it: its session id and its events.
    private func printTracing(_ result: QueryResult) async {
        guard let id = result.tracingID else { return }
        let report: TraceReport?
        do {
            report = try await TraceReport.load(session, id: id)
        } catch {
            terminal.error("Unable to fetch query trace: \(ResultFormatting.errorText(error))")
            return
        }
        guard let report else {
            terminal.error("Session \(id.uuidString.lowercased()) wasn't found.")
            return
        }
        terminal.line()
        terminal.line("Tracing session: \(id.uuidString.lowercased())")
        terminal.line()
        for line in ResultFormatting.table(names: TraceReport.columns, rows: report.rows, withHeader: true) {
            terminal.line(line)
        }
        terminal.line()
    }

    private func printWarnings(_ warnings: [String]) {
        guard !warnings.isEmpty else { return }
        terminal.line()
        terminal.line("Warnings :")
        for warning in warnings {
            terminal.line(warning)
            terminal.line()
        }
    }

    /// Whether DESCRIBE is built here from `system_schema` (a server before Cassandra 4.0 has no
    /// server-side DESCRIBE), decided from `release_version` at the first DESCRIBE; true when forced.
    var clientDescribe: Bool?

    private func usesClientDescribe() async -> Bool {
        if let clientDescribe { return clientDescribe }
        var request = CQLStatement("SELECT release_version FROM system.local WHERE key = 'local'", values: [])
        request.consistency = .one
        let version = ((try? await session.execute(request).first?.decode(String?.self, named: "release_version")) ?? nil) ?? ""
        let major = Int(version.prefix { $0.isNumber }) ?? 4
        clientDescribe = major < 4
        return major < 4
    }

    /// The rows of a DESCRIBE: from the node (Cassandra 4 and later), or built here from `system_schema`.
    private func describeRows(_ input: InputStatement) async throws -> [[String: CQLValue]] {
        if await usesClientDescribe() {
            let schema = try await ClientDescribe.load(session)
            let words = input.text.split(whereSeparator: { $0.isWhitespace }).map(String.init)
            return try schema.rows(for: words, sessionKeyspace: session.keyspace)
        }
        var request = statement(input.text)
        request.consistency = .localOne
        request.pageSize = nil
        var rows: [[String: CQLValue]] = []
        for try await row in session.rows(request) {
            var values: [String: CQLValue] = [:]
            for (column, value) in zip(row.columns, try row.values()) { values[column.name] = value }
            rows.append(values)
        }
        return rows
    }

    /// DESCRIBE, from the node or built here; the rows print as cqlsh prints them.
    private func describe(_ input: InputStatement, words: [String]) async {
        do {
            let rows = try await describeRows(input)
            let what = words.count >= 2 ? words[1].lowercased() : ""
            func text(_ row: [String: CQLValue], _ column: String) -> String {
                guard let value = row[column], !value.isNull else { return "" }
                if case let .text(text) = value { return text }
                if case let .ascii(text) = value { return text }
                return value.cqlLiteral
            }
            switch what {
            case "keyspaces":
                terminal.line()
                for line in ResultFormatting.columnize(rows.map { text($0, "name") }) { terminal.line(line) }
                terminal.line()
            case "tables", "columnfamilies", "types", "functions", "aggregates":
                var keyspace: String?
                var names: [String] = []
                func flushKeyspace() {
                    guard let keyspace else { return }
                    terminal.line()
                    if session.keyspace == nil {
                        terminal.line("Keyspace \(keyspace)")
                        terminal.line("---------" + String(repeating: "-", count: keyspace.count))
                    }
                    for line in ResultFormatting.columnize(names) { terminal.line(line) }
                }
                for row in rows {
                    let name = text(row, "keyspace_name")
                    if name != keyspace {
                        flushKeyspace()
                        keyspace = name
                        names = []
                    }
                    names.append(text(row, "name"))
                }
                if keyspace != nil {
                    flushKeyspace()
                    terminal.line()
                }
            case "cluster":
                for row in rows {
                    terminal.line()
                    terminal.line("Cluster: \(text(row, "cluster"))")
                    terminal.line("Partitioner: \(text(row, "partitioner"))")
                    if row["snitch"] != nil { terminal.line("Snitch: \(text(row, "snitch"))") }
                    terminal.line()
                    if case let .map(entries)? = row["range_ownership"] {
                        terminal.line("Range ownership:")
                        for entry in entries {
                            let token = entry.key.cqlLiteral
                            let hosts: String
                            if case let .list(values) = entry.value {
                                hosts = values.map(\.cqlLiteral).joined(separator: ", ")
                            } else {
                                hosts = entry.value.cqlLiteral
                            }
                            terminal.line(" " + String(repeating: " ", count: max(0, 39 - token.count)) + token + "  [\(hosts)]")
                        }
                        terminal.line()
                    }
                }
            default:
                for row in rows {
                    terminal.line()
                    terminal.write(text(row, "create_statement"))
                    terminal.line()
                }
            }
        } catch let error as ServerError {
            // cqlsh shows only the server's message for DESCRIBE.
            printError(error.message, line: input.line)
        } catch let error as ClientDescribe.Failure {
            printError(error.message, line: input.line)
        } catch {
            printError(ResultFormatting.errorText(error), line: input.line)
        }
    }

    static let help = """

        Documented shell commands:
        ===========================
        CONSISTENCY [LEVEL]           show or set the consistency level (default ONE)
        SERIAL CONSISTENCY [LEVEL]    show or set the serial consistency (SERIAL or LOCAL_SERIAL)
        TRACING [ON|OFF]              trace requests; the trace's events are printed after each
        PAGING [ON|OFF|N]             page size of SELECT results (default 100)
        DESCRIBE | DESC ...           KEYSPACES, KEYSPACE x, TABLES, TABLE t, TYPES, TYPE t, SCHEMA, CLUSTER
                                      (on the node; built from system_schema before Cassandra 4.0)
        USE keyspace                  switch keyspace
        HISTORY [N]                   the last N statements typed here (also in ~/.cqlprobe_history)
        EXIT | QUIT                   leave

        Any other input is CQL, sent to the node; statements end with ';'.

        """
}
