/// How a keyspace places its replicas, from the `replication` map of `system_schema.keyspaces`.
enum ReplicationStrategy: Sendable, Hashable {
    /// SimpleStrategy: the owner and the next distinct nodes clockwise, `replicationFactor` in all.
    case simple(replicationFactor: Int)
    /// NetworkTopologyStrategy: walking clockwise, distinct nodes of each data center up to its factor.
    case networkTopology([String: Int])
    /// LocalStrategy (the `system` keyspaces): every node holds its own data, so any node will do.
    case local
    /// EverywhereStrategy (DataStax Enterprise): every node is a replica.
    case everywhere
    /// A class the client does not know: only the token's owner is known to be a replica.
    case unknown(String)

    /// The strategy a `replication` map describes; factors that do not parse count as 0 (Cassandra refuses them anyway).
    init(replication: [String: String]) {
        let className = replication["class"] ?? ""
        let shortName = className.split(separator: ".").last.map(String.init) ?? className
        switch shortName {
        case "SimpleStrategy":
            self = .simple(replicationFactor: Self.factor(replication["replication_factor"]))
        case "NetworkTopologyStrategy":
            var factors: [String: Int] = [:]
            for (key, value) in replication where key != "class" && key != "replication_factor" {
                factors[key] = Self.factor(value)
            }
            self = .networkTopology(factors)
        case "LocalStrategy":
            self = .local
        case "EverywhereStrategy":
            self = .everywhere
        default:
            self = .unknown(className)
        }
    }

    /// A factor as Cassandra writes it: `3`, or `3/1` with transient replicas (which still hold the data's range).
    private static func factor(_ text: String?) -> Int {
        guard let text, let full = text.split(separator: "/").first, let value = Int(full.filter { $0 != " " }),
              value > 0 else { return 0 }
        return value
    }
}

/// The ring of a session's nodes and, per keyspace, the replicas of every ring range, computed once
/// per topology or schema change so that routing a request is one binary search and one lookup.
///
/// A class, so that a request's query plan takes it from the session's state with one retain.
final class TokenMap: Sendable {
    /// The nodes the ring's node numbers refer to.
    let nodes: [NodePool]
    /// Every node's tokens, sorted, with the node's number in ``nodes``.
    let ring: [(token: Int64, node: Int)]
    /// Per keyspace, the replicas (node numbers, owner first) of the range ending at each ring position;
    /// a keyspace missing here (LocalStrategy, or replication unknown) gets no replica preference.
    let replicas: [String: [[Int]]]

    /// An empty map: nothing known yet.
    init() {
        nodes = []
        ring = []
        replicas = [:]
    }

    /// The map of `nodes` (their tokens and data centers as they are now) for keyspaces replicated as `replication` says.
    init(nodes: [NodePool], replication: [String: ReplicationStrategy]) {
        self.nodes = nodes
        let ring = Self.ring(tokens: nodes.map(\.tokens))
        self.ring = ring
        let dataCenters = nodes.map(\.dataCenter)
        // Keyspaces sharing a strategy share one table (most clusters have a handful of distinct ones).
        var tables: [ReplicationStrategy: [[Int]]] = [:]
        var replicas: [String: [[Int]]] = [:]
        if !ring.isEmpty {
            for (keyspace, strategy) in replication {
                if let table = tables[strategy] {
                    replicas[keyspace] = table
                } else if let table = Self.replicaTable(strategy, ring: ring, dataCenters: dataCenters) {
                    tables[strategy] = table
                    replicas[keyspace] = table
                }
            }
        }
        self.replicas = replicas
    }

    /// The replicas of `token`, owner first: as `keyspace`'s replication places them, or the token's
    /// owner alone when the keyspace or its replication is unknown. The ring must not be empty.
    func replicas(of token: Int64, keyspace: String?) -> [NodePool] {
        keyspace.flatMap { replicas(of: token, in: $0) } ?? [nodes[ring[Self.position(of: token, in: ring)].node]]
    }

    /// The replicas of `token` in `keyspace`, owner first; nil when the keyspace has no replica preference.
    func replicas(of token: Int64, in keyspace: String) -> [NodePool]? {
        guard let table = replicas[keyspace], !ring.isEmpty else { return nil }
        return table[Self.position(of: token, in: ring)].map { nodes[$0] }
    }

