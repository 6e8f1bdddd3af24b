import CQLCodec

/// Validation of `replication = {...}` as Cassandra 4.1's replication strategies do it, on a single node of
/// `datacenter1`.
enum KeyspaceReplication {
    static let simpleStrategy = "org.apache.cassandra.locator.SimpleStrategy"
    static let networkTopologyStrategy = "org.apache.cassandra.locator.NetworkTopologyStrategy"
    static let dataCenter = "datacenter1"

    /// The replication options as Cassandra stores them: the full class name first, then the factors.
    static func validate(_ value: PropertyValue, keyspace: String) throws(ServerError) -> [(String, String)] {
        guard case let .map(entries) = value else {
            throw .syntax("Invalid value for property 'replication'. It should be a map.")
        }
        var options: [(String, String)] = []
        var className: String?
        for entry in entries {
            if entry.key == "class" { className = entry.value } else { options.append((entry.key, entry.value)) }
        }
        guard let className else { throw ServerError(.configError, message: "Missing replication strategy class") }
        let qualified = className.contains(".") ? className : "org.apache.cassandra.locator." + className
        switch qualified {
        case simpleStrategy:
            guard let factor = options.first(where: { $0.0 == "replication_factor" })?.1 else {
                throw ServerError(.configError, message: "SimpleStrategy requires a replication_factor strategy option.")
            }
            for (name, _) in options where name != "replication_factor" {
                throw ServerError(.configError, message: "Unrecognized strategy option {\(name)} passed to SimpleStrategy for keyspace \(keyspace)")
            }
            try checkFactor(factor)
            return [("class", simpleStrategy), ("replication_factor", factor)]
        case networkTopologyStrategy:
            var result: [(String, String)] = [("class", networkTopologyStrategy)]
            for (name, factor) in options {
                try checkFactor(factor)
                if name == "replication_factor" {
                    if !options.contains(where: { $0.0 == dataCenter }) { result.append((dataCenter, factor)) }
                } else if name == dataCenter {
                    result.append((name, factor))
                } else {
                    throw ServerError(.configError, message: "Unrecognized strategy option {\(name)} passed to NetworkTopologyStrategy for keyspace \(keyspace)")
                }
            }
            return result
        case "org.apache.cassandra.locator.LocalStrategy", "org.apache.cassandra.locator.EverywhereStrategy":
            throw ServerError(.configError, message: "Unable to use given strategy class: LocalStrategy is reserved for internal use.")
        default:
            throw ServerError(.configError, message: "Unable to find replication strategy class '\(qualified)'")
        }
    }

    /// A replication factor: a non-negative number, optionally `all/transient` (transient replicas are refused).
    private static func checkFactor(_ text: String) throws(ServerError) {
        if text.contains("/") {
            throw ServerError(.configError, message: "Transient replication is disabled. Enable in cassandra.yaml to use.")
        }
        guard let factor = Int(text) else {
            throw ServerError(.configError, message: "Replication factor must be numeric; found \(text)")
        }
        guard factor >= 0 else {
            throw ServerError(.configError, message: "Replication factor must be non-negative; found \(text)")
        }
    }

    /// The client warning Cassandra 4 gives when a keyspace wants more replicas than the cluster has nodes.
    static func warnings(_ replication: [(String, String)], keyspace: String) -> [String] {
        let factors = replication.filter { $0.0 != "class" }.compactMap { Int($0.1) }
        guard let factor = factors.max(), factor > 1 else { return [] }
        return ["Your replication factor \(factor) for keyspace \(keyspace) is higher than the number of nodes 1"]
    }
}
