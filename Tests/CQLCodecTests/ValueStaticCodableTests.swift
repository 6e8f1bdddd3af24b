import Foundation
import Testing
@testable import CQLCodec

/// Encodes with ``CQLEncodable`` and decodes back with ``CQLDecodable``.
private func roundTrip<T: CQLCodable>(_ value: T, as type: DataType) throws -> T {
    guard case let .bytes(bytes) = try value.cqlWireValue(as: type) else {
        throw WireError.invalidValue(what: "test", detail: "\(value) did not encode to bytes")
    }
    return try T(cqlBytes: bytes, range: 0..<bytes.count, type: type)
}

@Suite("CQLDecodable and CQLEncodable conformances")
struct ValueStaticCodableTests {
    @Test("Swift types round-trip as their CQL types")
    func roundTrips() throws {
        #expect(try roundTrip(Int8.min, as: .tinyint) == .min)
        #expect(try roundTrip(Int16.max, as: .smallint) == .max)
        #expect(try roundTrip(Int32.min, as: .int) == .min)
        #expect(try roundTrip(Int64.min, as: .bigint) == .min)
        #expect(try roundTrip(Int64.max, as: .counter) == .max)
        #expect(try roundTrip(Int.max, as: .bigint) == .max)
        #expect(try roundTrip(Int(-5), as: .int) == -5)
        #expect(try roundTrip(true, as: .boolean))
        #expect(try roundTrip(Double.infinity, as: .double) == .infinity)
        #expect(try roundTrip(Float(-0.5), as: .float) == -0.5)
        #expect(try roundTrip("", as: .varchar) == "")
        #expect(try roundTrip("ascii", as: .ascii) == "ascii")
        #expect(try roundTrip(CQLBlob([]), as: .blob) == CQLBlob([]))
        #expect(try roundTrip(Data([1, 2]), as: .blob) == Data([1, 2]))
        #expect(try roundTrip(ValueFixtures.randomUUID, as: .uuid) == ValueFixtures.randomUUID)
        #expect(try roundTrip(ValueFixtures.timeUUID, as: .timeuuid) == ValueFixtures.timeUUID)
        let date = Date(timeIntervalSince1970: 1_704_164_645.678)
        #expect(try roundTrip(date, as: .timestamp).timeIntervalSince1970 * 1000 == 1_704_164_645_678)
        #expect(try roundTrip(CQLDate(rawValue: 0), as: .date) == CQLDate(rawValue: 0))
        #expect(try roundTrip(CQLTime(nanosecondsSinceMidnight: 5)!, as: .time) == CQLTime(nanosecondsSinceMidnight: 5))
        #expect(try roundTrip(CQLDuration(months: -1, days: -2, nanoseconds: -3), as: .duration) == CQLDuration(months: -1, days: -2, nanoseconds: -3))
        #expect(try roundTrip(CQLVarint("-" + ValueFixtures.twoTo200)!, as: .varint) == CQLVarint("-" + ValueFixtures.twoTo200))
        #expect(try roundTrip(CQLDecimal("-1.5E-300")!, as: .decimal) == CQLDecimal("-1.5E-300"))
        #expect(try roundTrip(InetAddress("::1")!, as: .inet) == InetAddress("::1"))
        #expect(try roundTrip([Int32?]([1, nil, 3]), as: .list(.int)) == [1, nil, 3])
        #expect(try roundTrip([[String]]([["a"], []]), as: .list(.list(.varchar))) == [["a"], []])
        #expect(try roundTrip(Set(["a", "b"]), as: .set(.varchar)) == ["a", "b"])
        #expect(try roundTrip(["k": [1.5]], as: .map(key: .varchar, value: .list(.double))) == ["k": [1.5]])
        #expect(try roundTrip([Int32](), as: .list(.int)) == [])
        #expect(try roundTrip([Int64]([1, 2]), as: .tuple([.bigint, .bigint])) == [1, 2])
        #expect(try roundTrip(CQLValue.list([.int(1)]), as: .list(.int)) == .list([.int(1)]))
    }

