import CQLWire
import Foundation
import Testing
@testable import CQLNode

@Suite("Commit log: group commit, crash recovery, snapshots")
struct CommitLogTests {
    typealias F = StorageFixture

    static func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cqlnode-\(UUID().uuidString)").path
        return path
    }

    static func files(_ directory: String, suffix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(suffix) }.sorted()
    }

    static func values(_ storage: Storage) throws -> [Int32: Int32] {
        var result: [Int32: Int32] = [:]
        for row in try storage.scan(table: F.table.id, query: ReadQuery(now: 1_000)).rows {
            guard let pk = F.decodeInt(row.partitionKey), case let .cell(cell)? = row.columns["w"] else { continue }
            result[pk] = F.decodeInt(cell.value)
        }
        return result
    }

    @Test("acknowledged mutations and schema survive a crash (no close, no snapshot)")
    func crashRecovery() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let storage = try F.storage(StorageOptions(dataDirectory: directory))
        var last: LogSequenceNumber = 0
        for pk in Int32(0)..<200 {
            last = try storage.apply([F.mutation(pk, [F.set(1, "w", F.int(pk * 2), ts: 1)])])
        }
        try await storage.awaitDurable(last)
        storage.abandonForTesting()

        let reopened = try Storage(options: StorageOptions(dataDirectory: directory))
        defer { reopened.close() }
        #expect(try reopened.catalog.table(keyspace: "ks", name: "t") == F.table)
        let values = try Self.values(reopened)
        #expect(values.count == 200)
        #expect(values.allSatisfy { $0.value == $0.key * 2 })
        #expect(reopened.droppedTailBytes == 0)
    }

    @Test("a torn or corrupt tail is dropped and truncated; appends after it survive the next start", arguments: [true, false])
    func tornTail(truncate: Bool) async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let storage = try F.storage(StorageOptions(dataDirectory: directory))
        var last: LogSequenceNumber = 0
        for pk in Int32(0)..<10 {
            last = try storage.apply([F.mutation(pk, [F.set(1, "w", F.int(pk), ts: 1)])])
        }
        try await storage.awaitDurable(last)
        storage.close()

        guard let logName = Self.files(directory, suffix: ".log").last else {
            Issue.record("no log file")
            return
        }
        let path = directory + "/" + logName
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        if truncate {
            bytes.removeLast(5)
        } else {
            bytes[bytes.count - 3] ^= 0xFF
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let reopened = try Storage(options: StorageOptions(dataDirectory: directory))
        #expect(reopened.droppedTailBytes > 0)
        var values = try Self.values(reopened)
        #expect(values.count == 9)
        #expect(values[9] == nil)
        let lsn = try reopened.apply([F.mutation(42, [F.set(1, "w", F.int(42), ts: 1)])])
        try await reopened.awaitDurable(lsn)
        reopened.abandonForTesting()

        let again = try Storage(options: StorageOptions(dataDirectory: directory))
        defer { again.close() }
        #expect(again.droppedTailBytes == 0)
        values = try Self.values(again)
        #expect(values.count == 10)
        #expect(values[42] == 42)
    }

    @Test("snapshots bound the log; state survives snapshot, more writes and a crash")
    func snapshots() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let options = StorageOptions(dataDirectory: directory, snapshotThreshold: 4_096, clock: { 1_000 })
        let storage = try F.storage(options)
        var last: LogSequenceNumber = 0
        for pk in Int32(0)..<300 {
            last = try storage.apply([F.mutation(pk % 50, [F.set(pk, "w", F.int(pk), ts: Int64(pk)),
                                                          .collection(clustering: [F.int(pk)], column: "l", .listAppend([F.text("x")]), timestamp: 1, ttl: nil)])])
            if pk == 150 {
                _ = try storage.apply(.alterTable(keyspace: "ks", table: "t", .setOptions([("comment", "mid")]), ifExists: false))
            }
        }
        // Deleted data stays deleted through the snapshot.
        last = try storage.apply([F.mutation(7, [.deletePartition(timestamp: 1_000)])])
        try await storage.awaitDurable(last)
        let before = try storage.scan(table: F.table.id, query: ReadQuery(now: 1_000)).rows
        storage.abandonForTesting()

        #expect(Self.files(directory, suffix: ".snap").count == 1)
        #expect(Self.files(directory, suffix: ".log").count == 1)
        let reopened = try Storage(options: options)
        let after = try reopened.scan(table: F.table.id, query: ReadQuery(now: 1_000)).rows
        #expect(after == before)
        #expect(after.count == 294)
        #expect(try reopened.catalog.table(keyspace: "ks", name: "t").option("comment") == "mid")
        let lsn = try reopened.apply([F.mutation(7, [F.set(1, "w", F.int(1), ts: 2_000)])])
        try await reopened.awaitDurable(lsn)
        reopened.close()

        let again = try Storage(options: options)
        defer { again.close() }
        #expect(try again.scan(table: F.table.id, query: ReadQuery(now: 1_000)).rows.count == 295)
    }

    @Test("a snapshot drops expired cells and tombstones past gc_grace_seconds, and keeps live data")
    func snapshotCompaction() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let options = StorageOptions(dataDirectory: directory, snapshotThreshold: 1, clock: { 10_000 })
        let storage = try F.storage(options)
        _ = try storage.apply(.alterTable(keyspace: "ks", table: "t", .setOptions([("gc_grace_seconds", "0")]), ifExists: false))
        try storage.apply([F.mutation(1, [F.set(1, "v", F.text("expires"), ts: 1, ttl: 10), F.set(1, "w", F.int(1), ts: 1)], now: 1_000)])
        try storage.apply([F.mutation(1, [.deleteRow(clustering: [F.int(2)], timestamp: 5)], now: 1_000)])
        let lsn = try storage.apply([F.mutation(2, [.deletePartition(timestamp: 5)], now: 1_000)])
        try await storage.awaitDurable(lsn)
        storage.abandonForTesting()

        let reopened = try Storage(options: options)
        defer { reopened.close() }
        let data = reopened.withTransaction { state in state.tables[F.table.id] ?? TableData() }
        #expect(data.partitions.count == 1)
        let rows = data.partitions[PartitionPosition(key: F.int(1))]?.rows ?? []
        #expect(rows.map(\.clustering.values) == [[F.int(1)]])
        let stored = rows.first?.row.edit().cells.compactMap { data.columns.name($0.id) } ?? []
        #expect(stored == ["w"])
    }

    @Test("64 concurrent writers share fsyncs and are all durable after awaitDurable")
    func concurrentWriters() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let storage = try F.storage(StorageOptions(dataDirectory: directory))
        let writers = 64
        let perWriter = 25
        let start = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in 0..<perWriter {
                        let pk = Int32(writer * perWriter + index)
                        let lsn = try storage.apply([F.mutation(pk, [F.set(1, "w", F.int(pk), ts: 1)])])
                        try await storage.awaitDurable(lsn)
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = Date().timeIntervalSince(start)
        let total = writers * perWriter
        print("commit log: \(total) durable writes from \(writers) writers in \(String(format: "%.3f", elapsed)) s "
              + "(\(Int(Double(total) / max(elapsed, 0.000_001))) writes/s)")
        storage.abandonForTesting()

        let reopened = try Storage(options: StorageOptions(dataDirectory: directory))
        defer { reopened.close() }
        let values = try Self.values(reopened)
        #expect(values.count == total)
    }

    @Test("leftovers of a crash during rotation (a temporary snapshot) are ignored and removed")
    func crashDuringRotation() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let storage = try F.storage(StorageOptions(dataDirectory: directory))
        let lsn = try storage.apply([F.mutation(1, [F.set(1, "w", F.int(5), ts: 1)])])
        try await storage.awaitDurable(lsn)
        storage.abandonForTesting()
        let temporary = directory + "/" + CommitLog.snapshotName(1) + ".tmp"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: temporary))

        let reopened = try Storage(options: StorageOptions(dataDirectory: directory))
        defer { reopened.close() }
        #expect(try Self.values(reopened) == [1: 5])
        #expect(!FileManager.default.fileExists(atPath: temporary))
    }

    @Test("a log torn inside its header is replaced by an empty one")
    func tornHeader() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let storage = try Storage(options: StorageOptions(dataDirectory: directory))
        storage.close()
        guard let logName = Self.files(directory, suffix: ".log").last else {
            Issue.record("no log file")
            return
        }
        try Data([0x43, 0x51, 0x4C]).write(to: URL(fileURLWithPath: directory + "/" + logName))
        let reopened = try F.storage(StorageOptions(dataDirectory: directory))
        #expect(reopened.droppedTailBytes == 3)
        reopened.close()
        let again = try Storage(options: StorageOptions(dataDirectory: directory))
        defer { again.close() }
        #expect(try again.catalog.table(keyspace: "ks", name: "t") == F.table)
    }

    @Test("after close, a write is never reported durable")
    func writeAfterClose() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let storage = try F.storage(StorageOptions(dataDirectory: directory))
        storage.close()
        let lsn = try storage.apply([F.mutation(1, [F.set(1, "w", F.int(1), ts: 1)])])
        await #expect(throws: StorageError.self) { try await storage.awaitDurable(lsn) }
    }

    @Test("in-memory storage writes no files and is durable at once")
    func inMemory() async throws {
        let storage = try F.storage()
        let lsn = try storage.apply([F.mutation(1, [F.set(1, "w", F.int(1), ts: 1)])])
        try await storage.awaitDurable(lsn)
        #expect(try F.rows(storage, 1).count == 1)
    }

    @Test("record framing: CRC32 matches the zlib check value and parsing stops at a bad CRC")
    func framing() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        let good = CommitLog.frame([1, 2, 3])
        var file = StorageCodec.logMagic + good + good
        #expect(CommitLog.parseLog(file).records == [[1, 2, 3], [1, 2, 3]])
        file[file.count - 1] = 9
        let parsed = CommitLog.parseLog(file)
        #expect(parsed.records.count == 1)
        #expect(parsed.validEnd == StorageCodec.logMagic.count + good.count)
    }
}
