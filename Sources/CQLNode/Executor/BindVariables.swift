import CQLCodec

/// Works out each bind marker's name and type from the statement and the table, as Cassandra reports them in
/// a prepared statement's metadata (`[limit]`, `[ttl]`, `in(c)`, `key(m)`, `partition key token`, ...).
struct BindVariables {
    /// The receivers by marker index.
    var receivers: [Receiver]
    /// The keyspace and table of the markers (Cassandra's global table spec).
    var keyspace: String
    var table: String
    /// For each partition key column, the index of the marker bound to it with `=`, when all are bound.
    var partitionKeyIndices: [UInt16]

    /// The column specs of the prepared metadata.
    var columnSpecs: [ColumnSpec] {
        receivers.map { ColumnSpec(keyspace: keyspace, table: table, name: $0.name, type: $0.type) }
    }
}

/// Walks a statement and records the receiver of every marker.
struct BindVariableCollector {
    private(set) var receivers: [Int: Receiver] = [:]
    private(set) var partitionKeyMarkers: [String: Int] = [:]

    mutating func record(_ marker: BindMarker, _ receiver: Receiver) {
        receivers[marker.index] = Receiver(name: marker.name ?? receiver.name, type: receiver.type)
    }

    mutating func visit(_ term: Term, _ receiver: Receiver) {
        switch term {
        case let .bindMarker(marker):
            record(marker, receiver)
        case let .list(items), let .set(items):
            let element: DataType
            switch receiver.type {
            case let .list(type), let .set(type): element = type
            default: element = .blob
            }
            for item in items { self.visit(item, Receiver(name: "value(\(receiver.name))", type: element)) }
        case let .map(entries):
            guard case let .map(keyType, valueType) = receiver.type else { return }
            for entry in entries {
                visit(entry.key, Receiver(name: "key(\(receiver.name))", type: keyType))
                visit(entry.value, Receiver(name: "value(\(receiver.name))", type: valueType))
            }
        case let .tuple(items):
            guard case let .tuple(types) = receiver.type else { return }
            for (index, item) in items.enumerated() where index < types.count {
                visit(item, Receiver(name: receiver.name, type: types[index]))
            }
        case let .userType(fields):
            guard case let .udt(userType) = receiver.type else { return }
            for field in fields {
                let type = userType.fields.first { $0.name == field.field }?.type ?? .blob
                visit(field.value, Receiver(name: "\(receiver.name).\(field.field)", type: type))
            }
        case let .typeHint(_, inner), let .negation(inner):
            visit(inner, receiver)
        case let .functionCall(name, arguments):
            let lower = name.name.lowercased()
            let argumentType: DataType = lower == "mintimeuuid" || lower == "maxtimeuuid" ? .timestamp : .timeuuid
            for (index, argument) in arguments.enumerated() {
                visit(argument, Receiver(name: "arg\(index)", type: argumentType))
            }
        case .literal, .null, .emptyBraces, .cast, .arithmetic:
            break
        }
    }

    mutating func parameters(_ parameters: UpdateParameters) {
        if let timestamp = parameters.timestamp { visit(timestamp, Receiver(name: "[timestamp]", type: .bigint)) }
        if let ttl = parameters.timeToLive { visit(ttl, Receiver(name: "[ttl]", type: .int)) }
    }

    mutating func inValues(_ values: InValues, _ receiver: Receiver) {
        switch values {
        case let .terms(terms): for item in terms { visit(item, receiver) }
        case let .marker(marker): record(marker, Receiver(name: "in(\(receiver.name))", type: .list(receiver.type)))
        }
    }

