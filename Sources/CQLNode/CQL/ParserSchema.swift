/// The schema statements: CREATE, ALTER, DROP, DESCRIBE.
extension Parser {
    /// `IF NOT EXISTS`, when present.
    mutating func ifNotExists() throws(CQLSyntaxError) -> Bool {
        guard acceptKeyword("if") else { return false }
        try expectKeyword("not")
        try expectKeyword("exists")
        return true
    }

    /// `IF EXISTS`, when present.
    mutating func ifExists() throws(CQLSyntaxError) -> Bool {
        guard acceptKeyword("if") else { return false }
        try expectKeyword("exists")
        return true
    }

    mutating func createStatement() throws(CQLSyntaxError) -> StatementSyntax {
        try expectKeyword("create")
        let token = current
        if Parser.isKeyword(token, "keyspace") {
            advance()
            let ifNotExists = try ifNotExists()
            let name = try keyspaceName()
            try expectKeyword("with")
            var properties: [Property] = []
            try self.properties(into: &properties)
            return .createKeyspace(CreateKeyspace(name: name, ifNotExists: ifNotExists, properties: properties))
        }
        if Parser.isKeyword(token, "table") {
            advance()
            return .createTable(try createTable())
        }
        guard token.kind == .word else { throw noViableAlternative(token) }
        switch token.value {
        case "type":
            advance()
            let ifNotExists = try ifNotExists()
            let name = try userTypeName()
            try expect(.leftParen)
            var fields: [CreateType.Field] = []
            repeat {
                if current.isSymbol(.rightParen) && !fields.isEmpty { break }
                let field = try identifier()
                fields.append(CreateType.Field(name: field, type: try parseType()))
            } while accept(.comma)
            try expect(.rightParen)
            return .createType(CreateType(name: name, ifNotExists: ifNotExists, fields: fields))
        case "index": return skipUnsupported(.createIndex)
        case "custom" where Parser.isKeyword(peek(1), "index"): return skipUnsupported(.createIndex)
        case "materialized" where Parser.isKeyword(peek(1), "view"): return skipUnsupported(.createMaterializedView)
        case "function": return skipUnsupported(.createFunction)
        case "aggregate": return skipUnsupported(.createAggregate)
        case "or" where peek(1).isWord("replace"):
            if peek(2).isWord("function") { return skipUnsupported(.createFunction) }
            if peek(2).isWord("aggregate") { return skipUnsupported(.createAggregate) }
            throw noViableAlternative(peek(2))
        case "trigger": return skipUnsupported(.createTrigger)
        case "user": return skipUnsupported(.createUser)
        case "role": return skipUnsupported(.createRole)
        default: throw noViableAlternative(token)
        }
    }

    /// `CREATE TABLE` after its keywords.
    mutating func createTable() throws(CQLSyntaxError) -> CreateTable {
        let ifNotExists = try ifNotExists()
        let name = try tableName()
        var table = CreateTable(name: name, ifNotExists: ifNotExists, columns: [], primaryKeys: [])
        try expect(.leftParen)
        var first = true
        repeat {
            // A trailing comma before ')' is accepted.
            if !first && current.isSymbol(.rightParen) { break }
            first = false
            if acceptKeyword("primary") {
                try expectKeyword("key")
                try expect(.leftParen)
                var partitionKey: [Identifier] = []
                if accept(.leftParen) {
                    repeat {
                        partitionKey.append(try identifier())
                    } while accept(.comma)
                    try expect(.rightParen)
                } else {
                    partitionKey.append(try identifier())
                }
                var clustering: [Identifier] = []
                while accept(.comma) {
                    clustering.append(try identifier())
                }
                try expect(.rightParen)
                table.primaryKeys.append(PrimaryKey(partitionKey: partitionKey, clustering: clustering))
            } else {
                let column = try identifier()
                let type = try parseType()
                let isStatic = current.isWord("static") ? { advance(); return true }() : false
                table.columns.append(ColumnDefinition(name: column, type: type, isStatic: isStatic))
                if acceptKeyword("primary") {
                    try expectKeyword("key")
                    table.primaryKeys.append(PrimaryKey(partitionKey: [column]))
                }
            }
        } while accept(.comma)
        try expect(.rightParen)
        if acceptKeyword("with") {
            var names: Set<String> = []
            repeat {
                if current.isWord("clustering") && Parser.isKeyword(peek(1), "order") {
                    advance()
                    advance()
                    try expectKeyword("by")
                    try expect(.leftParen)
                    repeat {
                        let column = try identifier()
                        let descending: Bool
                        if acceptKeyword("desc") {
                            descending = true
                        } else if acceptKeyword("asc") {
                            descending = false
                        } else {
                            throw noViableAlternative(current)
                        }
                        table.clusteringOrder.append(ClusteringOrderItem(column: column, descending: descending))
                    } while accept(.comma)
                    try expect(.rightParen)
                } else if current.isWord("compact") && peek(1).isWord("storage") {
                    throw semantic("COMPACT STORAGE tables are not allowed starting with version 4.0")
                } else {
                    try property(into: &table.properties, names: &names)
                }
            } while acceptKeyword("and")
        }
        return table
    }

