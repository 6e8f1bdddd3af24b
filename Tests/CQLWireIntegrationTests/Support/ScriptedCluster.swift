@testable import CQLNode
import CQLWire
import Foundation
import Synchronization

/// A scripted multi-node cluster: one real CQL server per node, each on its own loopback port,
/// answering `system.local`, `system.peers_v2` and `system_schema.keyspaces` as a cluster of that
/// shape would (tokens, data centers, keyspace replication), keeping its own prepared statements
/// (a node only knows what was prepared on it), and recording every request it got.
///
/// - PREPARE answers an id (the text's bytes) with one `int` bind marker per `?`, the first being
///   the partition key, in the keyspace named by `keyspace.table` in the text.
/// - EXECUTE of an id this node prepared answers void; of any other id, UNPREPARED.
/// - `CREATE TABLE ks.name ...` answers a schema change and gives the cluster a new schema version,
///   which every node reports in `system.local` and `system.peers_v2` (`schema_version`) unless its
///   fault injection makes it lag (``FaultInjection/lagSchema(_:for:clock:)``); a lagging node
///   reports its own old version for every peer too (it has heard of the change from nobody). The
///   node that runs the CREATE stops lagging: a coordinator has the change it applied.
/// - Other QUERYs and BATCHes answer void.
final class ScriptedCluster: Sendable {
    private struct State {
        var keyspaces: [String: [String: String]]
        var version = UUID()
        /// Nodes running but not yet members: left out of `system.peers_v2` until ``join(_:)``.
        var outside: Set<Int>
        var handlers: [NodeHandler] = []
        var servers: [TestServer] = []
    }

    private let state: Mutex<State>
    let specs: [NodeSpec]
    /// Each node's handler, by index.
    var handlers: [NodeHandler] { state.withLock { $0.handlers } }
    /// Each node's server, by index.
    var servers: [TestServer] { state.withLock { $0.servers } }

    /// One node: its ring tokens and data center.
    struct NodeSpec: Sendable {
        var tokens: [Int64]
        var dataCenter: String
    }

    private init(specs: [NodeSpec], keyspaces: [String: [String: String]], outside: Set<Int>) {
        self.specs = specs
        self.state = Mutex(State(keyspaces: keyspaces, outside: outside))
    }

    /// Starts one server per node; those in `outside` are not members until they ``join(_:)``.
    static func start(_ specs: [NodeSpec], keyspaces: [String: [String: String]],
                      outside: Set<Int> = []) async throws -> ScriptedCluster {
        let cluster = ScriptedCluster(specs: specs, keyspaces: keyspaces, outside: outside)
        for index in specs.indices {
            let handler = NodeHandler(index: index, cluster: cluster)
            let server = try await TestServer.start(handler: handler)
            cluster.state.withLock { state in
                state.handlers.append(handler)
                state.servers.append(server)
            }
        }
        return cluster
    }

    /// The contact point of node `index`.
    func endpoint(_ index: Int) -> CQLEndpoint { servers[index].endpoint }

    /// Changes a keyspace's replication and tells registered clients (a SCHEMA_CHANGE event), as ALTER KEYSPACE does.
    func alter(keyspace: String, replication: [String: String]) {
        state.withLock { $0.keyspaces[keyspace] = replication }
        for server in servers {
            server.server.events.publish(.schemaChange(SchemaChange(changeType: .updated, target: .keyspace, keyspace: keyspace)))
        }
    }

    /// Makes node `index` a member and tells registered clients (a NEW_NODE event), as a bootstrap does.
    func join(_ index: Int) {
        state.withLock { _ = $0.outside.remove(index) }
        guard let loopback = InetAddress("127.0.0.1") else { return }
        let event = Event.topologyChange(.newNode, InetEndpoint(address: loopback, port: Int32(servers[index].port)))
        for server in servers { server.server.events.publish(event) }
    }

    fileprivate func isMember(_ index: Int) -> Bool { state.withLock { !$0.outside.contains(index) } }

    /// The cluster's current schema version (a lagging node reports an older one).
    var schemaVersion: UUID { state.withLock { $0.version } }

    /// The schema version node `index` reports.
    fileprivate func schemaVersion(of index: Int) -> UUID {
        servers[index].faults.schemaLag?.schemaVersion ?? schemaVersion
    }

    /// A schema change applied: a new version.
    fileprivate func changeSchema() { state.withLock { $0.version = UUID() } }

    func stop() async {
        for server in servers { await server.stop() }
    }

    fileprivate var keyspaceRows: [[String: String]] {
        state.withLock { $0.keyspaces.map { name, replication in replication.merging(["\u{0}name": name]) { $1 } } }
    }

    /// One node's handler.
    final class NodeHandler: QueryHandler {
        let index: Int
        unowned let cluster: ScriptedCluster
        let requests = LockedList<QueryRequest>()
        private let known = LockedList<[UInt8]>()

        init(index: Int, cluster: ScriptedCluster) {
            self.index = index
            self.cluster = cluster
        }

