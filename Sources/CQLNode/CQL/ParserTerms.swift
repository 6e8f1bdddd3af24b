import Foundation

/// Terms, bind markers, constants and types.
extension Parser {
    // MARK: bind markers

    /// `marker`: `?` or `:name`; nil when none is next.
    mutating func acceptMarker() throws(CQLSyntaxError) -> BindMarker? {
        if accept(.question) {
            return newMarker(name: nil)
        }
        guard current.isSymbol(.colon) else { return nil }
        advance()
        return newMarker(name: try identifier())
    }

    mutating func newMarker(name: Identifier?) -> BindMarker {
        let marker = BindMarker(index: markers.count, name: name)
        markers.append(marker)
        return marker
    }

    /// `intValue`: an integer literal or a bind marker (LIMIT, TTL, TIMESTAMP).
    mutating func intValue() throws(CQLSyntaxError) -> Term {
        if current.kind == .integer {
            let text = current.value
            advance()
            return .literal(.integer(text))
        }
        if let marker = try acceptMarker() { return .bindMarker(marker) }
        throw noViableAlternative(current)
    }

    // MARK: constants

    /// `constant`, when one is next.
    mutating func acceptConstant() throws(CQLSyntaxError) -> Literal? {
        let token = current
        let literal: Literal
        switch token.kind {
        case .string: literal = .string(token.value)
        case .integer: literal = .integer(token.value)
        case .float: literal = .float(Parser.normalizedFloat(token.value))
        case .boolean: literal = .boolean(token.value == "true")
        case .duration: literal = .duration(token.value)
        case .hex: literal = .hex(token.value)
        case .uuid:
            guard let uuid = UUID(uuidString: token.value) else { throw noViableAlternative(token) }
            literal = .uuid(uuid)
        default: return nil
        }
        advance()
        return literal
    }

    /// `NaN`, `-NaN`, `Infinity`, `-Infinity` in Cassandra's spelling; other floats as written.
    static func normalizedFloat(_ text: String) -> String {
        switch text.lowercased() {
        case "nan", "-nan": "NaN"
        case "infinity": "Infinity"
        case "-infinity": "-Infinity"
        default: text
        }
    }

    // MARK: terms

    /// Whether the token can start a term.
    func startsTerm(_ token: Token) -> Bool {
        switch token.kind {
        case .string, .integer, .float, .boolean, .duration, .uuid, .hex, .quotedName: return true
        case .word: return token.value == "null" || token.value == "cast" || isFunctionName(token)
        case let .symbol(symbol):
            return [.question, .colon, .leftBracket, .leftBrace, .leftParen, .minus].contains(symbol)
        case .eof: return false
        }
    }

    /// `allowedFunctionName`: identifiers except the few keywords that are not function names, plus TOKEN and COUNT.
    func isFunctionName(_ token: Token) -> Bool {
        switch token.kind {
        case .quotedName: return !token.value.isEmpty
        case .word:
            if token.value == "token" || token.value == "count" { return true }
            return !CQLKeywords.reserved.contains(token.value) && !CQLKeywords.nonFunctionKeywords.contains(token.value)
        default: return false
        }
    }

    /// Whether a function call (`f(` or `ks.f(`) starts here.
    func startsFunctionCall() -> Bool {
        guard Parser.isIdentifier(current) || isFunctionName(current) else { return false }
        if peek(1).isSymbol(.leftParen) { return isFunctionName(current) }
        return peek(1).isSymbol(.dot) && isFunctionName(peek(2)) && peek(3).isSymbol(.leftParen)
    }

    /// `functionName`: `[ks.]name`, lowercased unless quoted.
    mutating func functionName() throws(CQLSyntaxError) -> FunctionName {
        var keyspace: String?
        if peek(1).isSymbol(.dot) {
            keyspace = try identifier()
            advance()
        }
        guard isFunctionName(current) else { throw noViableAlternative(current) }
        let name = current.value
        advance()
        return FunctionName(keyspace: keyspace, name: name)
    }

    /// `term`: additions of multiplications of (possibly negated) simple terms.
    mutating func term() throws(CQLSyntaxError) -> Term {
        var result = try termMultiplication()
        while true {
            let op: ArithmeticOperator
            if current.isSymbol(.plus) { op = .add } else if current.isSymbol(.minus) { op = .subtract } else { break }
            // `x = [1] + x` prepends: a bare column after '+' ends the term.
            if !startsTerm(peek(1)) || (Parser.isIdentifier(peek(1)) && !isFunctionStart(at: 1)) { break }
            advance()
            result = .arithmetic(op, result, try termMultiplication())
        }
        return result
    }

    /// Whether a function call starts `offset` tokens ahead.
    func isFunctionStart(at offset: Int) -> Bool {
        let token = peek(offset)
        guard isFunctionName(token) || Parser.isIdentifier(token) else { return false }
        if peek(offset + 1).isSymbol(.leftParen) { return isFunctionName(token) }
        return peek(offset + 1).isSymbol(.dot) && peek(offset + 3).isSymbol(.leftParen)
    }

