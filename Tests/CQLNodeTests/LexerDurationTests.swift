import CQLWire
import Testing
@testable import CQLNode

@Suite("Duration literals")
struct LexerDurationTests {
    private static let hour: Int64 = 3_600_000_000_000
    private static let minute: Int64 = 60_000_000_000

    static let values: [(String, CQLDuration)] = [
        ("1h30m", CQLDuration(months: 0, days: 0, nanoseconds: hour + 30 * minute)),
        ("2d", CQLDuration(months: 0, days: 2, nanoseconds: 0)),
        ("1y2mo3w4d", CQLDuration(months: 14, days: 25, nanoseconds: 0)),
        ("1MS2US3NS", CQLDuration(months: 0, days: 0, nanoseconds: 1_002_003)),
        ("5µs", CQLDuration(months: 0, days: 0, nanoseconds: 5_000)),
        ("-1d2h", CQLDuration(months: 0, days: -1, nanoseconds: -2 * hour)),
        ("P1Y2M3DT4H5M6S", CQLDuration(months: 14, days: 3, nanoseconds: 4 * hour + 5 * minute + 6_000_000_000)),
        ("PT5M", CQLDuration(months: 0, days: 0, nanoseconds: 5 * minute)),
        ("P2W", CQLDuration(months: 0, days: 14, nanoseconds: 0)),
        ("-P1D", CQLDuration(months: 0, days: -1, nanoseconds: 0)),
        ("P0001-02-03T04:05:06", CQLDuration(months: 14, days: 3, nanoseconds: 4 * hour + 5 * minute + 6_000_000_000)),
    ]

    @Test("literals convert as Cassandra's Duration.from does", arguments: values)
    func converts(text: String, expected: CQLDuration) throws {
        #expect(try CQLDuration(cqlLiteral: text) == expected)
        // The lexer keeps the same text as one duration token.
        let parsed = try CQLParser.parse("INSERT INTO t (k) VALUES (\(text))")
        #expect(parsed.statement == .insert(Insert(table: QualifiedName(name: "t"), values: .columns(["k"], [.literal(.duration(text))]))))
    }

    static let refusals: [(String, String)] = [
        ("30m1h", "Invalid duration. The minutes should be after hours"),
        ("1h1h", "Invalid duration. The hours are specified multiple times"),
        ("3000000000mo", "Invalid duration. The total number of months must be less or equal to 2147483647"),
        ("1h30", "Unable to convert '1h30' to a duration"),
        ("P1X", "Unable to convert 'P1X' to a duration"),
        ("", "Unable to convert '' to a duration"),
    ]

    @Test("bad literals are refused with Cassandra's messages", arguments: refusals)
    func refuses(text: String, message: String) {
        #expect(throws: DurationLiteralError(message: message)) { try CQLDuration(cqlLiteral: text) }
    }
}
