import CQLCodec
import Foundation

/// What a result column computes from a stored row.
indirect enum SelectionExpression: Sendable {
    case column(ColumnSchema)
    case writetime(ColumnSchema)
    case ttl(ColumnSchema)
    case token
    case constant([UInt8]?)
    /// A constant or bind marker passed to a function, typed by the function's argument.
    case term(Term, DataType)
    /// A native scalar function over its arguments.
    case function(NativeFunction, [SelectionExpression])
    /// `toJson(x)`: the JSON text of a value of the type.
    case toJSON(SelectionExpression, DataType)
    /// `count(*)` / `count(1)`.
    case countRows
    /// `count(c)`: rows where `c` is not null.
    case countValues(SelectionExpression)
    /// `m[key]` on a map, `s[element]` on a set.
    case element(SelectionExpression, Term, container: DataType)
    /// `u.field` on a UDT: the field at `index`.
    case field(SelectionExpression, index: Int)
    /// `min(c)`, `max(c)`, `sum(c)`, `avg(c)` over values of `type`.
    case aggregate(String, SelectionExpression, DataType)

    /// Whether this is or contains an aggregate (one result row for all rows, or per group).
    var isAggregate: Bool {
        switch self {
        case .countRows, .countValues, .aggregate: true
        case let .function(_, arguments): arguments.contains { $0.isAggregate }
        case let .toJSON(inner, _): inner.isAggregate
        default: false
        }
    }
}

/// One column of a SELECT's result.
struct OutputColumn: Sendable {
    var name: String
    var type: DataType
    var expression: SelectionExpression

    func spec(_ table: TableSchema) -> ColumnSpec {
        ColumnSpec(keyspace: table.keyspace, table: table.name, name: name, type: type)
    }
}

extension SelectPlanner {
    /// The result columns as the client sees them: the outputs, or the one `[json]` column of `SELECT JSON`.
    static func resultSpecs(_ select: Select, _ outputs: [OutputColumn], table: TableSchema) -> [ColumnSpec] {
        guard select.isJSON else { return outputs.map { $0.spec(table) } }
        return [ColumnSpec(keyspace: table.keyspace, table: table.name, name: "[json]", type: .varchar)]
    }

    /// One result row of `SELECT JSON`: an object of the output columns in selection order.
    static func jsonRow(_ outputs: [OutputColumn], _ cells: [[UInt8]?]) -> [[UInt8]?] {
        let members = zip(outputs, cells).map { output, cell in
            let name = output.name == output.name.lowercased() ? output.name : "\"\(output.name)\""
            return JSONValue.quoted(name) + ": " + JSONValue.text(cell, type: output.type)
        }
        return [Array(("{" + members.joined(separator: ", ") + "}").utf8)]
    }
}

/// Works out a SELECT's result columns.
enum SelectPlanner {
    static func outputColumns(_ select: Select, table: TableSchema) throws(ServerError) -> [OutputColumn] {
        if select.selectsAll {
            return table.selectOrderColumns.map { OutputColumn(name: $0.name, type: $0.type, expression: .column($0)) }
        }
        var columns: [OutputColumn] = []
        for item in select.selection {
            var output = try column(item.selector, table: table)
            if let alias = item.alias { output.name = alias }
            columns.append(output)
        }
        return columns
    }

    private static func tableColumn(_ name: String, _ table: TableSchema) throws(ServerError) -> ColumnSchema {
        guard let column = table.column(named: name) else { throw .undefinedColumn(name, in: table) }
        return column
    }

