import Foundation
import Testing
@testable import CQLCodec

/// Values shared by the value and row tests.
enum ValueFixtures {
    static let address = UserType(keyspace: "ks", name: "address", fields: [
        .init(name: "street", type: .varchar), .init(name: "zip", type: .int), .init(name: "tags", type: .set(.varchar)),
    ])
    static let timeUUID = UUID(uuidString: "5A1C4F70-8E2B-11EE-B9D1-0242AC120002")!
    static let randomUUID = UUID(uuidString: "6BE2A8D0-2D0E-4C65-9E5A-1A0B2C3D4E5F")!
    static let twoTo200 = "1606938044258990275541962092341162602522202993782792835301376"

    /// Every CQL type with extreme and ordinary values.
    static let roundTrips: [(CQLValue, DataType)] = [
        (.ascii(""), .ascii), (.ascii("plain ascii ~"), .ascii),
        (.text(""), .varchar), (.text("héllo ✓ 🙂"), .varchar),
        (.bigint(.min), .bigint), (.bigint(.max), .bigint), (.bigint(0), .bigint),
        (.counter(-1), .counter), (.counter(.max), .counter),
        (.int(.min), .int), (.int(.max), .int),
        (.smallint(.min), .smallint), (.smallint(.max), .smallint),
        (.tinyint(.min), .tinyint), (.tinyint(.max), .tinyint),
        (.blob([]), .blob), (.blob([0x00, 0xFF, 0x7F]), .blob),
        (.boolean(true), .boolean), (.boolean(false), .boolean),
        (.double(.infinity), .double), (.double(-.infinity), .double), (.double(.greatestFiniteMagnitude), .double),
        (.double(-.leastNonzeroMagnitude), .double),
        (.float(.infinity), .float), (.float(-.infinity), .float), (.float(.leastNonzeroMagnitude), .float),
        (.decimal(CQLDecimal(unscaled: CQLVarint(123), scale: -5)), .decimal),
        (.decimal(CQLDecimal(unscaled: CQLVarint(ValueFixtures.twoTo200)!.negated, scale: 40)), .decimal),
        (.decimal(CQLDecimal(unscaled: CQLVarint(0), scale: .min)), .decimal),
        (.inet(InetAddress("10.0.0.1")!), .inet), (.inet(InetAddress("fe80::1")!), .inet),
        (.timestamp(.min), .timestamp), (.timestamp(.max), .timestamp), (.timestamp(1_704_164_645_678), .timestamp),
        (.date(CQLDate(rawValue: 0)), .date), (.date(CQLDate(rawValue: .max)), .date), (.date(CQLDate(daysSinceEpoch: 0)), .date),
        (.time(CQLTime(nanosecondsSinceMidnight: 0)!), .time), (.time(CQLTime(nanosecondsSinceMidnight: CQLTime.maximumNanoseconds)!), .time),
        (.uuid(randomUUID), .uuid), (.timeuuid(timeUUID), .timeuuid),
        (.varint(CQLVarint(twoTo200)!), .varint), (.varint(CQLVarint("-" + twoTo200)!), .varint), (.varint(CQLVarint(0)), .varint),
        (.duration(CQLDuration(months: -14, days: -3, nanoseconds: -1)), .duration),
        (.duration(CQLDuration(months: .max, days: .max, nanoseconds: .max)), .duration),
        (.duration(CQLDuration(months: .min, days: .min, nanoseconds: .min)), .duration),
        (.list([]), .list(.int)), (.list([.int(1), .null, .int(3)]), .list(.int)),
        (.list([.list([.text("a")]), .list([])]), .list(.list(.varchar))),
        (.set([.text("a"), .text("b")]), .set(.varchar)),
        (.map([]), .map(key: .varchar, value: .int)),
        (.map([CQLMapEntry(key: .text("k"), value: .list([.bigint(1)])), CQLMapEntry(key: .text("n"), value: .null)]),
         .map(key: .varchar, value: .list(.bigint))),
        (.tuple([.int(1), .null, .text("x")]), .tuple([.int, .bigint, .varchar])),
        (.udt([CQLUDTField(name: "street", value: .text("Main")), CQLUDTField(name: "zip", value: .null),
               CQLUDTField(name: "tags", value: .set([.text("home")]))]), .udt(address)),
        (.custom([1, 2, 3]), .custom("com.example.Opaque")),
    ]
}

