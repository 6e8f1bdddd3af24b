import Foundation
import Testing
@testable import CQLCodec

private struct Address: Encodable {
    var street: String
    var zip: Int
}

private struct NewJob: Encodable {
    var jobId: UUID
    var name: String
    var attempt: Int
    var note: String?
    var tags: [String]
    var home: Address
    var labels: [String: Int]
    var keep: CQLUnset = .unset
}

@Suite("Binding Swift values to bind markers")
struct ValueBindingTests {
    let columns = [
        RowFixtures.column("job_id", .uuid), RowFixtures.column("name", .varchar), RowFixtures.column("attempt", .int),
        RowFixtures.column("note", .varchar), RowFixtures.column("tags", .list(.varchar)),
        RowFixtures.column("home", .udt(ValueFixtures.address)), RowFixtures.column("labels", .map(key: .varchar, value: .bigint)),
        RowFixtures.column("keep", .int), RowFixtures.column("absent", .int),
    ]

    @Test("Encodable structs bind by marker name with the markers' types")
    func encodable() throws {
        let job = NewJob(jobId: ValueFixtures.randomUUID, name: "n", attempt: 3, note: nil, tags: ["x"],
                         home: Address(street: "Main", zip: 1), labels: ["a": 1])
        let values = try CQLBinder.encodeValues(job, for: columns)
        #expect(values.count == columns.count)
        func decoded(_ index: Int) throws -> CQLValue {
            guard case let .bytes(bytes) = values[index] else { return .null }
            return try CQLValue.decode(bytes, as: columns[index].type)
        }
        #expect(try decoded(0) == .uuid(ValueFixtures.randomUUID))
        #expect(try decoded(1) == .text("n"))
        #expect(values[2] == .bytes([0, 0, 0, 3]), "Int narrows to the int marker")
        #expect(values[3] == .null)
        #expect(try decoded(4) == .list([.text("x")]))
        #expect(try decoded(5) == .udt([CQLUDTField(name: "street", value: .text("Main")), CQLUDTField(name: "zip", value: .int(1)),
                                        CQLUDTField(name: "tags", value: .null)]))
        #expect(try decoded(6) == .map([CQLMapEntry(key: .text("a"), value: .bigint(1))]))
        #expect(values[7] == .unset)
        #expect(values[8] == .null)
    }

    @Test("a property without a marker, or a value of the wrong type, is an error")
    func errors() throws {
        struct Extra: Encodable { var nope: Int }
        #expect(throws: WireError.self) { try CQLBinder.encodeValues(Extra(nope: 1), for: columns) }
        struct Wrong: Encodable { var attempt: String }
        #expect(throws: WireError.typeMismatch(expected: "int", actual: "Swift String in bind marker \"attempt\"")) {
            try CQLBinder.encodeValues(Wrong(attempt: "x"), for: columns)
        }
        struct TooBig: Encodable { var attempt: Int }
        #expect(throws: WireError.self) { try CQLBinder.encodeValues(TooBig(attempt: 1 << 40), for: columns) }
    }

    @Test("positional binding with marker types, and without metadata by default types")
    func positional() throws {
        let values: [any CQLEncodable] = [Int(1), "a", Int32?.none, CQLUnset(), [Int16(2)]]
        let typed = try CQLBinder.encodeValues(values, types: [.int, .ascii, .int, .int, .set(.smallint)])
        #expect(typed == [.bytes([0, 0, 0, 1]), .bytes([0x61]), .null, .unset, .bytes([0, 0, 0, 1, 0, 0, 0, 2, 0, 2])])
        let untyped = try CQLBinder.encodeValues(values)
        #expect(untyped[0] == .bytes([0, 0, 0, 0, 0, 0, 0, 1]), "Int is a bigint without metadata")
        #expect(untyped[4] == .bytes([0, 0, 0, 1, 0, 0, 0, 2, 0, 2]))
        #expect(throws: WireError.self) { try CQLBinder.encodeValues(values, types: [.int]) }
        let named = try CQLBinder.encodeNamedValues([("k", Int32(7))])
        #expect(named.map(\.name) == ["k"] && named.map(\.value) == [.bytes([0, 0, 0, 7])])
    }

    @Test("single values and arrays bind one marker or markers by position")
    func singleAndArray() throws {
        #expect(try CQLBinder.encodeValues(Int32(5), for: [RowFixtures.column("a", .int)]) == [.bytes([0, 0, 0, 5])])
        #expect(try CQLBinder.encodeValues(["x", "y"], for: [RowFixtures.column("a", .varchar), RowFixtures.column("b", .varchar)])
            == [.bytes([0x78]), .bytes([0x79])])
        #expect(try CQLBinder.encodeValues([UInt8]([1, 2]), for: [RowFixtures.column("a", .blob)]) == [.bytes([1, 2])])
    }
}
