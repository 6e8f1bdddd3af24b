import Dispatch
import Foundation
import Logging
import Synchronization

/// The user-facing client: a pool of connections to every node of a cluster, statements that
/// read like CQL, prepared statements, paging, batches and lightweight transactions.
///
/// ```swift
/// let session = try await CQLSession.connect(.init(contactPoints: [CQLEndpoint(host: "127.0.0.1")], keyspace: "app"))
/// let insert = try await session.prepare("INSERT INTO jobs (id, name) VALUES (?, ?) IF NOT EXISTS")
/// let result = try await session.execute(try insert.bind(id, "nightly"))
/// if !result.wasApplied { ... }
/// for try await row in session.rows(try CQLStatement("SELECT id, name FROM jobs")) { ... }
/// ```
public final class CQLSession: Sendable {
    struct State: Sendable {
        var nodes: [NodePool] = []
        /// The ring and each keyspace's replicas, rebuilt on topology and keyspace changes.
        var tokenMap = TokenMap()
        /// Each keyspace's replication, from `system_schema.keyspaces` (token-aware routing only).
        var replication: [String: ReplicationStrategy] = [:]
        var roundRobin = 0
        var keyspace: String?
        var prepared: [PreparedKey: PreparedStatement] = [:]
        var control: CQLConnection?
        /// The node of `control`: its port is that of peers found in `system.peers`.
        var controlNode: NodePool?
        /// Whether the control connection's node lacks `system.peers_v2` (Cassandra before 4.0).
        var peersV2Unsupported = false
        var closed = false
        /// Whether a prepare ever returned an id or result columns other than those cached for its
        /// query, or a schema event made cached result columns doubtful: until then a statement's own
        /// id and columns are current and executing it needs no cache lookup.
        var preparedChanged = false
        /// Statements whose result columns a schema change may have altered: executed without
        /// skip_metadata until an answer brings the columns afresh.
        var staleResultMetadata: Set<PreparedKey> = []
    }

    struct PreparedKey: Hashable, Sendable {
        var keyspace: String?
        var query: String
    }

    /// The configuration the session was made with.
    public let configuration: Configuration
    /// The executor doing the I/O of the session's connections, when ``Configuration/usesIOExecutor``;
    /// tasks preferring it (`withTaskExecutorPreference`, `Task(executorPreference:)`) run on its thread.
    public let ioExecutor: CQLIOExecutor?
    let logger: Logger
    let metrics: SessionMetrics
    /// The configured ``Configuration/hostSelectionPolicy``, or the default one built from the configuration.
    let hostSelection: any HostSelectionPolicy
    let timestamps = ClientTimestampGenerator()
    let state: Mutex<State>

    private init(configuration: Configuration) {
        self.configuration = configuration
        self.logger = configuration.logger
        self.metrics = SessionMetrics(factory: configuration.metricsFactory)
        self.hostSelection = configuration.hostSelectionPolicy
            ?? DefaultHostSelectionPolicy(loadBalancing: configuration.loadBalancing, localDatacenter: configuration.localDatacenter)
        self.state = Mutex(State(keyspace: configuration.keyspace))
        self.ioExecutor = configuration.usesIOExecutor ? CQLIOExecutor(name: "cqlwire-io") : nil
    }

    /// Connects to the first reachable contact point, discovers the other nodes, and opens the pools.
    ///
    /// Throws ``CQLError/noHostAvailable(errors:)`` when no contact point answers.
    public static func connect(_ configuration: Configuration) async throws -> CQLSession {
        guard !configuration.contactPoints.isEmpty else { throw CQLError.invalidStatement("no contact points configured") }
        if let tls = configuration.tls {
            guard !configuration.usesIOExecutor else { throw CQLError.invalidConfiguration(CQLConnection.tlsWithExecutor) }
            try tls.validate()
        }
        let session = CQLSession(configuration: configuration)
        session.state.withLock { state in
            state.nodes = configuration.contactPoints.map(session.makePool)
        }
        var errors: [String] = []
        for node in session.state.withLock({ $0.nodes }) {
            do {
                _ = try await node.connection()
                try await session.startControlConnection(via: node)
                for other in session.nodesSnapshot() where other !== node { other.fillInBackground() }
                session.logger.debug("session connected", metadata: ["cql.nodes": "\(session.nodesSnapshot().map(\.endpoint))"])
                return session
            } catch let error as ServerError {
                session.close()
                throw error
            } catch let error as CQLError {
                switch error {
                case .authenticationFailed, .authenticationRequired, .protocolVersionRefused:
                    session.close()
                    throw error
                case let .tlsHandshakeFailed(_, reason) where reason.isConfigurationProblem:
                    session.close()
                    throw error
                default:
                    errors.append("\(node.endpoint): \(error)")
                }
            } catch {
                session.close()
                throw error
            }
        }
        session.close()
        throw CQLError.noHostAvailable(errors: errors)
    }

