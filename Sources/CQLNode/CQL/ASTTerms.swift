import Foundation

/// An unquoted identifier is lowercased by the parser; a quoted one keeps its case.
typealias Identifier = String

/// A constant, typed by its lexical class only; the executor converts it to the column's type.
enum Literal: Hashable, Sendable {
    /// `'text'` or `$$text$$`, unescaped.
    case string(String)
    /// An integer as written (`-12`), kept as text so `varint` and overflow checks see every digit.
    case integer(String)
    /// A floating point number as written (`1.5e3`, `NaN`, `-Infinity`).
    case float(String)
    /// `true` / `false`.
    case boolean(Bool)
    /// A UUID constant.
    case uuid(UUID)
    /// A `0x…` blob: its hex digits without the prefix (possibly odd in length: the executor refuses those).
    case hex(String)
    /// A duration as written (`1h30m`, `P1DT2H`).
    case duration(String)

    /// The text Cassandra keeps for a constant in DDL properties (`getRawText`).
    var rawText: String {
        switch self {
        case let .string(text), let .integer(text), let .float(text), let .duration(text): text
        case let .boolean(value): value ? "true" : "false"
        case let .uuid(uuid): uuid.uuidString.lowercased()
        case let .hex(digits): "0x" + digits
        }
    }
}

/// A bind marker: `?` or `:name`.
struct BindMarker: Hashable, Sendable {
    /// The marker's position among all markers of the statement, from 0, in order of appearance.
    var index: Int
    /// The name of a `:name` marker (lowercased unless quoted); nil for `?`.
    var name: Identifier?

    /// A marker at a position, optionally named.
    init(index: Int, name: Identifier? = nil) {
        self.index = index
        self.name = name
    }
}

/// A function name, optionally keyspace-qualified (`now`, `system.token`).
typealias FunctionName = QualifiedName

/// The arithmetic operators of terms and selectors.
enum ArithmeticOperator: String, Hashable, Sendable {
    /// `+`.
    case add = "+"
    /// `-`.
    case subtract = "-"
    /// `*`.
    case multiply = "*"
    /// `/`.
    case divide = "/"
    /// `%`.
    case remainder = "%"
}

/// A value expression: what stands on the right of `=`, inside `VALUES (...)`, etc.
indirect enum Term: Hashable, Sendable {
    /// A constant.
    case literal(Literal)
    /// `null`.
    case null
    /// `?` or `:name`.
    case bindMarker(BindMarker)
    /// `[a, b]`.
    case list([Term])
    /// `{a, b}` (non-empty).
    case set([Term])
    /// `{k: v, ...}` (non-empty).
    case map([MapEntry])
    /// `{}`: an empty set or an empty map, decided by the receiving column's type.
    case emptyBraces
    /// `(a, b)`.
    case tuple([Term])
    /// `{field: value, ...}`: a user-defined type value.
    case userType([UserTypeFieldValue])
    /// `name(args)`, e.g. `now()`, `toTimestamp(now())`, `token(?)`.
    case functionCall(FunctionName, [Term])
    /// `(type) term`: a type hint.
    case typeHint(CQLTypeName, Term)
    /// `CAST(term AS type)`.
    case cast(Term, NativeType)
    /// `-term` where the term is not a number literal.
    case negation(Term)
    /// `a + b`, `a * b`, ...
    case arithmetic(ArithmeticOperator, Term, Term)

    /// A key and its value in a map literal.
    struct MapEntry: Hashable, Sendable {
        /// The key.
        var key: Term
        /// The value.
        var value: Term

        /// A map entry.
        init(key: Term, value: Term) {
            self.key = key
            self.value = value
        }
    }

    /// A field and its value in a UDT literal.
    struct UserTypeFieldValue: Hashable, Sendable {
        /// The field's name.
        var field: Identifier
        /// Its value.
        var value: Term

        /// A field value.
        init(field: Identifier, value: Term) {
            self.field = field
            self.value = value
        }
    }
}

/// The comparison operators of relations and conditions.
enum ComparisonOperator: String, Hashable, Sendable {
    /// `=`.
    case equal = "="
    /// `!=`.
    case notEqual = "!="
    /// `<`.
    case less = "<"
    /// `<=`.
    case lessOrEqual = "<="
    /// `>`.
    case greater = ">"
    /// `>=`.
    case greaterOrEqual = ">="
}

/// The right side of an `IN`: a list of terms, or one marker bound to a whole list.
enum InValues: Hashable, Sendable {
    /// `IN (a, b, ...)`; may be empty.
    case terms([Term])
    /// `IN ?` / `IN :name`.
    case marker(BindMarker)
}