    mutating func relations(_ relations: [Relation], table: TableSchema) {
        func type(_ name: String) -> DataType { table.column(named: name)?.type ?? .blob }
        for relation in relations {
            switch relation {
            case let .compare(name, op, value):
                if op == .equal, case let .bindMarker(marker) = value,
                   case .partitionKey = table.column(named: name)?.kind {
                    partitionKeyMarkers[name] = marker.index
                }
                visit(value, Receiver(name: name, type: type(name)))
            case let .in(name, values):
                inValues(values, Receiver(name: name, type: type(name)))
            case let .contains(name, value):
                switch type(name) {
                case let .list(element), let .set(element), let .map(_, element): visit(value, Receiver(name: name, type: element))
                default: visit(value, Receiver(name: name, type: .blob))
                }
            case let .containsKey(name, value):
                if case let .map(key, _) = type(name) { visit(value, Receiver(name: name, type: key)) }
            case let .like(name, value):
                visit(value, Receiver(name: name, type: type(name)))
            case .isNotNull:
                break
            case let .mapElement(name, key, _, value):
                if case let .map(keyType, valueType) = type(name) {
                    visit(key, Receiver(name: "key(\(name))", type: keyType))
                    visit(value, Receiver(name: "value(\(name))", type: valueType))
                }
            case let .token(_, _, value):
                visit(value, Receiver(name: "partition key token", type: .bigint))
            case let .multiColumn(names, _, value):
                let tupleType = DataType.tuple(names.map(type))
                let name = "(" + names.joined(separator: ",") + ")"
                if case let .tuple(items) = value {
                    for (index, item) in items.enumerated() where index < names.count {
                        visit(item, Receiver(name: names[index], type: type(names[index])))
                    }
                } else {
                    visit(value, Receiver(name: name, type: tupleType))
                }
            case let .multiColumnIn(names, values):
                let tupleType = DataType.tuple(names.map(type))
                let name = "(" + names.joined(separator: ",") + ")"
                switch values {
                case let .terms(terms): for item in terms { visit(item, Receiver(name: name, type: tupleType)) }
                case let .marker(marker): record(marker, Receiver(name: "in\(name)", type: .list(tupleType)))
                }
            }
        }
    }

    mutating func conditions(_ condition: UpdateCondition?, table: TableSchema) {
        guard case let .columns(conditions) = condition else { return }
        for condition in conditions {
            var receiver = Receiver(name: condition.column, type: table.column(named: condition.column)?.type ?? .blob)
            switch (condition.element, receiver.type) {
            case let (.collectionElement(key), .list(element)):
                visit(key, Receiver(name: "idx(\(condition.column))", type: .int))
                receiver = Receiver(name: "value(\(condition.column))", type: element)
            case let (.collectionElement(key), .map(keyType, valueType)):
                visit(key, Receiver(name: "key(\(condition.column))", type: keyType))
                receiver = Receiver(name: "value(\(condition.column))", type: valueType)
            case let (.field(field), .udt(userType)):
                receiver = Receiver(name: "\(condition.column).\(field)", type: userType.fields.first { $0.name == field }?.type ?? .blob)
            default:
                break
            }
            switch condition.predicate {
            case let .compare(_, value): visit(value, receiver)
            case let .in(values): inValues(values, receiver)
            case let .contains(value):
                switch receiver.type {
                case let .list(element), let .set(element), let .map(_, element): visit(value, Receiver(name: receiver.name, type: element))
                default: visit(value, receiver)
                }
            case let .containsKey(value):
                if case let .map(key, _) = receiver.type { visit(value, Receiver(name: receiver.name, type: key)) }
            }
        }
    }

    mutating func assignments(_ assignments: [Assignment], table: TableSchema) {
        for assignment in assignments {
            let column = table.column(named: assignment.column)
            let type = column?.type ?? .blob
            let name = assignment.column
            switch assignment {
            case let .set(_, value), let .add(_, value), let .prepend(_, value):
                visit(value, Receiver(name: name, type: type))
            case let .subtract(_, value):
                if case let .map(keyType, _) = type {
                    visit(value, Receiver(name: name, type: .set(keyType)))
                } else {
                    visit(value, Receiver(name: name, type: type))
                }
            case let .setElement(_, key, value):
                switch type {
                case let .list(element):
                    visit(key, Receiver(name: "idx(\(name))", type: .int))
                    visit(value, Receiver(name: "value(\(name))", type: element))
                case let .map(keyType, valueType):
                    visit(key, Receiver(name: "key(\(name))", type: keyType))
                    visit(value, Receiver(name: "value(\(name))", type: valueType))
                default:
                    visit(key, Receiver(name: "key(\(name))", type: .blob))
                    visit(value, Receiver(name: "value(\(name))", type: .blob))
                }
            case let .setField(_, field, value):
                var fieldType = DataType.blob
                if case let .udt(userType) = type { fieldType = userType.fields.first { $0.name == field }?.type ?? .blob }
                visit(value, Receiver(name: "\(name).\(field)", type: fieldType))
            }
        }
    }

