import CQLWire
import Foundation
import Testing
@testable import CQLNode

@Suite("Storage: Cassandra write and read semantics")
struct StorageDataTests {
    typealias F = StorageFixture

    @Test("last write wins by timestamp, whatever the arrival order")
    func lastWriteWins() throws {
        let storage = try F.storage()
        try storage.apply([F.mutation(1, [F.set(1, "v", F.text("new"), ts: 20)])])
        try storage.apply([F.mutation(1, [F.set(1, "v", F.text("old"), ts: 10)])])
        #expect(F.text(of: try F.rows(storage, 1).first, "v") == "new")
        try storage.apply([F.mutation(1, [F.set(1, "v", F.text("newer"), ts: 21)])])
        #expect(F.text(of: try F.rows(storage, 1).first, "v") == "newer")
    }

    @Test("equal timestamps: the greater value wins, a tombstone beats a live cell", arguments: [
        (["a", "b"], "b"), (["b", "a"], "b"), (["zz", "zzz"], "zzz"),
    ])
    func ties(values: [String], winner: String) throws {
        let storage = try F.storage()
        for value in values { try storage.apply([F.mutation(1, [F.set(1, "v", F.text(value), ts: 5)])]) }
        #expect(F.text(of: try F.rows(storage, 1).first, "v") == winner)
        try storage.apply([F.mutation(1, [.deleteColumn(clustering: [F.int(1)], column: "v", timestamp: 5)])])
        #expect(try F.rows(storage, 1).isEmpty)
    }

    @Test("TTL: visible before expiry with the remaining ttl, gone at and after it")
    func ttlExpiry() throws {
        let storage = try F.storage()
        try storage.apply([F.mutation(1, [
            .insertRowMarker(clustering: [F.int(1)], timestamp: 1, ttl: 100),
            F.set(1, "v", F.text("x"), ts: 1, ttl: 100),
        ], now: 1_000)])
        let early = try F.rows(storage, 1, query: ReadQuery(now: 1_040))
        guard case let .cell(cell)? = early.first?.columns["v"] else {
            Issue.record("no cell before expiry")
            return
        }
        #expect(cell.ttl == 60)
        #expect(cell.writetime == 1)
        #expect(try F.rows(storage, 1, query: ReadQuery(now: 1_100)).isEmpty)
        #expect(try F.rows(storage, 1, query: ReadQuery(now: 5_000)).isEmpty)
    }

    @Test("table default_time_to_live applies when a write has no TTL; TTL 0 opts out")
    func defaultTTL() throws {
        let storage = try F.storage()
        _ = try storage.apply(.alterTable(keyspace: "ks", table: "t", .setOptions([("default_time_to_live", "10")]), ifExists: false))
        try storage.apply([F.mutation(1, [F.set(1, "v", F.text("x"), ts: 1)])])
        try storage.apply([F.mutation(1, [F.set(2, "v", F.text("y"), ts: 1, ttl: 0)])])
        let rows = try F.rows(storage, 1, query: ReadQuery(now: 1_020))
        #expect(rows.map { F.decodeInt($0.clustering.first) } == [2])
    }

    @Test("partition tombstone hides older data and keeps shadowing late older writes; newer writes live")
    func partitionTombstone() throws {
        let storage = try F.storage()
        try storage.apply([F.mutation(1, [F.set(1, "v", F.text("a"), ts: 10), F.set(2, "v", F.text("b"), ts: 10),
                                          .setColumn(clustering: [], column: "s", value: F.text("st"), timestamp: 10, ttl: nil)])])
        try storage.apply([F.mutation(1, [.deletePartition(timestamp: 15)])])
        #expect(try F.rows(storage, 1).isEmpty)
        try storage.apply([F.mutation(1, [F.set(3, "v", F.text("late"), ts: 12)])])
        #expect(try F.rows(storage, 1).isEmpty)
        try storage.apply([F.mutation(1, [F.set(3, "v", F.text("fresh"), ts: 16)])])
        #expect(try F.rows(storage, 1).map { F.text(of: $0, "v") } == ["fresh"])
    }