    private static func column(_ selector: Selector, table: TableSchema) throws(ServerError) -> OutputColumn {
        switch selector {
        case let .column(name):
            let column = try tableColumn(name, table)
            return OutputColumn(name: column.name, type: column.type, expression: .column(column))
        case let .writetime(name), let .ttl(name):
            let column = try tableColumn(name, table)
            let function: String
            if case .writetime = selector { function = "writeTime" } else { function = "ttl" }
            if column.kind.isPrimaryKey {
                throw .invalidRequest("Cannot use selection function \(function) on PRIMARY KEY part \(name)")
            }
            // Cassandra 3.11 and 4.0 refuse every collection here, frozen ones included (recorded in the corpus).
            if column.type.isCollection {
                throw .invalidRequest("Cannot use selection function \(function) on collections")
            }
            if column.isMultiCell {
                throw .invalidRequest("Cannot use selection function \(function) on non-frozen UDT \(name)")
            }
            if case .writetime = selector {
                return OutputColumn(name: "writetime(\(name))", type: .bigint, expression: .writetime(column))
            }
            return OutputColumn(name: "ttl(\(name))", type: .int, expression: .ttl(column))
        case .countRows:
            return OutputColumn(name: "count", type: .bigint, expression: .countRows)
        case let .term(term):
            switch term {
            case let .literal(literal):
                return OutputColumn(name: literal.rawText, type: .varchar, expression: .constant(Array(literal.rawText.utf8)))
            case .null:
                return OutputColumn(name: "null", type: .blob, expression: .constant(nil))
            default:
                throw .invalidRequest("Unsupported term in selection")
            }
        case let .functionCall(name, arguments):
            let function = name.name.lowercased()
            if function == "count" {
                guard arguments.count == 1, let argument = arguments.first else {
                    throw .invalidRequest("Invalid number of arguments in call to function system.count: 1 required but \(arguments.count) provided")
                }
                if case .term(.literal) = argument { return OutputColumn(name: "count", type: .bigint, expression: .countRows) }
                let inner = try column(argument, table: table)
                return OutputColumn(name: "system.count(\(inner.name))", type: .bigint, expression: .countValues(inner.expression))
            }
            if ["min", "max", "sum", "avg"].contains(function) {
                var inner: [OutputColumn] = []
                for argument in arguments { inner.append(try column(argument, table: table)) }
                guard inner.count == 1, let argument = inner.first else {
                    throw .invalidRequest("Invalid number of arguments in call to function system.\(function): 1 required but \(inner.count) provided")
                }
                if function == "sum" || function == "avg", !Aggregates.isNumeric(argument.type) {
                    // The signatures in the order Cassandra 3.11 lists them.
                    let signatures = ["tinyint", "smallint", "float", "int", "double", "varint", "decimal", "counter", "bigint"]
                        .map { "system.\(function) : (\($0)) -> \($0)" }.joined(separator: ", ")
                    throw .invalidRequest("Invalid call to function \(function), none of its type signatures match (known type signatures: \(signatures))")
                }
                return OutputColumn(name: "system.\(function)(\(argument.name))", type: argument.type,
                                    expression: .aggregate(function, argument.expression, argument.type))
            }
            if function == "token" {
                var inner: [OutputColumn] = []
                for argument in arguments { inner.append(try column(argument, table: table)) }
                let names = inner.map(\.name)
                guard names == table.partitionKeyColumns.map(\.name) else {
                    throw .invalidRequest("Type error: cannot call token() on \(names.joined(separator: ", ")): arguments must be the partition key columns")
                }
                return OutputColumn(name: "system.token(" + names.joined(separator: ", ") + ")", type: .bigint, expression: .token)
            }
            if function == "tojson" {
                guard arguments.count == 1, let argument = arguments.first else {
                    throw .invalidRequest("toJson() only accepts one argument (got \(arguments.count))")
                }
                let inner = try column(argument, table: table)
                return OutputColumn(name: "system.tojson(\(inner.name))", type: .varchar, expression: .toJSON(inner.expression, inner.type))
            }
            if function == "fromjson" {
                throw .invalidRequest("fromJson() cannot be used in the selection clause of a SELECT statement")
            }
            // Constants and bind markers take their type from the resolved overload; everything else has its own.
            var described: [FunctionArgument] = []
            var typed: [OutputColumn?] = []
            for argument in arguments {
                switch argument {
                case let .term(.literal(literal)):
                    described.append(.literal(literal)); typed.append(nil)
                case .term(.bindMarker), .term(.null):
                    described.append(.any); typed.append(nil)
                default:
                    let inner = try column(argument, table: table)
                    described.append(.typed(inner.type, label: inner.name)); typed.append(inner)
                }
            }
            let resolved = try NativeFunctions.resolve(name, described, inSelection: true)
            var expressions: [SelectionExpression] = []
            var labels: [String] = []
            for (index, argument) in arguments.enumerated() {
                if let inner = typed[index] {
                    expressions.append(inner.expression); labels.append(inner.name)
                } else if case let .term(term) = argument {
                    expressions.append(.term(term, resolved.argumentTypes[index])); labels.append(Self.text(of: term))
                }
            }
            return OutputColumn(name: "system.\(function)(" + labels.joined(separator: ", ") + ")", type: resolved.returnType,
                                expression: .function(resolved, expressions))
        case let .typeHint(_, inner):
            return try column(inner, table: table)
        case let .element(inner, key):
            let container = try column(inner, table: table)
            let label = "\(container.name)[\(Self.text(of: key))]"
            switch container.type {
            case let .map(_, valueType):
                return OutputColumn(name: label, type: valueType, expression: .element(container.expression, key, container: container.type))
            case let .set(elementType):
                return OutputColumn(name: label, type: elementType, expression: .element(container.expression, key, container: container.type))
            default:
                throw .invalidRequest("Invalid element selection: \(container.name) is of type \(container.type) is not a collection")
            }
        case let .field(inner, name):
            let value = try column(inner, table: table)
            guard case let .udt(userType) = value.type, let index = userType.fields.firstIndex(where: { $0.name == name }) else {
                throw .invalidRequest("Invalid field selection: \(value.name) of type \(value.type) is not a user type")
            }
            return OutputColumn(name: "\(value.name).\(name)", type: userType.fields[index].type, expression: .field(value.expression, index: index))
        case .cast, .slice, .tuple, .arithmetic, .negation:
            throw .invalidRequest("This selection is not supported by this node")
        }
    }
}

