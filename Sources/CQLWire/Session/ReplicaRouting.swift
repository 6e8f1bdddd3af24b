import Logging
import Synchronization

/// Replica-set routing and preparing on every node: the parts of the session a multi-node
/// cluster needs and a single node never reaches (one node skips query planning altogether).
extension CQLSession {
    /// Where a request's partition lives: its serialized partition key, and the keyspace of its table.
    struct Routing: Sendable {
        var key: [UInt8]
        var keyspace: String?
    }

    /// Statements re-prepared at once on a node that comes back, so a long cache does not flood one connection.
    private static let warmUpConcurrency = 16

    /// The order in which a request tries `nodes` under ``DefaultHostSelectionPolicy``: reachable before unreachable and, within each,
    /// when token-aware and the partition is known, its replicas first, then the others in turn
    /// from `start`. Replicas take turns being first (`start` rotates them) so one owner is not
    /// every partition's hot spot; a conditional statement (LWT) always starts at the token's owner,
    /// since Paxos rounds on one partition coordinated by different replicas contend with each other.
    /// Without the keyspace's replication, the owner alone comes first.
    ///
    /// With a local data center, its nodes (and those whose data center is not known yet) come
    /// first in that order, then, when `remoteAllowed`, the other data centers' nodes in that order
    /// (the DataStax drivers' DC-aware policy); without `remoteAllowed` they are left out.
    static func plan(nodes: [NodePool], map: TokenMap, start: Int, tokenAware: Bool, conditional: Bool,
                     localDataCenter: String? = nil, remoteAllowed: Bool = true, routing: () -> Routing?) -> [NodePool] {
        guard !nodes.isEmpty else { return nodes }
        let offset = Int(UInt(bitPattern: start) % UInt(nodes.count))
        var ordered = (0..<nodes.count).map { nodes[(offset + $0) % nodes.count] }
        if tokenAware, !map.ring.isEmpty, let routing = routing() {
            let replicas = map.replicas(of: Murmur3Token.token(of: routing.key), keyspace: routing.keyspace)
            if !replicas.isEmpty {
                let first = conditional ? 0 : Int(UInt(bitPattern: start) % UInt(replicas.count))
                var planned: [NodePool] = []
                planned.reserveCapacity(ordered.count)
                for index in replicas.indices {
                    let replica = replicas[(first + index) % replicas.count]
                    // The map may predate a node's removal: only nodes still in the session are tried.
                    if ordered.contains(where: { $0 === replica }) { planned.append(replica) }
                }
                for node in ordered where !replicas.contains(where: { $0 === node }) { planned.append(node) }
                ordered = planned
            }
        }
        if let localDataCenter {
            var local: [NodePool] = []
            var remote: [NodePool] = []
            for node in ordered {
                let dataCenter = node.dataCenter
                if dataCenter == nil || dataCenter == localDataCenter { local.append(node) } else if remoteAllowed { remote.append(node) }
            }
            ordered = local + remote
        }
        let up = ordered.filter(\.isUp)
        guard up.count < ordered.count else { return ordered }
        return up + ordered.filter { !$0.isUp }
    }

    /// The nodes holding `statement`'s partition, in replica order (the token's owner first), as
    /// token-aware routing sees them; only the owner when the keyspace's replication is unknown;
    /// empty when the statement has no routing key (a simple statement, or a partition key value
    /// unbound) or no node's tokens are known.
    public func replicas(of statement: CQLStatement) -> [CQLEndpoint] {
        guard case let .prepared(prepared) = statement.body, let key = prepared.routingKey(statement.values) else { return [] }
        let map = state.withLock { $0.tokenMap }
        guard !map.ring.isEmpty else { return [] }
        return map.replicas(of: Murmur3Token.token(of: key), keyspace: prepared.routingKeyspace).map(\.endpoint)
    }

    /// Rebuilds the ring and replica tables from the nodes' tokens and data centers and the
    /// keyspaces' replication. Built outside the lock (a large ring takes a while); installed only
    /// if neither the nodes nor the replication changed meanwhile, else built again.
    func rebuildTokenMap() {
        while true {
            let (nodes, replication) = state.withLock { ($0.nodes, $0.replication) }
            let map = TokenMap(nodes: nodes, replication: replication)
            let installed = state.withLock { state -> Bool in
                guard state.nodes.count == nodes.count, zip(state.nodes, nodes).allSatisfy({ $0 === $1 }),
                      state.replication == replication else { return false }
                state.tokenMap = map
                return true
            }
            if installed { return }
        }
    }

    /// Prepares `prepared` on every reachable node but `coordinator` (which just prepared it), all
    /// at once. A failure is only logged: a node that missed it answers UNPREPARED to an EXECUTE,
    /// and the session then prepares it there.
    func prepareOnOtherNodes(_ prepared: PreparedStatement, except coordinator: String) async {
        let others = nodesSnapshot().filter { $0.endpoint.description != coordinator && $0.isUp }
        guard !others.isEmpty else { return }
        await withTaskGroup(of: Void.self) { group in
            for node in others {
                group.addTask {
                    do {
                        let connection = try await node.connection()
                        // The node's first connection may just have had it re-prepared by the warm-up.
                        let mark = Self.preparedMark(prepared.query, keyspace: prepared.keyspace)
                        if node.openConnections.contains(where: { $0.preparedStatements.withLock { $0.contains(mark) } }) { return }
                        _ = try await self.prepare(prepared.query, keyspace: prepared.keyspace, on: connection)
                    } catch {
                        self.logger.debug("preparing on another node failed", metadata: [
                            "cql.endpoint": "\(node.endpoint)", "cql.query": "\(prepared.query)", "cql.error": "\(error)"])
                    }
                }
            }
        }
    }

    /// Re-prepares the session's cached statements on `connection`, the first one to a node that
    /// is new or back (its prepared cache may be empty after a restart). The pool adds the
    /// connection only afterwards, so executions routed there find their statements. Statements
    /// prepared in another keyspace than the session's current one are left to UNPREPARED: the
    /// connection resolves unqualified names in the current keyspace.
    func reprepareCached(on connection: CQLConnection) async {
        guard configuration.reprepareOnUp else { return }
        let keyspace = self.keyspace
        let queries = state.withLock { state in state.prepared.keys.filter { $0.keyspace == keyspace }.map(\.query) }
        guard !queries.isEmpty else { return }
        logger.debug("re-preparing on a node that is back", metadata: ["cql.endpoint": "\(connection.endpoint)",
                                                                       "cql.statements": "\(queries.count)"])
        await withTaskGroup(of: Void.self) { group in
            var pending = queries[...]
            var running = 0
            while true {
                while running < Self.warmUpConcurrency, let query = pending.popFirst() {
                    running += 1
                    group.addTask {
                        do {
                            _ = try await self.prepare(query, keyspace: keyspace, on: connection)
                        } catch {
                            self.logger.debug("re-preparing failed", metadata: [
                                "cql.endpoint": "\(connection.endpoint)", "cql.query": "\(query)", "cql.error": "\(error)"])
                        }
                    }
                }
                guard running > 0 else { break }
                await group.next()
                running -= 1
            }
        }
    }
}

extension Consistency {
    /// Whether the level counts replicas of the coordinator's data center only (LOCAL_ONE,
    /// LOCAL_QUORUM, LOCAL_SERIAL): a coordinator in another data center would count the wrong ones.
    var isDataCenterLocal: Bool {
        switch self {
        case .localOne, .localQuorum, .localSerial: true
        default: false
        }
    }
}
