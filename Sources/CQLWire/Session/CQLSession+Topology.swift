import Synchronization

/// One node of the cluster as the session sees it now.
public struct CQLNodeState: Sendable, Hashable, CustomStringConvertible {
    /// Where the node serves CQL.
    public var endpoint: CQLEndpoint
    /// Its data centre (from `system.local` / `system.peers`), nil until the session has read it.
    public var datacenter: String?
    /// Whether the session holds an open connection to it. A node that was killed loses its
    /// connections at once; one that is not yet (or no longer) connected counts as down.
    public var isUp: Bool

    /// A node state.
    public init(endpoint: CQLEndpoint, datacenter: String?, isUp: Bool) {
        self.endpoint = endpoint
        self.datacenter = datacenter
        self.isUp = isUp
    }

    /// `127.0.0.1:9042 (dc1, up)`.
    public var description: String { "\(endpoint) (\(datacenter ?? "unknown dc"), \(isUp ? "up" : "down"))" }
}

/// How a keyspace replicates, as `system_schema.keyspaces` says.
public enum CQLKeyspaceReplication: Sendable, Hashable {
    /// SimpleStrategy: `replicationFactor` nodes of the whole ring, regardless of data centre.
    case simple(replicationFactor: Int)
    /// NetworkTopologyStrategy: a replication factor per data centre.
    case networkTopology([String: Int])
    /// LocalStrategy or EverywhereStrategy: every node holds the data.
    case everyNode
    /// A strategy class the client does not know.
    case unknown(String)
}

extension CQLSession {
    /// Every node the session knows, with its data centre and whether it is connected now.
    public var nodeStates: [CQLNodeState] {
        nodesSnapshot().map { node in
            CQLNodeState(endpoint: node.endpoint, datacenter: node.dataCenter, isUp: !node.openConnections.isEmpty)
        }
    }

    /// The replication of `keyspace`, nil when the session does not know the keyspace (it does not
    /// exist, or the session does not read replication because it routes without token awareness).
    public func replication(ofKeyspace keyspace: String) -> CQLKeyspaceReplication? {
        guard let strategy = state.withLock({ $0.replication[keyspace] }) else { return nil }
        switch strategy {
        case let .simple(replicationFactor): return .simple(replicationFactor: replicationFactor)
        case let .networkTopology(factors): return .networkTopology(factors)
        case .local, .everywhere: return .everyNode
        case let .unknown(className): return .unknown(className)
        }
    }
}