    @Test("row tombstone deletes one row; a later write with a higher timestamp comes back")
    func rowTombstone() throws {
        let storage = try F.storage()
        try storage.apply([F.mutation(1, [F.set(1, "v", F.text("a"), ts: 10), F.set(2, "v", F.text("b"), ts: 10)])])
        try storage.apply([F.mutation(1, [.deleteRow(clustering: [F.int(1)], timestamp: 11)])])
        #expect(try F.rows(storage, 1).map { F.decodeInt($0.clustering[0]) } == [2])
        try storage.apply([F.mutation(1, [F.set(1, "w", F.int(7), ts: 11)])])
        #expect(try F.rows(storage, 1).count == 1)
        try storage.apply([F.mutation(1, [F.set(1, "w", F.int(7), ts: 12)])])
        let rows = try F.rows(storage, 1)
        #expect(rows.count == 2)
        #expect(rows.first?.columns["v"] == nil)
    }

    @Test("range tombstones over clustering prefixes and ranges")
    func rangeTombstones() throws {
        let table = TableSchema(keyspace: "ks", name: "r", columns: [
            ColumnSchema(name: "pk", type: .int, kind: .partitionKey(position: 0)),
            ColumnSchema(name: "a", type: .int, kind: .clustering(position: 0, order: .ascending)),
            ColumnSchema(name: "b", type: .int, kind: .clustering(position: 1, order: .ascending)),
            ColumnSchema(name: "v", type: .int, kind: .regular),
        ])
        let storage = try F.storage()
        _ = try storage.apply(.createTable(table, ifNotExists: false))
        var operations: [MutationOperation] = []
        for a in Int32(1)...3 {
            for b in Int32(1)...3 {
                operations.append(.setColumn(clustering: [F.int(a), F.int(b)], column: "v", value: F.int(a * 10 + b), timestamp: 10, ttl: nil))
            }
        }
        try storage.apply([F.mutation(1, operations, table: table)])
        // DELETE WHERE pk = 1 AND a = 2
        try storage.apply([F.mutation(1, [.deleteRange(.prefix([F.int(2)]), timestamp: 11)], table: table)])
        // DELETE WHERE pk = 1 AND a = 3 AND b > 1
        try storage.apply([F.mutation(1, [.deleteRange(ClusteringSlice(start: .init([F.int(3), F.int(1)], inclusive: false),
                                                                       end: .init([F.int(3)], inclusive: true)), timestamp: 11)], table: table)])
        func values() throws -> [Int32?] {
            try storage.read(table: table.id, partitionKey: F.int(1), query: ReadQuery(now: 1_000)).rows.map { row in
                guard case let .cell(cell)? = row.columns["v"] else { return nil }
                return F.decodeInt(cell.value)
            }
        }
        #expect(try values() == [11, 12, 13, 31])
        // An older write inside the range stays deleted; a newer one lives.
        try storage.apply([F.mutation(1, [.setColumn(clustering: [F.int(2), F.int(5)], column: "v", value: F.int(25), timestamp: 11, ttl: nil)], table: table)])
        #expect(try values() == [11, 12, 13, 31])
        try storage.apply([F.mutation(1, [.setColumn(clustering: [F.int(2), F.int(5)], column: "v", value: F.int(25), timestamp: 12, ttl: nil)], table: table)])
        #expect(try values() == [11, 12, 13, 25, 31])
    }

    @Test("row marker: INSERT keeps a row with null columns alive; UPDATE-only rows vanish with their cells")
    func rowMarker() throws {
        let storage = try F.storage()
        try storage.apply([F.mutation(1, [.insertRowMarker(clustering: [F.int(1)], timestamp: 10, ttl: nil),
                                          F.set(1, "v", F.text("a"), ts: 10)])])
        try storage.apply([F.mutation(1, [F.set(2, "v", F.text("b"), ts: 10)])])
        try storage.apply([F.mutation(1, [.deleteColumn(clustering: [F.int(1)], column: "v", timestamp: 11),
                                          .deleteColumn(clustering: [F.int(2)], column: "v", timestamp: 11)])])
        let rows = try F.rows(storage, 1)
        #expect(rows.map { F.decodeInt($0.clustering[0]) } == [1])
        #expect(rows.first?.columns["v"] == nil)
        #expect(rows.first?.marker?.writetime == 10)
    }