extension SelectPlanner {
    /// GROUP BY: how many clustering columns a group spans (the whole partition key always belongs to it),
    /// nil without GROUP BY; checked with Cassandra's messages (`getAggregationSpecification`).
    static func groupClusteringPrefix(_ select: Select, table: TableSchema, restrictions: Restrictions) throws(ServerError) -> Int? {
        guard !select.groupBy.isEmpty else { return nil }
        let primaryKey = table.partitionKeyColumns + table.clusteringColumns
        var position = 0
        var clusteringPrefix = 0
        let order = "Group by currently only support groups of columns following their declared order in the PRIMARY KEY"
        for name in select.groupBy {
            guard let column = table.column(named: name) else { throw .undefinedColumn(name, in: table) }
            guard column.kind.isPrimaryKey else {
                throw .invalidRequest("Group by is currently only supported on the columns of the PRIMARY KEY, got \(name)")
            }
            while true {
                guard position < primaryKey.count else { throw .invalidRequest(order) }
                let candidate = primaryKey[position]
                position += 1
                if case .clustering = candidate.kind { clusteringPrefix += 1 }
                if candidate.name == column.name { break }
                guard isRestrictedByEquality(candidate, restrictions: restrictions, table: table) else { throw .invalidRequest(order) }
            }
        }
        if position < primaryKey.count, primaryKey[position].kind.isPartitionKey {
            throw .invalidRequest("Group by is not supported on only a part of the partition key")
        }
        if clusteringPrefix > 0, select.isDistinct {
            throw .invalidRequest("Grouping on clustering columns is not allowed for SELECT DISTINCT queries")
        }
        return clusteringPrefix
    }

    private static func isRestrictedByEquality(_ column: ColumnSchema, restrictions: Restrictions, table: TableSchema) -> Bool {
        switch column.kind {
        case let .partitionKey(position):
            guard position < restrictions.partitionValues.count else { return false }
            return restrictions.partitionValues[position]?.count == 1
        case let .clustering(position, _):
            return position < restrictions.prefixLength && restrictions.clusteringPrefixes.count == 1
        default:
            return false
        }
    }

