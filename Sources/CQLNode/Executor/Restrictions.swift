import CQLCodec

/// A test on one row that storage cannot answer by key (`ALLOW FILTERING`, partial keys).
struct RowFilter: Sendable {
    /// What the filter compares.
    enum Test: Sendable {
        case compare(ComparisonOperator, [UInt8]?)
        case oneOf([[UInt8]])
        case contains([UInt8])
        case containsKey([UInt8])
        case mapElement(key: [UInt8], ComparisonOperator, [UInt8]?)
        /// `(a, b) op (x, y)` over several clustering columns, compared in clustering order.
        case multiColumn([ColumnSchema], ComparisonOperator, [[UInt8]])
        case multiColumnIn([ColumnSchema], [[[UInt8]]])
        case token(ComparisonOperator, Int64)
    }

    /// The column tested (the first one for multi-column and token tests).
    var column: ColumnSchema
    /// The test.
    var test: Test
}

/// One end of a clustering slice, after the equal prefix.
struct SliceEnd: Sendable {
    var values: [[UInt8]]
    var inclusive: Bool
}

/// A WHERE clause sorted into what storage can use (keys, token range, clustering slices) and what is filtered.
struct Restrictions: Sendable {
    /// Per partition key column: its values (`=` gives one, `IN` several), or nil when not restricted that way.
    var partitionValues: [[[UInt8]]?] = []
    /// `token(...)` bounds.
    var tokens = TokenRange.all
    /// Whether a `token()` relation was given.
    var hasToken = false
    /// The clustering prefixes fixed by `=`/`IN`, as a product (`[[]]` when none).
    var clusteringPrefixes: [[[UInt8]]] = [[]]
    /// How many leading clustering columns the prefixes fix.
    var prefixLength = 0
    /// A range on the clustering columns after the prefix: lower and upper values in value order.
    var lower: SliceEnd?
    var upper: SliceEnd?
    /// The clustering column the range starts at (it decides whether the range flips for DESC order).
    var sliceColumn: ColumnSchema?
    /// Tests on rows that keys and slices do not cover.
    var filters: [RowFilter] = []
    /// Why the query needs ALLOW FILTERING, when it does.
    var needsFiltering = false
    /// Whether a clustering column was restricted while a preceding one was not (Cassandra's own error).
    var clusteringGap: (column: String, preceding: String)?

    /// Whether every partition key column is fixed, giving explicit partition keys.
    var hasAllPartitionKeys: Bool { !partitionValues.isEmpty && partitionValues.allSatisfy { $0 != nil } }

    /// Whether no partition key column is restricted by value.
    var hasNoPartitionRestriction: Bool { partitionValues.allSatisfy { $0 == nil } }

    /// Whether any clustering restriction turned into prefixes or a slice.
    var restrictsClustering: Bool { prefixLength > 0 || lower != nil || upper != nil }

    /// The serialized partition keys (the product of every column's values), deduplicated in a stable order.
    func partitionKeys(table: TableSchema) -> [[UInt8]] {
        var product: [[[UInt8]]] = [[]]
        for (index, values) in partitionValues.enumerated() {
            let type = table.partitionKeyColumns[index].type
            var sorted: [[UInt8]] = []
            for value in (values ?? []).sorted(by: { ValueOrder.compare($0, $1, as: type) < 0 })
            where sorted.last.map({ ValueOrder.compare($0, value, as: type) != 0 }) ?? true {
                sorted.append(value)
            }
            product = product.flatMap { prefix in sorted.map { prefix + [$0] } }
        }
        return product.map { Murmur3Token.partitionKeyBytes($0) }
    }

    /// The clustering slices in clustering order.
    func slices(table: TableSchema) -> [ClusteringSlice] {
        let columns = table.clusteringColumns
        var prefixes = clusteringPrefixes.sorted { ValueOrder.compareClustering($0, $1, columns: columns) < 0 }
        var unique: [[[UInt8]]] = []
        for prefix in prefixes where unique.last.map({ ValueOrder.compareClustering($0, prefix, columns: columns) != 0 }) ?? true {
            unique.append(prefix)
        }
        prefixes = unique
        var descending = false
        if let sliceColumn, case .clustering(_, .descending) = sliceColumn.kind { descending = true }
        let first = descending ? upper : lower
        let last = descending ? lower : upper
        return prefixes.map { prefix in
            let start = first.map { ClusteringBound(prefix + $0.values, inclusive: $0.inclusive) }
                ?? (prefix.isEmpty ? nil : ClusteringBound(prefix, inclusive: true))
            let end = last.map { ClusteringBound(prefix + $0.values, inclusive: $0.inclusive) }
                ?? (prefix.isEmpty ? nil : ClusteringBound(prefix, inclusive: true))
            return ClusteringSlice(start: start, end: end)
        }
    }
}

