/// Statement dispatch and the data statements: SELECT, INSERT, UPDATE, DELETE, BATCH, USE.
extension Parser {
    /// `cqlStatement`.
    mutating func parseStatement() throws(CQLSyntaxError) -> StatementSyntax {
        let token = current
        guard token.kind == .word else { throw noViableAlternative(token) }
        switch token.value {
        case "select": return .select(try selectStatement())
        case "insert": return .insert(try insert())
        case "update": return .update(try updateStatement())
        case "delete": return .delete(try deleteStatement())
        case "begin": return .batch(try batchStatement())
        case "use":
            advance()
            return .use(keyspace: try keyspaceName())
        case "truncate":
            advance()
            _ = acceptKeyword("table")
            return .truncate(try tableName())
        case "create": return try createStatement()
        case "alter": return try alterStatement()
        case "drop": return try dropStatement()
        case "describe", "desc": return .describe(try describeStatement())
        case "grant": return skipUnsupported(.grant)
        case "revoke": return skipUnsupported(.revoke)
        case "list":
            switch peek(1).value {
            case "users": return skipUnsupported(.listUsers)
            case "roles": return skipUnsupported(.listRoles)
            default: return skipUnsupported(.listPermissions)
            }
        default: throw noViableAlternative(token)
        }
    }

    /// A statement the node does not implement: its remaining tokens are not checked.
    mutating func skipUnsupported(_ kind: UnsupportedStatementKind) -> StatementSyntax {
        index = tokens.count - 1
        return .unsupported(kind)
    }

    // MARK: SELECT

    mutating func selectStatement() throws(CQLSyntaxError) -> Select {
        try expectKeyword("select")
        var select = Select(table: QualifiedName(name: ""))
        // `json` and `distinct` are also column names: they are modifiers only when a select clause follows.
        if current.isWord("json") {
            let saved = snapshot
            advance()
            if let clause = try? selectClause() {
                select.isJSON = true
                (select.isDistinct, select.selection) = clause
            } else {
                restore(saved)
                (select.isDistinct, select.selection) = try selectClause()
            }
        } else {
            (select.isDistinct, select.selection) = try selectClause()
        }
        try expectKeyword("from")
        select.table = try tableName()
        if acceptKeyword("where") {
            select.whereClause = try whereClause()
        }
        if current.isWord("group") && Parser.isKeyword(peek(1), "by") {
            advance()
            advance()
            repeat {
                select.groupBy.append(try columnIdentifier())
            } while accept(.comma)
        }
        if acceptKeyword("order") {
            try expectKeyword("by")
            repeat {
                let column = try columnIdentifier()
                var descending = false
                if acceptKeyword("desc") {
                    descending = true
                } else {
                    _ = acceptKeyword("asc")
                }
                select.orderBy.append(Ordering(column: column, descending: descending))
            } while accept(.comma)
        }
        if current.isWord("per") {
            advance()
            try expectKeyword("partition")
            try expectKeyword("limit")
            select.perPartitionLimit = try intValue()
        }
        if acceptKeyword("limit") {
            select.limit = try intValue()
        }
        if acceptKeyword("allow") {
            try expectKeyword("filtering")
            select.allowFiltering = true
        }
        return select
    }

    /// `selectClause`: `[DISTINCT] (* | selector, ...)`.
    mutating func selectClause() throws(CQLSyntaxError) -> (distinct: Bool, selection: [SelectItem]) {
        if current.isWord("distinct") {
            let saved = snapshot
            advance()
            if let selection = try? selectors() { return (true, selection) }
            restore(saved)
        }
        return (false, try selectors())
    }

    mutating func selectors() throws(CQLSyntaxError) -> [SelectItem] {
        if accept(.star) { return [] }
        var items: [SelectItem] = []
        repeat {
            let selector = try selector()
            var alias: Identifier?
            if acceptKeyword("as") {
                alias = try identifier()
            }
            items.append(SelectItem(selector, alias: alias))
        } while accept(.comma)
        return items
    }

    /// `unaliasedSelector`: additions of multiplications of selector groups.
    mutating func selector() throws(CQLSyntaxError) -> Selector {
        var result = try selectorMultiplication()
        while true {
            let op: ArithmeticOperator
            if current.isSymbol(.plus) { op = .add } else if current.isSymbol(.minus) { op = .subtract } else { return result }
            advance()
            result = .arithmetic(op, result, try selectorMultiplication())
        }
    }