    /// A term as a result column's name shows it (`'k'`, `?`).
    static func text(of term: Term) -> String {
        switch term {
        case let .literal(.string(text)): "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        case let .literal(literal): literal.rawText
        case let .bindMarker(marker): marker.name.map { ":" + $0 } ?? "?"
        case .null: "null"
        case let .negation(inner): "-" + text(of: inner)
        case let .list(items): "[" + items.map { text(of: $0) }.joined(separator: ", ") + "]"
        case let .set(items): "{" + items.map { text(of: $0) }.joined(separator: ", ") + "}"
        case let .tuple(items): "(" + items.map { text(of: $0) }.joined(separator: ", ") + ")"
        case let .map(entries): "{" + entries.map { text(of: $0.key) + ": " + text(of: $0.value) }.joined(separator: ", ") + "}"
        default: "?"
        }
    }
}

extension DataType {
    /// Whether this is a list, set or map.
    var isCollection: Bool {
        switch self {
        case .list, .set, .map: true
        default: false
        }
    }
}

/// Runs one SELECT: restrictions, storage reads page by page, filtering, ordering and the result rows.
struct SelectExecutor {
    let storage: Storage
    let table: TableSchema
    let select: Select
    let evaluator: TermEvaluator
    let now: Int32
    let options: ExecutionOptions
    /// Whether `skip_metadata` may be honoured (EXECUTE of a prepared statement).
    let honourSkipMetadata: Bool

    private enum Source {
        case partitions([[UInt8]])
        case scan(TokenRange)
    }

    func run() throws(ServerError) -> Rows {
        let outputs = try SelectPlanner.outputColumns(select, table: table)
        let restrictions = try RestrictionAnalyzer(table: table, evaluator: evaluator).analyze(select.whereClause)
        if !select.allowFiltering {
            if let gap = restrictions.clusteringGap {
                throw .invalidRequest("PRIMARY KEY column \"\(gap.column)\" cannot be restricted as preceding column \"\(gap.preceding)\" is not restricted")
            }
            let clusteringWithoutKey = restrictions.restrictsClustering && !restrictions.hasAllPartitionKeys
            if restrictions.needsFiltering || clusteringWithoutKey { throw .filteringRequired }
        }
        let limit = try positive(select.limit, name: "[limit]", message: "LIMIT must be strictly positive")
        let perPartitionLimit = try positive(select.perPartitionLimit, name: "[per_partition_limit]",
                                             message: "LIMIT must be strictly positive")  // Cassandra words both limits alike
        let reversed = try orderReversed(restrictions)
        if select.isDistinct { try checkDistinct(outputs) }

        let source: Source = restrictions.hasAllPartitionKeys
            ? .partitions(restrictions.partitionKeys(table: table)) : .scan(restrictions.tokens)
        if options.consistency.isSerial {
            var single = false
            if case let .partitions(keys) = source { single = keys.count == 1 }
            guard single else {
                throw .invalidRequest("SERIAL/LOCAL_SERIAL consistency may only be requested for one partition at a time")
            }
        }
        let slices = restrictions.slices(table: table)
        let query = ReadQuery(slices: slices, reversed: reversed, columns: nil, limit: nil,
                              perPartitionLimit: perPartitionLimit, now: now)
        let isAggregate = outputs.contains { $0.expression.isAggregate }
        let inMemoryOrder: Bool
        if case let .partitions(keys) = source, keys.count > 1, !select.orderBy.isEmpty {
            if options.pageSize != nil, !isAggregate {
                throw .invalidRequest("Cannot page queries with both ORDER BY and a IN restriction on the partition key; you must either remove the ORDER BY or the IN and sort client side, or disable paging for this query")
            }
            inMemoryOrder = true
        } else {
            inMemoryOrder = false
        }
        let filter = RowFilterEvaluator(table: table, restrictions: restrictions)

        let specs = SelectPlanner.resultSpecs(select, outputs, table: table)
        if let groupPrefix = try SelectPlanner.groupClusteringPrefix(select, table: table, restrictions: restrictions) {
            return try grouped(outputs, specs, source: source, query: query, filter: filter, prefix: groupPrefix, limit: limit)
        }
        if isAggregate || inMemoryOrder {
            var rows = try read(source, query: query, filter: filter, want: nil, resume: nil).rows
            if inMemoryOrder {
                let columns = table.clusteringColumns
                rows.sort { a, b in
                    let order = ValueOrder.compareClustering(a.clustering, b.clustering, columns: columns)
                    return reversed ? order > 0 : order < 0
                }
            }
            if isAggregate {
                return try result(specs, [shaped(outputs, try aggregate(outputs, rows))], pagingState: nil)
            }
            if let limit { rows = Array(rows.prefix(limit)) }
            return try result(specs, try rows.map { row throws(ServerError) in try cells(outputs, row) }, pagingState: nil)
        }

        var remaining = limit
        var resume: ReadPosition?
        if let bytes = options.pagingState {
            let state = try PagingState(decoding: bytes)
            resume = state.position
            remaining = state.remaining ?? limit
        }
        let want = min(options.pageSize ?? .max, remaining ?? .max)
        guard want > 0 else { return try result(specs, [], pagingState: nil) }
        let (rows, next) = try read(source, query: query, filter: filter, want: want, resume: resume)
        let left = remaining.map { $0 - rows.count }
        var pagingState: [UInt8]?
        if let next, left.map({ $0 > 0 }) ?? true, options.pageSize != nil {
            pagingState = PagingState(position: next, remaining: left).encoded()
        }
        return try result(specs, try rows.map { row throws(ServerError) in try cells(outputs, row) }, pagingState: pagingState)
    }

