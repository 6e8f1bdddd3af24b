import CQLCodec

extension NodeExecutor {
    /// Runs INSERT/UPDATE/DELETE statements, alone (`batch` nil) or as one BATCH, conditional or not.
    func executeModifications(_ children: [(BatchChild, TermEvaluator)], batch: BatchSyntax.Kind?,
                              parameters: UpdateParameters = .init(), options: ExecutionOptions,
                              keyspace: String?) async throws(ServerError) -> QueryResponse {
        let now = clock.nowSeconds
        let batchEvaluator = children.first?.1 ?? TermEvaluator(values: [], clock: clock)
        let batchTimestamp = try batchEvaluator.integer(parameters.timestamp, Receiver(name: "[timestamp]", type: .bigint))
        let batchTTL = try ModificationBuilder.timeToLive(parameters.timeToLive, evaluator: batchEvaluator)
        let defaultTimestamp = options.defaultTimestamp ?? clock.nextTimestamp()
        var resolved: [ResolvedModification] = []
        for (child, evaluator) in children {
            let table = try table(child.tableName, keyspace: keyspace)
            let (timestampTerm, ttlTerm) = child.parameterTerms
            let ownTimestamp = try evaluator.integer(timestampTerm, Receiver(name: "[timestamp]", type: .bigint))
            if batchTimestamp != nil, ownTimestamp != nil {
                throw .invalidRequest("Timestamp must be set either on BATCH or individual statements")
            }
            let ttl = try ModificationBuilder.timeToLive(ttlTerm, evaluator: evaluator) ?? batchTTL
            let builder = ModificationBuilder(table: table, evaluator: evaluator,
                                              timestamp: ownTimestamp ?? batchTimestamp ?? defaultTimestamp, ttl: ttl, now: now)
            switch child {
            case let .insert(insert): resolved.append(try builder.insert(insert))
            case let .update(update): resolved.append(try builder.update(update))
            case let .delete(delete): resolved.append(try builder.delete(delete))
            }
        }
        let conditional = resolved.contains { $0.condition != nil }
        if conditional, options.consistency.isSerial {
            throw .invalidRequest("\(options.consistency) is not supported as conditional update commit consistency. "
                + "Use ANY if you mean \"make sure it is accepted but I don't care how many replicas commit it for non-SERIAL reads\"")
        }
        if options.consistency == .any, let counter = resolved.first(where: \.isCounter) {
            throw .invalidRequest("Consistency level ANY is not yet supported for counter table \(counter.table.name)")
        }
        for keyspace in Set(resolved.map(\.table.keyspace)) {
            try checkConsistency(options.consistency, keyspace: keyspace, isWrite: true)
        }
        if let batch {
            let counters = resolved.filter(\.isCounter).count
            switch batch {
            case .counter where counters < resolved.count:
                throw .invalidRequest("Cannot include non-counter statement in a counter batch")
            case .logged where counters > 0:
                throw .invalidRequest("Cannot include a counter statement in a logged batch")
            case .unlogged where counters > 0 && counters < resolved.count:
                throw .invalidRequest("Counter and non-counter mutations cannot exist in the same batch")
            default:
                break
            }
        }
        if conditional {
            return try await executeConditional(resolved, isBatch: batch != nil, options: options,
                                                customTimestamp: batchTimestamp != nil)
        }
        let mutations = resolved.flatMap(\.mutations)
        let lsn: LogSequenceNumber
        do {
            lsn = try storage.apply(mutations)
        } catch {
            throw .storage(error)
        }
        try await awaitDurable(lsn)
        return QueryResponse(.result(.void))
    }

    func awaitDurable(_ lsn: LogSequenceNumber) async throws(ServerError) {
        do {
            try await storage.awaitDurable(lsn)
        } catch {
            throw ServerError(.serverError, message: "Commit log write failed: \(error)")
        }
    }