    mutating func modification(_ child: BatchChild, table: TableSchema) {
        switch child {
        case let .insert(insert):
            if case let .columns(names, values) = insert.values {
                for (index, value) in values.enumerated() where index < names.count {
                    let name = names[index]
                    if case .partitionKey = table.column(named: name)?.kind, case let .bindMarker(marker) = value {
                        partitionKeyMarkers[name] = marker.index
                    }
                    visit(value, Receiver(name: name, type: table.column(named: name)?.type ?? .blob))
                }
            } else if case let .json(value, _) = insert.values {
                visit(value, Receiver(name: "[json]", type: .varchar))
            }
            parameters(insert.parameters)
        case let .update(update):
            parameters(update.parameters)
            assignments(update.assignments, table: table)
            relations(update.whereClause, table: table)
            conditions(update.condition, table: table)
        case let .delete(delete):
            for target in delete.targets {
                if case let .element(name, key) = target {
                    switch table.column(named: name)?.type {
                    case let .map(keyType, _)?: visit(key, Receiver(name: "key(\(name))", type: keyType))
                    default: visit(key, Receiver(name: "idx(\(name))", type: .int))
                    }
                }
            }
            if let timestamp = delete.timestamp { visit(timestamp, Receiver(name: "[timestamp]", type: .bigint)) }
            relations(delete.whereClause, table: table)
            conditions(delete.condition, table: table)
        }
    }

    mutating func select(_ select: Select, table: TableSchema) {
        for item in select.selection { selector(item.selector) }
        relations(select.whereClause, table: table)
        if let limit = select.perPartitionLimit { visit(limit, Receiver(name: "[per_partition_limit]", type: .int)) }
        if let limit = select.limit { visit(limit, Receiver(name: "[limit]", type: .int)) }
    }

    private mutating func selector(_ selector: Selector) {
        switch selector {
        case let .term(value): visit(value, Receiver(name: "[selection]", type: .blob))
        case let .functionCall(_, arguments): for argument in arguments { self.selector(argument) }
        case let .cast(inner, _), let .field(inner, _), let .typeHint(_, inner), let .negation(inner): self.selector(inner)
        case let .element(inner, key): self.selector(inner); visit(key, Receiver(name: "[element]", type: .blob))
        case let .slice(inner, from, to):
            self.selector(inner)
            if let from { visit(from, Receiver(name: "[from]", type: .blob)) }
            if let to { visit(to, Receiver(name: "[to]", type: .blob)) }
        case let .tuple(items): for item in items { self.selector(item) }
        case let .arithmetic(_, left, right): self.selector(left); self.selector(right)
        case .column, .countRows, .writetime, .ttl: break
        }
    }

    /// The receivers in marker order; markers nothing typed are blobs.
    func variables(count: Int, table: TableSchema) -> BindVariables {
        let list = (0..<count).map { self.receivers[$0] ?? Receiver(name: "[\($0)]", type: .blob) }
        var indices: [UInt16] = []
        for column in table.partitionKeyColumns {
            guard let index = partitionKeyMarkers[column.name] else { indices = []; break }
            indices.append(UInt16(clamping: index))
        }
        return BindVariables(receivers: list, keyspace: table.keyspace, table: table.name, partitionKeyIndices: indices)
    }
}