    private func result(_ specs: [ColumnSpec], _ cells: [[[UInt8]?]], pagingState: [UInt8]?) throws(ServerError) -> Rows {
        let skip = honourSkipMetadata && options.skipMetadata
        let metadata = RowsMetadata(columns: skip ? [] : specs, columnCount: specs.count, pagingState: pagingState,
                                    noMetadata: skip)
        return try CASResult.make(metadata, cells)
    }

    private func positive(_ term: Term?, name: String, message: String) throws(ServerError) -> Int? {
        guard let value = try evaluator.integer(term, Receiver(name: name, type: .int)) else { return nil }
        guard value > 0 else { throw .invalidRequest(message) }
        return Int(clamping: value)
    }

    /// Whether ORDER BY asks for the reverse of the table's clustering order.
    private func orderReversed(_ restrictions: Restrictions) throws(ServerError) -> Bool {
        guard !select.orderBy.isEmpty else { return false }
        let clustering = table.clusteringColumns
        var reversed: Bool?
        for (index, ordering) in select.orderBy.enumerated() {
            guard let column = table.column(named: ordering.column) else {
                throw .undefinedColumn(ordering.column, in: table)
            }
            guard case let .clustering(position, order) = column.kind else {
                throw .invalidRequest("Order by is currently only supported on the clustered columns of the PRIMARY KEY, got \(column.name)")
            }
            guard position == index, position < clustering.count else {
                throw .invalidRequest("Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY")
            }
            let flips = ordering.descending != (order == .descending)
            if let reversed, reversed != flips { throw .invalidRequest("Unsupported order by relation") }
            reversed = flips
        }
        guard restrictions.hasAllPartitionKeys else {
            throw .invalidRequest("ORDER BY is only supported when the partition key is restricted by an EQ or an IN.")
        }
        return reversed ?? false
    }

    private func checkDistinct(_ outputs: [OutputColumn]) throws(ServerError) {
        var selected = Set<String>()
        for output in outputs {
            guard case let .column(column) = output.expression else { continue }
            guard column.kind.isPartitionKey || column.kind == .static else {
                throw .invalidRequest("SELECT DISTINCT queries must only request partition key columns and/or static columns (not \(column.name))")
            }
            selected.insert(column.name)
        }
        let missing = table.partitionKeyColumns.filter { !selected.contains($0.name) }
        if !missing.isEmpty, !select.selectsAll {
            throw .invalidRequest("SELECT DISTINCT queries must request all the partition key columns (missing \(missing.map(\.name).joined(separator: ", ")))")
        }
    }

