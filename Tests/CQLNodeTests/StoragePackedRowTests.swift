import CQLWire
import Foundation
import Testing
@testable import CQLNode

@Suite("Storage: packed rows and clustering keys")
struct StoragePackedRowTests {
    typealias F = StorageFixture

    static let base: Int64 = 1_764_400_000_000_000

    /// Rows covering every optional part of the packed format.
    static let rows: [(String, RowEdit)] = [
        ("empty", RowEdit()),
        ("marker only", RowEdit(marker: .live([], timestamp: base, ttl: nil, now: 1_000))),
        ("deletion only", RowEdit(deletion: DeletionTime(timestamp: base, localDeletionTime: 1_000))),
        ("cells sharing the marker's timestamp", RowEdit(
            marker: .live([], timestamp: base, ttl: nil, now: 1_000),
            cells: [(0, .live([1, 2, 3], timestamp: base, ttl: nil, now: 1_000)), (3, .live([], timestamp: base, ttl: nil, now: 1_000))])),
        ("timestamps before, after and far from the base", RowEdit(cells: [
            (1, .live([9], timestamp: base, ttl: nil, now: 0)),
            (2, .live([8], timestamp: base - 5, ttl: nil, now: 0)),
            (5, .live([7], timestamp: .min, ttl: nil, now: 0)),
            (6, .live([6], timestamp: .max, ttl: nil, now: 0)),
        ])),
        ("expiring cells, an expiring marker and tombstones", RowEdit(
            marker: .live([], timestamp: base, ttl: 60, now: 1_000),
            deletion: DeletionTime(timestamp: base - 1, localDeletionTime: 999),
            cells: [
                (0, .live(Array(repeating: 0xAB, count: 300), timestamp: base, ttl: 630_720_000, now: 1_000)),
                (1, .tombstone(timestamp: base + 1, now: 1_001)),
                (2, .live([1], timestamp: base, ttl: 1, now: .max)),
            ])),
        ("a live cell with an explicit deletion time and large ids", RowEdit(cells: [
            (127, CellData(value: [5], timestamp: 7, ttl: nil, localDeletionTime: 42)),
            (128, CellData(value: nil, timestamp: 7, ttl: nil, localDeletionTime: .min)),
            (300_000, CellData(value: [], timestamp: 0, ttl: 0, localDeletionTime: 0)),
        ])),
    ]

    static func same(_ a: RowEdit, _ b: RowEdit) -> Bool {
        a.marker == b.marker && a.deletion == b.deletion && a.complex == b.complex
            && a.cells.elementsEqual(b.cells) { $0.id == $1.id && $0.cell == $1.cell }
    }

    @Test("a row packs and unpacks to itself", arguments: rows.map(\.0))
    func roundTrip(name: String) throws {
        let edit = try #require(Self.rows.first { $0.0 == name }?.1)
        let row = RowData(edit)
        #expect(row.isEmpty == edit.isEmpty)
        #expect(Self.same(row.edit(), edit))
        #expect(row.packed.capacity < row.packed.count + 32)
        #expect(row.deletion == edit.deletion)
        var reader = row.reader
        var ids: [Int] = []
        while let (id, _) = reader.next() { ids.append(id) }
        #expect(ids == edit.cells.map(\.id))
    }