@Suite("CQL value codecs (specification section 6)")
struct ValueCodecTests {
    @Test("every type round-trips through encode and decode, extremes included", arguments: ValueFixtures.roundTrips)
    func roundTrip(value: CQLValue, type: DataType) throws {
        let bytes = try #require(try value.encode(as: type))
        #expect(try CQLValue.decode(bytes, as: type) == value)
        var padded: [UInt8] = [0xAA, 0xBB]
        padded += bytes
        padded += [0xCC]
        #expect(try CQLValue.decode(padded, range: 2..<(2 + bytes.count), as: type) == value, "decoding from a sub-range")
    }

    @Test("null encodes to no bytes and decodes from a nil range")
    func null() throws {
        #expect(try CQLValue.null.encode(as: .int) == nil)
        #expect(try CQLValue.decode([], range: nil, as: .map(key: .int, value: .int)) == .null)
    }

    @Test("NaN survives as NaN")
    func notANumber() throws {
        let double = try CQLValue.decode(try #require(try CQLValue.double(.nan).encode(as: .double)), as: .double)
        guard case let .double(decodedDouble) = double else { Issue.record("not a double: \(double)"); return }
        #expect(decodedDouble.isNaN)
        let float = try Float(cqlBytes: try #require(try CQLValue.float(.nan).encode(as: .float)), range: 0..<4, type: .float)
        #expect(float.isNaN)
    }

    @Test("known encodings", arguments: [
        (CQLValue.varint(CQLVarint(0)), DataType.varint, [0x00] as [UInt8]),
        (.varint(CQLVarint(1)), .varint, [0x01]),
        (.varint(CQLVarint(127)), .varint, [0x7F]),
        (.varint(CQLVarint(128)), .varint, [0x00, 0x80]),
        (.varint(CQLVarint(255)), .varint, [0x00, 0xFF]),
        (.varint(CQLVarint(256)), .varint, [0x01, 0x00]),
        (.varint(CQLVarint(-1)), .varint, [0xFF]),
        (.varint(CQLVarint(-128)), .varint, [0x80]),
        (.varint(CQLVarint(-129)), .varint, [0xFF, 0x7F]),
        (.date(CQLDate(daysSinceEpoch: 0)), .date, [0x80, 0x00, 0x00, 0x00]),
        (.date(CQLDate(daysSinceEpoch: -1)), .date, [0x7F, 0xFF, 0xFF, 0xFF]),
        (.decimal(CQLDecimal("1.5")!), .decimal, [0x00, 0x00, 0x00, 0x01, 0x0F]),
        (.decimal(CQLDecimal("1E+3")!), .decimal, [0xFF, 0xFF, 0xFF, 0xFD, 0x01]),
        (.duration(CQLDuration(months: 1, days: 2, nanoseconds: 3)), .duration, [0x02, 0x04, 0x06]),
        (.duration(CQLDuration(months: 0, days: 0, nanoseconds: 1_000_000_000)), .duration, [0x00, 0x00, 0xF0, 0x77, 0x35, 0x94, 0x00]),
        (.duration(CQLDuration(months: -1, days: 0, nanoseconds: 64)), .duration, [0x01, 0x00, 0x80, 0x80]),
        (.list([.int(1)]), .list(.int), [0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1]),
        (.list([.null]), .list(.int), [0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF]),
        (.map([CQLMapEntry(key: .tinyint(1), value: .boolean(true))]), .map(key: .tinyint, value: .boolean),
         [0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1]),
        (.tuple([.tinyint(7), .null]), .tuple([.tinyint, .int]), [0, 0, 0, 1, 7, 0xFF, 0xFF, 0xFF, 0xFF]),
        (.inet(InetAddress("127.0.0.1")!), .inet, [127, 0, 0, 1]),
        (.timestamp(-1), .timestamp, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        (.boolean(true), .boolean, [0x01]),
    ])
    func knownEncodings(value: CQLValue, type: DataType, bytes: [UInt8]) throws {
        #expect(try value.encode(as: type) == bytes)
        #expect(try CQLValue.decode(bytes, as: type) == value)
    }

    @Test("a tuple or UDT whose trailing fields are missing decodes them as null")
    func missingTrailingFields() throws {
        #expect(try CQLValue.decode([0, 0, 0, 1, 7], as: .tuple([.tinyint, .int, .varchar])) == .tuple([.tinyint(7), .null, .null]))
        #expect(try CQLValue.decode([], as: .udt(ValueFixtures.address))
            == .udt([CQLUDTField(name: "street", value: .null), CQLUDTField(name: "zip", value: .null), CQLUDTField(name: "tags", value: .null)]))
    }

    @Test("vints match Cassandra's VIntCoding at every size boundary")
    func vints() throws {
        let cases: [(UInt64, Int)] = [(0, 1), (127, 1), (128, 2), (16383, 2), (16384, 3), (1 << 56 - 1, 8), (1 << 56, 9), (.max, 9)]
        for (value, size) in cases {
            var writer = ByteWriter()
            writer.writeUnsignedVInt(value)
            #expect(writer.count == size, "size of \(value)")
            var reader = ByteReader(writer.bytes)
            #expect(try reader.readUnsignedVInt() == value)
            #expect(reader.isAtEnd)
        }
        var writer = ByteWriter()
        writer.writeUnsignedVInt(.max)
        #expect(writer.bytes == [UInt8](repeating: 0xFF, count: 9))
    }

    @Test("every strict prefix of a fixed-width, collection or duration value throws", arguments: ValueFixtures.roundTrips.filter { _, type in
        switch type {
        case .ascii, .varchar, .blob, .custom, .varint, .decimal, .tuple, .udt, .inet: false
        default: true
        }
    })
    func truncation(value: CQLValue, type: DataType) throws {
        let bytes = try #require(try value.encode(as: type))
        for length in 0..<bytes.count {
            #expect(throws: WireError.self, "prefix of \(length) bytes of \(value)") {
                try CQLValue.decode(Array(bytes.prefix(length)), as: type)
            }
        }
        #expect(throws: WireError.self) { try CQLValue.decode(bytes + [0], as: type) }
    }

    @Test("a truncated decimal, or a UDT cut inside a field, throws")
    func truncatedStructured() throws {
        for length in 0..<5 {
            #expect(throws: WireError.self) { try CQLValue.decode(Array([0, 0, 0, 1, 0x0F].prefix(length)), as: .decimal) }
        }
        let value = CQLValue.udt([CQLUDTField(name: "street", value: .text("Main")), CQLUDTField(name: "zip", value: .int(9)),
                                  CQLUDTField(name: "tags", value: .set([]))])
        let bytes = try #require(try value.encode(as: .udt(ValueFixtures.address)))
        let boundaries: Set<Int> = [0, 8, 16, 24]
        for length in 0..<bytes.count where !boundaries.contains(length) {
            #expect(throws: WireError.self, "prefix \(length)") { try CQLValue.decode(Array(bytes.prefix(length)), as: .udt(ValueFixtures.address)) }
        }
        #expect(throws: WireError.self) { try CQLValue.decode(bytes + [0, 0, 0, 0], as: .udt(ValueFixtures.address)) }
    }

    @Test("a hostile element count is refused before anything is allocated")
    func hostileCount() {
        #expect(throws: WireError.truncated(what: "list<int> elements", needed: Int(Int32.max) * 4, available: 0)) {
            try CQLValue.decode([0x7F, 0xFF, 0xFF, 0xFF], as: .list(.int))
        }
        #expect(throws: WireError.self) { try [Int32](cqlBytes: [0x7F, 0xFF, 0xFF, 0xFF], range: 0..<4, type: .list(.int)) }
        #expect(throws: WireError.self) { try [String: Int32](cqlBytes: [0x10, 0, 0, 0, 0, 0, 0, 0], range: 0..<8, type: .map(key: .varchar, value: .int)) }
        #expect(throws: WireError.negativeLength(what: "list<int> element count", length: -1)) {
            try CQLValue.decode([0xFF, 0xFF, 0xFF, 0xFF], as: .list(.int))
        }
    }

    @Test("invalid content is refused", arguments: [
        ([0xFF, 0xFE] as [UInt8], DataType.varchar),
        ([0x80], .ascii),
        ([1, 2, 3], .inet),
        ([], .varint),
        ([0, 0, 0x4E, 0x94, 0x91, 0x4F, 0x00, 0x00], .time),
        ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], .time),
        ([0xF1, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0], .duration),
    ])
    func invalidContent(bytes: [UInt8], type: DataType) {
        #expect(throws: WireError.self) { try CQLValue.decode(bytes, as: type) }
    }

    @Test("a range outside the buffer throws instead of trapping")
    func rangeOutside() {
        #expect(throws: WireError.self) { try CQLValue.decode([1, 2], range: 1..<9, as: .blob) }
        #expect(throws: WireError.self) { try Int64(cqlBytes: [1, 2], range: 0..<8, type: .bigint) }
    }
}