    /// The keyspace unqualified names resolve in.
    public var keyspace: String? { state.withLock { $0.keyspace } }

    /// The node (`host:port`) the control connection reads topology and events from, nil while it reconnects.
    public var controlConnectionEndpoint: String? {
        state.withLock { state in state.control.flatMap { $0.isClosed ? nil : $0.endpoint } }
    }

    /// The nodes the session knows, contact points and discovered peers.
    public var nodes: [CQLEndpoint] { nodesSnapshot().map(\.endpoint) }

    func nodesSnapshot() -> [NodePool] { state.withLock { $0.nodes } }

    func makePool(_ endpoint: CQLEndpoint) -> NodePool {
        NodePool(endpoint: endpoint, connections: configuration.connectionsPerNode, reconnection: configuration.reconnection,
                 logger: logger, configuration: { [weak self] in
            self?.connectionConfiguration ?? CQLConnection.Configuration()
        }, warmUp: { [weak self] connection in
            await self?.reprepareCached(on: connection)
        })
    }

    private var connectionConfiguration: CQLConnection.Configuration {
        CQLConnection.Configuration(connectTimeout: configuration.connectTimeout, requestTimeout: configuration.requestTimeout,
                                    compression: configuration.compression, credentials: configuration.credentials,
                                    heartbeatInterval: configuration.heartbeatInterval, keyspace: keyspace, logger: logger,
                                    ioExecutor: ioExecutor, tls: configuration.tls)
    }

    // MARK: - Statements

    /// Runs a statement and returns its result (one page of rows for a SELECT).
    public func execute(_ statement: CQLStatement) async throws -> QueryResult {
        let kind: RequestKind
        switch statement.body {
        case .simple: kind = .query
        case .prepared: kind = .execute
        }
        let conditional = statement.isLightweightTransaction
        let parameters = self.parameters(for: statement, conditional: conditional)
        var result = try await perform(kind: kind, cql: statement.cql, conditional: conditional,
                                       idempotent: statement.isIdempotent,
                                       localOnly: Self.isDataCenterLocal(parameters, conditional: conditional), routed: statement,
                                       timeout: statement.timeout, ignored: QueryResult.init(ignoredBy:)) { connection in
            switch statement.body {
            case let .simple(text):
                return try self.expectResult(try await connection.send(
                    .query(Query(query: text, parameters: parameters)), timeout: statement.timeout, tracing: statement.tracing),
                                             from: connection)
            case let .prepared(prepared):
                return try await self.executePrepared(prepared, parameters: parameters, timeout: statement.timeout,
                                                      tracing: statement.tracing, on: connection)
            }
        }
        switch result.result {
        case let .setKeyspace(name): await switchKeyspace(to: name)
        case .schemaChange: result.schemaInAgreement = await agreementAfterSchemaChange(coordinator: result.coordinator)
        default: break
        }
        return result
    }

    /// Runs CQL text with values bound by position, each as its Swift type's default CQL type.
    public func execute(_ cql: String, _ values: [any CQLEncodable] = [], consistency: Consistency? = nil,
                        isIdempotent: Bool = false) async throws -> QueryResult {
        var statement = try CQLStatement(cql, values, isIdempotent: isIdempotent)
        statement.consistency = consistency
        return try await execute(statement)
    }

