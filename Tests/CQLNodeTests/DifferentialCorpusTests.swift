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
    /// The recordings replayed, by server version.
    static let recordings = ["recording-cassandra-3.11.10.jsonl"]

    @Test("every recorded statement gets Cassandra's answer from the node", arguments: recordings)
    func replay(recording: String) async throws {
        let statements = try CorpusFiles.statements()
        let expected = try CorpusFiles.recording(recording)
        let refusals = try CorpusFiles.refusals()
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
                guard let recorded = expected[statement.id] else { continue }
                if let difference = CorpusComparison.difference(statement, expected: recorded, actual: actual) {
                    differences.append(CorpusComparison.report(statement, expected: recorded, actual: actual, difference: difference))
                }
            }
            #expect(differences.isEmpty, "\(differences.count) of \(statements.count) statements differ:\n\(differences.joined(separator: "\n"))")
        } catch {
            try await node.shutdown()
            throw error
        }
        try await node.shutdown()
    }

    @Test("every refusal is a statement of the corpus, so the README's list is the corpus's")
    func refusalsAreInTheCorpus() throws {
        let statements = Set(try CorpusFiles.statements().map(\.cql))
        for (cql, _) in try CorpusFiles.refusals() {
            #expect(statements.contains(cql), "refusals.txt lists a statement the corpus does not run: \(cql)")
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
}