@Suite("CQL value types: varint, decimal, date, time, duration")
struct ValueTypeTests {
    @Test("varint text round-trips at any size")
    func varintText() throws {
        for text in ["0", "1", "-1", "127", "128", "-128", "-129", "9223372036854775807", "-9223372036854775808",
                     "9223372036854775808", ValueFixtures.twoTo200, "-" + ValueFixtures.twoTo200, "1000000000", "-1000000000000000000"] {
            #expect(CQLVarint(text)?.description == text)
        }
        #expect(CQLVarint("+42")?.description == "42")
        #expect(CQLVarint("007") == CQLVarint(7))
        for bad in ["", "-", "1.5", "12a", " 1"] { #expect(CQLVarint(bad) == nil, "\(bad)") }
        #expect(CQLVarint(Int64.min).int64Value == .min)
        #expect(CQLVarint("9223372036854775808")?.int64Value == nil)
        #expect(CQLVarint(bytes: [0x00, 0x00, 0x80]).bytes == [0x00, 0x80], "redundant sign bytes are dropped")
        #expect(CQLVarint(bytes: [0xFF, 0xFF, 0x7F]).bytes == [0xFF, 0x7F])
        #expect(CQLVarint(ValueFixtures.twoTo200)?.bytes == [0x01] + [UInt8](repeating: 0, count: 25))
        #expect(CQLVarint("-" + ValueFixtures.twoTo200)?.bytes == [0xFF] + [UInt8](repeating: 0, count: 25))
    }

    @Test("decimal text as Java's BigDecimal.toString", arguments: [
        (Int64(15), Int32(1), "1.5"), (-15, 1, "-1.5"), (123, -2, "1.23E+4"), (1, 7, "1E-7"), (1, 6, "0.000001"),
        (0, 2, "0.00"), (12345, 0, "12345"), (-5, -1, "-5E+1"), (123456, 3, "123.456"), (0, -3, "0E+3"),
    ])
    func decimalText(unscaled: Int64, scale: Int32, text: String) throws {
        let decimal = CQLDecimal(unscaled: CQLVarint(unscaled), scale: scale)
        #expect(decimal.description == text)
        #expect(CQLDecimal(text) == decimal, "parsing \(text)")
    }

    @Test("decimal plain text, parsing and Foundation.Decimal")
    func decimalConversions() throws {
        #expect(CQLDecimal("1.23E+4")?.plainString == "12300")
        #expect(CQLDecimal("-0.5")?.plainString == "-0.5")
        #expect(CQLDecimal(unscaled: CQLVarint(1), scale: .min).plainString == "1E+2147483648", "hostile scales stay scientific")
        #expect(CQLDecimal(unscaled: CQLVarint(1), scale: .max).plainString == "1E-2147483647")
        #expect(CQLDecimal(".5") == CQLDecimal(unscaled: CQLVarint(5), scale: 1))
        #expect(CQLDecimal("6.02e23") == CQLDecimal(unscaled: CQLVarint(602), scale: -21))
        for bad in ["", ".", "1..2", "1e", "e5", "1e99999999999", "abc"] { #expect(CQLDecimal(bad) == nil, "\(bad)") }
        let pi = try #require(CQLDecimal(Decimal(string: "3.14159")!))
        #expect(pi.description == "3.14159")
        #expect(pi.decimalValue == Decimal(string: "3.14159"))
        #expect(CQLDecimal(unscaled: CQLVarint(ValueFixtures.twoTo200)!, scale: 0).decimalValue == nil)
    }

    @Test("dates: civil calendar, range ends and wire value", arguments: [
        (2024, 2, 29, Int32(19782), "2024-02-29"), (1970, 1, 1, 0, "1970-01-01"), (2000, 1, 1, 10957, "2000-01-01"),
        (1969, 12, 31, -1, "1969-12-31"), (1, 1, 1, -719_162, "0001-01-01"),
        (-5_877_641, 6, 23, Int32.min, "-5877641-06-23"), (5_881_580, 7, 11, Int32.max, "5881580-07-11"),
    ])
    func dates(year: Int, month: Int, day: Int, days: Int32, text: String) throws {
        let date = try #require(CQLDate(year: year, month: month, day: day))
        #expect(date.daysSinceEpoch == days)
        #expect(date.description == text)
        #expect(CQLDate(text) == date)
    }

    @Test("impossible dates are refused")
    func badDates() {
        #expect(CQLDate(year: 2023, month: 2, day: 29) == nil)
        #expect(CQLDate(year: 2024, month: 13, day: 1) == nil)
        #expect(CQLDate(year: 2024, month: 4, day: 31) == nil)
        #expect(CQLDate(year: 5_881_580, month: 7, day: 12) == nil)
        #expect(CQLDate("2024-1") == nil)
        #expect(CQLDate(rawValue: 0).daysSinceEpoch == .min)
    }

    @Test("times")
    func times() throws {
        let time = try #require(CQLTime(hour: 13, minute: 45, second: 1, nanosecond: 123_456_789))
        #expect(time.description == "13:45:01.123456789")
        #expect(CQLTime(nanosecondsSinceMidnight: 0)?.description == "00:00:00.000000000")
        #expect(CQLTime(nanosecondsSinceMidnight: CQLTime.maximumNanoseconds)?.description == "23:59:59.999999999")
        #expect(CQLTime(nanosecondsSinceMidnight: CQLTime.maximumNanoseconds + 1) == nil)
        #expect(CQLTime(nanosecondsSinceMidnight: -1) == nil)
        #expect(CQLTime(hour: 24, minute: 0, second: 0) == nil)
    }

    @Test("durations print as Cassandra does", arguments: [
        (Int32(14), Int32(3), Int64(3_723_004_005_006), "1y2mo3d1h2m3s4ms5us6ns"),
        (-1, 0, 0, "-1mo"), (0, 0, 0, "0s"), (0, -2, -60_000_000_000, "-2d1m"), (12, 0, 0, "1y"),
        (0, 0, .min, "-2562047h47m16s854ms775us808ns"),
    ])
    func durations(months: Int32, days: Int32, nanoseconds: Int64, text: String) {
        #expect(CQLDuration(months: months, days: days, nanoseconds: nanoseconds).description == text)
    }

    @Test("durations parse from Cassandra's unit format and ISO 8601", arguments: [
        ("1y2mo3w4d5h6m7s8ms9us10ns", CQLDuration(months: 14, days: 25, nanoseconds: 18_367_008_009_010)),
        ("-1h30m", CQLDuration(months: 0, days: 0, nanoseconds: -5_400_000_000_000)),
        ("2MO", CQLDuration(months: 2, days: 0, nanoseconds: 0)),
        ("3µs", CQLDuration(months: 0, days: 0, nanoseconds: 3000)),
        ("P1Y2M3DT4H5M6S", CQLDuration(months: 14, days: 3, nanoseconds: 14_706_000_000_000)),
        ("P2W", CQLDuration(months: 0, days: 14, nanoseconds: 0)),
        ("-PT1S", CQLDuration(months: 0, days: 0, nanoseconds: -1_000_000_000)),
        ("-9223372036854775808ns", CQLDuration(months: 0, days: 0, nanoseconds: .min)),
    ])
    func durationParsing(text: String, duration: CQLDuration) {
        #expect(CQLDuration(text) == duration)
        #expect(CQLDuration(duration.description) == duration, "description parses back")
    }

    @Test("malformed durations are refused")
    func badDurations() {
        for text in ["", "-", "1", "h", "1x", "1h1h", "P", "PT", "P1H", "9223372036854775808ns", "2147483648mo", "1h 2m", "99999999999999999999s"] {
            #expect(CQLDuration(text) == nil, "\(text)")
        }
    }

    @Test("Foundation dates re-encode to the timestamp they were decoded from")
    func foundationDates() throws {
        for milliseconds: Int64 in [0, 1, -1, 1_704_164_645_678, 253_402_300_799_999, -62_135_596_800_000, 999] {
            var writer = ByteWriter()
            writer.writeInt64(milliseconds)
            let date = try Date(cqlBytes: writer.bytes, range: 0..<8, type: .timestamp)
            #expect(try date.cqlWireValue(as: .timestamp) == .bytes(writer.bytes), "\(milliseconds)")
        }
        #expect(Date(timeIntervalSince1970: 0.0019).cqlMilliseconds == 1, "sub-millisecond parts round down")
        #expect(CQLDate(Date(timeIntervalSince1970: -1)) == CQLDate(daysSinceEpoch: -1))
        #expect(CQLDate(year: 2024, month: 2, day: 29)?.foundationDate == Date(timeIntervalSince1970: 19782 * 86_400))
    }
}
