import CQLCodec
import Foundation
import NIOConcurrencyHelpers

/// Testing aid: a JSON-lines file with one line per applied conditional write (LWT), so a harness can
/// judge lock hand-overs in the order the node committed them rather than in the order it sampled them.
///
/// Each line: `{"boot": B, "seq": N, "ts": T, "keyspace": ..., "table": ..., "key": {...}, "rows": [...]}`
/// where `boot` identifies the node process (microseconds at open, so lines of a restarted node sort
/// after the previous one's), `seq` is the commit order within it (drawn while the partition's LWT holds
/// the storage lock), `ts` the write timestamp in microseconds, and each row lists its clustering values,
/// the columns written (`null` for a deleted cell), their TTLs and any row, range or partition deletion.
/// A line is appended once the write is durable, so an LWT lost to a crash before its commit-log flush
/// (which no client saw applied) leaves a gap in `seq` rather than a line; lines may land slightly out of
/// `seq` order, so readers sort by (`boot`, `seq`).
public final class LWTAuditLog: Sendable {
    /// Where the lines go.
    public let path: String
    /// The node process's mark on each line (microseconds since the epoch when the log was opened).
    public let boot: Int64
    private let fd: Int32
    private let sequence = NIOLockedValueBox<Int64>(0)
    private let writeLock = NIOLock()

    /// Opens (creating or appending to) the log at `path`.
    public init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StorageError.io(operation: "open", path: path, errno: errno)
        }
        self.path = path
        self.fd = fd
        self.boot = Int64((Date().timeIntervalSince1970 * 1_000_000).rounded(.down))
    }

    deinit { close(fd) }

    /// The next commit sequence number; called while the LWT holds the storage lock.
    func nextSequence() -> Int64 {
        sequence.withLockedValue { value in
            value += 1
            return value
        }
    }

    /// Appends the line of an applied LWT.
    func record(sequence: Int64, timestamp: Int64, table: TableSchema, mutations: [Mutation]) {
        var line = Self.line(boot: boot, sequence: sequence, timestamp: timestamp, table: table, mutations: mutations)
        line.append(0x0A)
        writeLock.withLock {
            var offset = 0
            while offset < line.count {
                let written = line.withUnsafeBytes { raw in write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset) }
                if written < 0 && errno == EINTR { continue }
                // A testing aid must never fail the write it describes; a short disk shows up as a missing line.
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    /// The JSON text of one line (without the newline).
    static func line(boot: Int64, sequence: Int64, timestamp: Int64, table: TableSchema, mutations: [Mutation]) -> [UInt8] {
        let types = Dictionary(table.columns.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
        var key: [String: Any] = [:]
        if let first = mutations.first, let components = table.partitionKeyComponents(first.partitionKey) {
            for (column, bytes) in zip(table.partitionKeyColumns, components) { key[column.name] = jsonValue(bytes, type: column.type) }
        }
        var rows: [[UInt8]: [String: Any]] = [:]
        var order: [[UInt8]] = []
        func row(_ clustering: [[UInt8]], _ update: (inout [String: Any]) -> Void) {
            let id = clustering.flatMap { [UInt8(truncatingIfNeeded: $0.count >> 8), UInt8(truncatingIfNeeded: $0.count)] + $0 }
            if rows[id] == nil {
                order.append(id)
                var fresh: [String: Any] = ["columns": [String: Any]()]
                var values: [String: Any] = [:]
                for (column, bytes) in zip(table.clusteringColumns, clustering) { values[column.name] = jsonValue(bytes, type: column.type) }
                if !values.isEmpty { fresh["clustering"] = values }
                rows[id] = fresh
            }
            if var current = rows[id] {
                update(&current)
                rows[id] = current
            }
        }
        func set(_ entry: inout [String: Any], column: String, value: Any, ttl: Int32?) {
            var columns = entry["columns"] as? [String: Any] ?? [:]
            columns[column] = value
            entry["columns"] = columns
            if let ttl {
                var ttls = entry["ttl"] as? [String: Any] ?? [:]
                ttls[column] = Int(ttl)
                entry["ttl"] = ttls
            }
        }
        for mutation in mutations {
            for operation in mutation.operations {
                switch operation {
                case .deletePartition:
                    row([]) { $0["delete"] = "partition" }
                case let .deleteRow(clustering, _):
                    row(clustering) { $0["delete"] = "row" }
                case .deleteRange:
                    row([]) { $0["delete"] = "range" }
                case let .insertRowMarker(clustering, _, ttl):
                    row(clustering) { entry in
                        entry["insert"] = true
                        if let ttl { entry["row_ttl"] = Int(ttl) }
                    }
                case let .setColumn(clustering, column, value, _, ttl):
                    row(clustering) { set(&$0, column: column, value: jsonValue(value, type: types[column] ?? .blob), ttl: ttl) }
                case let .deleteColumn(clustering, column, _):
                    row(clustering) { set(&$0, column: column, value: NSNull(), ttl: nil) }
                case let .counterAdd(clustering, column, delta, _):
                    row(clustering) { set(&$0, column: column, value: ["add": delta], ttl: nil) }
                case let .collection(clustering, column, change, _, ttl):
                    row(clustering) { set(&$0, column: column, value: ["change": "\(change)"], ttl: ttl) }
                }
            }
        }
        let object: [String: Any] = [
            "boot": boot, "seq": sequence, "ts": timestamp, "keyspace": table.keyspace, "table": table.name,
            "key": key, "rows": order.compactMap { rows[$0] },
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return Array("{\"boot\":\(boot),\"seq\":\(sequence),\"error\":\"unencodable\"}".utf8)
        }
        return Array(data)
    }

    /// A serialized value as JSON: numbers and timestamps (milliseconds) as numbers, text and UUIDs as
    /// strings, anything else as its CQL literal.
    static func jsonValue(_ bytes: [UInt8], type: DataType) -> Any {
        guard let value = try? CQLValue.decode(bytes, as: type) else { return "0x" + bytes.map { String(format: "%02x", $0) }.joined() }
        switch value {
        case .null: return NSNull()
        case let .ascii(text), let .text(text): return text
        case let .bigint(number), let .counter(number), let .timestamp(number): return number
        case let .int(number): return Int(number)
        case let .smallint(number): return Int(number)
        case let .tinyint(number): return Int(number)
        case let .boolean(flag): return flag
        case let .uuid(id), let .timeuuid(id): return id.uuidString.lowercased()
        default: return value.cqlLiteral
        }
    }
}