    /// The ring of nodes with these tokens (node `i` has `tokens[i]`), sorted by token.
    static func ring(tokens: [[Int64]]) -> [(token: Int64, node: Int)] {
        var ring: [(token: Int64, node: Int)] = []
        for (node, owned) in tokens.enumerated() {
            for token in owned { ring.append((token, node)) }
        }
        ring.sort { $0.token < $1.token }
        return ring
    }

    /// The ring position owning `token`: the first ring token at or above it, wrapping around. `ring` must not be empty.
    static func position(of token: Int64, in ring: [(token: Int64, node: Int)]) -> Int {
        var low = 0
        var high = ring.count
        while low < high {
            let mid = low + (high - low) / 2
            if ring[mid].token < token { low = mid + 1 } else { high = mid }
        }
        return low == ring.count ? 0 : low
    }

    /// For each ring position, the replicas of the range ending there, owner first, as Cassandra's
    /// replication strategies place them (racks are not considered: NetworkTopologyStrategy's
    /// preference for distinct racks only reorders replicas within a data center's walk).
    /// Nil for a strategy whose data is on every node alike (LocalStrategy).
    static func replicaTable(_ strategy: ReplicationStrategy, ring: [(token: Int64, node: Int)],
                             dataCenters: [String?]) -> [[Int]]? {
        guard !ring.isEmpty else { return nil }
        let distinct = Set(ring.map(\.node))
        switch strategy {
        case .local:
            return nil
        case .everywhere:
            return walk(ring, nodeCount: dataCenters.count, count: distinct.count) { _, _ in true }
        case .unknown:
            return walk(ring, nodeCount: dataCenters.count, count: 1) { _, _ in true }
        case let .simple(factor):
            let wanted = min(max(factor, 1), distinct.count)
            return walk(ring, nodeCount: dataCenters.count, count: wanted) { _, _ in true }
        case let .networkTopology(factors):
            // A data center cannot hold more replicas than it has nodes in the ring.
            var nodesPerDataCenter: [String: Int] = [:]
            for node in distinct {
                if node < dataCenters.count, let dataCenter = dataCenters[node] { nodesPerDataCenter[dataCenter, default: 0] += 1 }
            }
            var wanted: [String: Int] = [:]
            for (dataCenter, factor) in factors {
                let capped = min(factor, nodesPerDataCenter[dataCenter] ?? 0)
                if capped > 0 { wanted[dataCenter] = capped }
            }
            let total = wanted.values.reduce(0, +)
            // No data center of the replication is known: fall back to the owner, as before replication was read.
            guard total > 0 else { return walk(ring, nodeCount: dataCenters.count, count: 1) { _, _ in true } }
            return walk(ring, nodeCount: dataCenters.count, count: total) { node, chosen in
                guard node < dataCenters.count, let dataCenter = dataCenters[node], let limit = wanted[dataCenter] else {
                    return false
                }
                let already = chosen.reduce(0) { count, other in count + (dataCenters[other] == dataCenter ? 1 : 0) }
                return already < limit
            }
        }
    }

    /// From every ring position, walks clockwise collecting distinct nodes that `accept` takes,
    /// until `count` of them are found or the whole ring was walked.
    private static func walk(_ ring: [(token: Int64, node: Int)], nodeCount: Int, count wanted: Int,
                             accept: (Int, [Int]) -> Bool) -> [[Int]] {
        var table: [[Int]] = []
        table.reserveCapacity(ring.count)
        var seen = [Bool](repeating: false, count: nodeCount)
        for start in ring.indices {
            var chosen: [Int] = []
            chosen.reserveCapacity(wanted)
            var step = 0
            while chosen.count < wanted, step < ring.count {
                let node = ring[(start + step) % ring.count].node
                step += 1
                guard node < nodeCount, !seen[node] else { continue }
                if accept(node, chosen) {
                    seen[node] = true
                    chosen.append(node)
                }
            }
            for node in chosen { seen[node] = false }
            table.append(chosen)
        }
        return table
    }
}