    /// An LWT: reads the conditioned rows, checks the conditions and applies the mutations in one storage
    /// transaction, so conditional writes to a partition are linearizable.
    private func executeConditional(_ resolved: [ResolvedModification], isBatch: Bool, options: ExecutionOptions,
                                    customTimestamp: Bool) async throws(ServerError) -> QueryResponse {
        try Self.checkSerialConsistency(options.serialConsistency)
        if customTimestamp || resolved.contains(where: \.hasCustomTimestamp) {
            throw .invalidRequest(isBatch ? "Cannot provide custom timestamp for conditional BATCH"
                : "Cannot provide custom timestamp for conditional updates")
        }
        guard let first = resolved.first else { return QueryResponse(.result(.void)) }
        let table = resolved.first { $0.condition != nil }?.table ?? first.table
        if resolved.contains(where: { $0.table.id != table.id }) {
            throw .invalidRequest("Batch with conditions cannot span multiple tables")
        }
        let keys = Set(resolved.flatMap { $0.mutations.map(\.partitionKey) })
        if keys.count > 1 { throw .invalidRequest("Batch with conditions cannot span multiple partitions") }
        let checks = resolved.compactMap(\.condition)
        let mutations = resolved.flatMap(\.mutations)
        let now = clock.nowSeconds
        let clock = self.clock
        let audit = lwtAudit
        let outcome = try storage.withTransaction { (state: inout StorageState) throws(ServerError) -> CASOutcome in
            var rows: [(ConditionCheck, StoredRow?)] = []
            var applied = true
            for check in checks {
                let row = try Self.currentRow(state, table: table, check: check, now: now)
                rows.append((check, row))
                if !Self.holds(check, row: row) { applied = false }
            }
            guard applied else { return CASOutcome(applied: false, rows: rows, lsn: nil) }
            // The timestamp is drawn under the lock: a later LWT on the partition always writes a later timestamp.
            let timestamp = clock.nextTimestamp()
            do {
                let lsn = try state.apply(mutations.map { $0.withTimestamp(timestamp) })
                // Drawn under the storage lock, so the audit's order is the commit order.
                return CASOutcome(applied: true, rows: rows, lsn: lsn, timestamp: timestamp, auditSequence: audit?.nextSequence())
            } catch let error as StorageError {
                throw .storage(error)
            } catch {
                throw ServerError(.serverError, message: "\(error)")
            }
        }
        if let lsn = outcome.lsn { try await awaitDurable(lsn) }
        if let audit, let sequence = outcome.auditSequence {
            audit.record(sequence: sequence, timestamp: outcome.timestamp, table: table, mutations: mutations)
        }
        return QueryResponse(.result(.rows(try CASResult.rows(outcome, table: table, isBatch: isBatch))))
    }

    /// The row a condition is about, as the transaction sees it.
    static func currentRow(_ state: StorageState, table: TableSchema, check: ConditionCheck, now: Int32) throws(ServerError) -> StoredRow? {
        let query = ReadQuery(slices: [ClusteringSlice.prefix(check.clustering)], limit: 1, now: now)
        do {
            return try state.read(table: table.id, partitionKey: check.partitionKey, query: query).rows.first
        } catch {
            throw .storage(error)
        }
    }

    /// Whether a condition holds on the current row (nil when it does not exist).
    static func holds(_ check: ConditionCheck, row: StoredRow?) -> Bool {
        switch check.kind {
        case .notExists: return row == nil
        case .exists: return row != nil
        case let .columns(conditions):
            return conditions.allSatisfy { ConditionEvaluation.holds($0, row: row) }
        }
    }
}

/// What an LWT transaction saw and did.
struct CASOutcome: Sendable {
    var applied: Bool
    var rows: [(ConditionCheck, StoredRow?)]
    var lsn: LogSequenceNumber?
    /// The write timestamp of an applied LWT.
    var timestamp: Int64 = 0
    /// The LWT's place in the audit log's commit order (nil when there is no audit log or it did not apply).
    var auditSequence: Int64?
}

