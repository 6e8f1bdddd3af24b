import Testing
@testable import CQLCodec

/// Result metadata reused by bytes: answers to one statement decode their column specs once.
@Suite("Rows metadata cache: equal bytes reuse the decoded columns, anything else decodes afresh")
struct RowsMetadataCacheTests {
    static let applied = RowsMetadata(columns: [ColumnSpec(keyspace: "ks", table: "t", name: "[applied]", type: .boolean)])
    static let appliedWithRow = RowsMetadata(columns: [
        ColumnSpec(keyspace: "ks", table: "t", name: "[applied]", type: .boolean),
        ColumnSpec(keyspace: "ks", table: "t", name: "key", type: .bigint),
        ColumnSpec(keyspace: "ks", table: "t", name: "value", type: .blob),
    ])

    /// A RESULT Rows body with `metadata` and one row of `cells`.
    static func body(_ metadata: RowsMetadata, _ cells: [[UInt8]?]) throws -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        ResultMessage.rows(try Rows(metadata: metadata, cells: [cells])).encode(into: &writer)
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8], _ cache: inout RowsMetadataCache) throws -> Rows {
        var reader = ByteReader(bytes)
        let message = try ResultMessage(from: &reader, metadataCache: &cache)
        try reader.expectEnd("result")
        guard case let .rows(rows) = message else { throw WireError.invalidValue(what: "result", detail: "not rows") }
        return rows
    }

    @Test("a run of answers alternating between two shapes decodes each as without the cache", arguments: [1, 3, 20])
    func alternatingShapes(rounds: Int) throws {
        var cache = RowsMetadataCache()
        for round in 0..<rounds {
            let applied = round % 2 == 0
            let metadata = applied ? Self.applied : Self.appliedWithRow
            let cells: [[UInt8]?] = applied ? [[1]] : [[0], [0, 0, 0, 0, 0, 0, 0, UInt8(round)], [UInt8(round), 7]]
            let bytes = try Self.body(metadata, cells)
            let cached = try Self.decode(bytes, &cache)
            var plain = ByteReader(bytes)
            #expect(.rows(cached) == (try ResultMessage(from: &plain)))
            #expect(cached.metadata.columns == metadata.columns)
            #expect(try cached.cellValues() == [cells])
        }
    }

    @Test("a column renamed or retyped (same length) is not mistaken for the cached one")
    func changedColumnsDecodeAfresh() throws {
        var cache = RowsMetadataCache()
        _ = try Self.decode(try Self.body(Self.appliedWithRow, [[1], [0, 0, 0, 0, 0, 0, 0, 1], [2]]), &cache)
        var renamed = Self.appliedWithRow
        renamed.columns[2].name = "other"
        let first = try Self.decode(try Self.body(renamed, [[1], [0, 0, 0, 0, 0, 0, 0, 1], [2]]), &cache)
        #expect(first.metadata.columns[2].name == "other")
        var retyped = Self.appliedWithRow
        retyped.columns[1].type = .counter
        let second = try Self.decode(try Self.body(retyped, [[1], [0, 0, 0, 0, 0, 0, 0, 1], [2]]), &cache)
        #expect(second.metadata.columns[1].type == .counter)
    }

    @Test("metadata with a paging state is decoded every time, each page keeping its own state")
    func pagingStateNotCached() throws {
        var cache = RowsMetadataCache()
        for page in 0..<3 {
            var metadata = Self.applied
            metadata.pagingState = [UInt8(page), 9]
            let rows = try Self.decode(try Self.body(metadata, [[1]]), &cache)
            #expect(rows.metadata.pagingState == [UInt8(page), 9])
        }
    }

    @Test("more shapes than entries: every answer still decodes right")
    func eviction() throws {
        var cache = RowsMetadataCache()
        for round in 0..<(RowsMetadataCache.capacity * 3) {
            let shape = round % (RowsMetadataCache.capacity + 3)
            let metadata = RowsMetadata(columns: [ColumnSpec(keyspace: "ks", table: "t\(shape)", name: "c", type: .int)])
            let rows = try Self.decode(try Self.body(metadata, [[0, 0, 0, UInt8(shape)]]), &cache)
            #expect(rows.metadata.columns.first?.table == "t\(shape)")
            #expect(try rows.cellValues() == [[[0, 0, 0, UInt8(shape)]]])
        }
    }
}