    @Test("varints and zigzag round-trip at the extremes", arguments: [Int64.min, -1, 0, 1, 63, 64, 1 << 40, Int64.max])
    func varints(value: Int64) {
        var bytes: [UInt8] = []
        PackedVarint.append(PackedVarint.zigzag(value), to: &bytes)
        #expect(bytes.count == PackedVarint.size(PackedVarint.zigzag(value)))
        var offset = 0
        #expect(PackedVarint.read(bytes, &offset).map(PackedVarint.unzigzag) == value)
        #expect(offset == bytes.count)
        var truncated = 0
        if bytes.count > 1 { #expect(PackedVarint.read(Array(bytes.dropLast()), &truncated) == nil) }
    }

    @Test("a truncated packed row reads as far as it is whole, never past its end")
    func truncatedRow() throws {
        let edit = try #require(Self.rows.last?.1)
        let packed = RowData(edit).packed
        for length in 0..<packed.count {
            var reader = PackedRowReader(Array(packed.prefix(length)))
            var count = 0
            while reader.next() != nil { count += 1 }
            #expect(count < edit.cells.count)
        }
    }

    @Test("setting cells keeps ids ascending and unique; simple and multi-cell values of one id exclude each other")
    func editSubscript() {
        var edit = RowEdit()
        for id in [5, 1, 3, 1] { edit[simple: id] = .live([UInt8(id)], timestamp: 1, ttl: nil, now: 0) }
        #expect(edit.cells.map(\.id) == [1, 3, 5])
        edit.setComplex(3, ComplexColumn(deletion: DeletionTime(timestamp: 1, localDeletionTime: 0), cells: []))
        #expect(edit.cells.map(\.id) == [1, 5])
        edit[simple: 3] = .live([3], timestamp: 2, ttl: nil, now: 0)
        #expect(edit.complex[3] == nil)
        edit[simple: 1] = nil
        #expect(edit.cells.map(\.id) == [3, 5])
        edit.purge(shadowedBy: 1)
        #expect(edit.cells.map(\.id) == [3])
    }

    static let clusteringColumns = [
        ColumnSchema(name: "due", type: .timestamp, kind: .clustering(position: 0, order: .ascending)),
        ColumnSchema(name: "id", type: .uuid, kind: .clustering(position: 1, order: .descending)),
        ColumnSchema(name: "name", type: .varchar, kind: .clustering(position: 2, order: .ascending)),
    ]

    @Test("a packed clustering key compares like the unpacked values, prefixes and limits included")
    func clusteringOrder() {
        var generator = SystemRandomNumberGenerator()
        func value(_ column: Int) -> [UInt8] {
            switch column {
            case 0: return F.bigint(Int64(Int.random(in: -3...3, using: &generator)))
            case 1:
                var bytes = (0..<16).map { _ in UInt8.random(in: 0...2, using: &generator) }
                bytes[6] = Bool.random(using: &generator) ? 0x10 : 0x40
                return bytes
            default: return F.text(["", "a", "b"].randomElement(using: &generator) ?? "")
            }
        }
        for _ in 0..<2_000 {
            let a = (0..<Int.random(in: 0...3, using: &generator)).map(value)
            let b = (0..<Int.random(in: 0...3, using: &generator)).map(value)
            let limit = Int.random(in: 0...4, using: &generator)
            let key = ClusteringKey(a)
            #expect(key.values == a)
            let expected = ValueOrder.compareClustering(Array(a.prefix(limit)), b, columns: Self.clusteringColumns)
            #expect(key.compare(b, limit: limit, columns: Self.clusteringColumns).signum() == expected.signum())
            #expect(key.compare(b, columns: Self.clusteringColumns).signum()
                == ValueOrder.compareClustering(a, b, columns: Self.clusteringColumns).signum())
        }
    }