/// Sorts WHERE relations of a statement into ``Restrictions``.
struct RestrictionAnalyzer {
    let table: TableSchema
    let evaluator: TermEvaluator

    private func column(_ name: String) throws(ServerError) -> ColumnSchema {
        guard let column = table.column(named: name) else { throw .undefinedColumn(name, in: table) }
        return column
    }

    private func value(_ term: Term, _ column: ColumnSchema) throws(ServerError) -> [UInt8]? {
        switch try evaluator.evaluate(term, for: Receiver(name: column.name, type: column.type)) {
        case let .bytes(bytes): return bytes
        case .null: return nil
        case .unset: throw .invalidRequest("Invalid unset value for column \(column.name)")
        }
    }

    /// The token a `token(...)` relation compares with: a bigint, or `token(values)` of a partition key.
    private func tokenValue(_ term: Term, _ partitionColumns: [ColumnSchema]) throws(ServerError) -> Int64 {
        if case let .functionCall(name, arguments) = term, name.name.lowercased() == "token", name.keyspace == nil {
            guard arguments.count == partitionColumns.count else {
                throw .invalidRequest("Invalid number of arguments in call to function token: \(partitionColumns.count) required but \(arguments.count) provided")
            }
            var components: [[UInt8]] = []
            for (argument, column) in zip(arguments, partitionColumns) { components.append(try nonNull(argument, column)) }
            return Murmur3Token.token(of: Murmur3Token.partitionKeyBytes(components))
        }
        guard case let .bytes(bytes) = try evaluator.evaluate(term, for: Receiver(name: "partition key token", type: .bigint)),
              bytes.count == 8, let token = ValueValidation.signedInteger(bytes) else {
            throw .invalidRequest("Invalid null value for partition key token")
        }
        return token
    }

    private func nonNull(_ term: Term, _ column: ColumnSchema) throws(ServerError) -> [UInt8] {
        guard let bytes = try value(term, column) else { throw .invalidRequest("Invalid null value in condition for column \(column.name)") }
        return bytes
    }

    private func inValues(_ values: InValues, _ column: ColumnSchema) throws(ServerError) -> [[UInt8]] {
        switch values {
        case let .terms(terms):
            var result: [[UInt8]] = []
            for term in terms { result.append(try nonNull(term, column)) }
            return result
        case let .marker(marker):
            let listType = DataType.list(column.type)
            switch try evaluator.evaluate(.bindMarker(marker), for: Receiver(name: "in(\(column.name))", type: listType)) {
            case let .bytes(bytes): return try ValueValidation.split(bytes, type: listType, receiver: column.name)
            case .null, .unset: throw .invalidRequest("Invalid null value for IN restriction on \(column.name)")
            }
        }
    }

    private func tuple(_ term: Term, _ columns: [ColumnSchema]) throws(ServerError) -> [[UInt8]] {
        let type = DataType.tuple(columns.map(\.type))
        let name = "(" + columns.map(\.name).joined(separator: ",") + ")"
        guard case let .bytes(bytes) = try evaluator.evaluate(term, for: Receiver(name: name, type: type)) else {
            throw .invalidRequest("Invalid null value for multi-column relation on \(name)")
        }
        var reader = ByteReader(bytes)
        var components: [[UInt8]] = []
        for _ in columns {
            guard let component = try? reader.readBytes("tuple component") else {
                throw .invalidRequest("Invalid null value for multi-column relation on \(name)")
            }
            components.append(component)
        }
        return components
    }