        /// The partition keys (bound `int`s) of the EXECUTEs this node received, in order.
        var executedKeys: [Int32] {
            requests.all.compactMap { request in
                guard case let .execute(execute) = request, case let .positional(values) = execute.parameters.values,
                      case let .bytes(bytes)? = values.first, bytes.count == 4 else { return nil }
                return bytes.reduce(Int32(0)) { ($0 << 8) | Int32($1) }
            }
        }

        /// How many requests of `opcode` the node received.
        func count(_ opcode: Opcode) -> Int {
            requests.all.filter { $0.opcode == opcode }.count
        }

        func handle(_ request: QueryRequest, context: RequestContext) async -> QueryResponse {
            requests.append(request)
            switch request {
            case let .query(query):
                return answer(query.query)
            case let .prepare(prepare):
                let id = Array(prepare.query.utf8)
                known.append(id)
                let markers = prepare.query.filter { $0 == "?" }.count
                let (keyspace, table) = Self.table(in: prepare.query)
                let columns = (0..<markers).map { ColumnSpec(keyspace: keyspace, table: table, name: "v\($0)", type: .int) }
                let metadata = PreparedMetadata(columns: columns, pkIndices: columns.isEmpty ? [] : [0])
                return QueryResponse(.result(.prepared(Prepared(id: id, metadata: metadata, resultMetadata: RowsMetadata(columns: [])))))
            case let .execute(execute):
                guard known.all.contains(execute.id) else {
                    return .error(ServerError(.unprepared(id: execute.id), message: "Prepared query not found on node \(index)"))
                }
                return QueryResponse(.result(.void))
            case .batch:
                return QueryResponse(.result(.void))
            }
        }

        /// `keyspace.table` after INTO, FROM or UPDATE.
        private static func table(in query: String) -> (String, String) {
            let words = query.split(separator: " ").map(String.init)
            for (offset, word) in words.enumerated() where ["INTO", "FROM", "UPDATE"].contains(word.uppercased()) {
                guard offset + 1 < words.count else { break }
                let parts = words[offset + 1].split(separator: ".").map(String.init)
                if parts.count == 2 { return (parts[0], parts[1]) }
            }
            return ("ks", "t")
        }

        private func answer(_ text: String) -> QueryResponse {
            do {
                if text.contains("system.local") {
                    let spec = cluster.specs[index]
                    return try Self.rows([("tokens", .set(.varchar)), ("data_center", .varchar), ("schema_version", .uuid)],
                                         [[.set(spec.tokens.map { .text(String($0)) }), .text(spec.dataCenter),
                                           .uuid(cluster.schemaVersion)]])
                }
                if text.contains("system.peers_v2") {
                    guard let loopback = InetAddress("127.0.0.1") else { return QueryResponse(.result(.void)) }
                    // A lagging node has not heard of the change from anyone: its gossip view is as old as its schema.
                    let stale = cluster.servers[index].faults.schemaLag?.schemaVersion
                    let peers = cluster.specs.indices.filter { $0 != index && cluster.isMember($0) }.map { peer -> [CQLValue] in
                        [.inet(loopback), .int(Int32(cluster.servers[peer].port)),
                         .set(cluster.specs[peer].tokens.map { .text(String($0)) }), .text(cluster.specs[peer].dataCenter),
                         .uuid(stale ?? cluster.schemaVersion(of: peer))]
                    }
                    return try Self.rows([("native_address", .inet), ("native_port", .int), ("tokens", .set(.varchar)),
                                          ("data_center", .varchar), ("schema_version", .uuid)], peers)
                }
                let words = text.split(separator: " ").map { $0.uppercased() }
                if words.count > 2, words[0] == "CREATE", words[1] == "TABLE" {
                    // The coordinator of a change has it: it lags no more.
                    cluster.servers[index].faults.endSchemaLag()
                    cluster.changeSchema()
                    let (keyspace, table) = Self.table(in: "INTO " + text.split(separator: " ")[2])
                    return QueryResponse(.result(.schemaChange(SchemaChange(changeType: .created, target: .table,
                                                                            keyspace: keyspace, name: table))))
                }
                if text.contains("system_schema.keyspaces") {
                    let rows = cluster.keyspaceRows.map { row -> [CQLValue] in
                        let replication = row.filter { $0.key != "\u{0}name" }.sorted { $0.key < $1.key }
                        return [.text(row["\u{0}name"] ?? ""),
                                .map(replication.map { CQLMapEntry(key: .text($0.key), value: .text($0.value)) })]
                    }
                    return try Self.rows([("keyspace_name", .varchar), ("replication", .map(key: .varchar, value: .varchar))], rows)
                }
                return QueryResponse(.result(.void))
            } catch {
                return .error(ServerError(.serverError, message: "\(error)"))
            }
        }

        private static func rows(_ columns: [(String, DataType)], _ values: [[CQLValue]]) throws -> QueryResponse {
            var writer = ByteWriter()
            for row in values {
                for (value, column) in zip(row, columns) { writer.writeBytes(try value.encode(as: column.1)) }
            }
            let metadata = RowsMetadata(columns: columns.map { ColumnSpec(keyspace: "system", table: "t", name: $0.0, type: $0.1) })
            return QueryResponse(.result(.rows(Rows(metadata: metadata, rowCount: values.count, buffer: writer.bytes,
                                                    contentRange: 0..<writer.bytes.count))))
        }
    }
}
