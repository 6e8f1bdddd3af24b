import Testing
@testable import CQLNode

/// Inputs found by `scripts/fuzz.sh cql`, kept so they stay answered.
@Suite("CQL parser: inputs found by fuzzing")
struct ParserFuzzRegressionTests {
    /// A CR LF before NUL bytes: Swift counts "\r\n" as one Character, the lexer counts LF bytes; the
    /// error must name line 2 (where the NULs are), which the fuzz oracle once miscounted as past the end.
    @Test("CR LF then NUL bytes is a syntax error on line 2")
    func crlfThenNul() {
        let input = String(decoding: [0x0D, 0x0A, 0, 0, 0, 0, 0, 0, 0], as: UTF8.self)
        do {
            _ = try CQLParser.parse(input)
            Issue.record("garbage parsed as a statement")
        } catch {
            #expect(error.line == 2, "\(error.message)")
        }
    }
}
