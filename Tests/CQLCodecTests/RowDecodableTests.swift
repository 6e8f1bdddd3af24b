import Foundation
import Testing
@testable import CQLCodec

private struct Address: Decodable, Equatable {
    var street: String
    var zip: Int32
    var tags: Set<String>?
}

private struct Job: Decodable, Equatable {
    var jobId: UUID
    var name: String?
    var attempt: Int
    var score: Double?
    var tags: [String]
    var home: Address
    var created: Date
}

private struct Pair: Decodable, Equatable {
    var first: Int32
    var second: String

    init(first: Int32, second: String) {
        self.first = first
        self.second = second
    }

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        first = try container.decode(Int32.self)
        second = try container.decode(String.self)
    }
}

@Suite("Decodable rows")
struct RowDecodableTests {
    @Test("structs by column name, snake_case columns, optionals, nested UDTs and lists")
    func structs() throws {
        let rows = try RowFixtures.rows(RowFixtures.jobColumns, [RowFixtures.jobRow(1, score: .double(0.5)), RowFixtures.jobRow(2, name: .null)])
        let jobs = try rows.decode(Job.self)
        let home = Address(street: "Main", zip: 12345, tags: nil)
        let created = Date(timeIntervalSince1970: 1_704_164_645.678)
        #expect(jobs == [
            Job(jobId: ValueFixtures.randomUUID, name: "job", attempt: 1, score: 0.5, tags: ["a", "b"], home: home, created: created),
            Job(jobId: ValueFixtures.randomUUID, name: nil, attempt: 2, score: nil, tags: ["a", "b"], home: home, created: created),
        ])
        let first = try #require(rows.first)
        #expect(try first.decode(Job.self) == jobs[0])
    }

    @Test("a null in a non-optional property names the column")
    func nullProperty() throws {
        struct Strict: Decodable { var score: Double }
        let rows = try RowFixtures.rows(RowFixtures.jobColumns, [RowFixtures.jobRow(1)])
        #expect(throws: WireError.invalidValue(what: "column \"score\"", detail: "unexpected null for non-optional Double")) {
            try rows.decode(Strict.self)
        }
        struct Wrong: Decodable { var attempt: String }
        #expect(throws: WireError.typeMismatch(expected: "String (from text, varchar or ascii)", actual: "int in column \"attempt\"")) {
            try rows.decode(Wrong.self)
        }
        struct Missing: Decodable { var nope: Int }
        #expect(throws: WireError.self) { try rows.decode(Missing.self) }
    }

    @Test("single values for one-column rows, positions for unkeyed types")
    func singleAndPositional() throws {
        let single = try RowFixtures.rows([RowFixtures.column("n", .int)], [[.int(1)], [.null], [.int(3)]])
        #expect(try single.decode(Int32?.self) == [1, nil, 3])
        #expect(throws: WireError.self) { try single.decode(Int32.self) }
        let lists = try RowFixtures.rows([RowFixtures.column("l", .list(.int))], [[.list([.int(1), .int(2)])]])
        #expect(try lists.decode([Int32].self) == [[1, 2]])
        let pairs = try RowFixtures.rows([RowFixtures.column("a", .int), RowFixtures.column("b", .varchar)], [[.int(1), .text("x")]])
        #expect(try pairs.decode(Pair.self) == [Pair(first: 1, second: "x")])
    }

    @Test("maps into dictionaries, tuples into arrays and unkeyed structs, blobs into [UInt8]")
    func collections() throws {
        struct Row: Decodable, Equatable {
            var counts: [String: Int64]
            var byID: [UUID: String]
            var byNumber: [Int32: Bool]
            var point: [Int32]
            var pair: Pair
            var raw: [UInt8]
            var data: Data?
            var nested: [Address]
            var byName: [String: Address]
        }
        let address = CQLValue.udt([CQLUDTField(name: "street", value: .text("S")), CQLUDTField(name: "zip", value: .int(9))])
        let columns = [
            RowFixtures.column("counts", .map(key: .varchar, value: .counter)),
            RowFixtures.column("by_id", .map(key: .uuid, value: .varchar)),
            RowFixtures.column("by_number", .map(key: .int, value: .boolean)),
            RowFixtures.column("point", .tuple([.int, .int])),
            RowFixtures.column("pair", .tuple([.int, .varchar])),
            RowFixtures.column("raw", .blob),
            RowFixtures.column("data", .blob),
            RowFixtures.column("nested", .list(.udt(ValueFixtures.address))),
            RowFixtures.column("by_name", .map(key: .varchar, value: .udt(ValueFixtures.address))),
        ]
        let rows = try RowFixtures.rows(columns, [[
            .map([CQLMapEntry(key: .text("a"), value: .counter(5))]),
            .map([CQLMapEntry(key: .uuid(ValueFixtures.randomUUID), value: .text("r"))]),
            .map([CQLMapEntry(key: .int(-4), value: .boolean(true))]),
            .tuple([.int(1), .int(2)]),
            .tuple([.int(3), .text("y")]),
            .blob([1, 2, 3]),
            .null,
            .list([address]),
            .map([CQLMapEntry(key: .text("home"), value: address)]),
        ]])
        let decoded = try rows.decode(Row.self)
        let expected = Address(street: "S", zip: 9, tags: nil)
        #expect(decoded == [Row(counts: ["a": 5], byID: [ValueFixtures.randomUUID: "r"], byNumber: [-4: true], point: [1, 2],
                                pair: Pair(first: 3, second: "y"), raw: [1, 2, 3], data: nil, nested: [expected], byName: ["home": expected])])
    }
}
