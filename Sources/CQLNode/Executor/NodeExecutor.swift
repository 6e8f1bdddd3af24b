import CQLCodec
import Crypto
import Foundation
import NIOConcurrencyHelpers

/// The embedded node's statement executor: answers QUERY, PREPARE, EXECUTE and BATCH as Cassandra 4.1 does,
/// on top of ``Storage``.
///
/// Shared by every connection: prepared statements and parsed statements are cached per node, the session
/// state (current keyspace) travels in each request's ``RequestContext``.
final class NodeExecutor: QueryHandler {
    /// The storage engine statements read and write.
    let storage: Storage
    /// Write timestamps, expiry times and `now()`.
    let clock: NodeClock
    /// Testing aid: where applied LWTs are logged in commit order; nil logs nothing.
    let lwtAudit: LWTAuditLog?
    private let preparedStatements = NIOLockedValueBox<[[UInt8]: ServerPreparedStatement]>([:])
    private let parsedStatements = NIOLockedValueBox<[String: ParsedStatement]>([:])

    /// The most parsed statements kept by query text; the cache starts over when full.
    static let parseCacheLimit = 4096

    /// An executor over `storage`; `clock` (microseconds since the epoch) replaces the system clock in tests.
    /// `lwtAudit` (a testing aid) gets one line per applied LWT.
    init(storage: Storage, clock: (@Sendable () -> Int64)? = nil, lwtAudit: LWTAuditLog? = nil) {
        self.storage = storage
        self.clock = NodeClock(source: clock)
        self.lwtAudit = lwtAudit
    }

    /// Runs one request; every failure becomes an ERROR response with Cassandra's code and message.
    func handle(_ request: QueryRequest, context: RequestContext) async -> QueryResponse {
        do {
            switch request {
            case let .query(query):
                let parsed = try parse(query.query)
                let options = ExecutionOptions(query.parameters)
                return try await execute(parsed, options: options, context: context, keyspace: context.session.keyspace,
                                         variables: nil)
            case let .prepare(prepare):
                return QueryResponse(.result(.prepared(try self.prepare(prepare.query, context: context))))
            case let .execute(execute):
                guard let statement = preparedStatements.withLockedValue({ $0[execute.id] }) else {
                    throw ServerError.unprepared(execute.id)
                }
                let options = ExecutionOptions(execute.parameters)
                return try await self.execute(statement.parsed, options: options, context: context,
                                              keyspace: statement.keyspace ?? context.session.keyspace,
                                              variables: statement.variables, prepared: true)
            case let .batch(batch):
                return try await executeBatchMessage(batch, context: context)
            }
        } catch let error as ServerError {
            return .error(error)
        } catch {
            return .error(ServerError(.serverError, message: "\(error)"))
        }
    }

    // MARK: Parsing and preparing

    /// Parses `text`, from the cache when the same text was parsed before.
    func parse(_ text: String) throws(ServerError) -> ParsedStatement {
        if let cached = parsedStatements.withLockedValue({ $0[text] }) { return cached }
        let parsed: ParsedStatement
        do {
            parsed = try CQLParser.parse(text)
        } catch {
            throw .syntax(error.message)
        }
        parsedStatements.withLockedValue { cache in
            if cache.count >= Self.parseCacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[text] = parsed
        }
        return parsed
    }

    /// PREPARE: parses, types the bind markers and registers the statement under Cassandra's id.
    func prepare(_ text: String, context: RequestContext) throws(ServerError) -> Prepared {
        let parsed = try parse(text)
        let keyspace = context.session.keyspace
        let variables = try bindVariables(parsed, keyspace: keyspace)
        var resultMetadata = RowsMetadata(columns: [], noMetadata: true)
        if case let .select(select) = parsed.statement {
            let table = try table(select.table, keyspace: keyspace)
            let columns = try SelectPlanner.outputColumns(select, table: table)
            resultMetadata = RowsMetadata(columns: SelectPlanner.resultSpecs(select, columns, table: table))
        }
        // Cassandra's id: MD5(keyspace + query), so every node gives the same text the same id.
        let id = Array(Insecure.MD5.hash(data: Array(((keyspace ?? "") + text).utf8)))
        let statement = ServerPreparedStatement(query: text, keyspace: keyspace, parsed: parsed, variables: variables)
        preparedStatements.withLockedValue { $0[id] = statement }
        let metadata = PreparedMetadata(columns: variables?.columnSpecs ?? [],
                                        pkIndices: variables?.partitionKeyIndices ?? [])
        return Prepared(id: id, metadata: metadata, resultMetadata: resultMetadata)
    }

