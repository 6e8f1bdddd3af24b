import Logging
import Synchronization

/// The control connection: one extra connection that reads the cluster's topology from
/// `system.local` and `system.peers_v2` (or `system.peers`) and listens for topology, status
/// and schema events, reopening itself on another node when it is lost.
extension CQLSession {
    func startControlConnection(via node: NodePool) async throws {
        var configuration = CQLConnection.Configuration(
            connectTimeout: self.configuration.connectTimeout, requestTimeout: self.configuration.requestTimeout,
            compression: self.configuration.compression, credentials: self.configuration.credentials,
            heartbeatInterval: self.configuration.heartbeatInterval, logger: logger)
        configuration.maxConcurrentRequests = 64
        configuration.tls = self.configuration.tls
        let connection = try await CQLConnection.connect(host: node.endpoint.host, port: node.endpoint.port,
                                                         configuration: configuration)
        let stale = state.withLock { state -> Bool in
            guard !state.closed else { return true }
            state.control = connection
            state.controlNode = node
            return false
        }
        guard !stale else {
            connection.close()
            return
        }
        await refreshTopology(using: connection, contact: node)
        do {
            try await connection.register()
        } catch {
            logger.debug("REGISTER failed on the control connection", metadata: ["cql.error": "\(error)"])
        }
        Task { [weak self] in
            for await event in connection.events {
                guard let self else { return }
                await self.handle(event, control: connection, contact: node)
            }
        }
        connection.onClose { [weak self] error in
            guard let self else { return }
            self.logger.debug("control connection lost", metadata: ["cql.error": "\(error)"])
            Task { await self.reopenControlConnection() }
        }
    }

    private func reopenControlConnection() async {
        var failures = 0
        while !state.withLock({ $0.closed }) {
            for node in nodesSnapshot() where node.isUp {
                do {
                    try await startControlConnection(via: node)
                    return
                } catch {
                    logger.debug("control connection attempt failed", metadata: ["cql.endpoint": "\(node.endpoint)",
                                                                                  "cql.error": "\(error)"])
                }
            }
            failures += 1
            try? await Task.sleep(for: configuration.reconnection.delay(afterFailures: failures))
        }
    }

    private func handle(_ event: Event, control: CQLConnection, contact: NodePool) async {
        logger.debug("cluster event", metadata: ["cql.event": "\(event)"])
        switch event {
        case .topologyChange(.newNode, _), .topologyChange(.movedNode, _):
            await refreshTopology(using: control, contact: contact)
        case let .topologyChange(.removedNode, endpoint):
            let removed = state.withLock { state -> NodePool? in
                guard state.nodes.count > 1,
                      let index = state.nodes.firstIndex(where: { $0.endpoint.host == endpoint.address.description }) else { return nil }
                return state.nodes.remove(at: index)
            }
            if let removed {
                removed.close()
                rebuildTokenMap()
            }
        case let .statusChange(.up, endpoint):
            for node in nodesSnapshot() where node.endpoint.host == endpoint.address.description { node.markUp() }
        case let .schemaChange(change):
            schemaChanged(change)
            // A keyspace created, altered (its replication) or dropped: its replicas change.
            if change.target == .keyspace, configuration.loadBalancing == .tokenAware {
                await refreshReplication(using: control)
                rebuildTokenMap()
            }
        case .statusChange(.down, _):
            break
        }
    }

    /// Reads tokens and peers; a node that lacks the peers tables keeps the contact points as they are.
    func refreshTopology(using connection: CQLConnection, contact: NodePool) async {
        if let local = try? await query("SELECT tokens, data_center FROM system.local WHERE key='local'", on: connection),
           let row = local.first {
            if let tokens = try? row.decode(Set<String>?.self, named: "tokens") {
                contact.tokens = tokens.compactMap { Int64($0) }.sorted()
            }
            contact.dataCenter = (try? row.decode(String?.self, named: "data_center")) ?? nil
        }
        if configuration.discoverNodes {
            var peers: [(CQLEndpoint, [Int64], String?)] = []
            if let result = try? await query("SELECT native_address, native_port, tokens, data_center FROM system.peers_v2",
                                             on: connection) {
                for row in result.rows {
                    guard let address = try? row.decode(InetAddress?.self, named: "native_address"),
                          let port = try? row.decode(Int32?.self, named: "native_port") else { continue }
                    let tokens = (try? row.decode(Set<String>?.self, named: "tokens")) ?? []
                    peers.append((CQLEndpoint(host: address.description, port: Int(port)), tokens.compactMap { Int64($0) },
                                  (try? row.decode(String?.self, named: "data_center")) ?? nil))
                }
            } else if let result = try? await query("SELECT rpc_address, tokens, data_center FROM system.peers", on: connection) {
                for row in result.rows {
                    guard let address = try? row.decode(InetAddress?.self, named: "rpc_address") else { continue }
                    let tokens = (try? row.decode(Set<String>?.self, named: "tokens")) ?? []
                    peers.append((CQLEndpoint(host: address.description, port: contact.endpoint.port), tokens.compactMap { Int64($0) },
                                  (try? row.decode(String?.self, named: "data_center")) ?? nil))
                }
            }
            let added = state.withLock { state -> [NodePool] in
                var added: [NodePool] = []
                for (endpoint, tokens, dataCenter) in peers {
                    if let existing = state.nodes.first(where: { $0.endpoint == endpoint }) {
                        existing.tokens = tokens.sorted()
                        existing.dataCenter = dataCenter
                    } else {
                        let pool = makePool(endpoint)
                        pool.tokens = tokens.sorted()
                        pool.dataCenter = dataCenter
                        state.nodes.append(pool)
                        added.append(pool)
                    }
                }
                return added
            }
            for node in added {
                logger.debug("node discovered", metadata: ["cql.endpoint": "\(node.endpoint)"])
                node.fillInBackground()
            }
        }
        if configuration.loadBalancing == .tokenAware { await refreshReplication(using: connection) }
        rebuildTokenMap()
    }

    /// Reads every keyspace's replication; on failure (a node without `system_schema`) keeps what
    /// it knew, and routing falls back to each token's owner for keyspaces it never learnt.
    func refreshReplication(using connection: CQLConnection) async {
        guard let result = try? await query("SELECT keyspace_name, replication FROM system_schema.keyspaces", on: connection) else {
            logger.debug("keyspace replication unavailable: token-aware routing uses each token's owner only")
            return
        }
        var replication: [String: ReplicationStrategy] = [:]
        for row in result.rows {
            guard let name = try? row.decode(String?.self, named: "keyspace_name"),
                  let map = try? row.decode([String: String]?.self, named: "replication") else { continue }
            replication[name] = ReplicationStrategy(replication: map)
        }
        state.withLock { $0.replication = replication }
    }

    /// Runs a system-table query at ONE on `connection` (the control connection, outside any pool's plan).
    func query(_ cql: String, on connection: CQLConnection, timeout: Duration? = nil) async throws -> QueryResult {
        let envelope = try await connection.send(.query(Query(query: cql, parameters: QueryParameters(consistency: .one))),
                                                 timeout: timeout)
        switch envelope.message {
        case let .result(result): return QueryResult(envelope: envelope, result: result, coordinator: connection.endpoint)
        case let .error(error): throw error
        default: throw CQLError.unexpectedResponse(endpoint: connection.endpoint, expected: "RESULT", received: "\(envelope.message.opcode)")
        }
    }
}
