import Foundation
import Testing
@testable import CQLCodec

@Suite("CQLValue rendering as cqlsh prints it")
struct ValueLiteralTests {
    @Test("cqlLiteral", arguments: [
        (CQLValue.null, "null"),
        (.text("it's"), "it's"),
        (.list([.text("it's"), .null]), "['it''s', null]"),
        (.blob([0x00, 0xAB]), "0x00ab"),
        (.blob([]), "0x"),
        (.boolean(true), "True"),
        (.timestamp(1_704_164_645_678), "2024-01-02 03:04:05.678000+0000"),
        (.timestamp(-1), "1969-12-31 23:59:59.999000+0000"),
        (.date(CQLDate(year: 2024, month: 2, day: 29)!), "2024-02-29"),
        (.time(CQLTime(hour: 13, minute: 45, second: 1, nanosecond: 123_456_789)!), "13:45:01.123456789"),
        (.uuid(ValueFixtures.randomUUID), "6be2a8d0-2d0e-4c65-9e5a-1a0b2c3d4e5f"),
        (.double(1.5), "1.5"), (.double(1e20), "1e+20"), (.double(.nan), "NaN"), (.double(-.infinity), "-Infinity"),
        (.float(0.1), "0.1"),
        (.int(-7), "-7"), (.varint(CQLVarint(ValueFixtures.twoTo200)!), ValueFixtures.twoTo200),
        (.decimal(CQLDecimal("1.50")!), "1.50"),
        (.inet(InetAddress("::1")!), "::1"),
        (.duration(CQLDuration(months: 1, days: 2, nanoseconds: 3)), "1mo2d3ns"),
        (.set([.int(1), .int(2)]), "{1, 2}"),
        (.map([CQLMapEntry(key: .text("a"), value: .list([.int(1)]))]), "{'a': [1]}"),
        (.tuple([.int(1), .text("x"), .null]), "(1, 'x', null)"),
        (.udt([CQLUDTField(name: "street", value: .text("Main")), CQLUDTField(name: "Zip", value: .int(1))]), "{street: 'Main', \"Zip\": 1}"),
        (.list([.date(CQLDate(daysSinceEpoch: 0)), .inet(InetAddress("10.0.0.1")!)]), "['1970-01-01', '10.0.0.1']"),
    ])
    func literal(value: CQLValue, text: String) {
        #expect(value.cqlLiteral == text)
    }

    @Test("source literals quote text at the top level too")
    func sourceLiteral() {
        #expect(CQLValue.text("it's").cqlSourceLiteral == "'it''s'")
        #expect(CQLValue.boolean(false).cqlSourceLiteral == "false")
    }
}