    /// The typed bind markers of a statement on a table; nil for statements without a table.
    func bindVariables(_ parsed: ParsedStatement, keyspace: String?) throws(ServerError) -> BindVariables? {
        var collector = BindVariableCollector()
        let table: TableSchema
        switch parsed.statement {
        case let .insert(insert):
            table = try self.table(insert.table, keyspace: keyspace)
            collector.modification(.insert(insert), table: table)
        case let .update(update):
            table = try self.table(update.table, keyspace: keyspace)
            collector.modification(.update(update), table: table)
        case let .delete(delete):
            table = try self.table(delete.table, keyspace: keyspace)
            collector.modification(.delete(delete), table: table)
        case let .select(select):
            table = try self.table(select.table, keyspace: keyspace)
            collector.select(select, table: table)
        case let .batch(batch):
            guard let first = batch.statements.first else { return nil }
            collector.parameters(batch.parameters)
            table = try self.table(first.tableName, keyspace: keyspace)
            for child in batch.statements {
                collector.modification(child, table: try self.table(child.tableName, keyspace: keyspace))
            }
        default:
            return parsed.bindMarkers.isEmpty ? nil
                : BindVariables(receivers: parsed.bindMarkers.map { Receiver(name: $0.name ?? "[\($0.index)]", type: .blob) },
                                keyspace: keyspace ?? "", table: "", partitionKeyIndices: [])
        }
        return collector.variables(count: parsed.bindMarkers.count, table: table)
    }

    // MARK: Execution

    /// Runs a parsed statement with a request's options.
    func execute(_ parsed: ParsedStatement, options: ExecutionOptions, context: RequestContext, keyspace: String?,
                 variables: BindVariables?, prepared: Bool = false) async throws(ServerError) -> QueryResponse {
        let values = try resolveValues(options.values, parsed: parsed, keyspace: keyspace, variables: variables)
        let evaluator = TermEvaluator(values: values, clock: clock)
        switch parsed.statement {
        case let .use(name):
            guard storage.catalog.keyspaces[name] != nil else {
                throw .storage(.keyspaceNotFoundQuoted(name))
            }
            context.session.keyspace = name
            return QueryResponse(.result(.setKeyspace(name)))
        case let .select(select):
            let table = try table(select.table, keyspace: keyspace)
            try checkConsistency(options.consistency, keyspace: table.keyspace, isWrite: false)
            let executor = SelectExecutor(storage: storage, table: table, select: select, evaluator: evaluator,
                                          now: clock.nowSeconds, options: options, honourSkipMetadata: prepared)
            return QueryResponse(.result(.rows(try executor.run())))
        case .insert, .update, .delete:
            guard let child = BatchChild(parsed.statement) else { throw .invalidRequest("Unsupported statement") }
            return try await executeModifications([(child, evaluator)], batch: nil, options: options, keyspace: keyspace)
        case let .batch(batch):
            let children = batch.statements.map { ($0, evaluator) }
            return try await executeModifications(children, batch: batch.kind, parameters: batch.parameters,
                                                  options: options, keyspace: keyspace)
        case .createKeyspace, .alterKeyspace, .dropKeyspace, .createTable, .alterTable, .dropTable, .truncate,
             .createType, .dropType, .describe:
            return await executeSchema(parsed.statement, context: context, keyspace: keyspace)
        case let .unsupported(kind):
            throw .invalidRequest("\(kind.rawValue) statements are not supported by this node")
        }
    }

