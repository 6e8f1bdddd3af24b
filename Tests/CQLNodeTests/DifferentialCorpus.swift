@testable import CQLNode
import CQLWire
import Foundation

/// One statement of the differential corpus (`Fixtures/differential/statements.jsonl`, written by
/// `scripts/differential/generate.py`).
struct CorpusStatement: Decodable, Sendable {
    var id: Int
    var feature: String
    var cql: String
    /// Read page by page with this fetch size.
    var pageSize: Int32?
    /// Result columns whose values follow the wall clock (`ttl(...)`): compared within `tolerance` seconds.
    var volatile: [String]?
    var tolerance: Int?
    /// Rows compared as a multiset.
    var unordered: Bool?

    enum CodingKeys: String, CodingKey {
        case id, feature, cql, volatile, tolerance, unordered
        case pageSize = "page_size"
    }
}

/// A server's answer to one statement, as recorded: result kind, columns, rows of raw cells (hex), or the error.
struct CorpusAnswer: Codable, Sendable, Equatable {
    var id: Int
    /// `rows`, `void`, `set_keyspace`, `schema_change` or `error`.
    var kind: String
    /// `[name, type]` per result column.
    var columns: [[String]]?
    /// Rows per page (one page unless the statement pages); each cell hex or null.
    var pages: [[[String?]]]?
    /// `CREATED TABLE differential.t` and the like for schema changes; the keyspace for `USE`.
    var detail: String?
    var code: Int32?
    var message: String?

    /// Every row of every page.
    var rows: [[String?]] { (pages ?? []).flatMap { $0 } }
}

/// Runs corpus statements on one connection, one after the other, and records what the server answers.
struct CorpusRunner {
    let connection: CQLConnection

    func answer(_ statement: CorpusStatement) async throws -> CorpusAnswer {
        var answer = CorpusAnswer(id: statement.id, kind: "void")
        var pagingState: [UInt8]?
        var pages: [[[String?]]] = []
        repeat {
            let parameters = QueryParameters(consistency: .one, pageSize: statement.pageSize, pagingState: pagingState,
                                              serialConsistency: .serial)
            let response = try await connection.send(.query(Query(query: statement.cql, parameters: parameters)))
            pagingState = nil
            switch response.message {
            case let .error(error):
                return CorpusAnswer(id: statement.id, kind: "error", code: error.code, message: error.message)
            case let .result(.rows(rows)):
                answer.kind = "rows"
                answer.columns = rows.metadata.columns.map { [$0.name, $0.type.description] }
                var page: [[String?]] = []
                for row in rows {
                    var cells: [String?] = []
                    for index in 0..<row.count {
                        cells.append(try row.bytes(at: index).map { JSONValue.hexDigits(Array(row.buffer[$0])) })
                    }
                    page.append(cells)
                }
                pages.append(page)
                if statement.pageSize != nil { pagingState = rows.metadata.pagingState }
            case let .result(.setKeyspace(keyspace)):
                answer.kind = "set_keyspace"
                answer.detail = keyspace
            case let .result(.schemaChange(change)):
                answer.kind = "schema_change"
                answer.detail = "\(change.changeType.rawValue) \(change.target.rawValue) \(change.keyspace)"
                    + (change.name.map { ".\($0)" } ?? "")
            case .result(.void):
                answer.kind = "void"
            default:
                answer.kind = "unexpected"
                answer.detail = "\(response.message)"
            }
        } while pagingState != nil && pages.count < 10_000
        if answer.kind == "rows" { answer.pages = pages }
        return answer
    }
}

/// What the corpus checks of an answer, and how a difference reads in a test failure.
enum CorpusComparison {
    /// Error codes whose messages are not compared: the text of a syntax error is ANTLR's parser state
    /// (`line 1:7 no viable alternative at input ...`), which no other parser reproduces.
    static let codesWithoutMessage: Set<Int32> = [0x2000]

    /// The message as compared. Two normalisations, each for wording no other implementation can reproduce:
    /// Cassandra lists a function's signatures in hash order, which changes from one server start to the next
    /// (observed: `(date), (timestamp)` in one run, `(timestamp), (date)` in another), so the list is sorted;
    /// and an invalid INSERT JSON document is described by Jackson's parser state, so only its lead is kept.
    static func comparable(_ message: String?) -> String? {
        guard var message else { return nil }
        let jackson = "Could not decode JSON string as a map: "
        if message.hasPrefix(jackson) { return jackson }
        for lead in ["(known type signatures: ", "(can be matched by following signatures: "] {
            guard let start = message.range(of: lead) else { continue }
            // The list runs to the parenthesis that closes the lead's.
            var depth = 1
            var end = start.upperBound
            while end < message.endIndex {
                if message[end] == "(" { depth += 1 }
                if message[end] == ")" { depth -= 1; if depth == 0 { break } }
                end = message.index(after: end)
            }
            let signatures = message[start.upperBound..<end].components(separatedBy: ", system.")
                .map { $0.hasPrefix("system.") ? $0 : "system." + $0 }.sorted()
            message.replaceSubrange(start.upperBound..<end, with: signatures.joined(separator: ", "))
        }
        return message
    }

