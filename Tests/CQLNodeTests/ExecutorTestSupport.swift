import CQLWire
import Foundation
import Synchronization
@testable import CQLNode

/// A clock tests move by hand (microseconds), so TTL expiry needs no sleeping.
final class ManualClock: Sendable {
    private let micros: Mutex<Int64>

    init(seconds: Int64 = 1_800_000_000) { micros = Mutex(seconds * 1_000_000) }

    func advance(seconds: Int64) { micros.withLock { $0 += seconds * 1_000_000 } }

    var now: Int64 { micros.withLock { $0 } }
}

/// An executor over in-memory storage with keyspace `cap` and the fixture tables, driven through `handle`.
struct ExecutorHarness {
    let storage: Storage
    let executor: NodeExecutor
    let session: ClientSession
    let clock: ManualClock

    static let keyspace = KeyspaceSchema(name: "cap", replication: [("class", "SimpleStrategy"), ("replication_factor", "1")])

    /// `locks` as lwt.pcap's schema: `name text PRIMARY KEY, owner text, fencing_token bigint, epoch bigint, expire_at timestamp`.
    static let locks = TableSchema(keyspace: "cap", name: "locks", columns: [
        ColumnSchema(name: "name", type: .varchar, kind: .partitionKey(position: 0)),
        ColumnSchema(name: "owner", type: .varchar, kind: .regular),
        ColumnSchema(name: "fencing_token", type: .bigint, kind: .regular),
        ColumnSchema(name: "epoch", type: .bigint, kind: .regular),
        ColumnSchema(name: "expire_at", type: .timestamp, kind: .regular),
    ])

    /// `pg` as batch.pcap's schema: `p int, c int, v text, PRIMARY KEY (p, c)`.
    static let pg = TableSchema(keyspace: "cap", name: "pg", columns: [
        ColumnSchema(name: "p", type: .int, kind: .partitionKey(position: 0)),
        ColumnSchema(name: "c", type: .int, kind: .clustering(position: 0, order: .ascending)),
        ColumnSchema(name: "v", type: .varchar, kind: .regular),
    ])

    /// `t (pk int, ck int, s text static, v text, w int, l list<text>, st set<int>, m map<text, int>, PRIMARY KEY (pk, ck))`.
    static let t = TableSchema(keyspace: "cap", name: "t", columns: [
        ColumnSchema(name: "pk", type: .int, kind: .partitionKey(position: 0)),
        ColumnSchema(name: "ck", type: .int, kind: .clustering(position: 0, order: .ascending)),
        ColumnSchema(name: "s", type: .varchar, kind: .static),
        ColumnSchema(name: "v", type: .varchar, kind: .regular),
        ColumnSchema(name: "w", type: .int, kind: .regular),
        ColumnSchema(name: "l", type: .list(.varchar), kind: .regular),
        ColumnSchema(name: "st", type: .set(.int), kind: .regular),
        ColumnSchema(name: "m", type: .map(key: .varchar, value: .int), kind: .regular),
    ])

    /// `d (k int, c int, v int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC)`.
    static let d = TableSchema(keyspace: "cap", name: "d", columns: [
        ColumnSchema(name: "k", type: .int, kind: .partitionKey(position: 0)),
        ColumnSchema(name: "c", type: .int, kind: .clustering(position: 0, order: .descending)),
        ColumnSchema(name: "v", type: .int, kind: .regular),
    ])

    /// `mc (k int, a int, b int, v int, PRIMARY KEY (k, a, b))`.
    static let mc = TableSchema(keyspace: "cap", name: "mc", columns: [
        ColumnSchema(name: "k", type: .int, kind: .partitionKey(position: 0)),
        ColumnSchema(name: "a", type: .int, kind: .clustering(position: 0, order: .ascending)),
        ColumnSchema(name: "b", type: .int, kind: .clustering(position: 1, order: .ascending)),
        ColumnSchema(name: "v", type: .int, kind: .regular),
    ])

    /// `counts (k text PRIMARY KEY, n counter)`.
    static let counts = TableSchema(keyspace: "cap", name: "counts", columns: [
        ColumnSchema(name: "k", type: .varchar, kind: .partitionKey(position: 0)),
        ColumnSchema(name: "n", type: .counter, kind: .regular),
    ])

    /// `kv (k int PRIMARY KEY, v int)`.
    static let kv = TableSchema(keyspace: "cap", name: "kv", columns: [
        ColumnSchema(name: "k", type: .int, kind: .partitionKey(position: 0)),
        ColumnSchema(name: "v", type: .int, kind: .regular),
    ])

