/// Decides which nodes a request may go to, and in what order: its query plan (gocql's
/// `HostSelectionPolicy`, the DataStax drivers' `LoadBalancingPolicy`).
///
/// The session asks it once per request (once per page of a paged read) and sends the request to
/// the plan's first node; when that fails, the ``RetryPolicy`` decides whether it goes again to the
/// same node or to the next node of the plan. A node the session cannot reach is skipped. An empty
/// plan fails the request with ``CQLError/noHostAvailable(errors:)``. Called on every request:
/// keep it cheap (no I/O, no locks held for long).
public protocol HostSelectionPolicy: Sendable {
    /// The nodes to try for `request`, in order, chosen among `context.nodes`.
    func queryPlan(for request: HostSelectionRequest, in context: HostSelectionContext) -> [NodePool]
}

/// What a ``HostSelectionPolicy`` knows about the request it plans.
public struct HostSelectionRequest: Sendable {
    /// Whether the request is a conditional statement (a lightweight transaction).
    public var isConditional: Bool
    /// Whether its consistency counts the coordinator's data centre only (LOCAL_ONE, LOCAL_QUORUM,
    /// or LOCAL_SERIAL for a conditional statement): a remote coordinator would count the wrong replicas.
    public var isDataCenterLocal: Bool
    /// The statement whose partition the request touches (a batch's first), nil when none (PREPARE).
    var routed: CQLStatement?

    init(isConditional: Bool, isDataCenterLocal: Bool, routed: CQLStatement?) {
        self.isConditional = isConditional
        self.isDataCenterLocal = isDataCenterLocal
        self.routed = routed
    }

    /// The serialized partition key of a bound prepared statement (computed on each call), nil for a
    /// simple statement or an unbound partition key.
    public var routingKey: [UInt8]? { routing?.key }

    /// The keyspace of the table the partition key belongs to (for its replication), nil when unknown.
    public var routingKeyspace: String? {
        guard let routed, case let .prepared(prepared) = routed.body else { return nil }
        return prepared.routingKeyspace
    }

    var routing: CQLSession.Routing? {
        guard let routed, case let .prepared(prepared) = routed.body, let key = prepared.routingKey(routed.values) else {
            return nil
        }
        return CQLSession.Routing(key: key, keyspace: prepared.routingKeyspace)
    }
}

/// The cluster as the session sees it when it plans a request.
public struct HostSelectionContext: Sendable {
    /// Every node the session knows (contact points and discovered peers), in the session's order.
    public let nodes: [NodePool]
    /// A number the session increments for every request, for policies that take turns (round robin).
    public let requestCounter: Int
    let tokenMap: TokenMap

    init(nodes: [NodePool], requestCounter: Int, tokenMap: TokenMap) {
        self.nodes = nodes
        self.requestCounter = requestCounter
        self.tokenMap = tokenMap
    }

    /// Whether the nodes' tokens are known (the control connection read them), so replicas can be placed.
    public var knowsTokens: Bool { !tokenMap.ring.isEmpty }

    /// The replicas of the partition with `routingKey` in `keyspace`, the token's owner first: as
    /// the keyspace's replication places them, or the owner alone when it is not known; empty when
    /// no node's tokens are known.
    public func replicas(ofRoutingKey routingKey: [UInt8], keyspace: String?) -> [NodePool] {
        guard knowsTokens else { return [] }
        return tokenMap.replicas(of: Murmur3Token.token(of: routingKey), keyspace: keyspace)
    }
}

/// The session's default plan: token-aware (or round-robin) and data-centre-aware, reachable nodes first.
///
/// - With ``CQLSession/LoadBalancing/tokenAware`` and a bound prepared statement, the partition's
///   replicas come first, taking turns being first so one owner is not every partition's hot spot;
///   a conditional statement always starts at the token's owner (Paxos rounds on one partition
///   coordinated by different replicas contend). Then the other nodes in turn.
/// - With a ``localDatacenter``, its nodes (and those whose data centre is not known yet) come
///   first, the other data centres' nodes after them, and never for a request whose consistency
///   is data-centre local.
/// - Reachable nodes before those waiting out a reconnection backoff.
///
/// A one-node cluster without a local data centre gets its only node at once, with no routing work.
public struct DefaultHostSelectionPolicy: HostSelectionPolicy, Hashable {
    /// Token-aware or plain round robin.
    public var loadBalancing: CQLSession.LoadBalancing
    /// The data centre whose nodes coordinate requests; nil: every node alike.
    public var localDatacenter: String?

    /// A policy; by default token-aware with no local data centre.
    public init(loadBalancing: CQLSession.LoadBalancing = .tokenAware, localDatacenter: String? = nil) {
        self.loadBalancing = loadBalancing
        self.localDatacenter = localDatacenter
    }

    public func queryPlan(for request: HostSelectionRequest, in context: HostSelectionContext) -> [NodePool] {
        // One node: nothing to order (and no routing key to compute); the session's array is shared, not copied.
        guard context.nodes.count > 1 || localDatacenter != nil else { return context.nodes }
        return CQLSession.plan(nodes: context.nodes, map: context.tokenMap, start: context.requestCounter,
                               tokenAware: loadBalancing == .tokenAware, conditional: request.isConditional,
                               localDataCenter: localDatacenter, remoteAllowed: !request.isDataCenterLocal) {
            request.routing
        }
    }
}