    mutating func selectorMultiplication() throws(CQLSyntaxError) -> Selector {
        var result = try selectorGroup()
        while true {
            let op: ArithmeticOperator
            switch current.kind {
            case .symbol(.star): op = .multiply
            case .symbol(.slash): op = .divide
            case .symbol(.percent): op = .remainder
            default: return result
            }
            advance()
            result = .arithmetic(op, result, try selectorGroup())
        }
    }

    mutating func selectorGroup() throws(CQLSyntaxError) -> Selector {
        var negations = 0
        while accept(.minus) { negations += 1 }
        var result = try selectorWithoutModifiers()
        while true {
            if accept(.dot) {
                result = .field(result, try identifier())
            } else if accept(.leftBracket) {
                if accept(.range) {
                    result = .slice(result, from: nil, to: try term())
                } else {
                    let first = try term()
                    if accept(.range) {
                        let upper = current.isSymbol(.rightBracket) ? nil : try term()
                        result = .slice(result, from: first, to: upper)
                    } else {
                        result = .element(result, first)
                    }
                }
                try expect(.rightBracket)
            } else {
                break
            }
        }
        // Negation binds looser than field and element selection: `-a.b` is `-(a.b)`.
        for _ in 0..<negations { result = .negation(result) }
        return result
    }

    mutating func selectorWithoutModifiers() throws(CQLSyntaxError) -> Selector {
        try enter()
        defer { depth -= 1 }
        let token = current
        switch token.kind {
        case .symbol(.leftParen):
            if startsType(peek(1)) {
                let saved = snapshot
                advance()
                if let type = try? parseType(), accept(.rightParen), startsSelector(current) {
                    return .typeHint(type, try selectorWithoutModifiers())
                }
                restore(saved)
            }
            advance()
            var elements: [Selector] = []
            repeat {
                elements.append(try selector())
            } while accept(.comma)
            try expect(.rightParen)
            return elements.count == 1 ? elements[0] : .tuple(elements)
        case .symbol(.leftBracket), .symbol(.leftBrace), .symbol(.question), .symbol(.colon),
             .string, .integer, .float, .boolean, .duration, .uuid, .hex:
            return .term(try simpleTerm())
        case .word where token.value == "null":
            advance()
            return .term(.null)
        case .word where peek(1).isSymbol(.leftParen):
            switch token.value {
            case "count" where peek(2).isSymbol(.star) && peek(3).isSymbol(.rightParen):
                advance(); advance(); advance(); advance()
                return .countRows
            case "writetime", "ttl":
                advance()
                advance()
                let column = try columnIdentifier()
                try expect(.rightParen)
                return token.value == "ttl" ? .ttl(column) : .writetime(column)
            case "cast":
                advance()
                advance()
                let inner = try selector()
                try expectKeyword("as")
                let type = try nativeType()
                try expect(.rightParen)
                return .cast(inner, type)
            default:
                break
            }
        default:
            break
        }
        if startsFunctionCall() {
            let name = try functionName()
            try expect(.leftParen)
            var arguments: [Selector] = []
            if !accept(.rightParen) {
                repeat {
                    arguments.append(try selector())
                } while accept(.comma)
                try expect(.rightParen)
            }
            return .functionCall(name, arguments)
        }
        return .column(try columnIdentifier())
    }

    func startsSelector(_ token: Token) -> Bool {
        startsTerm(token) || Parser.isIdentifier(token)
    }

    // MARK: WHERE

    /// `whereClause`: `relation (AND relation)*`.
    mutating func whereClause() throws(CQLSyntaxError) -> [Relation] {
        var relations: [Relation] = []
        repeat {
            try relation(into: &relations)
        } while acceptKeyword("and")
        return relations
    }