    /// A keyspace with replication factor 3, where only ONE-like levels are achievable on one node.
    static let rf3 = KeyspaceSchema(name: "rf3", replication: [("class", "SimpleStrategy"), ("replication_factor", "3")])
    static let rf3Table = TableSchema(keyspace: "rf3", name: "kv", columns: [
        ColumnSchema(name: "k", type: .int, kind: .partitionKey(position: 0)),
        ColumnSchema(name: "v", type: .int, kind: .regular),
    ])

    init(useKeyspace: Bool = true) throws {
        let clock = ManualClock()
        let storage = try Storage(options: StorageOptions())
        _ = try storage.apply(.createKeyspace(Self.keyspace, ifNotExists: false))
        for table in [Self.locks, Self.pg, Self.t, Self.d, Self.mc, Self.counts, Self.kv] {
            _ = try storage.apply(.createTable(table, ifNotExists: false))
        }
        _ = try storage.apply(.createKeyspace(Self.rf3, ifNotExists: false))
        _ = try storage.apply(.createTable(Self.rf3Table, ifNotExists: false))
        self.storage = storage
        self.clock = clock
        self.executor = NodeExecutor(storage: storage, clock: { clock.now })
        self.session = ClientSession(keyspace: useKeyspace ? "cap" : nil)
    }

    var context: RequestContext { RequestContext(stream: 1, session: session) }

    /// Writes the system keyspaces the schema executor keeps in sync (DDL needs them).
    func installSystemKeyspaces() async throws {
        try await SystemKeyspaces.install(in: storage, identity: NodeIdentity())
    }

    static func parameters(_ values: [WireValue] = [], consistency: Consistency = .one, pageSize: Int32? = nil,
                           pagingState: [UInt8]? = nil, serial: Consistency? = nil, skipMetadata: Bool = false,
                           timestamp: Int64? = nil) -> QueryParameters {
        QueryParameters(consistency: consistency, values: values.isEmpty ? .none : .positional(values), skipMetadata: skipMetadata,
                        pageSize: pageSize, pagingState: pagingState, serialConsistency: serial, defaultTimestamp: timestamp)
    }

    /// QUERY: the response message.
    func query(_ cql: String, _ values: [WireValue] = [], consistency: Consistency = .one, pageSize: Int32? = nil,
               pagingState: [UInt8]? = nil, serial: Consistency? = nil, timestamp: Int64? = nil) async -> ResponseMessage {
        let parameters = Self.parameters(values, consistency: consistency, pageSize: pageSize, pagingState: pagingState,
                                         serial: serial, timestamp: timestamp)
        return await executor.handle(.query(Query(query: cql, parameters: parameters)), context: context).message
    }

    /// QUERY that must succeed with rows: their cells.
    func rows(_ cql: String, _ values: [WireValue] = [], pageSize: Int32? = nil, pagingState: [UInt8]? = nil) async throws -> [[[UInt8]?]] {
        try Self.rows(of: await query(cql, values, pageSize: pageSize, pagingState: pagingState))
    }

    /// QUERY that must succeed (void or rows).
    @discardableResult
    func run(_ cql: String, _ values: [WireValue] = [], timestamp: Int64? = nil) async throws -> ResponseMessage {
        let message = await query(cql, values, timestamp: timestamp)
        if case let .error(error) = message { throw HarnessError(description: "\(cql): \(error.message)") }
        return message
    }

    /// The ERROR a QUERY answers, or nil.
    func error(_ cql: String, _ values: [WireValue] = [], consistency: Consistency = .one, serial: Consistency? = nil) async -> ServerError? {
        if case let .error(error) = await query(cql, values, consistency: consistency, serial: serial) { return error }
        return nil
    }

    static func rows(of message: ResponseMessage) throws -> [[[UInt8]?]] {
        guard case let .result(.rows(rows)) = message else { throw HarnessError(description: "expected rows, got \(message)") }
        return try rows.cellValues()
    }

    static func resultRows(_ message: ResponseMessage) throws -> Rows {
        guard case let .result(.rows(rows)) = message else { throw HarnessError(description: "expected rows, got \(message)") }
        return rows
    }

    /// The RESULT body bytes as they go on the wire.
    static func body(_ message: ResponseMessage) -> [UInt8] {
        var writer = ByteWriter()
        message.encode(into: &writer)
        return writer.bytes
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
}

/// Value helpers for assertions.
enum V {
    static func int(_ value: Int32) -> WireValue { .bytes(StorageFixture.int(value)) }
    static func bigint(_ value: Int64) -> WireValue { .bytes(StorageFixture.bigint(value)) }
    static func text(_ value: String) -> WireValue { .bytes(Array(value.utf8)) }
    static func int(_ bytes: [UInt8]?) -> Int32? { StorageFixture.decodeInt(bytes) }
    static func bigint(_ bytes: [UInt8]?) -> Int64? { StorageFixture.decodeBigint(bytes) }
    static func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
}