/// Conditions tested against stored values.
enum ConditionEvaluation {
    static func holds(_ condition: EvaluatedCondition, row: StoredRow?) -> Bool {
        let column = condition.column
        var current = row?.columns[column.name]?.serialized(as: column.type)
        var type = column.type
        switch condition.element {
        case .whole:
            break
        case let .listIndex(index):
            guard case let .list(elementType) = column.type else { return false }
            type = elementType
            let elements = current.flatMap { try? ValueValidation.split($0, type: column.type, receiver: column.name) } ?? []
            current = elements[safe: index]
        case let .mapKey(key):
            guard case let .map(keyType, valueType) = column.type else { return false }
            type = valueType
            let elements = current.flatMap { try? ValueValidation.split($0, type: column.type, receiver: column.name, pairs: true) } ?? []
            current = nil
            var index = 0
            while index + 1 < elements.count {
                if ValueOrder.compare(elements[index], key, as: keyType) == 0 { current = elements[index + 1] }
                index += 2
            }
        case let .field(index, fieldType):
            type = fieldType
            current = current.flatMap { RowValues.component($0, at: index) } ?? nil
        }
        switch condition.predicate {
        case let .compare(op, value):
            return compare(current, op, value, type: type)
        case let .oneOf(values):
            return values.contains { compare(current, .equal, $0, type: type) }
        case let .contains(element):
            guard let current else { return false }
            switch type {
            case let .list(elementType), let .set(elementType):
                let elements = (try? ValueValidation.split(current, type: type, receiver: column.name)) ?? []
                return elements.contains { ValueOrder.compare($0, element, as: elementType) == 0 }
            case let .map(_, valueType):
                let elements = (try? ValueValidation.split(current, type: type, receiver: column.name, pairs: true)) ?? []
                return stride(from: 1, to: elements.count, by: 2).contains { ValueOrder.compare(elements[$0], element, as: valueType) == 0 }
            default:
                return false
            }
        case let .containsKey(key):
            guard let current, case let .map(keyType, _) = type else { return false }
            let elements = (try? ValueValidation.split(current, type: type, receiver: column.name, pairs: true)) ?? []
            return stride(from: 0, to: elements.count, by: 2).contains { ValueOrder.compare(elements[$0], key, as: keyType) == 0 }
        }
    }

    /// Cassandra's comparison of a current value with a condition's value: null equals only null, and orders nothing.
    static func compare(_ current: [UInt8]?, _ op: ComparisonOperator, _ value: [UInt8]?, type: DataType) -> Bool {
        switch op {
        case .equal:
            guard let current, let value else { return current == nil && value == nil }
            return ValueOrder.compare(current, value, as: type) == 0
        case .notEqual:
            return !compare(current, .equal, value, type: type)
        default:
            guard let current, let value else { return false }
            let order = ValueOrder.compare(current, value, as: type)
            switch op {
            case .less: return order < 0
            case .lessOrEqual: return order <= 0
            case .greater: return order > 0
            case .greaterOrEqual: return order >= 0
            case .equal, .notEqual: return false
            }
        }
    }
}

/// The RESULT rows of an LWT, exactly as Cassandra builds them (`ModificationStatement.buildCasResultSet`).
enum CASResult {
    static let appliedColumn = "[applied]"

    static func rows(_ outcome: CASOutcome, table: TableSchema, isBatch: Bool) throws(ServerError) -> Rows {
        let applied = ColumnSpec(keyspace: table.keyspace, table: table.name, name: appliedColumn, type: .boolean)
        func single(_ value: Bool) throws(ServerError) -> Rows {
            try make(RowsMetadata(columns: [applied]), [[[value ? 1 : 0]]])
        }
        if outcome.applied { return try single(true) }
        let existing = outcome.rows.compactMap { check, row in row.map { (check, $0) } }
        guard !existing.isEmpty else { return try single(false) }
        var columns: [ColumnSchema]
        let conditioned = outcome.rows.flatMap { check, _ -> [ColumnSchema] in
            if case let .columns(conditions) = check.kind { conditions.map(\.column) } else { [] }
        }
        // An IF EXISTS / IF NOT EXISTS among the conditions makes Cassandra read, and return, whole rows.
        let hasRowCondition = outcome.rows.contains { check, _ in
            if case .columns = check.kind { false } else { true }
        }
        if conditioned.isEmpty || hasRowCondition {
            columns = table.selectOrderColumns
        } else {
            columns = isBatch ? table.partitionKeyColumns + table.clusteringColumns : []
            for column in table.conditionOrder(conditioned) where !columns.contains(where: { $0.name == column.name }) {
                columns.append(column)
            }
        }
        var seen = Set<[[UInt8]]>()
        var cells: [[[UInt8]?]] = []
        let sorted = existing.sorted { ValueOrder.compareClustering($0.1.clustering, $1.1.clustering, columns: table.clusteringColumns) < 0 }
        // Cassandra reads the static row for a CAS only when a condition is on it; otherwise statics come back null.
        let readsStatic = outcome.rows.contains { check, _ in check.clustering.isEmpty }
        for (_, row) in sorted where seen.insert(row.clustering).inserted {
            cells.append([[0]] + columns.map { column in
                column.kind == .static && !readsStatic ? nil : RowValues.value(of: column, in: row, table: table)
            })
            if !isBatch { break }
        }
        let specs = [applied] + columns.map { ColumnSpec(keyspace: table.keyspace, table: table.name, name: $0.name, type: $0.type) }
        return try make(RowsMetadata(columns: specs), cells)
    }