    mutating func relation(into relations: inout [Relation]) throws(CQLSyntaxError) {
        try enter()
        defer { depth -= 1 }
        let token = current
        if token.isSymbol(.leftParen) {
            let next = peek(1)
            let isColumnTuple = (Parser.isIdentifier(next) || (next.kind == .quotedName))
                && (peek(2).isSymbol(.comma) || peek(2).isSymbol(.rightParen))
            if !isColumnTuple {
                advance()
                try relation(into: &relations)
                try expect(.rightParen)
                return
            }
            let columns = try columnTuple()
            if acceptKeyword("in") {
                relations.append(.multiColumnIn(columns, try multiColumnInValues()))
            } else if let op = acceptComparison() {
                let value: Term
                if let marker = try acceptMarker() {
                    value = .bindMarker(marker)
                } else {
                    value = .tuple(try tupleLiteral())
                }
                relations.append(.multiColumn(columns, op, value))
            } else {
                throw noViableAlternative(current)
            }
            return
        }
        if token.isWord("token") && peek(1).isSymbol(.leftParen) {
            advance()
            let columns = try columnTuple()
            guard let op = acceptComparison() else { throw noViableAlternative(current) }
            relations.append(.token(columns, op, try term()))
            return
        }
        let column = try columnIdentifier()
        if let op = acceptComparison() {
            relations.append(.compare(column, op, try term()))
        } else if acceptKeyword("in") {
            relations.append(.in(column, try inValues()))
        } else if current.isWord("contains") {
            advance()
            if current.isWord("key") && startsTerm(peek(1)) {
                advance()
                relations.append(.containsKey(column, try term()))
            } else {
                relations.append(.contains(column, try term()))
            }
        } else if current.isWord("like") {
            advance()
            relations.append(.like(column, try term()))
        } else if acceptKeyword("is") {
            try expectKeyword("not")
            try expectKeyword("null")
            relations.append(.isNotNull(column))
        } else if accept(.leftBracket) {
            let key = try term()
            try expect(.rightBracket)
            guard let op = acceptComparison() else { throw noViableAlternative(current) }
            relations.append(.mapElement(column, key: key, op, try term()))
        } else {
            throw noViableAlternative(current)
        }
    }

    /// `relationType`, when one is next.
    mutating func acceptComparison() -> ComparisonOperator? {
        let op: ComparisonOperator
        switch current.kind {
        case .symbol(.equal): op = .equal
        case .symbol(.notEqual): op = .notEqual
        case .symbol(.less): op = .less
        case .symbol(.lessOrEqual): op = .lessOrEqual
        case .symbol(.greater): op = .greater
        case .symbol(.greaterOrEqual): op = .greaterOrEqual
        default: return nil
        }
        advance()
        return op
    }

    /// `tupleOfIdentifiers`: `(a, b, ...)`.
    mutating func columnTuple() throws(CQLSyntaxError) -> [Identifier] {
        try expect(.leftParen)
        var columns: [Identifier] = []
        repeat {
            columns.append(try columnIdentifier())
        } while accept(.comma)
        try expect(.rightParen)
        return columns
    }

    /// `singleColumnInValues`: `(t, ...)` (possibly empty) or a marker.
    mutating func inValues() throws(CQLSyntaxError) -> InValues {
        if let marker = try acceptMarker() { return .marker(marker) }
        try expect(.leftParen)
        var values: [Term] = []
        if !accept(.rightParen) {
            repeat {
                values.append(try term())
            } while accept(.comma)
            try expect(.rightParen)
        }
        return .terms(values)
    }

    /// `multiColumnInValues`: `()`, a marker, `((..), (..))` or `(?, ?)`.
    mutating func multiColumnInValues() throws(CQLSyntaxError) -> InValues {
        if let marker = try acceptMarker() { return .marker(marker) }
        try expect(.leftParen)
        var values: [Term] = []
        if accept(.rightParen) { return .terms(values) }
        repeat {
            if let marker = try acceptMarker() {
                values.append(.bindMarker(marker))
            } else if current.isSymbol(.leftParen) {
                values.append(.tuple(try tupleLiteral()))
            } else {
                throw noViableAlternative(current)
            }
        } while accept(.comma)
        try expect(.rightParen)
        return .terms(values)
    }

    // MARK: INSERT / UPDATE / DELETE / BATCH