    /// BATCH message: each statement a query string or a prepared id with its own values.
    func executeBatchMessage(_ batch: CQLCodec.Batch, context: RequestContext) async throws(ServerError) -> QueryResponse {
        var children: [(BatchChild, TermEvaluator)] = []
        let options = ExecutionOptions(consistency: batch.consistency, serialConsistency: batch.serialConsistency,
                                       defaultTimestamp: batch.defaultTimestamp)
        let sessionKeyspace = context.session.keyspace
        for statement in batch.statements {
            let parsed: ParsedStatement
            let variables: BindVariables?
            var keyspace = sessionKeyspace
            switch statement {
            case let .query(text, _):
                parsed = try parse(text)
                variables = nil
            case let .prepared(id, _):
                guard let prepared = preparedStatements.withLockedValue({ $0[id] }) else { throw .unprepared(id) }
                parsed = prepared.parsed
                variables = prepared.variables
                keyspace = prepared.keyspace ?? sessionKeyspace
            }
            guard let child = BatchChild(parsed.statement) else {
                throw .invalidRequest("Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.")
            }
            let values = try resolveValues(statement.values, parsed: parsed, keyspace: keyspace, variables: variables)
            // Each statement resolves unqualified names in its own keyspace (a prepared one in the keyspace it was prepared in).
            children.append((child.qualified(keyspace: keyspace), TermEvaluator(values: values, clock: clock)))
        }
        let kind = BatchSyntax.Kind(rawValue: batch.type.rawValue) ?? .logged
        return try await executeModifications(children, batch: kind, options: options, keyspace: sessionKeyspace)
    }

    /// Bound values in marker order: positional as sent, named matched to the markers' names.
    func resolveValues(_ values: QueryValues, parsed: ParsedStatement, keyspace: String?,
                       variables: BindVariables?) throws(ServerError) -> [WireValue] {
        let markers = parsed.bindMarkers
        switch values {
        case .none:
            guard markers.isEmpty else {
                throw .invalidRequest("Invalid amount of bind variables")
            }
            return []
        case let .positional(list):
            guard list.count == markers.count else {
                throw .invalidRequest("Invalid amount of bind variables")
            }
            return list
        case let .named(pairs):
            var receivers = variables
            if receivers == nil { receivers = try bindVariables(parsed, keyspace: keyspace) }
            var result: [WireValue] = []
            for marker in markers {
                let name = marker.name ?? receivers?.receivers[safe: marker.index]?.name ?? ""
                guard let value = pairs.first(where: { $0.0 == name })?.1
                    ?? pairs.first(where: { $0.0.lowercased() == name.lowercased() })?.1 else {
                    throw .invalidRequest("Invalid unset value for column \(name)")
                }
                result.append(value)
            }
            return result
        }
    }

    /// The table a statement names, resolved in `keyspace` when unqualified, with Cassandra's errors.
    func table(_ name: QualifiedName, keyspace: String?) throws(ServerError) -> TableSchema {
        guard let keyspaceName = name.keyspace ?? keyspace else { throw .noKeyspace }
        do {
            return try storage.catalog.table(keyspace: keyspaceName, name: name.name)
        } catch {
            throw .storage(error)
        }
    }

    // MARK: Consistency

    /// Checks a consistency level against the keyspace's replication, as a single live node of `datacenter1`.
    func checkConsistency(_ consistency: Consistency, keyspace name: String, isWrite: Bool) throws(ServerError) {
        if isWrite, consistency.isSerial {
            throw .invalidRequest("You must use conditional updates for serializable writes")
        }
        if !isWrite, consistency == .any {
            throw .invalidRequest("ANY ConsistencyLevel is only supported for writes")
        }
        if !isWrite, consistency == .eachQuorum {
            throw .invalidRequest("EACH_QUORUM ConsistencyLevel is only supported for writes")
        }
        let (total, local) = Self.replicationFactors(storage.catalog.keyspaces[name])
        let required: Int
        switch consistency {
        case .any: return
        case .one, .localOne: required = 1
        case .two: required = 2
        case .three: required = 3
        case .quorum, .serial: required = total / 2 + 1
        case .all: required = total
        case .localQuorum, .localSerial, .eachQuorum: required = local / 2 + 1
        }
        let alive = min(1, consistency == .all || consistency == .quorum || consistency == .serial ? total : local)
        guard required <= alive else {
            throw ServerError(.unavailable(consistency: consistency, required: Int32(clamping: required), alive: Int32(clamping: alive)),
                              message: "Cannot achieve consistency level \(consistency)")
        }
    }