/// One restriction of a WHERE clause.
enum Relation: Hashable, Sendable {
    /// `c op term`.
    case compare(Identifier, ComparisonOperator, Term)
    /// `c IN (...)` / `c IN ?`.
    case `in`(Identifier, InValues)
    /// `c CONTAINS term`.
    case contains(Identifier, Term)
    /// `c CONTAINS KEY term`.
    case containsKey(Identifier, Term)
    /// `c LIKE term`.
    case like(Identifier, Term)
    /// `c IS NOT NULL` (only materialized views accept it).
    case isNotNull(Identifier)
    /// `c[key] op term`.
    case mapElement(Identifier, key: Term, ComparisonOperator, Term)
    /// `token(a, b) op term`.
    case token([Identifier], ComparisonOperator, Term)
    /// `(a, b) op (x, y)` or `(a, b) op ?`.
    case multiColumn([Identifier], ComparisonOperator, Term)
    /// `(a, b) IN ((x, y), ...)`, `(a, b) IN (?, ?)` or `(a, b) IN ?`.
    case multiColumnIn([Identifier], InValues)
}

/// One condition of an `IF` clause.
struct ColumnCondition: Hashable, Sendable {
    /// The conditioned column.
    var column: Identifier
    /// Which part of the column is tested.
    var element: Element
    /// The test.
    var predicate: Predicate

    /// Which part of the column a condition tests.
    enum Element: Hashable, Sendable {
        /// The whole column: `c = v`.
        case whole
        /// A collection element: `c[key] = v`.
        case collectionElement(Term)
        /// A UDT field: `c.field = v`.
        case field(Identifier)
    }

    /// What a condition tests.
    enum Predicate: Hashable, Sendable {
        /// `= != < <= > >=`.
        case compare(ComparisonOperator, Term)
        /// `IN (...)` / `IN ?`.
        case `in`(InValues)
        /// `CONTAINS term` (whole columns only).
        case contains(Term)
        /// `CONTAINS KEY term` (whole columns only).
        case containsKey(Term)
    }

    /// A condition.
    init(column: Identifier, element: Element = .whole, predicate: Predicate) {
        self.column = column
        self.element = element
        self.predicate = predicate
    }
}

/// One `SET` assignment of an UPDATE.
enum Assignment: Hashable, Sendable {
    /// `c = term`.
    case set(Identifier, Term)
    /// `c = c + term` or `c += term`: counter increment, list append, set union, map merge.
    case add(Identifier, Term)
    /// `c = c - term` or `c -= term`: counter decrement, element or key removal.
    case subtract(Identifier, Term)
    /// `c = term + c`: list prepend.
    case prepend(Identifier, Term)
    /// `c[key] = term`: list index or map key assignment.
    case setElement(Identifier, key: Term, Term)
    /// `c.field = term`: UDT field assignment.
    case setField(Identifier, field: Identifier, Term)

    /// The assigned column.
    var column: Identifier {
        switch self {
        case let .set(column, _), let .add(column, _), let .subtract(column, _), let .prepend(column, _),
             let .setElement(column, _, _), let .setField(column, _, _):
            column
        }
    }
}

/// What a DELETE removes.
enum DeletionTarget: Hashable, Sendable {
    /// A whole column.
    case column(Identifier)
    /// `c[key]`: one list element or map entry.
    case element(Identifier, Term)
    /// `c.field`: one UDT field.
    case field(Identifier, Identifier)
}

/// One item of a SELECT list, before its alias.
indirect enum Selector: Hashable, Sendable {
    /// A column.
    case column(Identifier)
    /// A constant, `null` or a bind marker.
    case term(Term)
    /// `count(*)` (also `COUNT(*)`): the number of rows.
    case countRows
    /// `writetime(c)`.
    case writetime(Identifier)
    /// `ttl(c)`.
    case ttl(Identifier)
    /// A function call such as `toTimestamp(c)`, `max(c)`, `count(c)` or `count(1)`.
    case functionCall(FunctionName, [Selector])
    /// `CAST(selector AS type)`.
    case cast(Selector, NativeType)
    /// `selector.field`.
    case field(Selector, Identifier)
    /// `selector[term]`.
    case element(Selector, Term)
    /// `selector[from..to]` (either bound may be missing).
    case slice(Selector, from: Term?, to: Term?)
    /// `(type) selector`.
    case typeHint(CQLTypeName, Selector)
    /// `(a, b)`: a tuple of selectors.
    case tuple([Selector])
    /// `a + b`, ...
    case arithmetic(ArithmeticOperator, Selector, Selector)
    /// `-selector`.
    case negation(Selector)
}

/// A selector with its optional `AS` alias.
struct SelectItem: Hashable, Sendable {
    /// The selector.
    var selector: Selector
    /// The alias, when given.
    var alias: Identifier?

    /// A select item.
    init(_ selector: Selector, alias: Identifier? = nil) {
        self.selector = selector
        self.alias = alias
    }
}