    mutating func insert() throws(CQLSyntaxError) -> Insert {
        try expectKeyword("insert")
        try expectKeyword("into")
        let table = try tableName()
        let values: Insert.Values
        if current.isWord("json") {
            advance()
            let document: Term
            if current.kind == .string {
                document = .literal(.string(current.value))
                advance()
            } else if let marker = try acceptMarker() {
                document = .bindMarker(marker)
            } else {
                throw noViableAlternative(current)
            }
            var defaultUnset = false
            if current.isWord("default") {
                advance()
                if current.isWord("unset") {
                    defaultUnset = true
                    advance()
                } else {
                    try expectKeyword("null")
                }
            }
            values = .json(document, defaultUnset: defaultUnset)
        } else {
            try expect(.leftParen)
            var columns: [Identifier] = []
            repeat {
                columns.append(try columnIdentifier())
            } while accept(.comma)
            try expect(.rightParen)
            try expectKeyword("values")
            try expect(.leftParen)
            var terms: [Term] = []
            repeat {
                terms.append(try term())
            } while accept(.comma)
            try expect(.rightParen)
            values = .columns(columns, terms)
        }
        var insert = Insert(table: table, values: values)
        if acceptKeyword("if") {
            try expectKeyword("not")
            try expectKeyword("exists")
            insert.ifNotExists = true
        }
        if current.isWord("using") {
            insert.parameters = try usingClause()
        }
        return insert
    }

    /// `usingClause`: `USING (TTL | TIMESTAMP) v (AND ...)*`.
    mutating func usingClause() throws(CQLSyntaxError) -> UpdateParameters {
        try expectKeyword("using")
        var parameters = UpdateParameters()
        repeat {
            if acceptKeyword("timestamp") {
                parameters.timestamp = try intValue()
            } else if acceptKeyword("ttl") {
                parameters.timeToLive = try intValue()
            } else {
                throw noViableAlternative(current)
            }
        } while acceptKeyword("and")
        return parameters
    }

    mutating func updateStatement() throws(CQLSyntaxError) -> Update {
        try expectKeyword("update")
        let table = try tableName()
        var update = Update(table: table, assignments: [], whereClause: [])
        if current.isWord("using") {
            update.parameters = try usingClause()
        }
        try expectKeyword("set")
        // Setting a whole column conflicts with any other operation on it (Cassandra's isCompatibleWith).
        var wholeColumnSets: Set<Identifier> = []
        var assignedColumns: Set<Identifier> = []
        repeat {
            let assignment = try assignment()
            let column = assignment.column
            let isWholeSet: Bool
            if case .set = assignment { isWholeSet = true } else { isWholeSet = false }
            if wholeColumnSets.contains(column) || (isWholeSet && assignedColumns.contains(column)) {
                throw semantic("Multiple incompatible setting of column \(column)")
            }
            assignedColumns.insert(column)
            if isWholeSet { wholeColumnSets.insert(column) }
            update.assignments.append(assignment)
        } while accept(.comma)
        try expectKeyword("where")
        update.whereClause = try whereClause()
        update.condition = try updateCondition()
        return update
    }

    /// `columnOperation`.
    mutating func assignment() throws(CQLSyntaxError) -> Assignment {
        let column = try columnIdentifier()
        switch current.kind {
        case .symbol(.plusEqual):
            advance()
            return .add(column, try term())
        case .symbol(.minusEqual):
            advance()
            return .subtract(column, try term())
        case .symbol(.leftBracket):
            advance()
            let key = try term()
            try expect(.rightBracket)
            try expect(.equal)
            return .setElement(column, key: key, try term())
        case .symbol(.dot):
            advance()
            let field = try identifier()
            try expect(.equal)
            return .setField(column, field: field, try term())
        default:
            try expect(.equal)
        }
        // `c = c + v`, `c = c - v`, and `c = c -3` (lexed as column, negative integer).
        let next = peek(1)
        if Parser.isIdentifier(current) && (next.isSymbol(.plus) || next.isSymbol(.minus) || next.kind == .integer) {
            let other = try columnIdentifier()
            if current.kind == .integer {
                let text = current.value
                if other != column {
                    let sign = text.hasPrefix("-") ? "-" : "+"
                    throw semantic("Only expressions of the form X = X \(sign) <value> are supported.")
                }
                advance()
                return .add(column, .literal(.integer(text)))
            }
            let isAddition = current.isSymbol(.plus)
            advance()
            if other != column {
                throw semantic("Only expressions of the form X = X \(isAddition ? "+" : "-")<value> are supported.")
            }
            let value = try term()
            return isAddition ? .add(column, value) : .subtract(column, value)
        }
        let value = try term()
        if accept(.plus) {
            let other = try columnIdentifier()
            if other != column {
                throw semantic("Only expressions of the form X = <value> + X are supported.")
            }
            return .prepend(column, value)
        }
        return .set(column, value)
    }

