import CQLCodec

/// A keyspace-qualified name of a table, type or function (`ks.name`, or `name` alone).
struct QualifiedName: Hashable, Sendable, CustomStringConvertible {
    /// The keyspace, when the statement names one.
    var keyspace: String?
    /// The object's name (lowercased unless it was quoted).
    var name: String

    /// A name, optionally qualified by a keyspace.
    init(keyspace: String? = nil, name: String) {
        self.keyspace = keyspace
        self.name = name
    }

    /// The name as CQL writes it, quoting where needed.
    var description: String {
        let bare = CQLKeywords.quoteIfNeeded(name)
        return keyspace.map { CQLKeywords.quoteIfNeeded($0) + "." + bare } ?? bare
    }
}

/// A CQL native (non-parameterised) type.
enum NativeType: String, Hashable, Sendable, CaseIterable {
    /// `ascii`.
    case ascii
    /// `bigint`.
    case bigint
    /// `blob`.
    case blob
    /// `boolean`.
    case boolean
    /// `counter`.
    case counter
    /// `date`.
    case date
    /// `decimal`.
    case decimal
    /// `double`.
    case double
    /// `duration`.
    case duration
    /// `float`.
    case float
    /// `inet`.
    case inet
    /// `int`.
    case int
    /// `smallint`.
    case smallint
    /// `text` (also written `varchar`: Cassandra treats both as UTF8Type).
    case text
    /// `time`.
    case time
    /// `timestamp`.
    case timestamp
    /// `timeuuid`.
    case timeuuid
    /// `tinyint`.
    case tinyint
    /// `uuid`.
    case uuid
    /// `varint`.
    case varint

    /// The native type a CQL keyword names (`varchar` is `text`), or nil.
    init?(keyword: String) {
        if keyword == "varchar" {
            self = .text
        } else {
            self.init(rawValue: keyword)
        }
    }

    /// The wire type.
    var dataType: DataType {
        switch self {
        case .ascii: .ascii
        case .bigint: .bigint
        case .blob: .blob
        case .boolean: .boolean
        case .counter: .counter
        case .date: .date
        case .decimal: .decimal
        case .double: .double
        case .duration: .duration
        case .float: .float
        case .inet: .inet
        case .int: .int
        case .smallint: .smallint
        case .text: .varchar
        case .time: .time
        case .timestamp: .timestamp
        case .timeuuid: .timeuuid
        case .tinyint: .tinyint
        case .uuid: .uuid
        case .varint: .varint
        }
    }
}

/// A type as a CQL statement writes it, before user-defined type names are resolved.
indirect enum CQLTypeName: Hashable, Sendable, CustomStringConvertible {
    /// A native type.
    case native(NativeType)
    /// `list<T>`.
    case list(CQLTypeName)
    /// `set<T>`.
    case set(CQLTypeName)
    /// `map<K, V>`.
    case map(key: CQLTypeName, value: CQLTypeName)
    /// `tuple<T1, T2, ...>`.
    case tuple([CQLTypeName])
    /// `frozen<T>`.
    case frozen(CQLTypeName)
    /// A user-defined type, optionally keyspace-qualified.
    case userDefined(QualifiedName)
    /// `'java.class.Name'`: a custom type.
    case custom(String)

    /// The type with its outermost `frozen<>` removed.
    var unfrozen: CQLTypeName {
        if case let .frozen(inner) = self { return inner.unfrozen }
        return self
    }

    /// Whether the type is written `frozen<...>`.
    var isFrozen: Bool {
        if case .frozen = self { return true }
        return false
    }

    /// The wire type; `resolve` turns a UDT name into its definition (and throws when it is unknown).
    func dataType<Failure: Error>(
        resolvingUserTypes resolve: (QualifiedName) throws(Failure) -> UserType
    ) throws(Failure) -> DataType {
        switch self {
        case let .native(native): return native.dataType
        case let .list(element): return .list(try element.dataType(resolvingUserTypes: resolve))
        case let .set(element): return .set(try element.dataType(resolvingUserTypes: resolve))
        case let .map(key, value):
            return .map(
                key: try key.dataType(resolvingUserTypes: resolve),
                value: try value.dataType(resolvingUserTypes: resolve)
            )
        case let .tuple(elements):
            var types: [DataType] = []
            for element in elements { types.append(try element.dataType(resolvingUserTypes: resolve)) }
            return .tuple(types)
        case let .frozen(inner): return try inner.dataType(resolvingUserTypes: resolve)
        case let .userDefined(name): return .udt(try resolve(name))
        case let .custom(className):
            return className == DataType.durationClass ? .duration : .custom(className)
        }
    }

    /// The type as CQL writes it.
    var description: String {
        switch self {
        case let .native(native): native.rawValue
        case let .list(element): "list<\(element)>"
        case let .set(element): "set<\(element)>"
        case let .map(key, value): "map<\(key), \(value)>"
        case let .tuple(elements): "tuple<\(elements.map(\.description).joined(separator: ", "))>"
        case let .frozen(inner): "frozen<\(inner)>"
        case let .userDefined(name): name.description
        case let .custom(className): "'\(className)'"
        }
    }
}