    @Test("static columns: one value per partition, shown on every row, and a static-only row without rows")
    func staticColumns() throws {
        let storage = try F.storage()
        try storage.apply([F.mutation(1, [.setColumn(clustering: [], column: "s", value: F.text("shared"), timestamp: 1, ttl: nil)])])
        let staticOnly = try F.rows(storage, 1)
        #expect(staticOnly.count == 1)
        #expect(staticOnly.first?.isStaticOnly == true)
        #expect(F.text(of: staticOnly.first, "s") == "shared")
        try storage.apply([F.mutation(1, [F.set(1, "v", F.text("a"), ts: 1), F.set(2, "v", F.text("b"), ts: 1)])])
        let rows = try F.rows(storage, 1)
        #expect(rows.count == 2)
        #expect(rows.allSatisfy { F.text(of: $0, "s") == "shared" && !$0.isStaticOnly })
        // A clustering restriction that matches nothing returns nothing, not the static row.
        let restricted = try F.rows(storage, 1, query: ReadQuery(slices: [.prefix([F.int(9)])], now: 1_000))
        #expect(restricted.isEmpty)
    }

    @Test("lists: append, prepend, set and delete by index, remove by value, overwrite")
    func lists() throws {
        let storage = try F.storage()
        func list() throws -> [String] {
            F.elements(of: try F.rows(storage, 1).first, "l").map { String(decoding: $0, as: UTF8.self) }
        }
        func op(_ operation: CollectionOperation, ts: Int64) -> Mutation {
            F.mutation(1, [.collection(clustering: [F.int(1)], column: "l", operation, timestamp: ts, ttl: nil)])
        }
        try storage.apply([F.mutation(1, [F.set(1, "l", F.collection([F.text("b"), F.text("c")]), ts: 10)])])
        #expect(try list() == ["b", "c"])
        try storage.apply([op(.listAppend([F.text("d"), F.text("e")]), ts: 11)])
        try storage.apply([op(.listPrepend([F.text("z"), F.text("a")]), ts: 12)])
        #expect(try list() == ["z", "a", "b", "c", "d", "e"])
        try storage.apply([op(.listSetIndex(0, F.text("y")), ts: 13)])
        try storage.apply([op(.listSetIndex(5, nil), ts: 13)])
        #expect(try list() == ["y", "a", "b", "c", "d"])
        try storage.apply([op(.listRemoveValues([F.text("a"), F.text("c")]), ts: 14)])
        #expect(try list() == ["y", "b", "d"])
        #expect(throws: StorageError.invalidRequest("List index 3 out of bound, list has size 3")) {
            try storage.apply([op(.listSetIndex(3, F.text("q")), ts: 15)])
        }
        // Overwrite: a collection tombstone at ts - 1, so elements written at ts survive.
        try storage.apply([F.mutation(1, [F.set(1, "l", F.collection([F.text("new")]), ts: 20)])])
        #expect(try list() == ["new"])
        let assembled = try F.rows(storage, 1).first?.columns["l"]?.serialized(as: .list(.varchar))
        #expect(assembled == F.collection([F.text("new")]))
    }

    @Test("sets and maps: add, remove, put, remove key, ordered by the element type")
    func setsAndMaps() throws {
        let storage = try F.storage()
        let ck = [F.int(1)]
        try storage.apply([F.mutation(1, [
            .collection(clustering: ck, column: "st", .setAdd([F.int(5), F.int(-3), F.int(100)]), timestamp: 1, ttl: nil),
            .collection(clustering: ck, column: "m", .mapPut([.init(key: F.text("b"), value: F.int(2)), .init(key: F.text("a"), value: F.int(1))]), timestamp: 1, ttl: nil),
        ])])
        try storage.apply([F.mutation(1, [
            .collection(clustering: ck, column: "st", .setRemove([F.int(5)]), timestamp: 2, ttl: nil),
            .collection(clustering: ck, column: "m", .mapRemove([F.text("b")]), timestamp: 2, ttl: nil),
            .collection(clustering: ck, column: "m", .mapPut([.init(key: F.text("c"), value: F.int(3))]), timestamp: 2, ttl: nil),
        ])])
        let row = try F.rows(storage, 1).first
        #expect(F.paths(of: row, "st").map(F.decodeInt) == [-3, 100])
        #expect(F.paths(of: row, "m").map { String(decoding: $0, as: UTF8.self) } == ["a", "c"])
        #expect(F.elements(of: row, "m").map(F.decodeInt) == [1, 3])
        try storage.apply([F.mutation(1, [.deleteColumn(clustering: ck, column: "st", timestamp: 3)])])
        #expect(try F.rows(storage, 1).first?.columns["st"] == nil)
    }

    @Test("counters add up, including negative deltas, and cannot be set")
    func counters() throws {
        let table = TableSchema(keyspace: "ks", name: "c", columns: [
            ColumnSchema(name: "pk", type: .int, kind: .partitionKey(position: 0)),
            ColumnSchema(name: "n", type: .counter, kind: .regular),
        ])
        let storage = try F.storage()
        _ = try storage.apply(.createTable(table, ifNotExists: false))
        for (index, delta) in [Int64(5), 7, -2].enumerated() {
            try storage.apply([F.mutation(1, [.counterAdd(clustering: [], column: "n", delta: delta, timestamp: Int64(index)), ], table: table)])
        }
        let rows = try storage.read(table: table.id, partitionKey: F.int(1), query: ReadQuery(now: 1_000)).rows
        guard case let .cell(cell)? = rows.first?.columns["n"] else {
            Issue.record("no counter")
            return
        }
        #expect(F.decodeBigint(cell.value) == 10)
        #expect(throws: StorageError.self) {
            try storage.apply([F.mutation(1, [.setColumn(clustering: [], column: "n", value: F.bigint(1), timestamp: 9, ttl: nil)], table: table)])
        }
        #expect(throws: StorageError.self) {
            try storage.apply([F.mutation(1, [.insertRowMarker(clustering: [], timestamp: 9, ttl: nil)], table: table)])
        }
    }

    @Test("a batch is atomic: one invalid mutation applies none")
    func atomicBatch() throws {
        let storage = try F.storage()
        #expect(throws: StorageError.undefinedColumn("nope")) {
            try storage.apply([F.mutation(1, [F.set(1, "v", F.text("a"), ts: 1)]), F.mutation(2, [F.set(1, "nope", F.text("a"), ts: 1)])])
        }
        #expect(try F.rows(storage, 1).isEmpty)
    }

    @Test("partitions scan in Murmur3 token order")
    func tokenOrder() throws {
        let storage = try F.storage()
        let keys = Array(Int32(0)..<50)
        try storage.apply(keys.map { F.mutation($0, [F.set(1, "w", F.int($0), ts: 1)]) })
        let rows = try storage.scan(table: F.table.id, query: ReadQuery(now: 1_000)).rows
        let expected = keys.map { F.int($0) }.sorted {
            let a = Murmur3Token.token(of: $0)
            let b = Murmur3Token.token(of: $1)
            return a != b ? a < b : $0.lexicographicallyPrecedes($1)
        }
        #expect(rows.map(\.partitionKey) == expected)
        #expect(rows.map(\.token) == expected.map { Murmur3Token.token(of: $0) })
        // token(pk) > t AND token(pk) <= u
        let lower = rows[10].token
        let upper = rows[20].token
        let ranged = try storage.scan(table: F.table.id, tokens: TokenRange(lower: lower, lowerInclusive: false, upper: upper),
                                      query: ReadQuery(now: 1_000)).rows
        #expect(ranged.map(\.partitionKey) == Array(expected[11...20]))
    }

    @Test("paging resumes after the last row, within and across partitions, forward and reversed")
    func paging() throws {
        let storage = try F.storage()
        for pk in Int32(1)...4 {
            try storage.apply([F.mutation(pk, (Int32(1)...5).map { F.set($0, "w", F.int(pk * 10 + $0), ts: 1) })])
        }
        for reversed in [false, true] {
            var all: [StoredRow] = []
            var resume: ReadPosition?
            var pages = 0
            repeat {
                let result = try storage.scan(table: F.table.id, query: ReadQuery(reversed: reversed, limit: 3, now: 1_000, resume: resume))
                all += result.rows
                resume = result.resume
                pages += 1
            } while resume != nil && pages < 100
            let full = try storage.scan(table: F.table.id, query: ReadQuery(reversed: reversed, now: 1_000)).rows
            #expect(all == full)
            #expect(all.count == 20)
        }
        let single = try storage.read(table: F.table.id, partitionKey: F.int(1),
                                      query: ReadQuery(limit: 2, now: 1_000, resume: ReadPosition(partitionKey: F.int(1), clustering: [F.int(2)])))
        #expect(single.rows.map { F.decodeInt($0.clustering[0]) } == [3, 4])
        #expect(single.resume?.clustering == [F.int(4)])
    }

    @Test("per-partition limit, clustering slices, reversed order, column selection, distinct and count")
    func queryShapes() throws {
        let storage = try F.storage()
        for pk in Int32(1)...3 {
            try storage.apply([F.mutation(pk, (Int32(1)...5).map { F.set($0, "w", F.int($0), ts: 1) } + [F.set(1, "v", F.text("x"), ts: 1)])])
        }
        let perPartition = try storage.scan(table: F.table.id, query: ReadQuery(perPartitionLimit: 2, now: 1_000)).rows
        #expect(perPartition.count == 6)
        let slice = ClusteringSlice(start: .init([F.int(2)], inclusive: false), end: .init([F.int(4)], inclusive: true))
        let sliced = try F.rows(storage, 1, query: ReadQuery(slices: [slice], reversed: true, columns: ["w"], now: 1_000))
        #expect(sliced.map { F.decodeInt($0.clustering[0]) } == [4, 3])
        #expect(sliced.allSatisfy { $0.columns.keys.sorted() == ["w"] })
        let inList = try F.rows(storage, 1, query: ReadQuery(slices: [.prefix([F.int(1)]), .prefix([F.int(5)])], now: 1_000))
        #expect(inList.count == 2)
        let distinct = try storage.withTransaction { state in
            try state.distinctPartitions(table: F.table.id, query: ReadQuery(now: 1_000)).rows
        }
        #expect(distinct.count == 3)
        let count = try storage.withTransaction { state in try state.count(table: F.table.id, query: ReadQuery(now: 1_000)) }
        #expect(count == 15)
    }

    @Test("in-memory throughput (printed, not asserted)")
    func throughput() throws {
        let storage = try F.storage()
        let count = 20_000
        let start = Date()
        for index in 0..<count {
            let pk = Int32(index % 1_000)
            try storage.apply([F.mutation(pk, [F.set(Int32(index), "w", F.int(Int32(index)), ts: 1)])])
        }
        let written = Date()
        var rows = 0
        for pk in Int32(0)..<1_000 {
            rows += try F.rows(storage, pk, query: ReadQuery(slices: [.prefix([F.int(pk)])], now: 1_000)).count
        }
        let read = Date()
        #expect(rows == 1_000)
        let writeRate = Int(Double(count) / max(written.timeIntervalSince(start), 0.000_001))
        let readRate = Int(1_000 / max(read.timeIntervalSince(written), 0.000_001))
        print("storage in memory: \(writeRate) mutations/s, \(readRate) point reads/s (partitions of 20 rows)")
    }

    @Test("withTransaction makes read-compare-write atomic (LWT) under concurrency")
    func compareAndSet() async throws {
        let storage = try F.storage()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<32 {
                group.addTask {
                    for _ in 0..<10 {
                        try storage.withTransaction { state in
                            let current = try state.read(table: F.table.id, partitionKey: F.int(1), query: ReadQuery(now: 1_000)).rows.first
                            let value: Int32 = current.flatMap { row -> Int32? in
                                guard case let .cell(cell)? = row.columns["w"] else { return nil }
                                return F.decodeInt(cell.value)
                            } ?? 0
                            try state.apply([F.mutation(1, [F.set(1, "w", F.int(value + 1), ts: Int64(value + 1))])])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        guard case let .cell(cell)? = try F.rows(storage, 1).first?.columns["w"] else {
            Issue.record("no value")
            return
        }
        #expect(F.decodeInt(cell.value) == 320)
    }
}