    /// Reads up to `want` matching rows (all when nil) from `resume` on; returns where the next page starts.
    private func read(_ source: Source, query: ReadQuery, filter: RowFilterEvaluator, want: Int?,
                      resume: ReadPosition?) throws(ServerError) -> (rows: [StoredRow], next: ReadPosition?) {
        var collected: [StoredRow] = []
        var query = query
        let distinct = select.isDistinct
        func chunk(_ body: (inout StorageState) throws(StorageError) -> ReadResult) throws(ServerError) -> ReadResult {
            do {
                return try storage.withTransaction { (state: inout StorageState) throws(StorageError) in try body(&state) }
            } catch {
                throw .storage(error)
            }
        }
        switch source {
        case let .partitions(keys):
            var index = 0
            var position = resume
            if let resume {
                guard let found = keys.firstIndex(of: resume.partitionKey) else {
                    throw .protocolViolation("Invalid value for the paging state")
                }
                index = found
                if resume.clustering == nil || distinct {
                    index += 1
                    position = nil
                }
            }
            while index < keys.count {
                let key = keys[index]
                query.resume = position
                query.limit = want.map { $0 - collected.count }
                if distinct { query.limit = 1 }
                let result = try chunk { (state: inout StorageState) throws(StorageError) in
                    distinct ? try state.distinctPartitions(table: table.id, tokens: TokenRange(lower: Murmur3Token.token(of: key), upper: Murmur3Token.token(of: key)), query: query)
                        : try state.read(table: table.id, partitionKey: key, query: query)
                }
                let rows = distinct ? result.rows.filter { $0.partitionKey == key } : result.rows
                collected.append(contentsOf: rows.filter(filter.passes))
                if let want, collected.count >= want {
                    let stop = distinct || result.resume == nil
                        ? ReadPosition(partitionKey: key, clustering: nil) : result.resume
                    return (collected, index + 1 < keys.count || result.resume != nil ? stop : nil)
                }
                if let stop = result.resume, !distinct {
                    position = stop
                    continue
                }
                position = nil
                index += 1
            }
            return (collected, nil)
        case let .scan(tokens):
            var position = resume
            while true {
                query.resume = position
                query.limit = want.map { $0 - collected.count }
                let result = try chunk { (state: inout StorageState) throws(StorageError) in
                    distinct ? try state.distinctPartitions(table: table.id, tokens: tokens, query: query)
                        : try state.scan(table: table.id, tokens: tokens, query: query)
                }
                collected.append(contentsOf: result.rows.filter(filter.passes))
                if distinct, result.resume == nil, let want, collected.count >= want, let last = collected.last {
                    // A full page of a range read ends with a paging state even when no partition follows, as in
                    // Cassandra (its pager cannot tell); the next page is then empty.
                    return (collected, ReadPosition(partitionKey: last.partitionKey, clustering: nil))
                }
                guard let stop = result.resume else { return (collected, nil) }
                if let want, collected.count >= want { return (collected, stop) }
                position = stop
            }
        }
    }

    /// One result row: the outputs' cells, or the `[json]` cell of `SELECT JSON`.
    private func cells(_ outputs: [OutputColumn], _ row: StoredRow) throws(ServerError) -> [[UInt8]?] {
        var cells: [[UInt8]?] = []
        for output in outputs { cells.append(try evaluate(output.expression, row)) }
        return shaped(outputs, cells)
    }

    private func shaped(_ outputs: [OutputColumn], _ cells: [[UInt8]?]) -> [[UInt8]?] {
        select.isJSON ? SelectPlanner.jsonRow(outputs, cells) : cells
    }

    private func aggregate(_ outputs: [OutputColumn], _ rows: [StoredRow]) throws(ServerError) -> [[UInt8]?] {
        var cells: [[UInt8]?] = []
        for output in outputs { cells.append(try aggregate(output.expression, rows)) }
        return cells
    }

