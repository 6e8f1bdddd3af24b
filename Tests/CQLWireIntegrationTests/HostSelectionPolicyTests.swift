@testable import CQLNode
import CQLWire
import Testing

/// A ``HostSelectionPolicy`` of the user's own decides where requests go, on the scripted
/// four-node cluster of ``ClusterRoutingTests``.
@Suite("CQLSession follows a custom HostSelectionPolicy")
struct HostSelectionPolicyTests {
    /// Every request to one node only.
    struct Pinned: HostSelectionPolicy {
        let endpoint: CQLEndpoint

        func queryPlan(for request: HostSelectionRequest, in context: HostSelectionContext) -> [NodePool] {
            context.nodes.filter { $0.endpoint == endpoint }
        }
    }

    /// The partition's last replica first (the default has the replicas take turns), then the other
    /// nodes; requests without a routing key (PREPARE) to the nodes in the session's order.
    struct LastReplica: HostSelectionPolicy {
        func queryPlan(for request: HostSelectionRequest, in context: HostSelectionContext) -> [NodePool] {
            guard let key = request.routingKey else { return context.nodes }
            let replicas = context.replicas(ofRoutingKey: key, keyspace: request.routingKeyspace)
            guard let last = replicas.last else { return context.nodes }
            return [last] + context.nodes.filter { $0 !== last }
        }
    }

    static func session(_ cluster: ScriptedCluster, policy: any HostSelectionPolicy) async throws -> CQLSession {
        var configuration = CQLSession.Configuration(
            contactPoints: [cluster.endpoint(0)], consistency: .one, connectionsPerNode: 1,
            reconnection: ReconnectionPolicy(baseDelay: .milliseconds(20), maxDelay: .milliseconds(200)))
        configuration.hostSelectionPolicy = policy
        return try await CQLSession.connect(configuration)
    }

    @Test("a policy pinning one node gets every execution, whatever the partition's replicas")
    func pinnedNode() async throws {
        let cluster = try await ScriptedCluster.start(ClusterRoutingTests.specs, keyspaces: ClusterRoutingTests.keyspaces)
        defer { Task { await cluster.stop() } }
        let session = try await Self.session(cluster, policy: Pinned(endpoint: cluster.endpoint(2)))
        defer { session.close() }
        // The control connection read the peers and the ring before connect returned.
        #expect(session.nodes.count == 4)
        let insert = try await session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)")
        ClusterRoutingTests.clearRequests(cluster)
        for key in Int32(0)..<20 {
            let result = try await session.execute(try insert.bind(key, key))
            #expect(result.coordinator == cluster.endpoint(2).description)
        }
        #expect(Set(cluster.handlers[2].executedKeys) == Set(0..<20))
        for node in [0, 1, 3] { #expect(cluster.handlers[node].executedKeys.isEmpty, "node \(node)") }
    }

    @Test("the policy sees the routing key and the replicas: the last replica coordinates every execution")
    func replicasAndEmptyPlan() async throws {
        let cluster = try await ScriptedCluster.start(ClusterRoutingTests.specs, keyspaces: ClusterRoutingTests.keyspaces)
        defer { Task { await cluster.stop() } }
        let session = try await Self.session(cluster, policy: LastReplica())
        defer { session.close() }
        // The control connection read the peers and the ring before connect returned.
        #expect(session.nodes.count == 4)
        let insert = try await session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)")
        // SimpleStrategy with two replicas: the owner and the node after it on the ring.
        #expect(session.replicas(of: try insert.bind(Int32(0), Int32(0))).count == 2)
        ClusterRoutingTests.clearRequests(cluster)
        for key in Int32(0)..<20 {
            _ = try await session.execute(try insert.bind(key, key))
        }
        let nodes = ClusterRoutingTests.nodesByKey(cluster)
        for key in Int32(0)..<20 {
            #expect(nodes[key] == [(ClusterRoutingTests.owner(of: key) + 1) % 4], "key \(key)")
        }
    }

    @Test("a policy planning no node fails the request with noHostAvailable, having sent nothing")
    func emptyPlan() async throws {
        let cluster = try await ScriptedCluster.start(ClusterRoutingTests.specs, keyspaces: ClusterRoutingTests.keyspaces)
        defer { Task { await cluster.stop() } }
        let session = try await Self.session(cluster, policy: Pinned(endpoint: CQLEndpoint(host: "192.0.2.1")))
        defer { session.close() }
        await #expect {
            _ = try await session.execute("INSERT INTO ks.t (k, v) VALUES (1, 1)")
        } throws: { error in
            guard case CQLError.noHostAvailable = error else { return false }
            return true
        }
        let inserts = cluster.handlers.flatMap(\.requests.all).filter { request in
            if case let .query(query) = request { return query.query.hasPrefix("INSERT") }
            return false
        }
        #expect(inserts.isEmpty)
    }
}
