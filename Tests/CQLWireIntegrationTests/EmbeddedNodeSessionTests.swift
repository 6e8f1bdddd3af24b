@testable import CQLNode
import CQLWire
import Foundation
import Testing
import TestSupport

/// The session end to end against the embedded node's real executor and storage.
@Suite("CQLSession against the embedded node")
struct EmbeddedNodeSessionTests {
    static func session(_ node: EmbeddedNode, keyspace: String? = nil, pageSize: Int32 = 5000) async throws -> CQLSession {
        try await CQLSession.connect(CQLSession.Configuration(
            contactPoints: [CQLEndpoint(host: node.host, port: node.port)], keyspace: keyspace, consistency: .one,
            pageSize: pageSize, reconnection: ReconnectionPolicy(baseDelay: .milliseconds(20), maxDelay: .milliseconds(200))))
    }

    static func createKeyspace(_ session: CQLSession, _ name: String) async throws {
        _ = try await session.execute("CREATE KEYSPACE \(name) WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
    }

    static func typedColumns() throws -> [(name: String, type: String, value: CQLValue)] {
        let inet = try #require(InetAddress("2001:db8::1"))
        let time = try #require(CQLTime(hour: 23, minute: 59, second: 59, nanosecond: 999_999_999))
        let uuid = try #require(UUID(uuidString: "6ab09bec-e68e-48d9-a5f8-97e6fb4c9b47"))
        let timeuuid = try #require(UUID(uuidString: "50554d6e-29bb-11e5-b345-feff819cdc9f"))
        let varint = try #require(CQLVarint("-98765432109876543210987654321"))
        return [
        ("c_ascii", "ascii", .ascii("plain ascii")),
        ("c_bigint", "bigint", .bigint(.min)),
        ("c_blob", "blob", .blob([0, 1, 0xFE, 0xFF])),
        ("c_boolean", "boolean", .boolean(true)),
        ("c_decimal", "decimal", .decimal(CQLDecimal(unscaled: CQLVarint(-123_456_789), scale: 4))),
        ("c_double", "double", .double(-1.5e300)),
        ("c_float", "float", .float(3.25)),
        ("c_inet", "inet", .inet(inet)),
        ("c_int", "int", .int(.max)),
        ("c_smallint", "smallint", .smallint(-32768)),
        ("c_tinyint", "tinyint", .tinyint(127)),
        ("c_text", "text", .text("héllo ☃ 🎉")),
        ("c_timestamp", "timestamp", .timestamp(1_732_873_200_123)),
        ("c_date", "date", .date(CQLDate(daysSinceEpoch: -719_162))),
        ("c_time", "time", .time(time)),
        ("c_uuid", "uuid", .uuid(uuid)),
        ("c_timeuuid", "timeuuid", .timeuuid(timeuuid)),
        ("c_varint", "varint", .varint(varint)),
        ("c_duration", "duration", .duration(CQLDuration(months: 14, days: -3, nanoseconds: 5_000_000_001))),
        ("c_list", "list<int>", .list([.int(3), .int(1), .int(2)])),
        ("c_set", "set<text>", .set([.text("a"), .text("b")])),
        ("c_map", "map<text, int>", .map([CQLMapEntry(key: .text("x"), value: .int(1)), CQLMapEntry(key: .text("y"), value: .int(2))])),
        ("c_tuple", "tuple<int, text>", .tuple([.int(7), .text("seven")])),
        ("c_frozen", "frozen<list<frozen<set<int>>>>", .list([.set([.int(1)]), .set([])])),
        ]
    }

    @Test("every CQL type round-trips through a real table, bound by a prepared statement and by a simple one")
    func everyType() async throws {
        let node = try await EmbeddedNode.start(.init())
        defer { Task { try? await node.shutdown() } }
        let session = try await Self.session(node)
        defer { session.close() }
        try await Self.createKeyspace(session, "types")
        let columns = try Self.typedColumns()
        _ = try await session.execute("CREATE TABLE types.t (k int PRIMARY KEY, \(columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ")))")
        let names = columns.map(\.name).joined(separator: ", ")
        let markers = columns.map { _ in "?" }.joined(separator: ", ")
        let insert = try await session.prepare("INSERT INTO types.t (k, \(names)) VALUES (?, \(markers))")
        _ = try await session.execute(try insert.bind([Int32(1)] + columns.map(\.value)))
        let select = try await session.prepare("SELECT \(names) FROM types.t WHERE k = ?")
        let row = try #require(try await session.execute(try select.bind(Int32(1))).first)
        for (index, column) in columns.enumerated() {
            #expect(try row.value(at: index) == column.value, "\(column.name)")
        }
        // A simple statement binds each value with types from the table's own column types in the node.
        let wire = try CQLBinder.encodeValues(columns.map(\.value), for: insert.variables.dropFirst().map { $0 })
        _ = try await session.execute(CQLStatement("INSERT INTO types.t (k, \(names)) VALUES (2, \(markers))", values: wire))
        let second = try #require(try await session.execute(try select.bind(Int32(2))).first)
        #expect(try second.values() == columns.map(\.value))
    }

    @Test("paging over 10,000 rows with pages of 100 returns every row exactly once")
    func paging() async throws {
        let node = try await EmbeddedNode.start(.init())
        defer { Task { try? await node.shutdown() } }
        let session = try await Self.session(node, pageSize: 100)
        defer { session.close() }
        try await Self.createKeyspace(session, "paging")
        _ = try await session.execute("CREATE TABLE paging.t (p int, c int, v text, PRIMARY KEY (p, c))")
        let insert = try await session.prepare("INSERT INTO paging.t (p, c, v) VALUES (?, ?, ?)")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for index in stride(from: worker, to: 10_000, by: 8) {
                        _ = try await session.execute(try insert.bind(Int32(index % 37), Int32(index), "row \(index)"))
                    }
                }
            }
            try await group.waitForAll()
        }
        struct Entry: Decodable, Sendable { var p: Int32; var c: Int32; var v: String }
        var seen: [Int32: Int] = [:]
        for try await entry in session.rows(CQLStatement("SELECT p, c, v FROM paging.t", values: []), as: Entry.self) {
            seen[entry.c, default: 0] += 1
            #expect(entry.v == "row \(entry.c)")
        }
        #expect(seen.count == 10_000)
        #expect(seen.values.allSatisfy { $0 == 1 })

        // Manual paging: resume from a page's paging state.
        var statement = CQLStatement("SELECT c FROM paging.t WHERE p = 0", values: [])
        statement.pageSize = 50
        var resumed: [Int32] = []
        var state: [UInt8]?
        repeat {
            let page = try await session.execute(statement.resuming(at: state))
            resumed += try page.decode(Int32.self)
            state = page.pagingState
        } while state != nil
        #expect(resumed == Array(stride(from: Int32(0), to: 10_000, by: 37)))
    }

    @Test("16 tasks contending for one LWT row: exactly one wins, the others see the winner")
    func lwtContention() async throws {
        let node = try await EmbeddedNode.start(.init())
        defer { Task { try? await node.shutdown() } }
        let session = try await Self.session(node)
        defer { session.close() }
        try await Self.createKeyspace(session, "locks")
        _ = try await session.execute("CREATE TABLE locks.lease (name text PRIMARY KEY, owner text, fence bigint)")
        let claim = try await session.prepare("INSERT INTO locks.lease (name, owner, fence) VALUES (?, ?, ?) IF NOT EXISTS")
        let outcomes = try await withThrowingTaskGroup(of: (String, LWTResult).self) { group in
            for contender in 0..<16 {
                group.addTask {
                    let result = try await session.execute(try claim.bind("job-1", "worker-\(contender)", Int64(contender)))
                    return ("worker-\(contender)", try #require(result.lwt))
                }
            }
            var outcomes: [(String, LWTResult)] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        let winners = outcomes.filter { $0.1.applied }
        #expect(winners.count == 1)
        let winner = try #require(winners.first?.0)
        for (_, lost) in outcomes where !lost.applied {
            #expect(try lost.value(String.self, named: "owner") == winner)
        }
        // Then a fenced hand-over: only the holder's conditional update applies.
        let handOver = try await session.prepare("UPDATE locks.lease SET owner = ?, fence = ? WHERE name = ? IF owner = ?")
        var applied = 0
        for contender in 0..<16 {
            let result = try await session.execute(try handOver.bind("next", Int64(100), "job-1", "worker-\(contender)"))
            if result.wasApplied { applied += 1 }
        }
        #expect(applied == 1)
    }

    @Test("a restarted node forgot its prepared statements: the session re-prepares transparently")
    func reprepareAfterRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cqlwire-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await EmbeddedNode.start(.init(dataDirectory: directory))
        let port = first.port
        let session = try await Self.session(first)
        defer { session.close() }
        try await Self.createKeyspace(session, "restart")
        _ = try await session.execute("CREATE TABLE restart.t (k int PRIMARY KEY, v text)")
        let insert = try await session.prepare("INSERT INTO restart.t (k, v) VALUES (?, ?)")
        _ = try await session.execute(try insert.bind(Int32(1), "before"))
        try await first.shutdown()

        let second = try await EmbeddedNode.start(.init(port: port, dataDirectory: directory))
        defer { Task { try? await second.shutdown() } }
        var insertAfter = try insert.bind(Int32(2), "after")
        insertAfter.isIdempotent = true
        #expect(await eventually { (try? await session.execute(insertAfter)) != nil })
        let rows = try await session.execute("SELECT k, v FROM restart.t")
        struct Entry: Decodable, Equatable { var k: Int32; var v: String }
        #expect(Set(try rows.decode(Entry.self).map(\.k)) == [1, 2])
    }

    @Test("USE switches the keyspace of every pooled connection")
    func keyspaceSwitching() async throws {
        let node = try await EmbeddedNode.start(.init())
        defer { Task { try? await node.shutdown() } }
        let session = try await Self.session(node)
        defer { session.close() }
        for name in ["one", "two"] {
            try await Self.createKeyspace(session, name)
            _ = try await session.execute("CREATE TABLE \(name).t (k int PRIMARY KEY, v text)")
            _ = try await session.execute("INSERT INTO \(name).t (k, v) VALUES (1, '\(name)')")
        }
        for name in ["one", "two", "one"] {
            try await session.use(keyspace: name)
            for _ in 0..<20 {
                let value = try #require(try await session.execute("SELECT v FROM t WHERE k = 1").first)
                #expect(try value.decode(String.self, at: 0) == name)
            }
        }
    }

    @Test("token-aware routing sends a prepared statement to its partition's owner; round robin spreads it",
          arguments: [CQLSession.LoadBalancing.tokenAware, .roundRobin])
    func tokenAwareRouting(policy: CQLSession.LoadBalancing) async throws {
        let node = try await EmbeddedNode.start(.init())
        defer { Task { try? await node.shutdown() } }
        let proxies = try (0..<3).map { _ in try TCPProxy(upstreamPort: node.port, recordsClientBytes: true) }
        // Only the first address answers system.local's tokens (the others are other names for the same node),
        // so with token awareness it owns the whole ring.
        let session = try await CQLSession.connect(CQLSession.Configuration(
            contactPoints: proxies.map { CQLEndpoint(host: "127.0.0.1", port: $0.port) }, consistency: .one,
            connectionsPerNode: 1, loadBalancing: policy))
        defer { session.close() }
        try await Self.createKeyspace(session, "routing")
        _ = try await session.execute("CREATE TABLE routing.t (k int PRIMARY KEY, v int)")
        let insert = try await session.prepare("INSERT INTO routing.t (k, v) VALUES (?, ?)")
        for proxy in proxies { proxy.clearClientChunks() }
        for key in 0..<30 { _ = try await session.execute(try insert.bind(Int32(key), Int32(key))) }
        let executes = try proxies.map { proxy in
            try proxy.sentFrames().filter { $0.header.opcode == Opcode.execute.rawValue }.count
        }
        #expect(executes.reduce(0, +) == 30)
        switch policy {
        case .tokenAware: #expect(executes == [30, 0, 0])
        case .roundRobin: #expect(executes.allSatisfy { $0 > 0 })
        }
    }
}