    mutating func alterStatement() throws(CQLSyntaxError) -> StatementSyntax {
        try expectKeyword("alter")
        let token = current
        if Parser.isKeyword(token, "keyspace") {
            advance()
            let ifExists = try ifExists()
            let name = try keyspaceName()
            try expectKeyword("with")
            var properties: [Property] = []
            try self.properties(into: &properties)
            return .alterKeyspace(AlterKeyspace(name: name, ifExists: ifExists, properties: properties))
        }
        if Parser.isKeyword(token, "table") {
            advance()
            return .alterTable(try alterTable())
        }
        guard token.kind == .word else { throw noViableAlternative(token) }
        switch token.value {
        case "type": return skipUnsupported(.alterType)
        case "materialized" where Parser.isKeyword(peek(1), "view"): return skipUnsupported(.alterMaterializedView)
        case "user": return skipUnsupported(.alterUser)
        case "role": return skipUnsupported(.alterRole)
        default: throw noViableAlternative(token)
        }
    }

    /// `ALTER TABLE` after its keywords.
    mutating func alterTable() throws(CQLSyntaxError) -> AlterTable {
        let ifExists = try ifExists()
        let name = try tableName()
        let token = current
        let action: AlterTable.Action
        if acceptKeyword("alter") {
            let column = try columnIdentifier()
            guard current.isWord("type") else { throw mismatched(current, expecting: "K_TYPE") }
            advance()
            action = .alterColumnType(column, try parseType())
        } else if acceptKeyword("add") {
            let ifNotExists = try self.ifNotExists()
            var columns: [ColumnDefinition] = []
            if accept(.leftParen) {
                repeat {
                    columns.append(try columnDefinition())
                } while accept(.comma)
                try expect(.rightParen)
            } else {
                columns.append(try columnDefinition())
            }
            action = .add(columns, ifNotExists: ifNotExists)
        } else if acceptKeyword("drop") {
            if current.isWord("compact") && peek(1).isWord("storage") {
                advance()
                advance()
                action = .dropCompactStorage
            } else {
                let ifExists = try self.ifExists()
                var columns: [Identifier] = []
                if accept(.leftParen) {
                    repeat {
                        columns.append(try identifier())
                    } while accept(.comma)
                    try expect(.rightParen)
                } else {
                    columns.append(try identifier())
                }
                var timestamp: String?
                if acceptKeyword("using") {
                    try expectKeyword("timestamp")
                    guard current.kind == .integer else { throw mismatched(current, expecting: "INTEGER") }
                    timestamp = current.value
                    advance()
                }
                action = .drop(columns, ifExists: ifExists, timestamp: timestamp)
            }
        } else if acceptKeyword("rename") {
            let ifExists = try self.ifExists()
            var renames: [AlterTable.Rename] = []
            repeat {
                let from = try identifier()
                try expectKeyword("to")
                renames.append(AlterTable.Rename(from: from, to: try identifier()))
            } while acceptKeyword("and")
            action = .rename(renames, ifExists: ifExists)
        } else if acceptKeyword("with") {
            var properties: [Property] = []
            try self.properties(into: &properties)
            action = .properties(properties)
        } else {
            throw noViableAlternative(token)
        }
        return AlterTable(name: name, ifExists: ifExists, action: action)
    }

