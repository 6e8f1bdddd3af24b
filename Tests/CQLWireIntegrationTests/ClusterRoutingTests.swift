@testable import CQLNode
import CQLWire
import Foundation
import Testing
import TestSupport

/// The session on several nodes: replica-set routing over a scripted four-node cluster in two data
/// centers, and preparing on every node (and again on a node that comes back) through TCP proxies
/// in front of the embedded node.
@Suite("CQLSession on a multi-node cluster: replica routing, prepare on all nodes")
struct ClusterRoutingTests {
    /// One token per node, ascending with the node number; data centers dc1 (0, 1) and dc2 (2, 3).
    static let specs: [ScriptedCluster.NodeSpec] = [
        .init(tokens: [-4_611_686_018_427_387_904], dataCenter: "dc1"), .init(tokens: [0], dataCenter: "dc1"),
        .init(tokens: [4_611_686_018_427_387_904], dataCenter: "dc2"), .init(tokens: [Int64.max], dataCenter: "dc2"),
    ]

    static let keyspaces: [String: [String: String]] = [
        "ks": ["class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "2"],
        "nts": ["class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "dc1": "1", "dc2": "1"],
        "system": ["class": "org.apache.cassandra.locator.LocalStrategy"],
    ]

    /// The node owning `key`'s token: the first whose token is at or above it (the last token is Int64.max).
    static func owner(of key: Int32) -> Int {
        let token = Murmur3Token.token(of: Murmur3Token.partitionKeyBytes([withUnsafeBytes(of: key.bigEndian, Array.init)]))
        return specs.firstIndex { $0.tokens[0] >= token } ?? 0
    }

    /// SimpleStrategy with `factor` replicas on this ring: the owner and the nodes after it.
    static func simpleReplicas(of key: Int32, factor: Int) -> Set<Int> {
        let owner = owner(of: key)
        return Set((0..<factor).map { (owner + $0) % specs.count })
    }

    /// NetworkTopologyStrategy {dc1: 1, dc2: 1} on this ring: the owner and the first node of the other data center after it.
    static func networkTopologyReplicas(of key: Int32) -> Set<Int> {
        let owner = owner(of: key)
        let other = (1..<specs.count).map { (owner + $0) % specs.count }
            .first { specs[$0].dataCenter != specs[owner].dataCenter } ?? owner
        return [owner, other]
    }

    static func session(_ contactPoints: [CQLEndpoint], prepareOnAllNodes: Bool = true,
                        reprepareOnUp: Bool = true) async throws -> CQLSession {
        var configuration = CQLSession.Configuration(
            contactPoints: contactPoints, consistency: .one, connectionsPerNode: 1,
            reconnection: ReconnectionPolicy(baseDelay: .milliseconds(20), maxDelay: .milliseconds(200)))
        configuration.prepareOnAllNodes = prepareOnAllNodes
        configuration.reprepareOnUp = reprepareOnUp
        return try await CQLSession.connect(configuration)
    }

    /// For each key, the nodes whose EXECUTEs carried it.
    static func nodesByKey(_ cluster: ScriptedCluster) -> [Int32: Set<Int>] {
        var nodes: [Int32: Set<Int>] = [:]
        for (index, handler) in cluster.handlers.enumerated() {
            for key in handler.executedKeys { nodes[key, default: []].insert(index) }
        }
        return nodes
    }

    static func clearRequests(_ cluster: ScriptedCluster) {
        for handler in cluster.handlers { handler.requests.removeAll() }
    }

    @Test("statements go to their partition's replicas (SimpleStrategy, NetworkTopologyStrategy), every replica taking turns")
    func replicaRouting() async throws {
        let cluster = try await ScriptedCluster.start(Self.specs, keyspaces: Self.keyspaces)
        defer { Task { await cluster.stop() } }
        let session = try await Self.session([cluster.endpoint(0)])
        defer { session.close() }
        #expect(Set(session.nodes) == Set((0..<4).map(cluster.endpoint)))
        let simple = try await session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)")
        let topology = try await session.prepare("INSERT INTO nts.t (k, v) VALUES (?, ?)")
        for (statement, replicas) in [(simple, { Self.simpleReplicas(of: $0, factor: 2) }),
                                      (topology, Self.networkTopologyReplicas)] as [(PreparedStatement, (Int32) -> Set<Int>)] {
            Self.clearRequests(cluster)
            for key in Int32(0)..<40 {
                let bound = try statement.bind(key, key)
                let expected = replicas(key)
                #expect(session.replicas(of: bound).first == cluster.endpoint(Self.owner(of: key)))
                #expect(Set(session.replicas(of: bound)) == Set(expected.map(cluster.endpoint)))
                // Two executions in a row: the replicas take turns leading, so both get one.
                for _ in 0..<2 { _ = try await session.execute(bound) }
            }
            let nodes = Self.nodesByKey(cluster)
            for key in Int32(0)..<40 { #expect(nodes[key] == replicas(key), "key \(key) of \(statement.query)") }
            #expect(cluster.handlers.allSatisfy { $0.count(.prepare) == 0 })
        }
    }

    @Test("with a local data center, LOCAL_ONE requests stay in it (failing when it is down); ONE ones go elsewhere only then")
    func localDataCenter() async throws {
        let cluster = try await ScriptedCluster.start(Self.specs, keyspaces: Self.keyspaces)
        defer { Task { await cluster.stop() } }
        var configuration = CQLSession.Configuration(
            contactPoints: [cluster.endpoint(0)], consistency: .localOne, connectionsPerNode: 1,
            reconnection: ReconnectionPolicy(baseDelay: .seconds(30), maxDelay: .seconds(30)))
        configuration.localDatacenter = "dc2"
        let session = try await CQLSession.connect(configuration)
        defer { session.close() }
        #expect(await eventually { session.nodes.count == 4 })
        let insert = try await session.prepare("INSERT INTO nts.t (k, v) VALUES (?, ?)")
        Self.clearRequests(cluster)
        for key in Int32(0)..<40 {
            _ = try await session.execute(try insert.bind(key, key))
            var anyLevel = try insert.bind(key, key)
            anyLevel.consistency = .one
            _ = try await session.execute(anyLevel)
        }
        // Every partition has one replica in dc2 (nodes 2 and 3): dc1 coordinates nothing.
        #expect(cluster.handlers[0].executedKeys.isEmpty && cluster.handlers[1].executedKeys.isEmpty)
        #expect(Set(cluster.handlers[2].executedKeys + cluster.handlers[3].executedKeys) == Set(0..<40))

        await cluster.servers[2].stop()
        await cluster.servers[3].stop()
        await #expect(throws: CQLError.self) { _ = try await session.execute(try insert.bind(Int32(1), Int32(1))) }
        var anyLevel = try insert.bind(Int32(1), Int32(1))
        anyLevel.consistency = .one
        let result = try await session.execute(anyLevel)
        #expect([cluster.endpoint(0), cluster.endpoint(1)].map(\.description).contains(result.coordinator))
    }

    @Test("a conditional statement (LWT) always goes to its partition's owner first")
    func lwtRouting() async throws {
        let cluster = try await ScriptedCluster.start(Self.specs, keyspaces: Self.keyspaces)
        defer { Task { await cluster.stop() } }
        let session = try await Self.session([cluster.endpoint(0)])
        defer { session.close() }
        let insert = try await session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?) IF NOT EXISTS")
        Self.clearRequests(cluster)
        for key in Int32(0)..<20 {
            for _ in 0..<3 { _ = try await session.execute(try insert.bind(key, key)) }
        }
        let nodes = Self.nodesByKey(cluster)
        for key in Int32(0)..<20 { #expect(nodes[key] == [Self.owner(of: key)], "key \(key)") }
    }

    @Test("ALTER KEYSPACE (a schema event) recomputes the replicas; a keyspace of unknown replication goes to the owner")
    func replicationChange() async throws {
        let cluster = try await ScriptedCluster.start(Self.specs, keyspaces: Self.keyspaces)
        defer { Task { await cluster.stop() } }
        let session = try await Self.session([cluster.endpoint(0)])
        defer { session.close() }
        let insert = try await session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)")
        let bound = try insert.bind(Int32(7), Int32(7))
        #expect(session.replicas(of: bound).count == 2)
        cluster.alter(keyspace: "ks", replication: ["class": "SimpleStrategy", "replication_factor": "3"])
        #expect(await eventually { session.replicas(of: bound).count == 3 })
        #expect(Set(session.replicas(of: bound)) == Set(Self.simpleReplicas(of: 7, factor: 3).map(cluster.endpoint)))

        let elsewhere = try await session.prepare("INSERT INTO unknown.t (k, v) VALUES (?, ?)")
        Self.clearRequests(cluster)
        for key in Int32(0)..<10 {
            #expect(session.replicas(of: try elsewhere.bind(key, key)) == [cluster.endpoint(Self.owner(of: key))])
            for _ in 0..<2 { _ = try await session.execute(try elsewhere.bind(key, key)) }
        }
        let nodes = Self.nodesByKey(cluster)
        for key in Int32(0)..<10 { #expect(nodes[key] == [Self.owner(of: key)], "key \(key)") }
    }

    @Test("a node joining (a NEW_NODE event) takes its share of replicas, and gets the prepared statements before serving")
    func nodeJoins() async throws {
        let cluster = try await ScriptedCluster.start(Self.specs, keyspaces: Self.keyspaces, outside: [2])
        defer { Task { await cluster.stop() } }
        let session = try await Self.session([cluster.endpoint(0)])
        defer { session.close() }
        #expect(Set(session.nodes) == Set([0, 1, 3].map(cluster.endpoint)))
        let insert = try await session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)")
        #expect(cluster.handlers.map { $0.count(.prepare) } == [1, 1, 0, 1])
        // Without node 2, a key node 2 will own belongs to node 3, its next node clockwise, then node 0.
        let key = try #require((Int32(0)..<1000).first { Self.owner(of: $0) == 2 })
        let bound = try insert.bind(key, key)
        #expect(session.replicas(of: bound) == [cluster.endpoint(3), cluster.endpoint(0)])

        cluster.join(2)
        #expect(await eventually { session.replicas(of: bound) == [cluster.endpoint(2), cluster.endpoint(3)] })
        for _ in 0..<4 { _ = try await session.execute(bound) }
        #expect(Self.nodesByKey(cluster)[key] == [2, 3])
        // Node 2 had the statement prepared on its first connection, before any EXECUTE: none was refused.
        let joined = cluster.handlers[2].requests.all.map(\.opcode)
        #expect(joined == [.prepare, .execute, .execute])
    }

    @Test("prepare reaches every node of the scripted cluster: none answers UNPREPARED afterwards")
    func prepareOnEveryScriptedNode() async throws {
        let cluster = try await ScriptedCluster.start(Self.specs, keyspaces: Self.keyspaces)
        defer { Task { await cluster.stop() } }
        let session = try await Self.session([cluster.endpoint(0)])
        defer { session.close() }
        Self.clearRequests(cluster)
        let insert = try await session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)")
        #expect(cluster.handlers.map { $0.count(.prepare) } == [1, 1, 1, 1])
        for key in Int32(0)..<40 { _ = try await session.execute(try insert.bind(key, key)) }
        // An UNPREPARED would show as a second PREPARE on that node.
        #expect(cluster.handlers.map { $0.count(.prepare) } == [1, 1, 1, 1])
        #expect(cluster.handlers.map { $0.count(.execute) }.reduce(0, +) == 40)
    }