    static func make(_ metadata: RowsMetadata, _ cells: [[[UInt8]?]]) throws(ServerError) -> Rows {
        do {
            return try Rows(metadata: metadata, cells: cells)
        } catch {
            throw ServerError(.serverError, message: "Could not build result rows: \(error)")
        }
    }
}

/// Values of a stored row by column.
enum RowValues {
    /// The serialized value of `column` in `row` (keys included); nil for null.
    static func value(of column: ColumnSchema, in row: StoredRow, table: TableSchema) -> [UInt8]? {
        switch column.kind {
        case let .partitionKey(position):
            if table.partitionKeyColumns.count == 1 { return row.partitionKey }
            return partitionKeyComponents(row.partitionKey)[safe: position]
        case let .clustering(position, _):
            return row.isStaticOnly ? nil : row.clustering[safe: position]
        case .regular, .static:
            return row.columns[column.name]?.serialized(as: column.type)
        }
    }

    /// The components of a composite partition key (`[short length][bytes][0]` each).
    static func partitionKeyComponents(_ key: [UInt8]) -> [[UInt8]] {
        var components: [[UInt8]] = []
        var index = 0
        while index + 2 <= key.count {
            let length = Int(key[index]) << 8 | Int(key[index + 1])
            let start = index + 2
            guard start + length <= key.count else { break }
            components.append(Array(key[start..<(start + length)]))
            index = start + length + 1
        }
        return components
    }

    /// The `index`th `[bytes]` component of a tuple or UDT value; nil when null or missing.
    static func component(_ value: [UInt8], at index: Int) -> [UInt8]? {
        var reader = ByteReader(value)
        for position in 0...index {
            guard reader.remaining > 0, let component = try? reader.readBytes("component") else { return nil }
            if position == index { return component }
        }
        return nil
    }
}

extension TableSchema {
    /// `SELECT *` order: partition key, clustering, then static and regular columns by name.
    var selectOrderColumns: [ColumnSchema] {
        partitionKeyColumns + clusteringColumns + staticColumns.sorted(by: Self.byName) + regularColumns.sorted(by: Self.byName)
    }

    /// Conditioned columns in the order Cassandra lists them: statics first, single-cell before multi-cell, by name.
    func conditionOrder(_ columns: [ColumnSchema]) -> [ColumnSchema] {
        var unique: [ColumnSchema] = []
        for column in columns where !unique.contains(where: { $0.name == column.name }) { unique.append(column) }
        return unique.sorted { a, b in
            if (a.kind == .static) != (b.kind == .static) { return a.kind == .static }
            if a.isMultiCell != b.isMultiCell { return !a.isMultiCell }
            return Self.byName(a, b)
        }
    }

    static func byName(_ a: ColumnSchema, _ b: ColumnSchema) -> Bool {
        Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
    }
}

extension BatchChild {
    /// The `USING TIMESTAMP` and `USING TTL` terms of the statement.
    var parameterTerms: (timestamp: Term?, ttl: Term?) {
        switch self {
        case let .insert(insert): (insert.parameters.timestamp, insert.parameters.timeToLive)
        case let .update(update): (update.parameters.timestamp, update.parameters.timeToLive)
        case let .delete(delete): (delete.timestamp, nil)
        }
    }
}

extension Mutation {
    /// The mutation with every operation's timestamp replaced (an LWT's writes take the transaction's timestamp).
    func withTimestamp(_ timestamp: Int64) -> Mutation {
        var copy = self
        copy.operations = operations.map { operation in
            switch operation {
            case .deletePartition: .deletePartition(timestamp: timestamp)
            case let .deleteRow(clustering, _): .deleteRow(clustering: clustering, timestamp: timestamp)
            case let .deleteRange(slice, _): .deleteRange(slice, timestamp: timestamp)
            case let .insertRowMarker(clustering, _, ttl): .insertRowMarker(clustering: clustering, timestamp: timestamp, ttl: ttl)
            case let .setColumn(clustering, column, value, _, ttl):
                .setColumn(clustering: clustering, column: column, value: value, timestamp: timestamp, ttl: ttl)
            case let .deleteColumn(clustering, column, _): .deleteColumn(clustering: clustering, column: column, timestamp: timestamp)
            case let .counterAdd(clustering, column, delta, _):
                .counterAdd(clustering: clustering, column: column, delta: delta, timestamp: timestamp)
            case let .collection(clustering, column, change, _, ttl):
                .collection(clustering: clustering, column: column, change, timestamp: timestamp, ttl: ttl)
            }
        }
        return copy
    }
}
