import Foundation
import Logging
import Synchronization

/// Schema agreement: after a schema change, the nodes of a cluster take a moment to learn it
/// (gossip); a statement sent meanwhile to a node that has not yet learnt it fails with
/// `unconfigured table` or `Keyspace ... does not exist`. As the DataStax drivers do, the
/// session waits after every schema-changing statement until `schema_version` in `system.local`
/// and in the peers table agree for every node it considers up, polling every 200 ms, for at most
/// ``Configuration/maxSchemaAgreementWait``. After a statement the check runs on the node that
/// coordinated it (as the Python driver does): that node certainly has the new version, while
/// another node (the control connection's) may not have heard of the change yet and would see
/// everyone agree on the old schema.
extension CQLSession {
    /// Time between two agreement checks (the DataStax drivers' 200 ms).
    static let schemaAgreementInterval: Duration = .milliseconds(200)

    /// Whether every node the session considers up reports the same `schema_version` now (one
    /// check, no waiting), as seen from the control connection's node.
    public func checkSchemaAgreement() async throws -> Bool {
        let connection = try await agreementConnection()
        return try await schemaMismatches(on: connection, timeout: configuration.requestTimeout) == nil
    }

    /// Waits until the nodes agree on the schema, checking every 200 ms for at most
    /// ``Configuration/maxSchemaAgreementWait``; true when they agree (or the wait is disabled),
    /// false (and a warning logged) when they still disagree at the end. Failed checks (a
    /// timeout, a lost control connection) are tried again within the bound.
    public func waitForSchemaAgreement() async throws -> Bool {
        let limit = configuration.maxSchemaAgreementWait
        guard limit > .zero else { return true }
        return try await waitForSchemaAgreement(clock: configuration.clock, limit: limit)
    }

    /// The wait after a statement that `coordinator` (`host:port`) answered with a schema change:
    /// never throws (the change is applied whatever happens here), false when agreement was not reached.
    func agreementAfterSchemaChange(coordinator: String) async -> Bool {
        let limit = configuration.maxSchemaAgreementWait
        guard limit > .zero else { return true }
        do {
            return try await waitForSchemaAgreement(clock: configuration.clock, limit: limit, coordinator: coordinator)
        } catch {
            logger.warning("schema agreement not checked after a schema change", metadata: ["cql.error": "\(error)"])
            return false
        }
    }

    private func waitForSchemaAgreement<C: Clock>(clock: C, limit: Duration,
                                                  coordinator: String? = nil) async throws -> Bool where C.Duration == Duration {
        let start = clock.now
        var elapsed = Duration.zero
        var mismatches: [String: [String]] = [:]
        logger.debug("waiting for schema agreement")
        while elapsed < limit {
            do {
                let connection = try await agreementConnection(preferring: coordinator)
                guard let found = try await schemaMismatches(on: connection,
                                                             timeout: min(configuration.requestTimeout, limit - elapsed)) else {
                    logger.debug("schemas match")
                    return true
                }
                mismatches = found
                logger.debug("schemas mismatched, trying again", metadata: ["cql.schema_versions": "\(found)"])
            } catch CQLError.sessionClosed {
                throw CQLError.sessionClosed
            } catch let error as ServerError {
                // The node refuses the system tables' queries (not a Cassandra node): asking again will not help.
                throw error
            } catch {
                logger.debug("schema agreement check failed", metadata: ["cql.error": "\(error)"])
            }
            try await clock.sleep(for: Self.schemaAgreementInterval)
            elapsed = start.duration(to: clock.now)
        }
        logger.warning("nodes report a schema disagreement", metadata: [
            "cql.endpoint": "\(coordinator ?? controlConnectionEndpoint ?? "-")", "cql.schema_versions": "\(mismatches)",
            "cql.waited": "\(limit)"])
        return false
    }