    /// `ident type [STATIC]`.
    mutating func columnDefinition() throws(CQLSyntaxError) -> ColumnDefinition {
        let name = try identifier()
        let type = try parseType()
        var isStatic = false
        if current.isWord("static") {
            advance()
            isStatic = true
        }
        return ColumnDefinition(name: name, type: type, isStatic: isStatic)
    }

    mutating func dropStatement() throws(CQLSyntaxError) -> StatementSyntax {
        try expectKeyword("drop")
        let token = current
        if Parser.isKeyword(token, "keyspace") {
            advance()
            let ifExists = try ifExists()
            return .dropKeyspace(name: try keyspaceName(), ifExists: ifExists)
        }
        if Parser.isKeyword(token, "table") {
            advance()
            let ifExists = try ifExists()
            return .dropTable(try tableName(), ifExists: ifExists)
        }
        guard token.kind == .word else { throw noViableAlternative(token) }
        switch token.value {
        case "type":
            advance()
            let ifExists = try ifExists()
            return .dropType(try userTypeName(), ifExists: ifExists)
        case "index": return skipUnsupported(.dropIndex)
        case "materialized" where Parser.isKeyword(peek(1), "view"): return skipUnsupported(.dropMaterializedView)
        case "function": return skipUnsupported(.dropFunction)
        case "aggregate": return skipUnsupported(.dropAggregate)
        case "trigger": return skipUnsupported(.dropTrigger)
        case "user": return skipUnsupported(.dropUser)
        case "role": return skipUnsupported(.dropRole)
        default: throw noViableAlternative(token)
        }
    }

    /// `describeStatement`.
    mutating func describeStatement() throws(CQLSyntaxError) -> Describe {
        advance()
        let token = current
        let target: Describe.Target
        // Words naming a kind are names too ("DESC type" describes an object named type),
        // so a kind word followed by a name is the kind.
        let followedByName = Parser.isIdentifier(peek(1))
        switch token.kind == .word ? token.value : "" {
        case "cluster":
            advance()
            target = .cluster
        case "full":
            advance()
            guard current.isWord("schema") else { throw mismatched(current, expecting: "K_SCHEMA") }
            advance()
            target = .schema(full: true)
        case "schema" where !followedByName:
            advance()
            target = .schema(full: false)
        case "keyspaces":
            advance()
            target = .keyspaces
        case "only" where Parser.isKeyword(peek(1), "keyspace"):
            advance()
            advance()
            target = .keyspace(Parser.isIdentifier(current) ? try keyspaceName() : nil, only: true)
        case "keyspace", "schema":
            advance()
            target = .keyspace(Parser.isIdentifier(current) ? try keyspaceName() : nil, only: false)
        case "tables", "columnfamilies":
            advance()
            target = .tables
        case "table", "columnfamily":
            advance()
            target = .table(try tableName())
        case "index":
            advance()
            target = .index(try tableName())
        case "materialized":
            advance()
            try expectKeyword("view")
            target = .materializedView(try tableName())
        case "types":
            advance()
            target = .types
        case "type" where followedByName:
            advance()
            target = .type(try userTypeName())
        case "functions":
            advance()
            target = .functions
        case "function" where followedByName:
            advance()
            target = .function(try functionName())
        case "aggregates":
            advance()
            target = .aggregates
        case "aggregate" where followedByName:
            advance()
            target = .aggregate(try functionName())
        default:
            target = .named(try tableName())
        }
        var withInternals = false
        if acceptKeyword("with") {
            try expectKeyword("internals")
            withInternals = true
        }
        return Describe(target: target, withInternals: withInternals)
    }
}
