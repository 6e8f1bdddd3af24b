import Foundation
import Testing
@testable import CQLCodec

@Suite("Body primitives (specification section 3)")
struct PrimitiveTests {
    @Test("every primitive round-trips through writer and reader")
    func roundTrip() throws {
        var writer = ByteWriter()
        let uuid = UUID(uuidString: "6BE2A8D0-2D0E-4C65-9E5A-1A0B2C3D4E5F")!
        writer.writeInt32(-123_456)
        writer.writeInt64(.min)
        writer.writeShort(65535)
        writer.writeString("héllo")
        writer.writeLongString("long ✓")
        writer.writeUUID(uuid)
        writer.writeStringList(["a", "", "ccc"])
        writer.writeBytes([1, 2, 3])
        writer.writeBytes(nil)
        writer.writeValue(.null)
        writer.writeValue(.unset)
        writer.writeValue(.bytes([]))
        writer.writeShortBytes([9, 8])
        writer.writeInet(InetEndpoint(address: InetAddress("::1")!, port: 9042))
        writer.writeConsistency(.localSerial)
        writer.writeStringMap([("CQL_VERSION", "3.0.0"), ("COMPRESSION", "lz4")])
        writer.writeStringMultimap([("COMPRESSION", ["lz4", "snappy"]), ("CQL_VERSION", [])])
        writer.writeBytesMap([("k", [0xFF]), ("n", nil)])

        var reader = ByteReader(writer.bytes)
        #expect(try reader.readInt32() == -123_456)
        #expect(try reader.readInt64() == .min)
        #expect(try reader.readShort() == 65535)
        #expect(try reader.readString() == "héllo")
        #expect(try reader.readLongString() == "long ✓")
        #expect(try reader.readUUID() == uuid)
        #expect(try reader.readStringList() == ["a", "", "ccc"])
        #expect(try reader.readBytes() == [1, 2, 3])
        #expect(try reader.readBytes() == nil)
        #expect(try reader.readValue() == .null)
        #expect(try reader.readValue() == .unset)
        #expect(try reader.readValue() == .bytes([]))
        #expect(try reader.readShortBytes() == [9, 8])
        #expect(try reader.readInet() == InetEndpoint(address: InetAddress("::1")!, port: 9042))
        #expect(try reader.readConsistency() == .localSerial)
        let map = try reader.readStringMap()
        #expect(map.map(\.0) == ["CQL_VERSION", "COMPRESSION"] && map.map(\.1) == ["3.0.0", "lz4"])
        let multimap = try reader.readStringMultimap()
        #expect(multimap.map(\.0) == ["COMPRESSION", "CQL_VERSION"] && multimap.map(\.1) == [["lz4", "snappy"], []])
        let bytesMap = try reader.readBytesMap()
        #expect(bytesMap.map(\.0) == ["k", "n"] && bytesMap.map(\.1) == [[0xFF], nil])
        #expect(reader.isAtEnd)
    }

    @Test("a truncated or hostile length throws instead of trapping")
    func hostileLengths() {
        var truncated = ByteReader([0x00, 0x05, 0x61])
        #expect(throws: WireError.truncated(what: "[string]", needed: 5, available: 1)) { try truncated.readString() }
        var negativeValue = ByteReader([0xFF, 0xFF, 0xFF, 0xFD])
        #expect(throws: WireError.negativeLength(what: "[value]", length: -3)) { try negativeValue.readValue() }
        var hugeList = ByteReader([0xFF, 0xFF])
        #expect(throws: WireError.self) { try hugeList.readStringList() }
        var badUTF8 = ByteReader([0x00, 0x01, 0xFF])
        #expect(throws: WireError.invalidUTF8(what: "[string]")) { try badUTF8.readString() }
        var badInet = ByteReader([0x05, 1, 2, 3, 4, 5])
        #expect(throws: WireError.self) { try badInet.readInet() }
        var badConsistency = ByteReader([0x00, 0x0B])
        #expect(throws: WireError.self) { try badConsistency.readConsistency() }
    }

    @Test("type options round-trip, duration travels as the v4 custom class")
    func dataTypes() throws {
        let address = DataType.udt(UserType(keyspace: "ks", name: "address", fields: [
            .init(name: "street", type: .varchar), .init(name: "zip", type: .int),
        ]))
        let types: [DataType] = [
            .ascii, .bigint, .blob, .boolean, .counter, .decimal, .double, .float, .int, .timestamp,
            .uuid, .varchar, .varint, .timeuuid, .inet, .date, .time, .smallint, .tinyint, .duration,
            .custom("com.example.Custom"), .list(.int), .set(.varchar), .map(key: .uuid, value: .list(.blob)),
            .tuple([.int, .varchar, address]), address,
        ]
        for type in types {
            var writer = ByteWriter()
            writer.writeDataType(type)
            var reader = ByteReader(writer.bytes)
            #expect(try reader.readDataType() == type)
            #expect(reader.isAtEnd)
        }
    }

    @Test("types nested deeper than the limit are refused")
    func nesting() {
        var bytes: [UInt8] = []
        for _ in 0..<1000 { bytes += [0x00, 0x20] }
        bytes += [0x00, 0x09]
        var reader = ByteReader(bytes)
        #expect(throws: WireError.nestingTooDeep(limit: DataType.maximumNesting)) { try reader.readDataType() }
    }
}
