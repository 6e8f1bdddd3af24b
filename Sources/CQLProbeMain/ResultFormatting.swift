import CQLWire
import Foundation

/// Renders results and errors the way cqlsh does, so output and scripts carry over.
enum ResultFormatting {
    /// A cell as cqlsh shows it: the value's cqlsh literal with backslashes and control characters escaped.
    static func cell(_ value: CQLValue) -> String {
        let literal = value.cqlLiteral
        guard literal.unicodeScalars.contains(where: { $0 == "\\" || $0.properties.generalCategory == .control }) else {
            return literal
        }
        var escaped = ""
        for scalar in literal.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case "\r": escaped += "\\r"
            default:
                if scalar.properties.generalCategory == .control {
                    let hex = String(scalar.value, radix: 16)
                    escaped += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                } else {
                    escaped.unicodeScalars.append(scalar)
                }
            }
        }
        return escaped
    }

    /// The cells of every row of a page.
    static func cells(of rows: Rows) throws -> [[String]] {
        try rows.rowViews().map { row in try row.values().map(cell) }
    }

    /// Columns a terminal shows for `text` (wide East Asian characters take two).
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { width, scalar in
            let value = scalar.value
            let wide = (0x1100...0x115F).contains(value) || (0x2E80...0xA4CF).contains(value)
                || (0xAC00...0xD7A3).contains(value) || (0xF900...0xFAFF).contains(value)
                || (0xFE30...0xFE4F).contains(value) || (0xFF00...0xFF60).contains(value)
                || (0xFFE0...0xFFE6).contains(value) || (0x1F300...0x1FAFF).contains(value)
                || (0x20000...0x3FFFD).contains(value)
            let zero = scalar.properties.generalCategory == .nonspacingMark
                || scalar.properties.generalCategory == .enclosingMark
            return width + (zero ? 0 : wide ? 2 : 1)
        }
    }

    private static func padLeft(_ text: String, to width: Int) -> String {
        String(repeating: " ", count: max(0, width - displayWidth(text))) + text
    }

    private static func padRight(_ text: String, to width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - displayWidth(text)))
    }

    /// A cqlsh table: left-aligned header, `-+-` separator, right-aligned cells (cqlsh aligns every value right).
    /// Each line is returned without its newline; `rows` nil prints the header alone.
    static func table(names: [String], rows: [[String]]?, withHeader: Bool) -> [String] {
        var widths = names.map(displayWidth)
        for row in rows ?? [] {
            for (column, text) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], displayWidth(text))
            }
        }
        var lines: [String] = []
        if withHeader || rows == nil {
            let header = zip(names, widths).map { padRight($0, to: $1) }.joined(separator: " | ")
            lines.append(" " + String(header.reversed().drop(while: { $0 == " " }).reversed()))
            lines.append("-" + widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-") + "-")
        }
        for row in rows ?? [] {
            lines.append(" " + zip(row, widths).map { padLeft($0, to: $1) }.joined(separator: " | "))
        }
        return lines
    }

    /// Python's `cmd.Cmd.columnize` in 80 columns, as cqlsh lists keyspaces and tables.
    static func columnize(_ names: [String], displayWidth: Int = 80) -> [String] {
        guard !names.isEmpty else { return ["<empty>"] }
        guard names.count > 1 else { return [names[0]] }
        let size = names.count
        var rowCount = size
        var columnWidths = [0]
        var fitted = false
        for rows in 1..<size {
            let columns = (size + rows - 1) / rows
            var widths: [Int] = []
            var total = -2
            for column in 0..<columns {
                var width = 0
                for row in 0..<rows {
                    let index = row + rows * column
                    if index >= size { break }
                    width = max(width, names[index].count)
                }
                widths.append(width)
                total += width + 2
                if total > displayWidth { break }
            }
            if total <= displayWidth {
                rowCount = rows
                columnWidths = widths
                fitted = true
                break
            }
        }
        if !fitted {
            rowCount = size
            columnWidths = [0]
        }
        var lines: [String] = []
        for row in 0..<rowCount {
            var texts: [String] = []
            for column in 0..<columnWidths.count {
                let index = row + rowCount * column
                texts.append(index < size ? names[index] : "")
            }
            while let last = texts.last, last.isEmpty { texts.removeLast() }
            lines.append(texts.enumerated().map { column, text in
                text.padding(toLength: max(text.count, columnWidths[column]), withPad: " ", startingAt: 0)
            }.joined(separator: "  "))
        }
        return lines
    }

    /// The error line cqlsh prints for a failed statement (after its `FILE:LINE:` prefix): the DataStax
    /// Python driver's exception class name, then its text.
    static func errorText(_ error: any Error) -> String {
        if let error = error as? ServerError { return serverErrorText(error) }
        if let error = error as? CQLError {
            switch error {
            case .requestTimedOut:
                return "OperationTimedOut: \(error)"
            case .noHostAvailable:
                return "NoHostAvailable: \(error)"
            case .connectionFailed, .connectionClosed:
                return "ConnectionException: \(error)"
            case .authenticationFailed, .authenticationRequired:
                return "AuthenticationFailed: \(error)"
            case .lwtOutcomeUnknown:
                return "WriteTimeout: \(error)"
            case .invalidStatement:
                return "InvalidRequest: \(error)"
            default:
                return "DriverException: \(error)"
            }
        }
        if let error = error as? WireError { return "DriverException: \(error)" }
        return "\(type(of: error)): \(error)"
    }

    /// `Error from server: code=2200 [Invalid query] message="..."`, with the driver's class names and summaries.
    static func serverErrorText(_ error: ServerError) -> String {
        let code = String(UInt32(bitPattern: error.code), radix: 16)
        let paddedCode = String(repeating: "0", count: max(0, 4 - code.count)) + code
        func summary(_ text: String) -> String {
            "Error from server: code=\(paddedCode) [\(text)] message=\"\(error.message)\""
        }
        switch error.kind {
        case let .unavailable(consistency, required, alive):
            return "Unavailable: " + summary("Unavailable exception")
                + " info={'consistency': '\(consistency)', 'required_replicas': \(required), 'alive_replicas': \(alive)}"
        case let .writeTimeout(consistency, received, blockFor, writeType):
            return "WriteTimeout: " + summary("Coordinator node timed out waiting for replica nodes' responses")
                + " info={'consistency': '\(consistency)', 'required_responses': \(blockFor), 'received_responses': \(received), 'write_type': '\(writeType)'}"
        case let .readTimeout(consistency, received, blockFor, dataPresent):
            return "ReadTimeout: " + summary("Coordinator node timed out waiting for replica nodes' responses")
                + " info={'consistency': '\(consistency)', 'required_responses': \(blockFor), 'received_responses': \(received), 'data_retrieved': \(dataPresent ? "True" : "False")}"
        case let .readFailure(consistency, received, blockFor, failures, _):
            return "ReadFailure: " + summary("Replica(s) failed to execute read")
                + " info={'consistency': '\(consistency)', 'required_responses': \(blockFor), 'received_responses': \(received), 'failures': \(failures)}"
        case let .writeFailure(consistency, received, blockFor, failures, _):
            return "WriteFailure: " + summary("Replica(s) failed to execute write")
                + " info={'consistency': '\(consistency)', 'required_responses': \(blockFor), 'received_responses': \(received), 'failures': \(failures)}"
        case .functionFailure:
            return "FunctionFailure: " + summary("User Defined Function failure")
        case .invalid:
            return "InvalidRequest: " + summary("Invalid query")
        case .unauthorized:
            return "Unauthorized: " + summary("Unauthorized")
        case let .alreadyExists(keyspace, table):
            return "AlreadyExists: " + (table.isEmpty ? "Keyspace '\(keyspace)' already exists"
                                                      : "Table '\(keyspace).\(table)' already exists")
        // The driver raises these as its error messages themselves, whose text is the server's message alone.
        case .syntaxError: return "SyntaxException: \(error.message)"
        case .configError: return "ConfigurationException: \(error.message)"
        case .serverError: return "ServerError: \(error.message)"
        case .protocolError: return "ProtocolException: \(error.message)"
        case .badCredentials: return "BadCredentials: \(error.message)"
        case .overloaded: return "OverloadedErrorMessage: \(error.message)"
        case .isBootstrapping: return "IsBootstrappingErrorMessage: \(error.message)"
        case .truncateError: return "TruncateError: \(error.message)"
        case .unprepared: return "PreparedQueryNotFound: \(error.message)"
        case .unknown: return "ErrorMessage: \(error.message)"
        }
    }
}