    @Test("nil binds null and CQLUnset binds unset")
    func nullAndUnset() throws {
        #expect(try Int32?.none.cqlWireValue(as: .int) == .null)
        #expect(try CQLUnset().cqlWireValue(as: .int) == .unset)
        #expect(try Int32?.decodeCQL([], range: nil, type: .int) == nil)
        #expect(throws: WireError.invalidValue(what: "value", detail: "unexpected null for non-optional Int32")) {
            try Int32.decodeCQL([], range: nil, type: .int)
        }
        var writer = ByteWriter()
        #expect(throws: WireError.self) { try writer.writeCQLElement(CQLUnset(), as: .int) }
    }

    @Test("widening decodes, narrowing and mismatched types throw readable errors")
    func typeChecks() throws {
        let int: [UInt8] = [0, 0, 0, 42]
        #expect(try Int64(cqlBytes: int, range: 0..<4, type: .int) == 42)
        #expect(try Int(cqlBytes: [0x00, 0x80], range: 0..<2, type: .varint) == 128)
        #expect(try Double(cqlBytes: [0x3F, 0xC0, 0, 0], range: 0..<4, type: .float) == 1.5)
        #expect(try CQLVarint(cqlBytes: int, range: 0..<4, type: .int) == CQLVarint(42))
        #expect(throws: WireError.typeMismatch(expected: "String (from text, varchar or ascii)", actual: "int")) {
            try String(cqlBytes: int, range: 0..<4, type: .int)
        }
        #expect(throws: WireError.typeMismatch(expected: "Int32 (from int, smallint or tinyint)", actual: "bigint")) {
            try Int32(cqlBytes: [0, 0, 0, 0, 0, 0, 0, 1], range: 0..<8, type: .bigint)
        }
        let huge = CQLVarint(ValueFixtures.twoTo200)!.bytes
        #expect(throws: WireError.self) { try Int64(cqlBytes: huge, range: 0..<huge.count, type: .varint) }
        #expect(throws: WireError.self) { try Int32(cqlBytes: [0, 0, 0], range: 0..<3, type: .int) }
        #expect(WireError.typeMismatch(expected: "String (from text, varchar or ascii)", actual: "int").description
            == "type mismatch: expected String (from text, varchar or ascii), got int")
    }

    @Test("encoding checks ranges and types")
    func encodeChecks() throws {
        #expect(try Int(5).cqlWireValue(as: .int) == .bytes([0, 0, 0, 5]))
        #expect(try Int(5).cqlWireValue(as: .varint) == .bytes([5]))
        #expect(throws: WireError.self) { try Int(1 << 40).cqlWireValue(as: .int) }
        #expect(throws: WireError.self) { try Int8(1).cqlWireValue(as: .varchar) }
        #expect(throws: WireError.self) { try "é".cqlWireValue(as: .ascii) }
        #expect(throws: WireError.self) { try Double(0.1).cqlWireValue(as: .float) }
        #expect(throws: WireError.self) { try ValueFixtures.randomUUID.cqlWireValue(as: .timeuuid) }
        #expect(throws: WireError.self) { try CQLValue.text("x").encode(as: .int) }
        #expect(throws: WireError.self) {
            try CQLValue.udt([CQLUDTField(name: "nope", value: .int(1))]).encode(as: .udt(ValueFixtures.address))
        }
    }

    @Test("default and inferred CQL types")
    func defaultTypes() throws {
        #expect(Int.defaultCQLType == .bigint)
        #expect(String.defaultCQLType == .varchar)
        #expect(Date.defaultCQLType == .timestamp)
        #expect([Int32: [String]].defaultCQLType == .map(key: .int, value: .list(.varchar)))
        #expect(Int16?.defaultCQLType == .smallint)
        #expect(CQLValue.list([.text("a")]).inferredCQLType == .list(.varchar))
    }
}