    /// A pooled connection to `coordinator` when it is one of the session's nodes and reachable;
    /// otherwise the control connection, or while it reopens, a pooled connection of a node that is up.
    private func agreementConnection(preferring coordinator: String? = nil) async throws -> (connection: CQLConnection, node: NodePool?) {
        let (control, controlNode, closed) = state.withLock { ($0.control, $0.controlNode, $0.closed) }
        if closed { throw CQLError.sessionClosed }
        if let coordinator, let node = nodesSnapshot().first(where: { $0.endpoint.description == coordinator }), node.isUp,
           let connection = try? await node.connection() {
            return (connection, node)
        }
        if let control, !control.isClosed { return (control, controlNode) }
        var errors: [String] = []
        for node in nodesSnapshot() where node.isUp {
            do {
                return (try await node.connection(), node)
            } catch {
                errors.append("\(node.endpoint): \(error)")
            }
        }
        throw CQLError.noHostAvailable(errors: errors)
    }

    /// The schema versions, each with the nodes reporting it, when they differ; nil when they agree.
    ///
    /// As the DataStax drivers: the queried node's own version counts when present; a peer row
    /// counts only when it has a version and an address, and names a node the session knows and
    /// does not consider down (any peer, when the session does not discover nodes).
    private func schemaMismatches(on target: (connection: CQLConnection, node: NodePool?),
                                  timeout: Duration) async throws -> [String: [String]]? {
        let connection = target.connection
        async let local = query("SELECT schema_version FROM system.local WHERE key='local'", on: connection,
                                         timeout: timeout)
        let peers = try await peerSchemaVersions(on: connection, defaultPort: target.node?.endpoint.port ?? 9042,
                                                 timeout: timeout)
        var versions: [String: [String]] = [:]
        if let row = try await local.first, let version = try row.decode(UUID?.self, named: "schema_version") {
            versions[version.uuidString, default: []].append(connection.endpoint)
        }
        let nodes = nodesSnapshot()
        for (endpoint, version) in peers {
            if let node = nodes.first(where: { $0.endpoint == endpoint }) {
                guard node.isUp else { continue }
            } else if configuration.discoverNodes {
                // Not discovered yet: the DataStax drivers skip a peer their metadata lacks.
                continue
            }
            // Without discovery (a shell on one node) the session cannot know a peer is down: every peer counts.
            versions[version.uuidString, default: []].append(endpoint.description)
        }
        return versions.count <= 1 ? nil : versions
    }

    /// Each peer's native endpoint and schema version, from `system.peers_v2`, or `system.peers`
    /// on a node without it (Cassandra before 4.0); rows without either are left out.
    private func peerSchemaVersions(on connection: CQLConnection, defaultPort: Int,
                                    timeout: Duration) async throws -> [(CQLEndpoint, UUID)] {
        if !state.withLock({ $0.peersV2Unsupported }) {
            do {
                let result = try await query(
                    "SELECT peer, native_address, native_port, schema_version FROM system.peers_v2", on: connection, timeout: timeout)
                return try result.rows.rowViews().compactMap { row in
                    guard let address = try row.decode(InetAddress?.self, named: "native_address"),
                          let port = try row.decode(Int32?.self, named: "native_port"),
                          let version = try row.decode(UUID?.self, named: "schema_version") else { return nil }
                    return (CQLEndpoint(host: address.description, port: Int(port)), version)
                }
            } catch let error as ServerError where error.kind == .invalid {
                // "unconfigured table peers_v2": a node before 4.0.
                state.withLock { $0.peersV2Unsupported = true }
            }
        }
        let result = try await query("SELECT peer, rpc_address, schema_version FROM system.peers", on: connection,
                                              timeout: timeout)
        return try result.rows.rowViews().compactMap { row in
            guard let address = try row.decode(InetAddress?.self, named: "rpc_address"),
                  let version = try row.decode(UUID?.self, named: "schema_version") else { return nil }
            return (CQLEndpoint(host: address.description, port: defaultPort), version)
        }
    }
}
