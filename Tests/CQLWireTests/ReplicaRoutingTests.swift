import Testing
@testable import CQLCodec
@testable import CQLWire

@Suite("Replica-set routing: replication strategies, replicas over hand-built rings, query plan order")
struct ReplicaRoutingTests {
    @Test("a keyspace's replication map names its strategy", arguments: [
        (["class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "3"], ReplicationStrategy.simple(replicationFactor: 3)),
        (["class": "SimpleStrategy", "replication_factor": "1"], .simple(replicationFactor: 1)),
        (["class": "SimpleStrategy", "replication_factor": "3/1"], .simple(replicationFactor: 3)),
        (["class": "SimpleStrategy", "replication_factor": "x"], .simple(replicationFactor: 0)),
        (["class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "dc1": "3", "dc2": "2"], .networkTopology(["dc1": 3, "dc2": 2])),
        (["class": "NetworkTopologyStrategy", "dc1": "2/1"], .networkTopology(["dc1": 2])),
        (["class": "org.apache.cassandra.locator.LocalStrategy"], .local),
        (["class": "org.apache.cassandra.locator.EverywhereStrategy"], .everywhere),
        (["class": "com.example.CustomStrategy", "factor": "4"], .unknown("com.example.CustomStrategy")),
    ])
    func strategy(replication: [String: String], expected: ReplicationStrategy) {
        #expect(ReplicationStrategy(replication: replication) == expected)
    }

    /// Four nodes with vnodes; sorted: (-800,0) (-600,1) (-500,1) (-200,2) (0,3) (100,0) (400,1) (700,2).
    static let vnodeTokens: [[Int64]] = [[-800, 100], [-600, -500, 400], [-200, 700], [0]]

    @Test("SimpleStrategy: the owner and the next distinct nodes clockwise, capped at the node count", arguments: [
        (1, [[0], [1], [1], [2], [3], [0], [1], [2]]),
        (3, [[0, 1, 2], [1, 2, 3], [1, 2, 3], [2, 3, 0], [3, 0, 1], [0, 1, 2], [1, 2, 0], [2, 0, 1]]),
        (5, [[0, 1, 2, 3], [1, 2, 3, 0], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2], [0, 1, 2, 3], [1, 2, 0, 3], [2, 0, 1, 3]]),
    ])
    func simpleStrategy(factor: Int, expected: [[Int]]) throws {
        let ring = TokenMap.ring(tokens: Self.vnodeTokens)
        let table = try #require(TokenMap.replicaTable(.simple(replicationFactor: factor), ring: ring,
                                                       dataCenters: Array(repeating: "dc1", count: 4)))
        #expect(table == expected)
    }

    @Test("a token belongs to the first ring token at or above it, wrapping past the last", arguments: [
        (Int64.min, 0), (-800, 0), (-799, 1), (50, 5), (400, 6), (700, 7), (701, 0), (Int64.max, 0),
    ])
    func position(token: Int64, expected: Int) {
        #expect(TokenMap.position(of: token, in: TokenMap.ring(tokens: Self.vnodeTokens)) == expected)
    }

    /// Five nodes in two data centers (dc1: 0, 2, 4; dc2: 1, 3);
    /// sorted: (-100,0) (0,1) (100,2) (200,2) (300,3) (400,4) (500,0).
    static let twoDataCenterTokens: [[Int64]] = [[-100, 500], [0], [100, 200], [300], [400]]
    static let twoDataCenters: [String?] = ["dc1", "dc2", "dc1", "dc2", "dc1"]

    @Test("NetworkTopologyStrategy: walking clockwise, distinct nodes of each data center up to its factor", arguments: [
        (["dc1": 2, "dc2": 1], [[0, 1, 2], [1, 2, 4], [2, 3, 4], [2, 3, 4], [3, 4, 0], [4, 0, 1], [0, 1, 2]]),
        // More replicas asked than a data center has nodes: every node of it.
        (["dc1": 5, "dc2": 5], [[0, 1, 2, 3, 4], [1, 2, 3, 4, 0], [2, 3, 4, 0, 1], [2, 3, 4, 0, 1], [3, 4, 0, 1, 2],
                                [4, 0, 1, 2, 3], [0, 1, 2, 3, 4]]),
        // A data center without nodes holds nothing; the others still get theirs.
        (["dc1": 2, "dc3": 2], [[0, 2], [2, 4], [2, 4], [2, 4], [4, 0], [4, 0], [0, 2]]),
        (["dc2": 1], [[1], [1], [3], [3], [3], [1], [1]]),
        // No data center of the replication exists: only the owner is known.
        (["dc9": 3], [[0], [1], [2], [2], [3], [4], [0]]),
    ])
    func networkTopologyStrategy(factors: [String: Int], expected: [[Int]]) throws {
        let ring = TokenMap.ring(tokens: Self.twoDataCenterTokens)
        let table = try #require(TokenMap.replicaTable(.networkTopology(factors), ring: ring, dataCenters: Self.twoDataCenters))
        #expect(table == expected)
    }

    @Test("EverywhereStrategy makes every node a replica; LocalStrategy gives no preference; an unknown one the owner")
    func otherStrategies() throws {
        let ring = TokenMap.ring(tokens: Self.vnodeTokens)
        let dataCenters: [String?] = Array(repeating: nil, count: 4)
        let everywhere = try #require(TokenMap.replicaTable(.everywhere, ring: ring, dataCenters: dataCenters))
        #expect(everywhere.allSatisfy { Set($0) == [0, 1, 2, 3] && $0.count == 4 })
        #expect(everywhere[6] == [1, 2, 0, 3])
        #expect(TokenMap.replicaTable(.local, ring: ring, dataCenters: dataCenters) == nil)
        let unknown = try #require(TokenMap.replicaTable(.unknown("x"), ring: ring, dataCenters: dataCenters))
        #expect(unknown == ring.map { [$0.node] })
    }

    // MARK: - Query plans

    /// A routing key and four nodes placed around its token so that, with SimpleStrategy RF 3,
    /// its replicas are nodes 2, 3 and 0 (owner 2) and node 1 is not one.
    static func cluster(replication: [String: ReplicationStrategy]) throws -> (nodes: [NodePool], map: TokenMap, key: [UInt8]) {
        // A key whose token leaves room on both sides for the ring placed around it.
        let key = try #require((UInt8(0)...255).lazy.map { Murmur3Token.partitionKeyBytes([[0, 0, 0, $0]]) }.first { key in
            let token = Murmur3Token.token(of: key)
            return token > Int64.min / 2 && token < Int64.max / 2
        })
        let token = Murmur3Token.token(of: key)
        let logger = CQLSession.Configuration(contactPoints: []).logger
        let nodes = (0..<4).map { index in
            NodePool(endpoint: CQLEndpoint(host: "10.0.0.\(index + 1)"), connections: 1, reconnection: ReconnectionPolicy(),
                     logger: logger) { CQLConnection.Configuration() }
        }
        // Offsets from the token as in `vnodeTokens`, shifted so the token falls at (-200, node 2).
        for (node, offsets) in Self.vnodeTokens.enumerated() {
            nodes[node].tokens = offsets.map { token + $0 + 200 }
            nodes[node].dataCenter = "dc1"
        }
        return (nodes, TokenMap(nodes: nodes, replication: replication), key)
    }

    @Test("replicas come first and take turns leading; the other nodes follow")
    func replicasRotate() throws {
        let (nodes, map, key) = try Self.cluster(replication: ["ks": .simple(replicationFactor: 3)])
        var leaders = Set<ObjectIdentifier>()
        for start in 0..<12 {
            let plan = CQLSession.plan(nodes: nodes, map: map, start: start, tokenAware: true, conditional: false) {
                CQLSession.Routing(key: key, keyspace: "ks")
            }
            #expect(plan.count == 4)
            #expect(Set(plan.prefix(3).map(ObjectIdentifier.init)) == Set([nodes[2], nodes[3], nodes[0]].map(ObjectIdentifier.init)))
            #expect(plan[3] === nodes[1])
            leaders.insert(ObjectIdentifier(plan[0]))
        }
        #expect(leaders.count == 3)
    }

    @Test("a conditional statement (LWT) always starts at the owner, then the other replicas in ring order")
    func lwtKeepsOwnerFirst() throws {
        let (nodes, map, key) = try Self.cluster(replication: ["ks": .simple(replicationFactor: 3)])
        for start in 0..<12 {
            let plan = CQLSession.plan(nodes: nodes, map: map, start: start, tokenAware: true, conditional: true) {
                CQLSession.Routing(key: key, keyspace: "ks")
            }
            #expect(plan.map { node in nodes.firstIndex { $0 === node } } == [2, 3, 0, 1])
        }
    }

    @Test("a keyspace of unknown replication routes to the token's owner first; round robin ignores the token")
    func fallbacks() throws {
        let (nodes, map, key) = try Self.cluster(replication: ["ks": .simple(replicationFactor: 3)])
        var roundRobinLeaders = Set<ObjectIdentifier>()
        for start in 0..<8 {
            for keyspace in ["other", nil] as [String?] {
                let plan = CQLSession.plan(nodes: nodes, map: map, start: start, tokenAware: true, conditional: false) {
                    CQLSession.Routing(key: key, keyspace: keyspace)
                }
                #expect(plan.first === nodes[2])
                #expect(Set(plan.map(ObjectIdentifier.init)).count == 4)
            }
            let roundRobin = CQLSession.plan(nodes: nodes, map: map, start: start, tokenAware: false, conditional: false) {
                CQLSession.Routing(key: key, keyspace: "ks")
            }
            roundRobinLeaders.insert(ObjectIdentifier(roundRobin[0]))
        }
        #expect(roundRobinLeaders.count == 4)
    }

    @Test("with a local data center: its replicas first, its other nodes next, then the remote ones unless the consistency is LOCAL_*")
    func localDataCenterFirst() throws {
        let (nodes, map, key) = try Self.cluster(replication: ["ks": .simple(replicationFactor: 3)])
        // Replicas of the key in ring order: 2, 3, 0; node 1 holds none. dc1: 0 and 1; dc2: 2 and 3.
        for (index, dataCenter) in ["dc1", "dc1", "dc2", "dc2"].enumerated() { nodes[index].dataCenter = dataCenter }
        func indices(_ plan: [NodePool]) -> [Int?] { plan.map { node in nodes.firstIndex { $0 === node } } }
        for start in 0..<8 {
            for conditional in [false, true] {
                let plan = CQLSession.plan(nodes: nodes, map: map, start: start, tokenAware: true, conditional: conditional,
                                           localDataCenter: "dc1", remoteAllowed: true) {
                    CQLSession.Routing(key: key, keyspace: "ks")
                }
                #expect(indices(Array(plan.prefix(2))) == [0, 1], "start \(start)")
                #expect(Set(indices(Array(plan.suffix(2)))) == [2, 3], "start \(start)")
                let local = CQLSession.plan(nodes: nodes, map: map, start: start, tokenAware: true, conditional: conditional,
                                            localDataCenter: "dc1", remoteAllowed: false) {
                    CQLSession.Routing(key: key, keyspace: "ks")
                }
                #expect(indices(local) == [0, 1], "start \(start): a LOCAL_* request left the data center")
            }
            // Round robin: the local nodes take turns leading, the remote ones always follow.
            let roundRobin = CQLSession.plan(nodes: nodes, map: map, start: start, tokenAware: false, conditional: false,
                                             localDataCenter: "dc2", remoteAllowed: true) { nil }
            #expect(Set(indices(Array(roundRobin.prefix(2)))) == [2, 3])
            #expect(Set(indices(Array(roundRobin.suffix(2)))) == [0, 1])
        }
        // A node whose data center is not known yet counts as local (contact points before the topology is read).
        nodes[3].dataCenter = nil
        let plan = CQLSession.plan(nodes: nodes, map: map, start: 0, tokenAware: true, conditional: true,
                                   localDataCenter: "dc1", remoteAllowed: false) { CQLSession.Routing(key: key, keyspace: "ks") }
        #expect(indices(plan) == [3, 0, 1])
    }

    @Test("the consistency levels that keep a request in its data center", arguments: Consistency.allCases)
    func localConsistency(consistency: Consistency) {
        #expect(consistency.isDataCenterLocal == [.localOne, .localQuorum, .localSerial].contains(consistency))
    }

    @Test("a replica no longer among the session's nodes is left out of the plan")
    func removedReplica() throws {
        let (nodes, map, key) = try Self.cluster(replication: ["ks": .simple(replicationFactor: 3)])
        let remaining = nodes.filter { $0 !== nodes[3] }
        for start in 0..<6 {
            let plan = CQLSession.plan(nodes: remaining, map: map, start: start, tokenAware: true, conditional: true) {
                CQLSession.Routing(key: key, keyspace: "ks")
            }
            #expect(plan.map { node in nodes.firstIndex { $0 === node } } == [2, 0, 1])
        }
    }

    @Test("the map answers the replicas of a token per keyspace, sharing tables between keyspaces replicated alike")
    func mapLookup() throws {
        let (nodes, map, key) = try Self.cluster(replication: [
            "a": .simple(replicationFactor: 2), "b": .simple(replicationFactor: 2), "local": .local,
        ])
        let token = Murmur3Token.token(of: key)
        #expect(map.replicas(of: token, in: "a")?.map { node in nodes.firstIndex { $0 === node } } == [2, 3])
        #expect(map.replicas(of: token, in: "b")?.map { node in nodes.firstIndex { $0 === node } } == [2, 3])
        #expect(map.replicas(of: token, in: "local") == nil)
        #expect(map.replicas(of: token, in: "missing") == nil)
    }
}