    mutating func termMultiplication() throws(CQLSyntaxError) -> Term {
        var result = try termGroup()
        while true {
            let op: ArithmeticOperator
            switch current.kind {
            case .symbol(.star): op = .multiply
            case .symbol(.slash): op = .divide
            case .symbol(.percent): op = .remainder
            default: return result
            }
            advance()
            result = .arithmetic(op, result, try termGroup())
        }
    }

    mutating func termGroup() throws(CQLSyntaxError) -> Term {
        if accept(.minus) { return .negation(try simpleTerm()) }
        return try simpleTerm()
    }

    /// `simpleTerm`: a value, a function call, a type hint or a CAST.
    mutating func simpleTerm() throws(CQLSyntaxError) -> Term {
        try enter()
        defer { depth -= 1 }
        if let literal = try acceptConstant() { return .literal(literal) }
        if let marker = try acceptMarker() { return .bindMarker(marker) }
        let token = current
        switch token.kind {
        case .word where token.value == "null":
            advance()
            return .null
        case .word where token.value == "cast" && peek(1).isSymbol(.leftParen):
            advance()
            advance()
            let inner = try simpleTerm()
            try expectKeyword("as")
            let type = try nativeType()
            try expect(.rightParen)
            return .cast(inner, type)
        case .symbol(.leftBracket):
            return try listLiteral()
        case .symbol(.leftBrace):
            return try bracesLiteral()
        case .symbol(.leftParen):
            if let hint = try typeHint() { return hint }
            return .tuple(try tupleLiteral())
        default:
            if startsFunctionCall() {
                let name = try functionName()
                return .functionCall(name, try functionArguments())
            }
            throw noViableAlternative(token)
        }
    }

    /// `'(' (term (',' term)*)? ')'`.
    mutating func functionArguments() throws(CQLSyntaxError) -> [Term] {
        try expect(.leftParen)
        var arguments: [Term] = []
        if accept(.rightParen) { return arguments }
        repeat {
            arguments.append(try term())
        } while accept(.comma)
        try expect(.rightParen)
        return arguments
    }

    /// `(type) term`, tried first when a `(` could open a type hint; restores the position when it is a tuple.
    mutating func typeHint() throws(CQLSyntaxError) -> Term? {
        guard current.isSymbol(.leftParen), startsType(peek(1)) else { return nil }
        let saved = snapshot
        advance()
        if let type = try? parseType(), accept(.rightParen), startsTerm(current) {
            return .typeHint(type, try simpleTerm())
        }
        restore(saved)
        return nil
    }

    /// `'(' term (',' term)* ')'`.
    mutating func tupleLiteral() throws(CQLSyntaxError) -> [Term] {
        try expect(.leftParen)
        var elements: [Term] = []
        repeat {
            elements.append(try term())
        } while accept(.comma)
        try expect(.rightParen)
        return elements
    }

    mutating func listLiteral() throws(CQLSyntaxError) -> Term {
        try expect(.leftBracket)
        var elements: [Term] = []
        if !current.isSymbol(.rightBracket) {
            repeat {
                elements.append(try term())
            } while accept(.comma)
        }
        try expect(.rightBracket)
        return .list(elements)
    }

    /// `{}`, `{a, b}`, `{k: v}` or `{field: v}`.
    mutating func bracesLiteral() throws(CQLSyntaxError) -> Term {
        try expect(.leftBrace)
        if accept(.rightBrace) { return .emptyBraces }
        if Parser.isIdentifier(current) && peek(1).isSymbol(.colon) {
            var fields: [Term.UserTypeFieldValue] = []
            repeat {
                let field = try identifier()
                try expect(.colon)
                fields.append(Term.UserTypeFieldValue(field: field, value: try term()))
            } while accept(.comma)
            try expect(.rightBrace)
            return .userType(fields)
        }
        let first = try term()
        if accept(.colon) {
            var entries = [Term.MapEntry(key: first, value: try term())]
            while accept(.comma) {
                let key = try term()
                try expect(.colon)
                entries.append(Term.MapEntry(key: key, value: try term()))
            }
            try expect(.rightBrace)
            return .map(entries)
        }
        var elements = [first]
        while accept(.comma) {
            elements.append(try term())
        }
        try expect(.rightBrace)
        return .set(elements)
    }

    // MARK: types

    /// Whether the token can start a type.
    func startsType(_ token: Token) -> Bool {
        token.kind == .string || Parser.isIdentifier(token) || token.isWord("set")
    }

