import CQLWire
import Foundation
import Testing
@testable import CQLNode

@Suite("Storage: Cassandra's value comparators")
struct StorageOrderTests {
    typealias F = StorageFixture

    static func hex(_ string: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = string.startIndex
        let digits = string.filter { $0 != "-" }
        index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            bytes.append(UInt8(digits[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }

    static func float(_ value: Float) -> [UInt8] { F.int(Int32(bitPattern: value.bitPattern)) }
    static func double(_ value: Double) -> [UInt8] { F.bigint(Int64(bitPattern: value.bitPattern)) }
    static func decimal(scale: Int32, unscaled: [UInt8]) -> [UInt8] { F.int(scale) + unscaled }
    static func tuple(_ parts: [[UInt8]?]) -> [UInt8] {
        var writer = ByteWriter()
        for part in parts { writer.writeBytes(part) }
        return writer.bytes
    }

    /// Each case lists values already in Cassandra's ascending order for the type.
    static let cases: [(String, DataType, [[UInt8]])] = [
        ("int signed", .int, [F.int(.min), F.int(-1), F.int(0), F.int(1), F.int(.max)]),
        ("bigint signed", .bigint, [F.bigint(.min), F.bigint(-5), F.bigint(0), F.bigint(.max)]),
        ("smallint", .smallint, [[0x80, 0x00], [0xFF, 0xFF], [0x00, 0x00], [0x7F, 0xFF]]),
        ("tinyint", .tinyint, [[0x80], [0xFF], [0x00], [0x7F]]),
        ("timestamp signed", .timestamp, [F.bigint(-86_400_000), F.bigint(0), F.bigint(1_700_000_000_000)]),
        ("text bytewise", .varchar, [[], F.text("A"), F.text("B"), F.text("a"), F.text("ab"), F.text("é")]),
        ("blob unsigned", .blob, [[0x00], [0x00, 0x00], [0x7F], [0x80], [0xFF]]),
        ("boolean", .boolean, [[0x00], [0x01]]),
        ("double numeric", .double, [double(-.infinity), double(-2.5), double(-0.0), double(0.0), double(1e-9), double(3), double(.infinity)]),
        ("float numeric", .float, [float(-1), float(0), float(0.5), float(2)]),
        ("varint numeric", .varint, [[0x80, 0x00], [0xFF, 0x00], [0xFF], [0x00], [0x01], [0x7F], [0x00, 0x80], [0x01, 0x00]]),
        ("decimal numeric", .decimal, [
            decimal(scale: 0, unscaled: [0xF6]),           // -10
            decimal(scale: 1, unscaled: [0xFF]),           // -0.1
            decimal(scale: 0, unscaled: [0x00]),           // 0
            decimal(scale: 2, unscaled: [0x05]),           // 0.05
            decimal(scale: 1, unscaled: [0x0F]),           // 1.5
            decimal(scale: 0, unscaled: [0x02]),           // 2
            decimal(scale: -1, unscaled: [0x02]),          // 20
        ]),
        ("date unsigned", .date, [F.int(Int32(bitPattern: 0x7FFF_FFFF)), F.int(Int32(bitPattern: 0x8000_0000)), F.int(Int32(bitPattern: 0x8000_0001))]),
        ("time", .time, [F.bigint(0), F.bigint(1_000), F.bigint(86_399_999_999_999)]),
        ("inet bytewise", .inet, [[10, 0, 0, 1], [127, 0, 0, 1], [192, 168, 0, 1]]),
        ("timeuuid by time then signed bytes", .timeuuid, [
            hex("00000000-0000-1000-8000-000000000000"),
            hex("00000000-0000-1000-ff00-000000000000"),
            hex("00000000-0000-1000-0000-000000000000"),
            hex("ffffffff-0000-1000-0000-000000000000"),  // later time_low
            hex("00000000-0001-1000-0000-000000000000"),  // later time_mid beats any time_low
            hex("00000000-0000-1001-0000-000000000000"),  // later time_hi beats everything
        ]),
        ("uuid: version first, then time for v1, then unsigned bytes", .uuid, [
            hex("ffffffff-ffff-1000-0000-000000000000"),
            hex("00000000-0000-1001-0000-000000000000"),
            hex("00000000-0000-4000-0000-000000000000"),
            hex("00000000-0000-4000-ff00-000000000000"),
            hex("ffffffff-0000-4000-0000-000000000000"),
        ]),
        ("tuple component-wise, null first", .tuple([.int, .varchar]), [
            tuple([nil, F.text("z")]), tuple([F.int(-1), F.text("z")]), tuple([F.int(1), F.text("a")]), tuple([F.int(1), F.text("b")]),
        ]),
        ("frozen list element-wise, shorter first", .list(.int), [
            F.collection([F.int(-1)]), F.collection([F.int(1)]), F.collection([F.int(1), F.int(0)]), F.collection([F.int(2)]),
        ]),
    ]

    @Test("ascending order per type", arguments: cases.indices)
    func ascending(index: Int) {
        let (name, type, values) = Self.cases[index]
        for (i, a) in values.enumerated() {
            for (j, b) in values.enumerated() {
                let order = ValueOrder.compare(a, b, as: type)
                let expected = i < j ? -1 : (i > j ? 1 : 0)
                #expect(order.signum() == expected, "\(name): \(a) vs \(b)")
            }
        }
    }

    @Test("rows follow the clustering order, DESC reversed, through the storage", arguments: [ClusteringOrder.ascending, .descending])
    func clusteringOrder(order: ClusteringOrder) throws {
        let table = TableSchema(keyspace: "ks", name: "o", columns: [
            ColumnSchema(name: "pk", type: .int, kind: .partitionKey(position: 0)),
            ColumnSchema(name: "a", type: .varchar, kind: .clustering(position: 0, order: .ascending)),
            ColumnSchema(name: "b", type: .int, kind: .clustering(position: 1, order: order)),
            ColumnSchema(name: "v", type: .int, kind: .regular),
        ])
        let storage = try F.storage()
        _ = try storage.apply(.createTable(table, ifNotExists: false))
        let keys: [(String, Int32)] = [("b", 2), ("a", -7), ("b", -1), ("a", 30), ("a", 0)]
        try storage.apply([F.mutation(1, keys.map { key in
            .setColumn(clustering: [F.text(key.0), F.int(key.1)], column: "v", value: F.int(0), timestamp: 1, ttl: nil)
        }, table: table)])
        let rows = try storage.read(table: table.id, partitionKey: F.int(1), query: ReadQuery(now: 1_000)).rows
        let seen = rows.map { (String(decoding: $0.clustering[0], as: UTF8.self), F.decodeInt($0.clustering[1]) ?? 0) }
        let ascending: [(String, Int32)] = [("a", -7), ("a", 0), ("a", 30), ("b", -1), ("b", 2)]
        let expected = order == .ascending ? ascending : [("a", 30), ("a", 0), ("a", -7), ("b", 2), ("b", -1)]
        #expect(seen.map(\.0) == expected.map(\.0))
        #expect(seen.map(\.1) == expected.map(\.1))
        let reversed = try storage.read(table: table.id, partitionKey: F.int(1), query: ReadQuery(reversed: true, now: 1_000)).rows
        #expect(reversed.map(\.clustering) == rows.reversed().map(\.clustering))
        // A range on the DESC column still means values, not positions: b >= 0 within a = 'a'.
        let slice = order == .ascending
            ? ClusteringSlice(start: .init([F.text("a"), F.int(0)], inclusive: true), end: .init([F.text("a")], inclusive: true))
            : ClusteringSlice(start: .init([F.text("a")], inclusive: true), end: .init([F.text("a"), F.int(0)], inclusive: true))
        let ranged = try storage.read(table: table.id, partitionKey: F.int(1), query: ReadQuery(slices: [slice], now: 1_000)).rows
        #expect(Set(ranged.compactMap { F.decodeInt($0.clustering[1]) }) == [0, 30])
    }
}