    /// One cell over a group of rows: aggregates over all of them, functions over the aggregates' results,
    /// plain columns from the first row (as Cassandra's `SimpleSelector` keeps its first input).
    private func aggregate(_ expression: SelectionExpression, _ rows: [StoredRow]) throws(ServerError) -> [UInt8]? {
        switch expression {
        case .countRows:
            return ValueValidation.int64Bytes(Int64(rows.count))
        case let .countValues(inner):
            var count: Int64 = 0
            for row in rows where try evaluate(inner, row) != nil { count += 1 }
            return ValueValidation.int64Bytes(count)
        case let .aggregate(function, inner, type):
            var values: [[UInt8]] = []
            for row in rows { if let value = try evaluate(inner, row) { values.append(value) } }
            return Aggregates.compute(function, values: values, type: type)
        case let .function(function, arguments) where expression.isAggregate:
            var values: [[UInt8]?] = []
            for argument in arguments { values.append(try aggregate(argument, rows)) }
            return try function.body(values, evaluator.clock)
        case let .toJSON(inner, type) where expression.isAggregate:
            return Array(JSONValue.text(try aggregate(inner, rows), type: type).utf8)
        default:
            guard let first = rows.first else { return nil }
            return try evaluate(expression, first)
        }
    }

    /// GROUP BY: rows grouped by partition key and the first `prefix` clustering values, one result row per
    /// group; LIMIT, PER PARTITION LIMIT and the page size count groups, as in Cassandra.
    private func grouped(_ outputs: [OutputColumn], _ specs: [ColumnSpec], source: Source, query: ReadQuery,
                         filter: RowFilterEvaluator, prefix: Int, limit: Int?) throws(ServerError) -> Rows {
        var query = query
        let perPartitionLimit = query.perPartitionLimit
        query.perPartitionLimit = nil
        var remaining = limit
        var resume: ReadPosition?
        if let bytes = options.pagingState {
            let state = try PagingState(decoding: bytes)
            resume = state.position
            remaining = state.remaining ?? limit
        }
        let rows = try read(source, query: query, filter: filter, want: nil, resume: resume).rows
        var groups: [[StoredRow]] = []
        var groupsInPartition = 0
        for row in rows {
            if let last = groups.last?.last, last.partitionKey == row.partitionKey,
               Array(last.clustering.prefix(prefix)) == Array(row.clustering.prefix(prefix)), !last.isStaticOnly {
                groups[groups.count - 1].append(row)
                continue
            }
            if groups.last?.last?.partitionKey != row.partitionKey { groupsInPartition = 0 }
            groupsInPartition += 1
            if let perPartitionLimit, groupsInPartition > perPartitionLimit { continue }
            groups.append([row])
        }
        let want = min(options.pageSize ?? .max, remaining ?? .max)
        let page = Array(groups.prefix(max(want, 0)))
        let left = remaining.map { $0 - page.count }
        var pagingState: [UInt8]?
        if groups.count > page.count, left.map({ $0 > 0 }) ?? true, options.pageSize != nil, let last = page.last?.last {
            let position = ReadPosition(partitionKey: last.partitionKey, clustering: last.isStaticOnly ? nil : last.clustering)
            pagingState = PagingState(position: position, remaining: left).encoded()
        }
        var cells: [[[UInt8]?]] = []
        for group in page { cells.append(shaped(outputs, try aggregate(outputs, group))) }
        return try result(specs, cells, pagingState: pagingState)
    }

    /// A result cell for one stored row.
    func evaluate(_ expression: SelectionExpression, _ row: StoredRow) throws(ServerError) -> [UInt8]? {
        switch expression {
        case let .column(column):
            return RowValues.value(of: column, in: row, table: table)
        case let .writetime(column):
            guard case let .cell(cell)? = row.columns[column.name] else { return nil }
            return ValueValidation.int64Bytes(cell.writetime)
        case let .ttl(column):
            guard case let .cell(cell)? = row.columns[column.name], let ttl = cell.ttl else { return nil }
            return ValueValidation.int32Bytes(ttl)
        case .token:
            return ValueValidation.int64Bytes(row.token)
        case let .constant(bytes):
            return bytes
        case let .term(term, type):
            guard case let .bytes(bytes) = try evaluator.evaluate(term, for: Receiver(name: "arg", type: type)) else { return nil }
            return bytes
        case let .function(function, arguments):
            var values: [[UInt8]?] = []
            for argument in arguments { values.append(try evaluate(argument, row)) }
            return try function.body(values, evaluator.clock)
        case let .toJSON(inner, type):
            return Array(JSONValue.text(try evaluate(inner, row), type: type).utf8)
        case let .element(inner, key, container):
            guard let bytes = try evaluate(inner, row) else { return nil }
            switch container {
            case let .map(keyType, _):
                guard let wanted = try? evaluator.element(key, Receiver(name: "key", type: keyType)),
                      let pairs = try? ValueValidation.split(bytes, type: container, receiver: "", pairs: true) else { return nil }
                return stride(from: 0, to: pairs.count - 1, by: 2).first { ValueOrder.compare(pairs[$0], wanted, as: keyType) == 0 }
                    .map { pairs[$0 + 1] }
            case let .set(elementType):
                guard let wanted = try? evaluator.element(key, Receiver(name: "element", type: elementType)),
                      let elements = try? ValueValidation.split(bytes, type: container, receiver: "") else { return nil }
                return elements.first { ValueOrder.compare($0, wanted, as: elementType) == 0 }
            default:
                return nil
            }
        case let .field(inner, index):
            return try evaluate(inner, row).flatMap { RowValues.component($0, at: index) }
        case .countRows, .countValues, .aggregate:
            return nil
        }
    }
}