    /// The total and `datacenter1` replication factors; local and system strategies keep one replica.
    static func replicationFactors(_ keyspace: KeyspaceSchema?) -> (total: Int, local: Int) {
        guard let keyspace else { return (1, 1) }
        let strategy = keyspace.replication.first { $0.0 == "class" }?.1 ?? ""
        if strategy.hasSuffix("NetworkTopologyStrategy") {
            let total = keyspace.replication.filter { $0.0 != "class" && $0.0 != "replication_factor" }
                .compactMap { Int($0.1) }.reduce(0, +)
            return (total, keyspace.replicationFactor(dataCenter: "datacenter1"))
        }
        if strategy.hasSuffix("SimpleStrategy") {
            let factor = keyspace.replicationFactor()
            return (factor, factor)
        }
        return (1, 1)
    }

    /// Checks the serial consistency of a conditional statement.
    static func checkSerialConsistency(_ consistency: Consistency?) throws(ServerError) {
        guard let consistency, !consistency.isSerial else { return }
        throw .invalidRequest("Invalid consistency for conditional update. Must be one of SERIAL or LOCAL_SERIAL")
    }
}

/// A statement registered by PREPARE.
struct ServerPreparedStatement: Sendable {
    /// The CQL text.
    var query: String
    /// The session keyspace when it was prepared (unqualified tables resolve in it).
    var keyspace: String?
    /// The parsed statement.
    var parsed: ParsedStatement
    /// Its typed bind markers.
    var variables: BindVariables?
}

/// What a request asks besides its statement and values.
struct ExecutionOptions: Sendable {
    var consistency: Consistency
    var serialConsistency: Consistency?
    var values: QueryValues = .none
    var skipMetadata = false
    var pageSize: Int?
    var pagingState: [UInt8]?
    var defaultTimestamp: Int64?

    init(consistency: Consistency, serialConsistency: Consistency?, defaultTimestamp: Int64?) {
        self.consistency = consistency
        self.serialConsistency = serialConsistency
        self.defaultTimestamp = defaultTimestamp
    }

    init(_ parameters: QueryParameters) {
        consistency = parameters.consistency
        serialConsistency = parameters.serialConsistency
        values = parameters.values
        skipMetadata = parameters.skipMetadata
        pageSize = parameters.pageSize.flatMap { $0 > 0 ? Int($0) : nil }
        pagingState = parameters.pagingState
        defaultTimestamp = parameters.defaultTimestamp
    }
}

extension ServerError {
    /// UNPREPARED for an unknown id, with Cassandra's message.
    static func unprepared(_ id: [UInt8]) -> ServerError {
        let hex = id.map { String(format: "%02x", $0) }.joined()
        return ServerError(.unprepared(id: id), message: "Prepared query with ID \(hex) not found (either the query was not "
            + "prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has "
            + "been evicted from the internal cache)")
    }
}

extension BatchChild {
    /// The modification a statement is, or nil for other statements.
    init?(_ statement: StatementSyntax) {
        switch statement {
        case let .insert(insert): self = .insert(insert)
        case let .update(update): self = .update(update)
        case let .delete(delete): self = .delete(delete)
        default: return nil
        }
    }

    /// The statement with its table qualified by `keyspace` when it names none.
    func qualified(keyspace: String?) -> BatchChild {
        guard tableName.keyspace == nil, let keyspace else { return self }
        let name = QualifiedName(keyspace: keyspace, name: tableName.name)
        switch self {
        case var .insert(insert): insert.table = name; return .insert(insert)
        case var .update(update): update.table = name; return .update(update)
        case var .delete(delete): delete.table = name; return .delete(delete)
        }
    }

    /// The table it modifies.
    var tableName: QualifiedName {
        switch self {
        case let .insert(insert): insert.table
        case let .update(update): update.table
        case let .delete(delete): delete.table
        }
    }
}

extension Array {
    /// The element at `index`, or nil outside the array.
    subscript(safe index: Int) -> Element? {
        index >= 0 && index < count ? self[index] : nil
    }
}