    /// Runs a batch (logged, unlogged or counter); a conditional batch reports ``QueryResult/wasApplied``.
    public func execute(_ batch: BatchStatement) async throws -> QueryResult {
        let conditional = batch.isLightweightTransaction
        let consistency = batch.consistency ?? configuration.consistency
        let serial = batch.serialConsistency ?? (conditional ? configuration.serialConsistency : nil)
        let timestamp = batch.timestamp ?? (configuration.clientTimestamps ? timestamps.next() : nil)
        let localOnly = consistency.isDataCenterLocal || (conditional && serial?.isDataCenterLocal == true)
        var result = try await perform(kind: .batch, cql: "BATCH", conditional: conditional, idempotent: batch.isIdempotent,
                                       localOnly: localOnly, routed: batch.statements.first, timeout: batch.timeout,
                                       ignored: QueryResult.init(ignoredBy:)) { connection in
            var retriedUnprepared = false
            while true {
                let message = Batch(type: batch.type, statements: batch.statements.map { statement in
                    switch statement.body {
                    case let .simple(text): .query(text, statement.values)
                    case let .prepared(prepared): .prepared(self.currentID(of: prepared), statement.values)
                    }
                }, consistency: consistency, serialConsistency: serial, defaultTimestamp: timestamp)
                let envelope = try await connection.send(.batch(message), timeout: batch.timeout)
                if case let .error(error) = envelope.message, case let .unprepared(id) = error.kind, !retriedUnprepared,
                   let prepared = batch.statements.lazy.compactMap({ statement -> PreparedStatement? in
                       if case let .prepared(prepared) = statement.body, self.currentID(of: prepared) == id { return prepared }
                       return nil
                   }).first {
                    retriedUnprepared = true
                    try await self.reprepare(prepared, on: connection)
                    continue
                }
                return try self.expectResult(envelope, from: connection)
            }
        }
        if case .schemaChange = result.result {
            result.schemaInAgreement = await agreementAfterSchemaChange(coordinator: result.coordinator)
        }
        return result
    }

    /// Runs `statements` as one batch of `type`.
    public func batch(_ type: Batch.BatchType = .logged, _ statements: [CQLStatement], consistency: Consistency? = nil,
                      isIdempotent: Bool = false) async throws -> QueryResult {
        try await execute(BatchStatement(type, statements, consistency: consistency, isIdempotent: isIdempotent))
    }

    /// Prepares `cql` (once per session and keyspace; later calls hit the cache) on one node, then,
    /// with ``Configuration/prepareOnAllNodes``, on every other reachable node before returning.
    public func prepare(_ cql: String) async throws -> PreparedStatement {
        let key = PreparedKey(keyspace: keyspace, query: cql)
        if let cached = state.withLock({ $0.prepared[key] }) { return cached }
        let keyspace = key.keyspace
        let (prepared, coordinator) = try await perform(kind: .prepare, cql: cql, conditional: false, idempotent: true,
                                                        localOnly: false, routed: nil, timeout: nil) { connection in
            (try await self.prepare(cql, keyspace: keyspace, on: connection), connection.endpoint)
        }
        if configuration.prepareOnAllNodes { await prepareOnOtherNodes(prepared, except: coordinator) }
        return prepared
    }

    /// Every row of a statement's result, fetching pages as iteration reaches them.
    public func rows(_ statement: CQLStatement) -> CQLRowSequence {
        CQLRowSequence(session: self, statement: statement)
    }

    /// Every row of a statement's result decoded as `T`, fetching pages as iteration reaches them.
    public func rows<T: Decodable & Sendable>(_ statement: CQLStatement, as type: T.Type) -> CQLDecodedRowSequence<T> {
        CQLDecodedRowSequence(rows: CQLRowSequence(session: self, statement: statement))
    }