    /// `comparatorType`.
    mutating func parseType() throws(CQLSyntaxError) -> CQLTypeName {
        try enter()
        defer { depth -= 1 }
        let token = current
        if token.kind == .string {
            advance()
            return .custom(token.value)
        }
        if token.kind == .word {
            let opensParameters = peek(1).isSymbol(.less)
            switch token.value {
            case "list" where opensParameters, "set":
                advance()
                try expect(.less)
                let element = try parseType()
                try expect(.greater)
                return token.value == "list" ? .list(element) : .set(element)
            case "map" where opensParameters:
                advance()
                advance()
                let key = try parseType()
                try expect(.comma)
                let value = try parseType()
                try expect(.greater)
                return .map(key: key, value: value)
            case "tuple" where opensParameters:
                advance()
                advance()
                var elements: [CQLTypeName] = []
                repeat {
                    elements.append(try parseType())
                } while accept(.comma)
                try expect(.greater)
                return .tuple(elements)
            case "frozen":
                advance()
                try expect(.less)
                let inner = try parseType()
                try expect(.greater)
                return .frozen(inner)
            default:
                if let native = NativeType(keyword: token.value) {
                    advance()
                    return .native(native)
                }
            }
        }
        return .userDefined(try userTypeName())
    }

    /// `native_type`.
    mutating func nativeType() throws(CQLSyntaxError) -> NativeType {
        guard current.kind == .word, let native = NativeType(keyword: current.value) else {
            throw noViableAlternative(current)
        }
        advance()
        return native
    }

    /// Names Cassandra keeps for future native types.
    static let reservedTypeNames: Set<String> = ["byte", "complex", "enum", "date", "interval", "macaddr", "bitstring"]

    /// `userTypeName`: `[ks.]name`, where the name is not a native type or a non-type keyword.
    mutating func userTypeName() throws(CQLSyntaxError) -> QualifiedName {
        var keyspace: String?
        if peek(1).isSymbol(.dot) {
            keyspace = try identifier()
            advance()
        }
        let token = current
        let isTypeName: Bool
        switch token.kind {
        case .quotedName: isTypeName = !token.value.isEmpty
        case .word:
            isTypeName = Parser.isIdentifier(token) && NativeType(keyword: token.value) == nil
                && (token.value == "key" || !CQLKeywords.nonFunctionKeywords.contains(token.value))
        default: isTypeName = false
        }
        guard isTypeName else { throw noViableAlternative(token) }
        if token.kind == .word && Parser.reservedTypeNames.contains(token.value) {
            throw semantic("Invalid (reserved) user type name \(token.value)")
        }
        advance()
        return QualifiedName(keyspace: keyspace, name: token.value)
    }

    // MARK: properties

    /// `properties`: `property (AND property)*`, refusing a property given twice.
    mutating func properties(into list: inout [Property]) throws(CQLSyntaxError) {
        var names = Set(list.map(\.name))
        repeat {
            try property(into: &list, names: &names)
        } while acceptKeyword("and")
    }

    /// `property`: `name = constant | keyword | {map}`.
    mutating func property(into list: inout [Property], names: inout Set<String>) throws(CQLSyntaxError) {
        let name = try identifier()
        try expect(.equal)
        let value: PropertyValue
        if let literal = try acceptConstant() {
            value = .constant(literal)
        } else if current.isSymbol(.leftBrace) {
            value = .map(try propertyMap())
        } else if current.kind == .word && CQLKeywords.unreserved.contains(current.value) {
            value = .keyword(current.value)
            advance()
        } else {
            throw noViableAlternative(current)
        }
        guard names.insert(name).inserted else {
            throw semantic("Multiple definition for property \(name)")
        }
        list.append(Property(name: name, value: value))
    }

    /// `fullMapLiteral` whose keys and values must all be constants.
    mutating func propertyMap() throws(CQLSyntaxError) -> [PropertyValue.Entry] {
        try expect(.leftBrace)
        var entries: [PropertyValue.Entry] = []
        var keys: Set<String> = []
        if accept(.rightBrace) { return entries }
        repeat {
            let key = try term()
            try expect(.colon)
            let value = try term()
            guard case let .literal(keyLiteral) = key else {
                throw semantic("Invalid property name: \(Parser.describe(key))" + Parser.markerHint(key))
            }
            guard case let .literal(valueLiteral) = value else {
                throw semantic("Invalid property value: \(Parser.describe(value)) for property: \(keyLiteral.rawText)" + Parser.markerHint(value))
            }
            guard keys.insert(keyLiteral.rawText).inserted else {
                throw semantic("Multiple definition for property \(keyLiteral.rawText)")
            }
            entries.append(PropertyValue.Entry(key: keyLiteral.rawText, value: valueLiteral.rawText))
        } while accept(.comma)
        try expect(.rightBrace)
        return entries
    }

    static func markerHint(_ term: Term) -> String {
        if case .bindMarker = term { return " (bind variables are not supported in DDL queries)" }
        return ""
    }

    /// A short rendering of a term for error messages.
    static func describe(_ term: Term) -> String {
        switch term {
        case let .literal(literal): literal.rawText
        case .null: "null"
        case .bindMarker: "?"
        default: "\(term)"
        }
    }
}