    @Test("slice comparison agrees with array comparison for every clustering type", arguments: [
        DataType.int, .bigint, .smallint, .timestamp, .uuid, .timeuuid, .varchar, .blob, .double, .varint, .decimal,
    ])
    func sliceCompare(type: DataType) {
        var generator = SystemRandomNumberGenerator()
        let sizes: [Int] = switch type {
        case .int: [4]
        case .bigint, .timestamp, .double: [8]
        case .smallint: [2]
        case .uuid, .timeuuid: [16]
        default: [0, 1, 3, 5, 9]
        }
        for _ in 0..<500 {
            let a = (0..<(sizes.randomElement(using: &generator) ?? 0)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let b = Bool.random(using: &generator) ? a
                : (0..<(sizes.randomElement(using: &generator) ?? 0)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Slices that do not start at index 0, as they come out of a packed key.
            let paddedA = [7, 7] + a
            let paddedB = [9] + b
            #expect(ValueOrder.compare(paddedA[2...], paddedB[1...], as: type).signum() == ValueOrder.compare(a, b, as: type).signum())
        }
    }

    // MARK: Through storage

    static func state() throws -> StorageState {
        var state = StorageState(log: nil, clock: { 1_000 })
        _ = try state.apply(.createKeyspace(F.keyspace, ifNotExists: false))
        _ = try state.apply(.createTable(F.table, ifNotExists: false))
        return state
    }

    static func read(_ state: StorageState, _ pk: Int32, now: Int32 = 1_000) throws -> [StoredRow] {
        try state.read(table: F.table.id, partitionKey: F.int(pk), query: ReadQuery(now: now)).rows
    }

    @Test("reconcile inside one packed row: per-column last write wins, ties to the tombstone, then the greater value")
    func reconcileInRow() throws {
        var state = try Self.state()
        try state.apply([F.mutation(1, [
            .insertRowMarker(clustering: [F.int(1)], timestamp: 10, ttl: nil),
            F.set(1, "v", F.text("a"), ts: 10), F.set(1, "w", F.int(1), ts: 10),
        ])])
        try state.apply([F.mutation(1, [F.set(1, "v", F.text("old"), ts: 9), F.set(1, "w", F.int(2), ts: 11)])])
        try state.apply([F.mutation(1, [F.set(1, "v", F.text("b"), ts: 10)])])
        var row = try #require(try Self.read(state, 1).first)
        #expect(F.text(of: row, "v") == "b")
        #expect(F.decodeInt(row.columns["w"].flatMap { if case let .cell(cell) = $0 { cell.value } else { nil } }) == 2)
        #expect(row.columns["v"]?.writetime == 10)
        #expect(row.columns["w"]?.writetime == 11)
        try state.apply([F.mutation(1, [.deleteColumn(clustering: [F.int(1)], column: "v", timestamp: 10)])])
        row = try #require(try Self.read(state, 1).first)
        #expect(row.columns["v"] == nil)
        #expect(row.marker?.writetime == 10)
        // A row tombstone at 11 drops the row; a write at 11 stays shadowed, one at 12 brings the row back.
        try state.apply([F.mutation(1, [.deleteRow(clustering: [F.int(1)], timestamp: 11)])])
        try state.apply([F.mutation(1, [F.set(1, "v", F.text("late"), ts: 11)])])
        #expect(try Self.read(state, 1).isEmpty)
        try state.apply([F.mutation(1, [F.set(1, "v", F.text("new"), ts: 12)])])
        #expect(try Self.read(state, 1).map { F.text(of: $0, "v") } == ["new"])
    }

    /// The visible state by Cassandra's rules, computed lazily from every write (no purging, no refusing).
    struct Model {
        var partitionDeletion: Int64 = .min
        var rowDeletions: [Int32: Int64] = [:]
        var ranges: [(low: Int32, high: Int32, timestamp: Int64)] = []
        var markers: [Int32: CellData] = [:]
        var cells: [Int32: [String: CellData]] = [:]

        func shadow(_ ck: Int32) -> Int64 {
            var result = max(partitionDeletion, rowDeletions[ck] ?? .min)
            for range in ranges where range.low <= ck && ck <= range.high { result = max(result, range.timestamp) }
            return result
        }

        /// Each visible row as (ck, [column: value text]) with the marker's presence.
        func visible(now: Int32) -> [Int32: (marker: Bool, columns: [String: String])] {
            var result: [Int32: (marker: Bool, columns: [String: String])] = [:]
            for ck in Set(markers.keys).union(cells.keys) {
                let floor = shadow(ck)
                let marker = markers[ck].map { $0.timestamp > floor && $0.isLive(at: now) } ?? false
                var columns: [String: String] = [:]
                for (name, cell) in cells[ck] ?? [:] where cell.timestamp > floor && cell.isLive(at: now) {
                    columns[name] = String(decoding: cell.value ?? [], as: UTF8.self)
                }
                if marker || !columns.isEmpty { result[ck] = (marker, columns) }
            }
            return result
        }
    }

    @Test("random interleaved writes, deletes and TTLs read the same as a model of Cassandra's rules", arguments: 0..<6)
    func differential(round: Int) throws {
        var generator = SystemRandomNumberGenerator()
        var state = try Self.state()
        var model = Model()
        let names = ["v", "w"]
        for _ in 0..<60 {
            var operations: [MutationOperation] = []
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let ck = Int32.random(in: 0...4, using: &generator)
                let timestamp = Int64.random(in: 1...40, using: &generator)
                let ttl: Int32? = Int.random(in: 0...5, using: &generator) == 0 ? 5 : nil
                switch Int.random(in: 0...19, using: &generator) {
                case 0:
                    operations.append(.deletePartition(timestamp: timestamp))
                    model.partitionDeletion = max(model.partitionDeletion, timestamp)
                case 1, 2:
                    operations.append(.deleteRow(clustering: [F.int(ck)], timestamp: timestamp))
                    model.rowDeletions[ck] = max(model.rowDeletions[ck] ?? .min, timestamp)
                case 3:
                    let high = min(ck + Int32.random(in: 0...2, using: &generator), 4)
                    operations.append(.deleteRange(ClusteringSlice(start: .init([F.int(ck)], inclusive: true),
                                                                   end: .init([F.int(high)], inclusive: true)), timestamp: timestamp))
                    model.ranges.append((ck, high, timestamp))
                case 4...6:
                    operations.append(.insertRowMarker(clustering: [F.int(ck)], timestamp: timestamp, ttl: ttl))
                    let marker = CellData.live([], timestamp: timestamp, ttl: ttl, now: 1_000)
                    model.markers[ck] = model.markers[ck].map { CellData.reconcile($0, marker) } ?? marker
                case 7...8:
                    let name = names.randomElement(using: &generator) ?? "v"
                    operations.append(.deleteColumn(clustering: [F.int(ck)], column: name, timestamp: timestamp))
                    let cell = CellData.tombstone(timestamp: timestamp, now: 1_000)
                    model.cells[ck, default: [:]][name] = model.cells[ck]?[name].map { CellData.reconcile($0, cell) } ?? cell
                default:
                    let name = names.randomElement(using: &generator) ?? "v"
                    let value = F.text(String(Int.random(in: 0...9, using: &generator)))
                    let cell = CellData.live(value, timestamp: timestamp, ttl: ttl, now: 1_000)
                    operations.append(.setColumn(clustering: [F.int(ck)], column: name, value: value, timestamp: timestamp, ttl: ttl))
                    model.cells[ck, default: [:]][name] = model.cells[ck]?[name].map { CellData.reconcile($0, cell) } ?? cell
                }
            }
            // `w` is an int column in the fixture; the model compares raw bytes, so any bytes will do for it.
            try state.apply([F.mutation(1, operations, now: 1_000)])
            for now: Int32 in [1_000, 1_010] {
                let expected = model.visible(now: now)
                let rows = try Self.read(state, 1, now: now)
                #expect(rows.map { F.decodeInt($0.clustering.first) ?? -1 } == expected.keys.sorted())
                for row in rows {
                    let ck = F.decodeInt(row.clustering.first) ?? -1
                    var columns: [String: String] = [:]
                    for (name, value) in row.columns {
                        if case let .cell(cell) = value { columns[name] = String(decoding: cell.value, as: UTF8.self) }
                    }
                    #expect(columns == expected[ck]?.columns, "row \(ck) at \(now)")
                    #expect((row.marker != nil) == (expected[ck]?.marker ?? false), "marker of row \(ck) at \(now)")
                }
            }
        }
        var reloaded = StorageState(log: nil, clock: { 1_000 })
        try reloaded.loadSnapshot(state.encodeSnapshot())
        #expect(try Self.read(reloaded, 1) == Self.read(state, 1))
    }

    @Test("compaction turns expired cells into tombstones and drops them past gc_grace_seconds; live rows are untouched")
    func compaction() throws {
        var state = try Self.state()
        _ = try state.apply(.alterTable(keyspace: "ks", table: "t", .setOptions([("gc_grace_seconds", "100")]), ifExists: false))
        try state.apply([F.mutation(1, [
            .insertRowMarker(clustering: [F.int(1)], timestamp: 1, ttl: 10),
            F.set(1, "v", F.text("x"), ts: 1, ttl: 10), F.set(1, "w", F.int(7), ts: 1),
        ], now: 1_000)])
        try state.apply([F.mutation(2, [F.set(1, "v", F.text("keep"), ts: 1)], now: 1_000)])
        let untouched = state.tables[F.table.id]?.partitions[PartitionPosition(key: F.int(2))]
        state.compact(now: 1_020)
        #expect(state.tables[F.table.id]?.partitions[PartitionPosition(key: F.int(2))] == untouched)
        let row = try #require(try Self.read(state, 1, now: 1_020).first)
        #expect(row.columns["v"] == nil)
        #expect(row.marker == nil)
        #expect(F.decodeInt(row.columns["w"].flatMap { if case let .cell(cell) = $0 { cell.value } else { nil } }) == 7)
        // The expired cell is now a tombstone: an older write stays shadowed until the tombstone is purged.
        try state.apply([F.mutation(1, [F.set(1, "v", F.text("older"), ts: 0)], now: 1_020)])
        #expect(try Self.read(state, 1, now: 1_020).first.flatMap { F.text(of: $0, "v") } == nil)
        try state.apply([F.mutation(1, [.deleteColumn(clustering: [F.int(1)], column: "w", timestamp: 2)], now: 1_020)])
        state.compact(now: 1_200)
        #expect(state.tables[F.table.id]?.partitions[PartitionPosition(key: F.int(1))] == nil)
        #expect(try Self.read(state, 2, now: 1_200).map { F.text(of: $0, "v") } == ["keep"])
    }

    @Test("ALTER TABLE DROP removes the column from existing rows; ADD under the same name starts empty")
    func alterDropAdd() throws {
        var state = try Self.state()
        for pk: Int32 in 1...3 {
            try state.apply([F.mutation(pk, [
                .insertRowMarker(clustering: [F.int(1)], timestamp: 1, ttl: nil),
                F.set(1, "v", F.text("v\(pk)"), ts: 1), F.set(1, "w", F.int(pk), ts: 1),
                .collection(clustering: [F.int(1)], column: "st", .setAdd([F.int(5)]), timestamp: 1, ttl: nil),
            ])])
        }
        // Only `v`: this row is gone with the column.
        try state.apply([F.mutation(4, [F.set(1, "v", F.text("only"), ts: 1)])])
        _ = try state.apply(.alterTable(keyspace: "ks", table: "t", .dropColumns(["v", "st"]), ifExists: false))
        #expect(try Self.read(state, 4).isEmpty)
        #expect(state.tables[F.table.id]?.partitions[PartitionPosition(key: F.int(4))] == nil)
        for pk: Int32 in 1...3 {
            let row = try #require(try Self.read(state, pk).first)
            #expect(Set(row.columns.keys) == ["w"])
        }
        _ = try state.apply(.alterTable(keyspace: "ks", table: "t",
                                        .addColumns([ColumnSchema(name: "v", type: .varchar, kind: .regular),
                                                     ColumnSchema(name: "z", type: .int, kind: .regular)]), ifExists: false))
        #expect(try Self.read(state, 1).first?.columns["v"] == nil)
        try state.apply([F.mutation(1, [F.set(1, "v", F.text("again"), ts: 2), F.set(1, "z", F.int(9), ts: 2)])])
        let row = try #require(try Self.read(state, 1).first)
        #expect(F.text(of: row, "v") == "again")
        #expect(Set(row.columns.keys) == ["v", "w", "z"])

        var reloaded = StorageState(log: nil, clock: { 1_000 })
        try reloaded.loadSnapshot(state.encodeSnapshot())
        #expect(try Self.read(reloaded, 1) == Self.read(state, 1))
        #expect(try Self.read(reloaded, 2) == Self.read(state, 2))
    }

    /// A state with every kind of data the snapshot must carry.
    static func richState() throws -> StorageState {
        var state = try Self.state()
        try state.apply([
            F.mutation(1, [
                .insertRowMarker(clustering: [F.int(1)], timestamp: 5, ttl: 50),
                F.set(1, "v", F.text("a"), ts: 5), F.set(1, "w", F.int(1), ts: 6, ttl: 100),
                .setColumn(clustering: [], column: "s", value: F.text("static"), timestamp: 4, ttl: nil),
                .collection(clustering: [F.int(1)], column: "l", .listAppend([F.text("x"), F.text("y")]), timestamp: 5, ttl: nil),
                .collection(clustering: [F.int(1)], column: "m", .mapPut([.init(key: F.text("k"), value: F.int(3))]),
                            timestamp: 5, ttl: nil),
                F.set(2, "v", F.text("b"), ts: 5), F.set(3, "v", F.text("c"), ts: 5),
            ]),
            F.mutation(1, [.deleteRange(ClusteringSlice(start: .init([F.int(3)], inclusive: true), end: nil), timestamp: 6)]),
            F.mutation(2, [.deletePartition(timestamp: 3), F.set(1, "v", F.text("after"), ts: 4)]),
            F.mutation(3, [.deleteRow(clustering: [F.int(1)], timestamp: 9), .deleteColumn(clustering: [F.int(2)], column: "w", timestamp: 9)]),
        ])
        return state
    }

    @Test("a snapshot decodes into packed rows that read and re-encode the same")
    func snapshotRoundTrip() throws {
        let state = try Self.richState()
        let image = state.encodeSnapshot()
        var reloaded = StorageState(log: nil, clock: { 1_000 })
        try reloaded.loadSnapshot(image)
        #expect(reloaded.encodeSnapshot() == image)
        for pk: Int32 in 1...3 {
            #expect(try Self.read(reloaded, pk) == Self.read(state, pk))
        }
        #expect(try Self.read(state, 1).map { F.decodeInt($0.clustering.first) } == [1, 2])
        #expect(try Self.read(state, 2).map { F.text(of: $0, "v") } == ["after"])
    }

    @Test("a snapshot larger than a piece is emitted in pieces and written as one file that parses back whole")
    func streamedSnapshot() throws {
        var state = try Self.state()
        let value = F.text(String(repeating: "p", count: 600))
        for pk: Int32 in 0..<2_500 {
            try state.apply([F.mutation(pk, [F.set(1, "v", value, ts: 1), F.set(2, "w", F.int(pk), ts: 1)])])
        }
        var pieces: [[UInt8]] = []
        state.encodeSnapshot { pieces.append($0) }
        #expect(pieces.count >= 2)
        let image = state.encodeSnapshot()
        #expect(pieces.flatMap { $0 } == image)

        let path = NSTemporaryDirectory() + "/packed-snapshot-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try CommitLog.writeSnapshot(handle.fileDescriptor, path: path) { emit in state.encodeSnapshot(emit) }
        try handle.close()
        let file = try CommitLog.readFile(path)
        #expect(CommitLog.parseSnapshot(file) == image)
        var damaged = file
        damaged[damaged.count / 2] ^= 1
        #expect(CommitLog.parseSnapshot(damaged) == nil)

        var reloaded = StorageState(log: nil, clock: { 1_000 })
        try reloaded.loadSnapshot(image)
        #expect(try Self.read(reloaded, 2_499) == Self.read(state, 2_499))
    }

    @Test("a damaged snapshot throws StorageError.corrupt, whatever the damage")
    func corruptSnapshot() throws {
        let image = try Self.richState().encodeSnapshot()
        var generator = SystemRandomNumberGenerator()
        var damaged: [[UInt8]] = [[], Array(image.dropLast()), image + [0], Array(repeating: 0xFF, count: 64)]
        for _ in 0..<200 {
            var bytes = image
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            bytes[index] ^= UInt8.random(in: 1...255, using: &generator)
            damaged.append(bytes)
            damaged.append(Array(image.prefix(Int.random(in: 0..<image.count, using: &generator))))
        }
        for bytes in damaged {
            var state = StorageState(log: nil, clock: { 1_000 })
            do {
                try state.loadSnapshot(bytes)
                // A flipped byte inside a value or timestamp can still decode: then it must read without trapping.
                for pk: Int32 in 1...3 { _ = try? Self.read(state, pk) }
                _ = state.encodeSnapshot()
            } catch {
                guard case .corrupt = error else {
                    Issue.record("unexpected error \(error)")
                    continue
                }
            }
        }
        var state = StorageState(log: nil, clock: { 1_000 })
        #expect(throws: StorageError.self) { try state.loadSnapshot(Array(image.dropLast())) }
    }
}
