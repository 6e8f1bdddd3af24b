import CQLWire

/// Whether a consistency level can be met with the nodes a session sees up, for every partition
/// of a keyspace whatever its placement: within each data centre the down nodes are assumed to
/// be replicas of the same partition (with RF 3 and LOCAL_QUORUM, one node of the data centre
/// may be down, never two, however many nodes it has).
struct ReplicaAvailability: Sendable {
    /// The nodes and whether each is up.
    var nodes: [CQLNodeState]
    /// The keyspace's replication.
    var replication: CQLKeyspaceReplication
    /// The data centre LOCAL_* levels are met in; nil picks the only one of a single-DC keyspace.
    var localDatacenter: String?

    /// The replicas of one data centre (or of the whole ring for SimpleStrategy).
    private struct Group {
        var name: String?
        var replicationFactor: Int
        var nodes: [CQLNodeState]

        /// How many replicas of any partition are up at worst.
        var worstCaseUp: Int {
            let replicas = min(replicationFactor, nodes.count)
            return replicas - min(nodes.filter { !$0.isUp }.count, replicas)
        }

        var down: [CQLNodeState] { nodes.filter { !$0.isUp } }
    }

    private var groups: [Group] {
        switch replication {
        case let .simple(factor):
            return [Group(name: nil, replicationFactor: factor, nodes: nodes)]
        case let .networkTopology(factors):
            return factors.keys.sorted().map { dc in
                Group(name: dc, replicationFactor: factors[dc] ?? 0, nodes: nodes.filter { $0.datacenter == dc })
            }
        case .everyNode, .unknown:
            // Every node holds the data (or nothing better is known): one up node serves any level.
            return [Group(name: nil, replicationFactor: 1, nodes: nodes)]
        }
    }

    /// Why `consistency` cannot be met now (one short sentence), nil when it can.
    func problem(for consistency: Consistency) -> String? {
        let groups = self.groups
        let total = Group(name: nil, replicationFactor: groups.reduce(0) { $0 + $1.replicationFactor },
                          nodes: groups.flatMap(\.nodes))
        let totalUp = groups.reduce(0) { $0 + $1.worstCaseUp }
        func quorum(_ factor: Int) -> Int { factor / 2 + 1 }
        func check(_ required: Int, up: Int, of group: Group) -> String? {
            guard up < required else { return nil }
            let place = group.name.map { " in \($0)" } ?? ""
            return "\(consistency) needs \(required) of \(group.replicationFactor) replicas\(place), \(up) up"
                + Self.downList(group.down)
        }
        switch consistency {
        case .any:
            return nil
        case .one:
            return check(1, up: totalUp, of: total)
        case .two:
            return check(2, up: totalUp, of: total)
        case .three:
            return check(3, up: totalUp, of: total)
        case .quorum, .serial:
            return check(quorum(total.replicationFactor), up: totalUp, of: total)
        case .all:
            return check(total.replicationFactor, up: totalUp, of: total)
        case .eachQuorum:
            for group in groups {
                if let problem = check(quorum(group.replicationFactor), up: group.worstCaseUp, of: group) { return problem }
            }
            return nil
        case .localQuorum, .localSerial, .localOne:
            let local: Group
            if groups.count == 1, let only = groups.first, only.name == nil || localDatacenter == nil || only.name == localDatacenter {
                local = only
            } else if let localDatacenter, let group = groups.first(where: { $0.name == localDatacenter }) {
                local = group
            } else if let localDatacenter {
                return "\(consistency): the keyspace has no replicas in the local data centre \(localDatacenter)"
            } else {
                return "\(consistency): the keyspace spans several data centres; set --local-dc"
            }
            let required = consistency == .localOne ? 1 : quorum(local.replicationFactor)
            return check(required, up: local.worstCaseUp, of: local)
        }
    }

    /// `; down: a, b, c and 2 more`, each host once, or nothing when none is down.
    static func downList(_ nodes: [CQLNodeState]) -> String {
        var seen = Set<CQLEndpoint>()
        let hosts = nodes.map(\.endpoint).filter { seen.insert($0).inserted }.map(\.description)
        guard !hosts.isEmpty else { return "" }
        let shown = hosts.prefix(3).joined(separator: ", ")
        return "; down: " + shown + (hosts.count > 3 ? " and \(hosts.count - 3) more" : "")
    }
}