    /// `IF EXISTS` or `IF conditions`, when present.
    mutating func updateCondition() throws(CQLSyntaxError) -> UpdateCondition? {
        guard acceptKeyword("if") else { return nil }
        let next = peek(1)
        let existsIsColumn = next.kind == .symbol(.equal) || next.kind == .symbol(.notEqual) || next.kind == .symbol(.less)
            || next.kind == .symbol(.lessOrEqual) || next.kind == .symbol(.greater) || next.kind == .symbol(.greaterOrEqual)
            || next.kind == .symbol(.leftBracket) || next.kind == .symbol(.dot) || Parser.isKeyword(next, "in")
            || next.isWord("contains")
        if current.isWord("exists") && !existsIsColumn {
            advance()
            return .exists
        }
        var conditions: [ColumnCondition] = []
        repeat {
            conditions.append(try columnCondition())
        } while acceptKeyword("and")
        return .columns(conditions)
    }

    /// `columnCondition`.
    mutating func columnCondition() throws(CQLSyntaxError) -> ColumnCondition {
        let column = try columnIdentifier()
        if current.isWord("contains") {
            advance()
            if current.isWord("key") && startsTerm(peek(1)) {
                advance()
                return ColumnCondition(column: column, predicate: .containsKey(try term()))
            }
            return ColumnCondition(column: column, predicate: .contains(try term()))
        }
        var element = ColumnCondition.Element.whole
        if accept(.leftBracket) {
            element = .collectionElement(try term())
            try expect(.rightBracket)
        } else if accept(.dot) {
            element = .field(try identifier())
        }
        if let op = acceptComparison() {
            return ColumnCondition(column: column, element: element, predicate: .compare(op, try term()))
        }
        if acceptKeyword("in") {
            return ColumnCondition(column: column, element: element, predicate: .in(try inValues()))
        }
        throw noViableAlternative(current)
    }

    mutating func deleteStatement() throws(CQLSyntaxError) -> Delete {
        try expectKeyword("delete")
        var targets: [DeletionTarget] = []
        if !Parser.isKeyword(current, "from") {
            repeat {
                let column = try columnIdentifier()
                if accept(.leftBracket) {
                    targets.append(.element(column, try term()))
                    try expect(.rightBracket)
                } else if accept(.dot) {
                    targets.append(.field(column, try identifier()))
                } else {
                    targets.append(.column(column))
                }
            } while accept(.comma)
        }
        try expectKeyword("from")
        var delete = Delete(table: try tableName(), targets: targets, whereClause: [])
        if acceptKeyword("using") {
            try expectKeyword("timestamp")
            delete.timestamp = try intValue()
        }
        try expectKeyword("where")
        delete.whereClause = try whereClause()
        delete.condition = try updateCondition()
        return delete
    }

    mutating func batchStatement() throws(CQLSyntaxError) -> BatchSyntax {
        try expectKeyword("begin")
        var kind = BatchSyntax.Kind.logged
        if acceptKeyword("unlogged") {
            kind = .unlogged
        } else if current.isWord("counter") {
            advance()
            kind = .counter
        }
        try expectKeyword("batch")
        var batch = BatchSyntax(kind: kind, statements: [])
        if current.isWord("using") {
            batch.parameters = try usingClause()
        }
        while true {
            if current.isWord("insert") {
                batch.statements.append(.insert(try insert()))
            } else if current.isWord("update") {
                batch.statements.append(.update(try updateStatement()))
            } else if current.isWord("delete") {
                batch.statements.append(.delete(try deleteStatement()))
            } else {
                break
            }
            _ = accept(.semicolon)
        }
        try expectKeyword("apply")
        try expectKeyword("batch")
        return batch
    }
}