    // MARK: - Through proxies in front of the embedded node

    /// PREPARE and EXECUTE frames each proxy forwarded since it was last cleared.
    static func frames(_ proxies: [TCPProxy], _ opcode: Opcode) throws -> [Int] {
        try proxies.map { proxy in try proxy.sentFrames().filter { $0.header.opcode == opcode.rawValue }.count }
    }

    /// Runs queries until every proxy forwarded one from a pool connection: every node has a connection.
    static func reachEveryNode(_ session: CQLSession, _ proxies: [TCPProxy]) async throws -> Bool {
        let marker = Array("cluster_name".utf8)
        return await eventually {
            _ = try? await session.execute(try CQLStatement("SELECT cluster_name FROM system.local", isIdempotent: true))
            return (try? proxies.allSatisfy { proxy in
                try proxy.sentFrames().contains { frame in
                    frame.header.opcode == Opcode.query.rawValue && frame.body.firstRange(of: marker) != nil
                }
            }) ?? false
        }
    }

    @Test("prepare goes to every node, or only to one when prepareOnAllNodes is off", arguments: [true, false])
    func prepareOnAllNodes(enabled: Bool) async throws {
        let node = try await EmbeddedNode.start(.init())
        defer { Task { try? await node.shutdown() } }
        let proxies = try (0..<3).map { _ in try TCPProxy(upstreamPort: node.port, recordsClientBytes: true) }
        let session = try await Self.session(proxies.map { CQLEndpoint(host: "127.0.0.1", port: $0.port) },
                                             prepareOnAllNodes: enabled)
        defer { session.close() }
        _ = try await session.execute("CREATE KEYSPACE everywhere WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        _ = try await session.execute("CREATE TABLE everywhere.t (k int PRIMARY KEY, v int)")
        #expect(try await Self.reachEveryNode(session, proxies))
        for proxy in proxies { proxy.clearClientChunks() }
        _ = try await session.prepare("INSERT INTO everywhere.t (k, v) VALUES (?, ?)")
        let prepares = try Self.frames(proxies, .prepare)
        if enabled {
            #expect(prepares == [1, 1, 1])
        } else {
            #expect(prepares.sorted() == [0, 0, 1])
        }
    }

    @Test("a node restarted with an empty prepared cache: executions still succeed, re-prepared before routing (or on UNPREPARED)",
          arguments: [true, false])
    func restartedNode(reprepareOnUp: Bool) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cqlwire-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await EmbeddedNode.start(.init(dataDirectory: directory))
        let port = first.port
        let proxies = try (0..<3).map { _ in try TCPProxy(upstreamPort: port, recordsClientBytes: true) }
        let session = try await Self.session(proxies.map { CQLEndpoint(host: "127.0.0.1", port: $0.port) },
                                             reprepareOnUp: reprepareOnUp)
        defer { session.close() }
        _ = try await session.execute("CREATE KEYSPACE back WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        _ = try await session.execute("CREATE TABLE back.t (k int PRIMARY KEY, v int)")
        let insert = try await session.prepare("INSERT INTO back.t (k, v) VALUES (?, ?)")
        _ = try await session.execute(try insert.bind(Int32(-1), Int32(-1)))
        try await first.shutdown()
        // Cleared while the node is down: the pools' first connections to the new one are all recorded.
        for proxy in proxies { proxy.clearClientChunks() }
        let second = try await EmbeddedNode.start(.init(port: port, dataDirectory: directory))
        defer { Task { try? await second.shutdown() } }
        #expect(try await Self.reachEveryNode(session, proxies))
        let warmUpPrepares = try Self.frames(proxies, .prepare)
        for proxy in proxies { proxy.clearClientChunks() }
        for key in Int32(0)..<30 {
            var statement = try insert.bind(key, key)
            statement.isIdempotent = true
            _ = try await session.execute(statement)
        }
        let executes = try Self.frames(proxies, .execute).reduce(0, +)
        let prepares = try Self.frames(proxies, .prepare).reduce(0, +)
        if reprepareOnUp {
            // Each node got the statement back before any execution reached it: no UNPREPARED round trip.
            #expect(warmUpPrepares == [1, 1, 1])
            #expect(executes == 30)
            #expect(prepares == 0)
        } else {
            #expect(warmUpPrepares == [0, 0, 0])
            #expect(executes > 30)
            #expect(prepares >= 1)
        }
        let count = try #require(try await session.execute("SELECT count(*) FROM back.t").first)
        #expect(try count.decode(Int64.self, at: 0) == 31)
    }
}