    /// Nil when `actual` is the answer Cassandra gave (`expected`), else what differs.
    static func difference(_ statement: CorpusStatement, expected: CorpusAnswer, actual: CorpusAnswer) -> String? {
        if expected.kind != actual.kind { return "kind \(expected.kind) ≠ \(actual.kind)" }
        switch expected.kind {
        case "error":
            if expected.code != actual.code {
                return "error code \(hex(expected.code)) ≠ \(hex(actual.code))"
            }
            if let code = expected.code, !codesWithoutMessage.contains(code), comparable(expected.message) != comparable(actual.message) {
                return "error message differs"
            }
            return nil
        case "rows":
            if expected.columns != actual.columns { return "columns differ" }
            var wanted = expected.rows, got = actual.rows
            if wanted.count != got.count { return "\(wanted.count) rows ≠ \(got.count) rows" }
            let volatile = Set((expected.columns ?? []).enumerated()
                .filter { statement.volatile?.contains($0.element.first ?? "") ?? false }.map(\.offset))
            if statement.unordered ?? false {
                wanted.sort { $0.description < $1.description }
                got.sort { $0.description < $1.description }
            }
            for (index, (want, have)) in zip(wanted, got).enumerated() {
                for column in want.indices where column < have.count {
                    if volatile.contains(column) {
                        if !withinTolerance(want[column], have[column], seconds: statement.tolerance ?? 0) {
                            return "row \(index) column \(column): \(want[column] ?? "null") ≠ \(have[column] ?? "null") (beyond tolerance)"
                        }
                    } else if want[column] != have[column] {
                        return "row \(index) column \(column): \(want[column] ?? "null") ≠ \(have[column] ?? "null")"
                    }
                }
            }
            if statement.pageSize != nil, expected.pages?.map(\.count) != actual.pages?.map(\.count) {
                return "page sizes \(expected.pages?.map(\.count) ?? []) ≠ \(actual.pages?.map(\.count) ?? [])"
            }
            return nil
        default:
            return expected.detail == actual.detail ? nil : "\(expected.detail ?? "") ≠ \(actual.detail ?? "")"
        }
    }

    /// A `ttl(...)` cell: both null, or the actual value at most `seconds` below the recorded one and not above it
    /// (the recording ran earlier or later than the replay, but TTLs only count down).
    private static func withinTolerance(_ expected: String?, _ actual: String?, seconds: Int) -> Bool {
        guard let expected, let actual else { return expected == nil && actual == nil }
        guard let want = Int64(expected, radix: 16), let have = Int64(actual, radix: 16) else { return expected == actual }
        return abs(want - have) <= Int64(seconds)
    }

    private static func hex(_ code: Int32?) -> String {
        code.map { "0x" + String($0, radix: 16) } ?? "none"
    }

    /// A failure message: the statement, what Cassandra answered and what the node answered.
    static func report(_ statement: CorpusStatement, expected: CorpusAnswer, actual: CorpusAnswer, difference: String) -> String {
        """
        #\(statement.id) [\(statement.feature)] \(statement.cql)
          differs: \(difference)
          Cassandra: \(describe(expected))
          node:      \(describe(actual))
        """
    }

    static func describe(_ answer: CorpusAnswer) -> String {
        switch answer.kind {
        case "error": return "error \(hex(answer.code)) \(answer.message ?? "")"
        case "rows":
            let columns = (answer.columns ?? []).map { $0.joined(separator: " ") }.joined(separator: ", ")
            let rows = answer.rows.prefix(6).map { "[" + $0.map { $0 ?? "null" }.joined(separator: ", ") + "]" }
            return "rows (\(columns)) \(answer.rows.count): " + rows.joined(separator: " ") + (answer.rows.count > 6 ? " …" : "")
        default: return "\(answer.kind) \(answer.detail ?? "")"
        }
    }
}

/// The corpus files under `Fixtures/differential/`.
enum CorpusFiles {
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/differential")
    }

    static func lines(_ name: String) throws -> [Data] {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: true).map { Data($0.utf8) }
    }

    static func statements() throws -> [CorpusStatement] {
        let decoder = JSONDecoder()
        return try lines("statements.jsonl").map { try decoder.decode(CorpusStatement.self, from: $0) }
    }

    static func recording(_ name: String) throws -> [Int: CorpusAnswer] {
        let decoder = JSONDecoder()
        var answers: [Int: CorpusAnswer] = [:]
        for line in try lines(name) {
            let answer = try decoder.decode(CorpusAnswer.self, from: line)
            answers[answer.id] = answer
        }
        return answers
    }

    /// `refusals.txt`: `cql<TAB>reason` per line (`#` comments); the statements the node refuses on purpose.
    static func refusals() throws -> [String: String] {
        var refusals: [String: String] = [:]
        for fields in try table("refusals.txt", fields: 2) { refusals[fields[0]] = fields[1] }
        return refusals
    }

    /// The statements where the node knowingly answers differently from a recording (`cql<TAB>kind<TAB>reason`):
    /// `follows-4x.txt` for the 3.11.10 recording, `differs-from-4.0-beta4.txt` for the 4.0-beta4 one.
    static func knownDifferences(for recording: String) throws -> [String: (kind: String, reason: String)] {
        let name = recording.contains("3.11") ? "follows-4x.txt" : recording.contains("4.0-beta4") ? "differs-from-4.0-beta4.txt" : nil
        guard let name else { return [:] }
        var differences: [String: (kind: String, reason: String)] = [:]
        for fields in try table(name, fields: 3) { differences[fields[0]] = (fields[1], fields[2]) }
        return differences
    }

    private static func table(_ name: String, fields: Int) throws -> [[String]] {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: "\t", maxSplits: fields - 1).map(String.init) }
            .filter { $0.count == fields }
    }
}
