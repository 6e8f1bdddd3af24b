import CQLWire
import Foundation
import Testing
@testable import CQLNode

/// The embedded node answers what a real Apache Cassandra answered: every statement of the corpus
/// (`Fixtures/differential/`, see its entry in `Fixtures/MANIFEST.md`) is replayed on an in-process node and
/// its rows, columns, types and errors compared with the recording. Statements in `refusals.txt` are the
/// node's documented refusals: they must fail with Invalid (0x2200).
@Suite("Differential corpus")
struct DifferentialCorpusTests {
    /// The recordings replayed: every `recording-*.jsonl` (one per Cassandra version recorded).
    static let recordings: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: CorpusFiles.directory.path)) ?? [])
        .filter { $0.hasPrefix("recording-") && $0.hasSuffix(".jsonl") }.sorted()

    @Test("every recorded statement gets Cassandra's answer from the node", arguments: recordings)
    func replay(recording: String) async throws {
        let statements = try CorpusFiles.statements()
        let expected = try CorpusFiles.recording(recording)
        let refusals = try CorpusFiles.refusals()
        let knownDifferences = try CorpusFiles.knownDifferences(for: recording)
        #expect(statements.count == expected.count, "the recording answers every statement")
        let node = try await EmbeddedNode.start(.init())
        do {
            let connection = try await CQLConnection.connect(host: "127.0.0.1", port: node.port)
            defer { connection.close() }
            let runner = CorpusRunner(connection: connection)
            var differences: [String] = []
            for statement in statements {
                let actual = try await runner.answer(statement)
                if let reason = refusals[statement.cql] {
                    if actual.kind != "error" || actual.code != 0x2200 {
                        differences.append("#\(statement.id) \(statement.cql)\n  refused on purpose (\(reason)) but answered "
                            + CorpusComparison.describe(actual))
                    }
                    continue
                }
                guard let recorded = expected[statement.id],
                      let difference = CorpusComparison.difference(statement, expected: recorded, actual: actual) else { continue }
                // A known difference excuses the answer only when the node gives the kind the list names.
                if let known = knownDifferences[statement.cql], actual.kind == known.kind { continue }
                differences.append(CorpusComparison.report(statement, expected: recorded, actual: actual, difference: difference))
            }
            #expect(differences.isEmpty, "\(differences.count) of \(statements.count) statements differ:\n\(differences.joined(separator: "\n"))")
        } catch {
            try await node.shutdown()
            throw error
        }
        try await node.shutdown()
    }

    @Test("every refusal and known difference is a statement of the corpus, so the README's list is the corpus's")
    func listsNameCorpusStatements() throws {
        let statements = Set(try CorpusFiles.statements().map(\.cql))
        for (cql, _) in try CorpusFiles.refusals() {
            #expect(statements.contains(cql), "refusals.txt lists a statement the corpus does not run: \(cql)")
        }
        for recording in Self.recordings {
            for (cql, _) in try CorpusFiles.knownDifferences(for: recording) {
                #expect(statements.contains(cql), "a known difference for \(recording) is not in the corpus: \(cql)")
            }
        }
    }

    /// Records the corpus from a real Cassandra: `scripts/differential/record.sh HOST:PORT OUTPUT` sets
    /// `CQLNODE_DIFFERENTIAL_RECORD=HOST:PORT` and `CQLNODE_DIFFERENTIAL_OUT=FILE`. Skipped otherwise.
    @Test("record the corpus from a real Cassandra", .enabled(if: ProcessInfo.processInfo.environment["CQLNODE_DIFFERENTIAL_RECORD"] != nil))
    func record() async throws {
        let environment = ProcessInfo.processInfo.environment
        let target = try #require(environment["CQLNODE_DIFFERENTIAL_RECORD"])
        let output = try #require(environment["CQLNODE_DIFFERENTIAL_OUT"])
        let parts = target.split(separator: ":")
        let host = String(parts.first ?? "127.0.0.1")
        let port = parts.count > 1 ? Int(parts[1]) ?? 9042 : 9042
        let connection = try await CQLConnection.connect(host: host, port: port)
        defer { connection.close() }
        let runner = CorpusRunner(connection: connection)
        let drop = CorpusStatement(id: -1, feature: "setup", cql: "DROP KEYSPACE IF EXISTS differential")
        _ = try await runner.answer(drop)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines: [String] = []
        for statement in try CorpusFiles.statements() {
            let answer = try await runner.answer(statement)
            lines.append(String(decoding: try encoder.encode(answer), as: UTF8.self))
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: output, atomically: true, encoding: .utf8)
    }

    // MARK: The comparison itself

    private static func statement(volatile: [String]? = nil, unordered: Bool? = nil, pageSize: Int32? = nil) -> CorpusStatement {
        CorpusStatement(id: 1, feature: "test", cql: "SELECT ...", pageSize: pageSize, volatile: volatile, tolerance: 60,
                        unordered: unordered)
    }

    private static func rows(_ pages: [[[String?]]], columns: [[String]] = [["k", "int"], ["ttl(v)", "int"]]) -> CorpusAnswer {
        CorpusAnswer(id: 1, kind: "rows", columns: columns, pages: pages)
    }

    @Test("equal answers pass; a different cell, column type, row count or page split is reported")
    func comparesRows() {
        let recorded = Self.rows([[["00000001", "0000003c"]]])
        #expect(CorpusComparison.difference(Self.statement(), expected: recorded, actual: recorded) == nil)
        #expect(CorpusComparison.difference(Self.statement(), expected: recorded, actual: Self.rows([[["00000002", "0000003c"]]]))
            == "row 0 column 0: 00000001 ≠ 00000002")
        #expect(CorpusComparison.difference(Self.statement(), expected: recorded,
                                            actual: Self.rows([[["00000001", "0000003c"]]], columns: [["k", "bigint"], ["ttl(v)", "int"]]))
            == "columns differ")
        #expect(CorpusComparison.difference(Self.statement(), expected: recorded, actual: Self.rows([[]])) == "1 rows ≠ 0 rows")
        let twoPages = Self.rows([[["00000001", nil]], [["00000002", nil]]])
        let onePage = Self.rows([[["00000001", nil], ["00000002", nil]]])
        #expect(CorpusComparison.difference(Self.statement(pageSize: 1), expected: twoPages, actual: onePage) == "page sizes [1, 1] ≠ [2]")
    }

    @Test("ttl() cells compare within the tolerance; unordered statements compare rows as a multiset")
    func toleranceAndOrder() {
        let recorded = Self.rows([[["00000001", "0000003c"]]])
        let later = Self.rows([[["00000001", "00000030"]]])
        #expect(CorpusComparison.difference(Self.statement(volatile: ["ttl(v)"]), expected: recorded, actual: later) == nil)
        let muchLater = Self.rows([[["00000001", "00000079"]]])
        #expect(CorpusComparison.difference(Self.statement(volatile: ["ttl(v)"]), expected: recorded, actual: muchLater) != nil)
        #expect(CorpusComparison.difference(Self.statement(), expected: recorded, actual: later) != nil)
        let ab = Self.rows([[["00000001", nil], ["00000002", nil]]])
        let ba = Self.rows([[["00000002", nil], ["00000001", nil]]])
        #expect(CorpusComparison.difference(Self.statement(unordered: true), expected: ab, actual: ba) == nil)
        #expect(CorpusComparison.difference(Self.statement(), expected: ab, actual: ba) != nil)
    }

    @Test("errors compare code and message, except the message of a syntax error")
    func comparesErrors() {
        let invalid = CorpusAnswer(id: 1, kind: "error", code: 0x2200, message: "Undefined column name x")
        #expect(CorpusComparison.difference(Self.statement(), expected: invalid, actual: invalid) == nil)
        var other = invalid
        other.message = "Unknown column x"
        #expect(CorpusComparison.difference(Self.statement(), expected: invalid, actual: other) == "error message differs")
        other.code = 0x2000
        #expect(CorpusComparison.difference(Self.statement(), expected: invalid, actual: other) == "error code 0x2200 ≠ 0x2000")
        let syntax = CorpusAnswer(id: 1, kind: "error", code: 0x2000, message: "line 1:0 no viable alternative at input 'SELEC'")
        var ours = syntax
        ours.message = "line 1:0 mismatched input 'SELEC'"
        #expect(CorpusComparison.difference(Self.statement(), expected: syntax, actual: ours) == nil)
        #expect(CorpusComparison.difference(Self.statement(), expected: syntax, actual: CorpusAnswer(id: 1, kind: "void")) == "kind error ≠ void")
    }
}
