import CQLCodec

/// One `IF` condition with its values evaluated.
struct EvaluatedCondition: Sendable {
    /// Which part of the column is tested.
    enum Element: Sendable {
        case whole
        case listIndex(Int)
        case mapKey([UInt8])
        case field(Int, DataType)
    }

    /// The test.
    enum Predicate: Sendable {
        case compare(ComparisonOperator, [UInt8]?)
        case oneOf([[UInt8]?])
        case contains([UInt8])
        case containsKey([UInt8])
    }

    var column: ColumnSchema
    var element: Element
    var predicate: Predicate
}

/// The condition of a conditional statement, on one row.
struct ConditionCheck: Sendable {
    enum Kind: Sendable {
        case notExists
        case exists
        case columns([EvaluatedCondition])
    }

    var partitionKey: [UInt8]
    /// The full clustering of the row, or empty for a condition on static columns only.
    var clustering: [[UInt8]]
    var kind: Kind
}

/// An INSERT, UPDATE or DELETE resolved against its table and values.
struct ResolvedModification: Sendable {
    var table: TableSchema
    var mutations: [Mutation]
    var condition: ConditionCheck?
    /// Whether it changes counters.
    var isCounter: Bool
    /// Whether it set its own `USING TIMESTAMP`.
    var hasCustomTimestamp: Bool
}

/// Turns a modification statement into storage mutations (and an LWT condition).
struct ModificationBuilder {
    let table: TableSchema
    let evaluator: TermEvaluator
    let timestamp: Int64
    let ttl: Int32?
    let now: Int32

    private func column(_ name: String) throws(ServerError) -> ColumnSchema {
        guard let column = table.column(named: name) else { throw .undefinedColumn(name, in: table) }
        return column
    }

    private func receiver(_ column: ColumnSchema) -> Receiver { Receiver(name: column.name, type: column.type) }

    /// The time to live a statement gives, checked as Cassandra does.
    static func timeToLive(_ term: Term?, evaluator: TermEvaluator) throws(ServerError) -> Int32? {
        guard let value = try evaluator.integer(term, Receiver(name: "[ttl]", type: .int)) else { return nil }
        guard value >= 0 else { throw .invalidRequest("A TTL must be greater or equal to 0, but was \(value)") }
        guard value <= 630_720_000 else { throw .invalidRequest("ttl is too large. requested (\(value)) maximum (630720000)") }
        // An explicit 0 is kept (not nil): it overrides the table's default_time_to_live with no TTL, as in Cassandra.
        return Int32(value)
    }

    // MARK: INSERT

    func insert(_ insert: Insert) throws(ServerError) -> ResolvedModification {
        if case let .json(document, defaultUnset) = insert.values {
            return try insertJSON(insert, document: document, defaultUnset: defaultUnset)
        }
        guard case let .columns(names, terms) = insert.values else { throw .invalidRequest("Unsupported INSERT") }
        guard names.count == terms.count else { throw .invalidRequest("Unmatched column names/values") }
        var seen = Set<String>()
        var assigned: [(ColumnSchema, Term)] = []
        for (name, term) in zip(names, terms) {
            guard seen.insert(name).inserted else { throw .invalidRequest("Multiple definitions found for column \(name)") }
            assigned.append((try column(name), term))
        }
        func term(_ key: ColumnSchema) -> Term? { assigned.first { $0.0.name == key.name }?.1 }
        let missingPartition = table.partitionKeyColumns.filter { term($0) == nil }.map(\.name)
        if !missingPartition.isEmpty {
            throw .invalidRequest("Some partition key parts are missing: \(missingPartition.joined(separator: ", "))")
        }
        var partition: [[UInt8]] = []
        for key in table.partitionKeyColumns {
            guard let term = term(key) else { continue }
            partition.append(try keyValue(term, key, part: "partition key"))
        }
        // An INSERT that sets only static columns may leave the clustering out: it writes the partition's static row.
        let values = assigned.filter { !$0.0.kind.isPrimaryKey }
        let staticOnly = !values.isEmpty && values.allSatisfy { $0.0.kind == .static }
        let missingClustering = table.clusteringColumns.filter { term($0) == nil }.map(\.name)
        if !missingClustering.isEmpty, !staticOnly || missingClustering.count < table.clusteringColumns.count {
            throw .invalidRequest("Some clustering keys are missing: \(missingClustering.joined(separator: ", "))")
        }
        var clustering: [[UInt8]] = []
        for key in table.clusteringColumns {
            guard let term = term(key) else { continue }
            clustering.append(try keyValue(term, key, part: "clustering key"))
        }
        let writesStaticRow = !missingClustering.isEmpty
        var operations: [MutationOperation] = writesStaticRow ? [] : [.insertRowMarker(clustering: clustering, timestamp: timestamp, ttl: ttl)]
        for (column, term) in assigned where !column.kind.isPrimaryKey {
            switch try evaluator.evaluate(term, for: receiver(column)) {
            case let .bytes(bytes):
                operations.append(.setColumn(clustering: clustering, column: column.name, value: bytes, timestamp: timestamp, ttl: ttl))
            case .null:
                operations.append(.deleteColumn(clustering: clustering, column: column.name, timestamp: timestamp))
            case .unset:
                break
            }
        }
        let key = Murmur3Token.partitionKeyBytes(partition)
        let condition = insert.ifNotExists ? ConditionCheck(partitionKey: key, clustering: clustering, kind: .notExists) : nil
        return ResolvedModification(
            table: table,
            mutations: [Mutation(tableID: table.id, partitionKey: key, operations: operations, nowInSeconds: now)],
            condition: condition, isCounter: table.isCounterTable, hasCustomTimestamp: insert.parameters.timestamp != nil)
    }