/// Applies a query's row filters (ALLOW FILTERING, partial keys, token bounds on key lookups).
struct RowFilterEvaluator {
    let table: TableSchema
    let restrictions: Restrictions

    func passes(_ row: StoredRow) -> Bool {
        if restrictions.hasToken, restrictions.hasAllPartitionKeys, !restrictions.tokens.admits(row.token) { return false }
        for filter in restrictions.filters where !passes(filter, row) { return false }
        return true
    }

    private func passes(_ filter: RowFilter, _ row: StoredRow) -> Bool {
        let column = filter.column
        let value = RowValues.value(of: column, in: row, table: table)
        switch filter.test {
        case let .compare(op, expected):
            guard value != nil else { return false }
            return ConditionEvaluation.compare(value, op, expected, type: column.type)
        case let .oneOf(values):
            guard let value else { return false }
            return values.contains { ValueOrder.compare(value, $0, as: column.type) == 0 }
        case let .contains(element):
            return ConditionEvaluation.holds(EvaluatedCondition(column: column, element: .whole, predicate: .contains(element)), row: row)
        case let .containsKey(key):
            return ConditionEvaluation.holds(EvaluatedCondition(column: column, element: .whole, predicate: .containsKey(key)), row: row)
        case let .mapElement(key, op, expected):
            return ConditionEvaluation.holds(EvaluatedCondition(column: column, element: .mapKey(key), predicate: .compare(op, expected)), row: row)
        case let .multiColumn(columns, op, values):
            let actual = columns.map { RowValues.value(of: $0, in: row, table: table) }
            var order = 0
            for (index, column) in columns.enumerated() where index < values.count {
                guard let current = actual[index] else { return false }
                order = ValueOrder.compare(current, values[index], as: column.type)
                if order != 0 { break }
            }
            switch op {
            case .equal: return order == 0
            case .notEqual: return order != 0
            case .less: return order < 0
            case .lessOrEqual: return order <= 0
            case .greater: return order > 0
            case .greaterOrEqual: return order >= 0
            }
        case let .multiColumnIn(columns, tuples):
            let actual = columns.map { RowValues.value(of: $0, in: row, table: table) }
            return tuples.contains { tuple in
                zip(columns.indices, tuple).allSatisfy { index, expected in
                    actual[index].map { ValueOrder.compare($0, expected, as: columns[index].type) == 0 } ?? false
                }
            }
        case let .token(op, token):
            return ConditionEvaluation.compare(ValueValidation.int64Bytes(row.token), op, ValueValidation.int64Bytes(token), type: .bigint)
        }
    }
}

extension ColumnKind {
    /// Whether this is a partition key column.
    var isPartitionKey: Bool {
        if case .partitionKey = self { true } else { false }
    }
}

extension TokenRange {
    /// Whether `token` lies in the range.
    func admits(_ token: Int64) -> Bool {
        if let lower, lowerInclusive ? token < lower : token <= lower { return false }
        if let upper, upperInclusive ? token > upper : token >= upper { return false }
        return true
    }
}