    private func tuples(_ values: InValues, _ columns: [ColumnSchema]) throws(ServerError) -> [[[UInt8]]] {
        switch values {
        case let .terms(terms):
            var result: [[[UInt8]]] = []
            for term in terms { result.append(try tuple(term, columns)) }
            return result
        case let .marker(marker):
            let tupleType = DataType.tuple(columns.map(\.type))
            let name = "in(" + columns.map(\.name).joined(separator: ",") + ")"
            guard case let .bytes(bytes) = try evaluator.evaluate(.bindMarker(marker), for: Receiver(name: name, type: .list(tupleType))) else {
                throw .invalidRequest("Invalid null value for IN restriction on \(name)")
            }
            var result: [[[UInt8]]] = []
            for element in try ValueValidation.split(bytes, type: .list(tupleType), receiver: name) {
                var reader = ByteReader(element)
                var components: [[UInt8]] = []
                for _ in columns {
                    guard let component = try? reader.readBytes("tuple component") else {
                        throw .invalidRequest("Invalid null value in IN tuple for \(name)")
                    }
                    components.append(component)
                }
                result.append(components)
            }
            return result
        }
    }

    /// Sorts the relations; throws Cassandra's errors for unknown columns and impossible combinations.
    func analyze(_ relations: [Relation]) throws(ServerError) -> Restrictions {
        var result = Restrictions()
        let partitionColumns = table.partitionKeyColumns
        let clusteringColumns = table.clusteringColumns
        result.partitionValues = Array(repeating: nil, count: partitionColumns.count)
        var clusteringEquals: [Int: [[UInt8]]] = [:]
        var clusteringRanges: [Int: [(ComparisonOperator, [UInt8])]] = [:]
        var multiEquals: [(start: Int, values: [[[UInt8]]])] = []
        var multiRange: (start: Int, columns: [ColumnSchema], [(ComparisonOperator, [[UInt8]])])?

        // Primary key columns already restricted, and how (Cassandra refuses a second relation next to = or IN).
        var keyRelations: [String: String] = [:]
        func restrict(_ column: ColumnSchema, _ kind: String) throws(ServerError) {
            guard column.kind.isPrimaryKey else { return }
            if let previous = keyRelations[column.name], previous != "range" || kind != "range" {
                let strongest = previous == "range" ? kind : previous
                throw .invalidRequest("\(column.name) cannot be restricted by more than one relation if it includes "
                    + (strongest == "in" ? "a IN" : "an Equal"))
            }
            keyRelations[column.name] = kind
        }

        for relation in relations {
            switch relation {
            case let .compare(name, op, term):
                let column = try column(name)
                if op != .notEqual { try restrict(column, op == .equal ? "equal" : "range") }
                switch column.kind {
                case let .partitionKey(position) where op == .equal:
                    result.partitionValues[position] = [try nonNull(term, column)]
                case let .clustering(position, _) where op == .equal:
                    clusteringEquals[position] = [try nonNull(term, column)]
                case let .clustering(position, _) where op != .notEqual:
                    clusteringRanges[position, default: []].append((op, try nonNull(term, column)))
                default:
                    result.filters.append(RowFilter(column: column, test: .compare(op, try value(term, column))))
                    result.needsFiltering = true
                }
            case let .in(name, values):
                let column = try column(name)
                try restrict(column, "in")
                let list = try inValues(values, column)
                switch column.kind {
                case let .partitionKey(position): result.partitionValues[position] = list
                case let .clustering(position, _): clusteringEquals[position] = list
                default:
                    result.filters.append(RowFilter(column: column, test: .oneOf(list)))
                    result.needsFiltering = true
                }
            case let .contains(name, term):
                let column = try column(name)
                let elementType: DataType
                switch column.type {
                case let .list(element), let .set(element): elementType = element
                case let .map(_, value): elementType = value
                default: throw .invalidRequest("Cannot use CONTAINS on non-collection column \(name)")
                }
                guard case let .bytes(bytes) = try evaluator.evaluate(term, for: Receiver(name: name, type: elementType)) else {
                    throw .invalidRequest("Unsupported null value for column \(name)")
                }
                result.filters.append(RowFilter(column: column, test: .contains(bytes)))
                result.needsFiltering = true
            case let .containsKey(name, term):
                let column = try column(name)
                guard case let .map(keyType, _) = column.type else {
                    throw .invalidRequest("Cannot use CONTAINS KEY on non-map column \(name)")
                }
                guard case let .bytes(bytes) = try evaluator.evaluate(term, for: Receiver(name: name, type: keyType)) else {
                    throw .invalidRequest("Unsupported null value for column \(name)")
                }
                result.filters.append(RowFilter(column: column, test: .containsKey(bytes)))
                result.needsFiltering = true
            case let .mapElement(name, keyTerm, op, term):
                let column = try column(name)
                guard case let .map(keyType, valueType) = column.type else {
                    throw .invalidRequest("Column \(name) cannot be used as a map")
                }
                let key = try evaluator.element(keyTerm, Receiver(name: "key(\(name))", type: keyType))
                let value = try evaluator.evaluate(term, for: Receiver(name: "value(\(name))", type: valueType))
                let bytes: [UInt8]? = if case let .bytes(bytes) = value { bytes } else { nil }
                result.filters.append(RowFilter(column: column, test: .mapElement(key: key, op, bytes)))
                result.needsFiltering = true
            case let .token(names, op, term):
                guard names == partitionColumns.map(\.name) else {
                    throw .invalidRequest("The token function arguments must be in the partition key order: "
                        + partitionColumns.map(\.name).joined(separator: ", "))
                }
                let token = try tokenValue(term, partitionColumns)
                result.hasToken = true
                switch op {
                case .greater: result.tokens.lower = max(result.tokens.lower ?? .min, token); result.tokens.lowerInclusive = false
                case .greaterOrEqual: result.tokens.lower = max(result.tokens.lower ?? .min, token); result.tokens.lowerInclusive = true
                // The minimum token as an upper bound stands for the end of the ring (Cassandra reads it as no bound).
                case .less where token == .min, .lessOrEqual where token == .min: break
                case .less: result.tokens.upper = min(result.tokens.upper ?? .max, token); result.tokens.upperInclusive = false
                case .lessOrEqual: result.tokens.upper = min(result.tokens.upper ?? .max, token); result.tokens.upperInclusive = true
                case .equal:
                    result.tokens.lower = token
                    result.tokens.upper = token
                    result.tokens.lowerInclusive = true
                    result.tokens.upperInclusive = true
                case .notEqual:
                    throw .invalidRequest("Unsupported \"!=\" relation: token(\(names.joined(separator: ", "))) != \(token)")
                }
            case let .multiColumn(names, op, term):
                var columns: [ColumnSchema] = []
                for name in names { columns.append(try column(name)) }
                guard let start = try multiColumnStart(columns) else {
                    throw .invalidRequest("Multi-column relations can only be applied to clustering columns but was applied to: "
                        + (columns.first { !$0.kind.isClustering }?.name ?? ""))
                }
                let values = try tuple(term, columns)
                if op == .equal {
                    multiEquals.append((start, [values]))
                } else if op == .notEqual {
                    throw .invalidRequest("Unsupported \"!=\" relation on multiple columns")
                } else {
                    // Bounds of different widths on the same first column, `(a, b) > (?, ?) AND (a) <= (?)`,
                    // make one slice (Cassandra merges them); each bound is a prefix of the widest tuple.
                    if var existing = multiRange, existing.start == start {
                        existing.2.append((op, values))
                        if columns.count > existing.columns.count { existing.columns = columns }
                        multiRange = existing
                    } else {
                        multiRange = (start, columns, [(op, values)])
                    }
                }
            case let .multiColumnIn(names, values):
                var columns: [ColumnSchema] = []
                for name in names { columns.append(try column(name)) }
                guard let start = try multiColumnStart(columns) else {
                    throw .invalidRequest("Multi-column relations can only be applied to clustering columns")
                }
                multiEquals.append((start, try tuples(values, columns)))
            case let .like(name, _):
                throw .invalidRequest("LIKE restriction is only supported on properly indexed columns. \(name) LIKE is not valid.")
            case let .isNotNull(name):
                throw .invalidRequest("Unsupported restriction: \(name) IS NOT NULL")
            }
        }

        // Partition key columns restricted only partly are filtered.
        if !result.hasAllPartitionKeys, !result.hasNoPartitionRestriction {
            for (position, values) in result.partitionValues.enumerated() {
                guard let values else { continue }
                result.filters.append(RowFilter(column: partitionColumns[position], test: .oneOf(values)))
            }
            result.partitionValues = Array(repeating: nil, count: partitionColumns.count)
            result.needsFiltering = true
        }

        // Clustering: leading `=`/`IN` columns become prefixes, then one range; anything else is filtered.
        var position = 0
        var prefixes: [[[UInt8]]] = [[]]
        var usedMulti = Set<Int>()
        while position < clusteringColumns.count {
            if let index = multiEquals.firstIndex(where: { $0.start == position }), let width = multiEquals[index].values.first?.count {
                let tuples = multiEquals[index].values
                prefixes = prefixes.flatMap { prefix in tuples.map { prefix + $0 } }
                usedMulti.insert(index)
                position += width
            } else if let values = clusteringEquals.removeValue(forKey: position) {
                prefixes = prefixes.flatMap { prefix in values.map { prefix + [$0] } }
                position += 1
            } else {
                break
            }
        }
        result.clusteringPrefixes = prefixes
        result.prefixLength = position
        if let range = multiRange, range.start == position {
            let descending = range.columns.map { column -> Bool in
                if case .clustering(_, .descending) = column.kind { return true }
                return false
            }
            if Set(descending).count > 1 {
                // Columns of mixed clustering order: the tuple range (natural value order) is not one contiguous
                // slice of the partition (Cassandra splits it into several), so the rows are tested one by one.
                for (op, values) in range.2 {
                    result.filters.append(RowFilter(column: range.columns[0], test: .multiColumn(Array(range.columns.prefix(values.count)), op, values)))
                }
            } else {
                result.sliceColumn = range.columns.first
                for (op, values) in range.2 { Self.bound(op, values, into: &result) }
            }
            multiRange = nil
        } else if position < clusteringColumns.count, let ranges = clusteringRanges.removeValue(forKey: position) {
            result.sliceColumn = clusteringColumns[position]
            for (op, value) in ranges { Self.bound(op, [value], into: &result) }
        }
        if let range = multiRange {
            for (op, values) in range.2 {
                result.filters.append(RowFilter(column: range.columns[0], test: .multiColumn(Array(range.columns.prefix(values.count)), op, values)))
            }
            result.needsFiltering = true
        }
        for (index, multi) in multiEquals.enumerated() where !usedMulti.contains(index) {
            let width = multi.values.first?.count ?? 0
            let columns = Array(clusteringColumns[multi.start..<min(clusteringColumns.count, multi.start + width)])
            result.filters.append(RowFilter(column: clusteringColumns[multi.start], test: .multiColumnIn(columns, multi.values)))
            result.needsFiltering = true
        }
        for index in clusteringColumns.indices {
            let column = clusteringColumns[index]
            var restricted = false
            if let values = clusteringEquals[index] {
                result.filters.append(RowFilter(column: column, test: .oneOf(values)))
                restricted = true
            }
            if let ranges = clusteringRanges[index] {
                for (op, value) in ranges { result.filters.append(RowFilter(column: column, test: .compare(op, value))) }
                restricted = true
            }
            if restricted {
                result.needsFiltering = true
                if result.clusteringGap == nil, index > position {
                    result.clusteringGap = (column.name, clusteringColumns[position].name)
                }
            }
        }
        return result
    }

    private static func bound(_ op: ComparisonOperator, _ values: [[UInt8]], into result: inout Restrictions) {
        switch op {
        case .greater: result.lower = SliceEnd(values: values, inclusive: false)
        case .greaterOrEqual: result.lower = SliceEnd(values: values, inclusive: true)
        case .less: result.upper = SliceEnd(values: values, inclusive: false)
        case .lessOrEqual: result.upper = SliceEnd(values: values, inclusive: true)
        case .equal, .notEqual: break
        }
    }

    /// The position of the first column when `columns` are consecutive clustering columns, else nil.
    private func multiColumnStart(_ columns: [ColumnSchema]) throws(ServerError) -> Int? {
        var start: Int?
        for (offset, column) in columns.enumerated() {
            guard case let .clustering(position, _) = column.kind else { return nil }
            if let start {
                guard position == start + offset else {
                    throw .invalidRequest("Clustering columns must appear in the PRIMARY KEY order in multi-column relations")
                }
            } else {
                start = position
            }
        }
        return start
    }
}

extension ColumnKind {
    /// Whether this is a clustering column.
    var isClustering: Bool {
        if case .clustering = self { true } else { false }
    }
}