    /// `INSERT JSON`: the document's members become the inserted columns (Cassandra's `Json.parseJson`). Their
    /// values are bound like extra markers after the statement's own, so the column path checks them as usual;
    /// columns the document leaves out are null (`DEFAULT NULL`, the default) or untouched (`DEFAULT UNSET`).
    private func insertJSON(_ insert: Insert, document: Term, defaultUnset: Bool) throws(ServerError) -> ResolvedModification {
        guard case let .bytes(bytes) = try evaluator.evaluate(document, for: Receiver(name: "[json]", type: .varchar)) else {
            throw .invalidRequest("Got null for INSERT JSON values")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let tree = try JSONTree.parse(text, failure: "Could not decode JSON string as a map: \(text)")
        guard case let .object(members) = tree else {
            throw .invalidRequest("Could not decode JSON string as a map: \(text)")
        }
        var given: [String: JSONTree] = [:]
        for (key, value) in members {
            let name = JSONValue.unquoted(key)
            guard table.column(named: name) != nil else {
                throw .invalidRequest("JSON values map contains unrecognized column: \(name)")
            }
            given[name] = value
        }
        var names: [Identifier] = []
        var terms: [Term] = []
        var values = evaluator.values
        for column in table.columns {
            let value: WireValue
            if let member = given[column.name] {
                if case .null = member {
                    value = .null
                } else {
                    do {
                        value = .bytes(try JSONValue.value(member, type: column.type, evaluator: evaluator))
                    } catch {
                        throw .invalidRequest("Error decoding JSON value for \(column.name): \(error.message)")
                    }
                }
            } else if column.kind.isPrimaryKey {
                // Cassandra binds a missing key to null and reports it as such.
                throw .invalidRequest("Invalid null value in condition for column \(column.name)")
            } else if defaultUnset {
                continue
            } else {
                value = .null
            }
            names.append(column.name)
            terms.append(.bindMarker(BindMarker(index: values.count)))
            values.append(value)
        }
        var resolved = insert
        resolved.values = .columns(names, terms)
        let builder = ModificationBuilder(table: table, evaluator: TermEvaluator(values: values, clock: evaluator.clock),
                                          timestamp: timestamp, ttl: ttl, now: now)
        return try builder.insert(resolved)
    }

    private func keyValue(_ term: Term, _ column: ColumnSchema, part: String) throws(ServerError) -> [UInt8] {
        switch try evaluator.evaluate(term, for: receiver(column)) {
        case let .bytes(bytes):
            if bytes.isEmpty, case .partitionKey = column.kind { throw .invalidRequest("Key may not be empty") }
            return bytes
        case .null: throw .invalidRequest("Invalid null value in condition for column \(column.name)")
        case .unset: throw .invalidRequest("Invalid unset value for column \(column.name)")
        }
    }

    // MARK: WHERE of UPDATE and DELETE

    /// The rows a WHERE clause of an UPDATE or DELETE names: partition keys, and clustering prefixes or slices.
    private func target(_ relations: [Relation], statement: String, allowRange: Bool)
        throws(ServerError) -> (keys: [[UInt8]], restrictions: Restrictions) {
        let restrictions = try RestrictionAnalyzer(table: table, evaluator: evaluator).analyze(relations)
        let nonKey = restrictions.filters.filter { !$0.column.kind.isPrimaryKey }.map(\.column.name)
        if !nonKey.isEmpty {
            throw .invalidRequest("Non PRIMARY KEY columns found in where clause: \(nonKey.joined(separator: ", "))")
        }
        if restrictions.hasToken { throw .invalidRequest("The token function cannot be used in WHERE clauses for \(statement) statements") }
        guard restrictions.hasAllPartitionKeys else {
            let restricted = Set(relations.compactMap { relation -> String? in
                switch relation {
                case let .compare(name, .equal, _), let .in(name, _): name
                default: nil
                }
            })
            let missing = table.partitionKeyColumns.map(\.name).filter { !restricted.contains($0) }
            throw .invalidRequest("Some partition key parts are missing: \(missing.joined(separator: ", "))")
        }
        if !restrictions.filters.isEmpty {
            if let gap = restrictions.clusteringGap {
                throw .invalidRequest("PRIMARY KEY column \"\(gap.column)\" cannot be restricted as preceding column \"\(gap.preceding)\" is not restricted")
            }
            throw .invalidRequest("Only EQ and IN relation are supported on the partition key (unless you use the token() function) for \(statement) statements")
        }
        if !allowRange, restrictions.lower != nil || restrictions.upper != nil {
            throw .invalidRequest("Slice restrictions are not supported on the clustering columns in \(statement) statements")
        }
        return (restrictions.partitionKeys(table: table), restrictions)
    }

    private func missingClustering(_ restrictions: Restrictions) -> ServerError {
        let missing = table.clusteringColumns.dropFirst(restrictions.prefixLength).map(\.name)
        return .invalidRequest("Some clustering keys are missing: \(missing.joined(separator: ", "))")
    }

    private func conditionCheck(_ condition: UpdateCondition?, keys: [[UInt8]], restrictions: Restrictions,
                                staticOnly: Bool, statement: String) throws(ServerError) -> ConditionCheck? {
        guard let condition else { return nil }
        if table.isCounterTable { throw .invalidRequest("Conditional updates are not supported on counter tables") }
        guard keys.count == 1, let key = keys.first else {
            throw .invalidRequest("IN on the partition key is not supported with conditional \(statement == "DELETE" ? "deletions" : "updates")")
        }
        guard restrictions.clusteringPrefixes.count == 1, let clustering = restrictions.clusteringPrefixes.first else {
            throw .invalidRequest("IN on the clustering key columns is not supported with conditional \(statement == "DELETE" ? "deletions" : "updates")")
        }
        if clustering.count < table.clusteringColumns.count, !staticOnly {
            let column = table.clusteringColumns[clustering.count].name
            throw .invalidRequest("\(statement) statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions, but column '\(column)' is not restricted")
        }
        switch condition {
        case .exists:
            return ConditionCheck(partitionKey: key, clustering: clustering, kind: .exists)
        case let .columns(conditions):
            var evaluated: [EvaluatedCondition] = []
            for condition in conditions { evaluated.append(try evaluate(condition)) }
            return ConditionCheck(partitionKey: key, clustering: clustering, kind: .columns(evaluated))
        }
    }

    private func evaluate(_ condition: ColumnCondition) throws(ServerError) -> EvaluatedCondition {
        let column = try column(condition.column)
        if column.kind.isPrimaryKey {
            throw .invalidRequest("PRIMARY KEY column '\(column.name)' cannot have IF conditions")
        }
        var element = EvaluatedCondition.Element.whole
        var valueReceiver = receiver(column)
        switch (condition.element, column.type) {
        case (.whole, _):
            break
        case let (.collectionElement(key), .list(elementType)):
            let index = try evaluator.integer(key, Receiver(name: "idx(\(column.name))", type: .int)) ?? 0
            element = .listIndex(Int(index))
            valueReceiver = Receiver(name: "value(\(column.name))", type: elementType)
        case let (.collectionElement(key), .map(keyType, valueType)):
            element = .mapKey(try evaluator.element(key, Receiver(name: "key(\(column.name))", type: keyType)))
            valueReceiver = Receiver(name: "value(\(column.name))", type: valueType)
        case let (.field(name), .udt(userType)):
            guard let index = userType.fields.firstIndex(where: { $0.name == name }) else {
                throw .invalidRequest("Unknown field \(name) in user type \(userType.name)")
            }
            element = .field(index, userType.fields[index].type)
            valueReceiver = Receiver(name: "\(column.name).\(name)", type: userType.fields[index].type)
        default:
            throw .invalidRequest("Invalid element access on column \(column.name) of type \(column.type)")
        }
        func bytes(_ term: Term) throws(ServerError) -> [UInt8]? {
            switch try evaluator.evaluate(term, for: valueReceiver) {
            case let .bytes(bytes): return bytes
            case .null, .unset: return nil
            }
        }
        let predicate: EvaluatedCondition.Predicate
        switch condition.predicate {
        case let .compare(op, term):
            let value = try bytes(term)
            if value == nil, op != .equal, op != .notEqual {
                throw .invalidRequest("Invalid comparison with null for operator \"\(op.rawValue)\"")
            }
            predicate = .compare(op, value)
        case let .in(values):
            switch values {
            case let .terms(terms):
                var list: [[UInt8]?] = []
                for term in terms { list.append(try bytes(term)) }
                predicate = .oneOf(list)
            case let .marker(marker):
                let listType = DataType.list(valueReceiver.type)
                guard case let .bytes(bytes) = try evaluator.evaluate(.bindMarker(marker), for: Receiver(name: "in(\(column.name))", type: listType)) else {
                    throw .invalidRequest("Invalid null list in IN condition")
                }
                predicate = .oneOf(try ValueValidation.split(bytes, type: listType, receiver: column.name).map { Optional($0) })
            }
        case let .contains(term):
            let elementType: DataType
            switch column.type {
            case let .list(type), let .set(type), let .map(_, type): elementType = type
            default: throw .invalidRequest("Invalid CONTAINS condition on non-collection column \(column.name)")
            }
            predicate = .contains(try evaluator.element(term, Receiver(name: column.name, type: elementType)))
        case let .containsKey(term):
            guard case let .map(keyType, _) = column.type else {
                throw .invalidRequest("Invalid CONTAINS KEY condition on non-map column \(column.name)")
            }
            predicate = .containsKey(try evaluator.element(term, Receiver(name: column.name, type: keyType)))
        }
        return EvaluatedCondition(column: column, element: element, predicate: predicate)
    }

    // MARK: UPDATE

    func update(_ update: Update) throws(ServerError) -> ResolvedModification {
        let (keys, restrictions) = try target(update.whereClause, statement: "UPDATE", allowRange: false)
        var columns: [ColumnSchema] = []
        for assignment in update.assignments {
            let column = try column(assignment.column)
            if column.kind.isPrimaryKey { throw .invalidRequest("PRIMARY KEY part \(column.name) found in SET part") }
            columns.append(column)
        }
        let staticOnly = !columns.isEmpty && columns.allSatisfy { $0.kind == .static }
        if restrictions.prefixLength < table.clusteringColumns.count {
            if !staticOnly || restrictions.prefixLength > 0 { throw missingClustering(restrictions) }
        }
        let condition = try conditionCheck(update.condition, keys: keys, restrictions: restrictions,
                                           staticOnly: staticOnly, statement: "UPDATE")
        var mutations: [Mutation] = []
        for key in keys {
            var operations: [MutationOperation] = []
            for clustering in restrictions.clusteringPrefixes {
                for (assignment, column) in zip(update.assignments, columns) {
                    operations.append(contentsOf: try self.operations(assignment, column: column, clustering: clustering))
                }
            }
            mutations.append(Mutation(tableID: table.id, partitionKey: key, operations: operations, nowInSeconds: now))
        }
        return ResolvedModification(table: table, mutations: mutations, condition: condition,
                                    isCounter: columns.contains { $0.type == .counter },
                                    hasCustomTimestamp: update.parameters.timestamp != nil)
    }

    private func elements(_ term: Term, _ column: ColumnSchema, as type: DataType? = nil) throws(ServerError) -> [[UInt8]]? {
        let type = type ?? column.type
        switch try evaluator.evaluate(term, for: Receiver(name: column.name, type: type)) {
        case let .bytes(bytes):
            let isMap: Bool = if case .map = type { true } else { false }
            return try ValueValidation.split(bytes, type: type, receiver: column.name, pairs: isMap)
        case .null, .unset: return nil
        }
    }

    private func operations(_ assignment: Assignment, column: ColumnSchema, clustering: [[UInt8]])
        throws(ServerError) -> [MutationOperation] {
        let name = column.name
        let ttl = self.ttl
        switch assignment {
        case let .set(_, term):
            switch try evaluator.evaluate(term, for: receiver(column)) {
            case let .bytes(bytes):
                if column.type == .counter {
                    throw .invalidRequest("Cannot set the value of counter column \(name) (counters can only be incremented/decremented, not set)")
                }
                return [.setColumn(clustering: clustering, column: name, value: bytes, timestamp: timestamp, ttl: ttl)]
            case .null: return [.deleteColumn(clustering: clustering, column: name, timestamp: timestamp)]
            case .unset: return []
            }
        case let .add(_, term), let .subtract(_, term):
            let isAdd: Bool = if case .add = assignment { true } else { false }
            if column.type.isCollection, !column.isMultiCell {
                throw .invalidRequest("Invalid operation (\(name) = \(name) \(isAdd ? "+" : "-") \(SelectPlanner.text(of: term))) "
                    + "for frozen collection column \(name)")
            }
            switch column.type {
            case .counter:
                if ttl != nil { throw .invalidRequest("Cannot provide custom TTL for counter updates") }
                guard let delta = try evaluator.integer(term, Receiver(name: name, type: .bigint)) else { return [] }
                return [.counterAdd(clustering: clustering, column: name, delta: isAdd ? delta : 0 &- delta, timestamp: timestamp)]
            case .list:
                guard let values = try elements(term, column) else { return [] }
                return [.collection(clustering: clustering, column: name, isAdd ? .listAppend(values) : .listRemoveValues(values),
                                    timestamp: timestamp, ttl: ttl)]
            case .set:
                guard let values = try elements(term, column) else { return [] }
                return [.collection(clustering: clustering, column: name, isAdd ? .setAdd(values) : .setRemove(values),
                                    timestamp: timestamp, ttl: ttl)]
            case let .map(keyType, _):
                if isAdd {
                    guard let values = try elements(term, column) else { return [] }
                    var entries: [CollectionOperation.MapEntry] = []
                    var index = 0
                    while index + 1 < values.count {
                        entries.append(.init(key: values[index], value: values[index + 1]))
                        index += 2
                    }
                    return [.collection(clustering: clustering, column: name, .mapPut(entries), timestamp: timestamp, ttl: ttl)]
                }
                guard let keys = try elements(term, column, as: .set(keyType)) else { return [] }
                return [.collection(clustering: clustering, column: name, .mapRemove(keys), timestamp: timestamp, ttl: ttl)]
            default:
                throw .invalidRequest("Invalid operation (\(name) = \(name) \(isAdd ? "+" : "-") \(SelectPlanner.text(of: term))) for non counter column \(name)")
            }
        case let .prepend(_, term):
            guard case .list = column.type else {
                throw .invalidRequest("Invalid operation (\(name) = ? + \(name)) for non list column \(name)")
            }
            guard let values = try elements(term, column) else { return [] }
            return [.collection(clustering: clustering, column: name, .listPrepend(values), timestamp: timestamp, ttl: ttl)]
        case let .setElement(_, key, term):
            switch column.type {
            case let .list(elementType):
                guard let index = try evaluator.integer(key, Receiver(name: "idx(\(name))", type: .int)) else {
                    throw .invalidRequest("Invalid null value for list index")
                }
                let value = try evaluator.evaluate(term, for: Receiver(name: "value(\(name))", type: elementType))
                if case .unset = value { return [] }
                let bytes: [UInt8]? = if case let .bytes(bytes) = value { bytes } else { nil }
                return [.collection(clustering: clustering, column: name, .listSetIndex(Int(index), bytes), timestamp: timestamp, ttl: ttl)]
            case let .map(keyType, valueType):
                let keyBytes = try evaluator.element(key, Receiver(name: "key(\(name))", type: keyType))
                switch try evaluator.evaluate(term, for: Receiver(name: "value(\(name))", type: valueType)) {
                case let .bytes(bytes):
                    return [.collection(clustering: clustering, column: name, .mapPut([.init(key: keyBytes, value: bytes)]),
                                        timestamp: timestamp, ttl: ttl)]
                case .null:
                    return [.collection(clustering: clustering, column: name, .mapRemove([keyBytes]), timestamp: timestamp, ttl: ttl)]
                case .unset:
                    return []
                }
            default:
                throw .invalidRequest("Invalid operation (\(name)[?] = ?) for non list, non map column \(name)")
            }
        case let .setField(_, field, term):
            guard case let .udt(userType) = column.type, let index = userType.fields.firstIndex(where: { $0.name == field }) else {
                throw .invalidRequest("Invalid operation (\(name).\(field) = ?) for non-UDT column \(name)")
            }
            let value = try evaluator.evaluate(term, for: Receiver(name: "\(name).\(field)", type: userType.fields[index].type))
            if case .unset = value { return [] }
            let bytes: [UInt8]? = if case let .bytes(bytes) = value { bytes } else { nil }
            return [.collection(clustering: clustering, column: name, .setField(index: index, value: bytes), timestamp: timestamp, ttl: ttl)]
        }
    }

    // MARK: DELETE

    func delete(_ delete: Delete) throws(ServerError) -> ResolvedModification {
        let (keys, restrictions) = try target(delete.whereClause, statement: "DELETE", allowRange: delete.targets.isEmpty)
        var targets: [(ColumnSchema, DeletionTarget)] = []
        for target in delete.targets {
            let name: String
            switch target {
            case let .column(column), let .element(column, _), let .field(column, _): name = column
            }
            let column = try column(name)
            if column.kind.isPrimaryKey { throw .invalidRequest("Invalid identifier \(name) for deletion (should not be a PRIMARY KEY part)") }
            targets.append((column, target))
        }
        let staticOnly = !targets.isEmpty && targets.allSatisfy { $0.0.kind == .static }
        let fullClustering = restrictions.prefixLength == table.clusteringColumns.count
        if !targets.isEmpty, !fullClustering, !staticOnly {
            if restrictions.lower != nil || restrictions.upper != nil {
                throw .invalidRequest("Range deletions are not supported for specific columns")
            }
            throw missingClustering(restrictions)
        }
        if delete.condition != nil, targets.isEmpty, !fullClustering {
            let column = table.clusteringColumns[restrictions.prefixLength].name
            throw .invalidRequest("DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions, but column '\(column)' is not restricted")
        }
        let condition = try conditionCheck(delete.condition, keys: keys, restrictions: restrictions,
                                           staticOnly: staticOnly, statement: "DELETE")
        var mutations: [Mutation] = []
        for key in keys {
            var operations: [MutationOperation] = []
            if targets.isEmpty {
                if restrictions.prefixLength == 0, restrictions.lower == nil, restrictions.upper == nil {
                    operations.append(.deletePartition(timestamp: timestamp))
                } else if fullClustering {
                    for clustering in restrictions.clusteringPrefixes {
                        operations.append(.deleteRow(clustering: clustering, timestamp: timestamp))
                    }
                } else {
                    for slice in restrictions.slices(table: table) {
                        operations.append(.deleteRange(slice, timestamp: timestamp))
                    }
                }
            } else {
                for clustering in restrictions.clusteringPrefixes {
                    for (column, target) in targets {
                        operations.append(try deletion(target, column: column, clustering: clustering))
                    }
                }
            }
            mutations.append(Mutation(tableID: table.id, partitionKey: key, operations: operations, nowInSeconds: now))
        }
        return ResolvedModification(table: table, mutations: mutations, condition: condition,
                                    isCounter: table.isCounterTable, hasCustomTimestamp: delete.timestamp != nil)
    }

    private func deletion(_ target: DeletionTarget, column: ColumnSchema, clustering: [[UInt8]]) throws(ServerError) -> MutationOperation {
        switch target {
        case .column:
            return .deleteColumn(clustering: clustering, column: column.name, timestamp: timestamp)
        case let .element(_, key):
            switch column.type {
            case .list:
                guard let index = try evaluator.integer(key, Receiver(name: "idx(\(column.name))", type: .int)) else {
                    throw .invalidRequest("Invalid null value for list index")
                }
                return .collection(clustering: clustering, column: column.name, .listSetIndex(Int(index), nil), timestamp: timestamp, ttl: nil)
            case let .map(keyType, _):
                let bytes = try evaluator.element(key, Receiver(name: "key(\(column.name))", type: keyType))
                return .collection(clustering: clustering, column: column.name, .mapRemove([bytes]), timestamp: timestamp, ttl: nil)
            default:
                throw .invalidRequest("Invalid deletion operation for non list, non map column \(column.name)")
            }
        case let .field(_, field):
            guard case let .udt(userType) = column.type, let index = userType.fields.firstIndex(where: { $0.name == field }) else {
                throw .invalidRequest("Invalid deletion operation for non-UDT column \(column.name)")
            }
            return .collection(clustering: clustering, column: column.name, .setField(index: index, value: nil), timestamp: timestamp, ttl: nil)
        }
    }
}