    /// Switches every pooled connection (and those opened later) to `keyspace`.
    public func use(keyspace: String) async throws {
        _ = try await execute(CQLStatement("USE \"\(keyspace.replacingOccurrences(of: "\"", with: "\"\""))\"", values: []))
    }

    /// Closes every connection; requests still waiting fail.
    public func close() {
        let (nodes, control) = state.withLock { state -> ([NodePool], CQLConnection?) in
            state.closed = true
            defer { state.control = nil }
            return (state.nodes, state.control)
        }
        control?.close()
        for node in nodes { node.close() }
        ioExecutor?.shutdown()
    }

    /// Runs `operation`, and the child tasks it starts, preferring the session's I/O executor: their
    /// requests' answers resume them on the thread that read them, with no hop through the pool.
    /// Without ``Configuration/usesIOExecutor`` it runs `operation` as it is. Code run this way
    /// must never block the thread (blocking I/O, semaphores, long locks): it would stall every
    /// connection of the session.
    public func withIOExecutor<T, Failure: Error>(isolation: isolated (any Actor)? = #isolation,
                                                  _ operation: () async throws(Failure) -> T) async throws(Failure) -> T {
        try await withTaskExecutorPreference(ioExecutor, isolation: isolation, operation: operation)
    }

    // MARK: - Request execution

    private func parameters(for statement: CQLStatement, conditional: Bool) -> QueryParameters {
        let pageSize = statement.pageSize ?? configuration.pageSize
        return QueryParameters(
            consistency: statement.consistency ?? configuration.consistency,
            values: statement.values,
            skipMetadata: false,
            pageSize: pageSize > 0 ? pageSize : nil,
            pagingState: statement.pagingState,
            serialConsistency: statement.serialConsistency ?? (conditional ? configuration.serialConsistency : nil),
            defaultTimestamp: statement.timestamp ?? (configuration.clientTimestamps ? timestamps.next() : nil))
    }

    /// Whether a statement run with `parameters` must stay in the local data center (LOCAL_ONE,
    /// LOCAL_QUORUM, or LOCAL_SERIAL for a conditional one).
    private static func isDataCenterLocal(_ parameters: QueryParameters, conditional: Bool) -> Bool {
        parameters.consistency.isDataCenterLocal || (conditional && parameters.serialConsistency?.isDataCenterLocal == true)
    }

    private func currentID(of prepared: PreparedStatement) -> [UInt8] {
        current(prepared).statement.id
    }

    /// The statement as the session last prepared it (its id and result columns may have changed
    /// since `prepared` was handed out), and whether its result columns are in doubt.
    private func current(_ prepared: PreparedStatement) -> (statement: PreparedStatement, stale: Bool) {
        state.withLock { state -> (PreparedStatement, Bool)? in
            guard state.preparedChanged else { return nil }
            let key = PreparedKey(keyspace: prepared.keyspace, query: prepared.query)
            return (state.prepared[key] ?? prepared, state.staleResultMetadata.contains(key))
        } ?? (prepared, false)
    }

    /// Runs a prepared statement. A SELECT whose result columns are known from PREPARE asks the
    /// node to leave them out of every answer (skip_metadata, as the DataStax drivers do) and gets
    /// them from the statement; an answer whose column count differs (the table changed under a
    /// `SELECT *`) makes the session re-prepare and run it again with the columns sent.
    private func executePrepared(_ prepared: PreparedStatement, parameters: QueryParameters, timeout: Duration?,
                                 tracing: Bool, on connection: CQLConnection) async throws -> QueryResult {
        let (statement, stale) = current(prepared)
        var parameters = parameters
        parameters.skipMetadata = !stale && statement.skipsResultMetadata
        let envelope = try await connection.send(.execute(Execute(id: statement.id, parameters: parameters)), timeout: timeout,
                                                 tracing: tracing)
        if case let .error(error) = envelope.message, case .unprepared = error.kind {
            logger.debug("re-preparing", metadata: ["cql.query": "\(prepared.query)", "cql.endpoint": "\(connection.endpoint)"])
            let fresh = try await reprepare(prepared, on: connection)
            parameters.skipMetadata = fresh.skipsResultMetadata
            let retried = try await connection.send(.execute(Execute(id: fresh.id, parameters: parameters)), timeout: timeout,
                                                    tracing: tracing)
            if let result = try executionResult(of: retried, statement: fresh, skippedMetadata: parameters.skipMetadata,
                                                from: connection) {
                return result
            }
            return try await executeWithColumns(fresh, parameters: parameters, timeout: timeout, tracing: tracing, on: connection)
        }
        guard let result = try executionResult(of: envelope, statement: statement, skippedMetadata: parameters.skipMetadata,
                                      from: connection) else {
            return try await executeWithColumns(statement, parameters: parameters, timeout: timeout, tracing: tracing,
                                                on: connection)
        }
        if stale { refreshResultMetadata(of: statement, from: result) }
        return result
    }

    /// The result of an EXECUTE, with the statement's columns filled in when the node left them out;
    /// nil when their count differs from the statement's (the table changed since it was prepared).
    /// Synchronous: the common answer needs no suspension point of its own.
    private func executionResult(of envelope: Envelope<ResponseMessage>, statement: PreparedStatement, skippedMetadata: Bool,
                        from connection: CQLConnection) throws -> QueryResult? {
        guard skippedMetadata, case var .result(.rows(rows)) = envelope.message, rows.metadata.noMetadata else {
            return try expectResult(envelope, from: connection)
        }
        let known = statement.resultMetadata.columns
        guard rows.metadata.columnCount == known.count else { return nil }
        rows.metadata.columns = known
        return QueryResult(envelope: envelope, result: .rows(rows), coordinator: connection.endpoint)
    }

    /// Prepares `statement` again (its fresh columns are cached for later executions) and runs it
    /// once more with the columns in the answer: its cached columns were out of date.
    private func executeWithColumns(_ statement: PreparedStatement, parameters: QueryParameters, timeout: Duration?,
                                    tracing: Bool, on connection: CQLConnection) async throws -> QueryResult {
        logger.debug("result columns changed, re-preparing", metadata: ["cql.query": "\(statement.query)"])
        try await reprepare(statement, on: connection)
        var full = parameters
        full.skipMetadata = false
        let retried = try await connection.send(.execute(Execute(id: currentID(of: statement), parameters: full)),
                                                timeout: timeout, tracing: tracing)
        return try expectResult(retried, from: connection)
    }

    /// After a schema change, an answer with columns makes them the statement's again (and lets it skip them).
    private func refreshResultMetadata(of statement: PreparedStatement, from result: QueryResult) {
        guard case let .rows(rows) = result.result, !rows.metadata.noMetadata else { return }
        let key = PreparedKey(keyspace: statement.keyspace, query: statement.query)
        var columns = rows.metadata
        columns.pagingState = nil
        state.withLock { state in
            guard state.staleResultMetadata.remove(key) != nil, let cached = state.prepared[key] else { return }
            state.prepared[key] = cached.withResultMetadata(columns)
        }
    }

    /// A schema event: result columns of prepared statements on the changed keyspace or table are in doubt.
    func schemaChanged(_ change: SchemaChange) {
        state.withLock { state in
            var affected = false
            for (key, statement) in state.prepared where statement.skipsResultMetadata {
                let columns = statement.resultMetadata.columns
                let hit = columns.contains { column in
                    column.keyspace == change.keyspace && (change.target == .keyspace || column.table == change.name)
                }
                if hit {
                    state.staleResultMetadata.insert(key)
                    affected = true
                }
            }
            if affected { state.preparedChanged = true }
        }
    }

    /// How a connection remembers a statement prepared through it.
    static func preparedMark(_ cql: String, keyspace: String?) -> String { "\(keyspace ?? "")\u{0}\(cql)" }

    @discardableResult
    private func reprepare(_ prepared: PreparedStatement, on connection: CQLConnection) async throws -> PreparedStatement {
        try await prepare(prepared.query, keyspace: prepared.keyspace, on: connection)
    }

    func prepare(_ cql: String, keyspace: String?, on connection: CQLConnection) async throws -> PreparedStatement {
        let envelope = try await connection.send(.prepare(Prepare(query: cql)))
        switch envelope.message {
        case let .result(.prepared(prepared)):
            let statement = PreparedStatement(query: cql, keyspace: keyspace, prepared: prepared)
            connection.preparedStatements.withLock { _ = $0.insert(Self.preparedMark(cql, keyspace: keyspace)) }
            state.withLock { state in
                let key = PreparedKey(keyspace: keyspace, query: cql)
                if let previous = state.prepared[key],
                   previous.id != statement.id || previous.resultMetadata != statement.resultMetadata {
                    state.preparedChanged = true
                }
                state.staleResultMetadata.remove(key)
                state.prepared[key] = statement
            }
            return statement
        case let .error(error):
            throw error
        default:
            throw CQLError.unexpectedResponse(endpoint: connection.endpoint, expected: "RESULT Prepared",
                                              received: "\(envelope.message.opcode)")
        }
    }

    private func expectResult(_ envelope: Envelope<ResponseMessage>, from connection: CQLConnection) throws -> QueryResult {
        switch envelope.message {
        case let .result(result):
            return QueryResult(envelope: envelope, result: result, coordinator: connection.endpoint)
        case let .error(error):
            throw error
        default:
            throw CQLError.unexpectedResponse(endpoint: connection.endpoint, expected: "RESULT", received: "\(envelope.message.opcode)")
        }
    }

    /// The owner of `token`: the node of the first ring token at or above it, wrapping around.
    static func owner(of token: Int64, in ring: [(token: Int64, node: Int)]) -> Int {
        ring[TokenMap.position(of: token, in: ring)].node
    }

    /// Runs `USE` on every pooled connection; a connection that refuses is closed so it reopens in the new keyspace.
    private func switchKeyspace(to name: String) async {
        state.withLock { $0.keyspace = name }
        for node in nodesSnapshot() {
            for connection in node.openConnections {
                do {
                    try await connection.use(keyspace: name)
                } catch {
                    logger.debug("USE failed on a pooled connection", metadata: ["cql.endpoint": "\(connection.endpoint)",
                                                                                  "cql.error": "\(error)"])
                    connection.close()
                }
            }
        }
    }
}
