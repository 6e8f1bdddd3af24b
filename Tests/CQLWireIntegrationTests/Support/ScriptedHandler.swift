@testable import CQLNode
import CQLWire
import Foundation
import Synchronization

/// A small, real statement handler for connection-level tests, before or beside the executor.
///
/// - `USE ks` answers RESULT set_keyspace.
/// - `INSERT ... IF NOT EXISTS` answers `[applied]` true (an LWT result).
/// - PREPARE answers an id (from `preparedIDs` or derived from the text) with one `int`
///   bind marker per `?`; EXECUTE of a known id echoes `executed:<text>`.
/// - BATCH answers void; `system.*` reads answer Invalid (a node without those tables).
/// - anything else answers one row with one `varchar` column `echo`: the text, prefixed
///   with `keyspace/` when a keyspace is set, so each stream's answer can be told apart.
///
/// Every request is recorded, in arrival order.
final class ScriptedHandler: QueryHandler {
    let requests = LockedList<QueryRequest>()
    let preparedIDs: [String: [UInt8]]
    let variableTypes: [String: [DataType]]
    private let known = LockedList<PreparedEntry>()

    struct PreparedEntry: Sendable {
        var id: [UInt8]
        var text: String
    }

    init(preparedIDs: [String: [UInt8]] = [:], variableTypes: [String: [DataType]] = [:]) {
        self.preparedIDs = preparedIDs
        self.variableTypes = variableTypes
    }

    /// Forgets every prepared statement, as a restarted node does.
    func forgetPrepared() { known.removeAll() }

    func handle(_ request: QueryRequest, context: RequestContext) async -> QueryResponse {
        requests.append(request)
        switch request {
        case let .query(query):
            return answer(query.query, context: context)
        case let .prepare(prepare):
            let id = preparedIDs[prepare.query] ?? Array(prepare.query.utf8.prefix(16))
            known.append(PreparedEntry(id: id, text: prepare.query))
            let markers = prepare.query.filter { $0 == "?" }.count
            let types = variableTypes[prepare.query] ?? Array(repeating: DataType.int, count: markers)
            let columns = types.enumerated().map { ColumnSpec(keyspace: "ks", table: "t", name: "v\($0.offset)", type: $0.element) }
            let metadata = PreparedMetadata(columns: columns, pkIndices: columns.isEmpty ? [] : [0])
            return QueryResponse(.result(.prepared(Prepared(id: id, metadata: metadata, resultMetadata: RowsMetadata(columns: [])))))
        case let .execute(execute):
            guard let text = known.all.first(where: { $0.id == execute.id })?.text else {
                return .error(ServerError(.unprepared(id: execute.id), message: "Prepared query with ID \(execute.id) not found"))
            }
            return answer("executed:\(text)", context: context)
        case let .batch(batch):
            for statement in batch.statements {
                if case let .prepared(id, _) = statement, !known.all.contains(where: { $0.id == id }) {
                    return .error(ServerError(.unprepared(id: id), message: "Prepared query not found"))
                }
            }
            return QueryResponse(.result(.void))
        }
    }

    private func answer(_ text: String, context: RequestContext) -> QueryResponse {
        let words = text.split(separator: " ").map(String.init)
        if words.first?.uppercased() == "USE", words.count == 2 {
            let name = words[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            context.session.keyspace = name
            return QueryResponse(.result(.setKeyspace(name)))
        }
        if text.contains("system.") {
            return .error(ServerError(.invalid, message: "unconfigured table"))
        }
        if text.uppercased().contains("IF NOT EXISTS") {
            return QueryResponse(.result(.rows(Self.rows(column: "[applied]", type: .boolean, cell: [1]))))
        }
        let keyspace = context.session.keyspace.map { "\($0)/" } ?? ""
        return QueryResponse(.result(.rows(Self.rows(column: "echo", type: .varchar, cell: Array((keyspace + text).utf8)))))
    }

    static func rows(column: String, type: DataType, cell: [UInt8]) -> Rows {
        var writer = ByteWriter()
        writer.writeBytes(cell)
        let metadata = RowsMetadata(columns: [ColumnSpec(keyspace: "ks", table: "t", name: column, type: type)])
        return Rows(metadata: metadata, rowCount: 1, buffer: writer.bytes, contentRange: 0..<writer.bytes.count)
    }
}

/// A thread-safe list for what handlers observe.
final class LockedList<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])

    func append(_ item: Element) { items.withLock { $0.append(item) } }

    func removeAll() { items.withLock { $0.removeAll() } }

    var all: [Element] { items.withLock { $0 } }
}

/// A CQL server on a free loopback port, shut down by ``stop()``.
struct TestServer: Sendable {
    let server: CQLServer
    let port: Int
    let faults: FaultInjection

    static func start(handler: some QueryHandler, authenticator: PasswordAuthenticator? = nil) async throws -> TestServer {
        let faults = FaultInjection()
        let server = CQLServer(configuration: .init(host: "127.0.0.1", port: 0, authenticator: authenticator,
                                                    faultInjection: faults), handler: handler)
        try await server.start()
        guard let port = server.localPort else { throw CQLError.connectionFailed(endpoint: "127.0.0.1", reason: "no port") }
        return TestServer(server: server, port: port, faults: faults)
    }

    var endpoint: CQLEndpoint { CQLEndpoint(host: "127.0.0.1", port: port) }

    func stop() async {
        try? await server.shutdown()
    }
}

/// The echoed text of a result made by ``ScriptedHandler``.
func echoed(_ result: QueryResult) throws -> String? {
    try result.first?.decode(String.self, named: "echo")
}

/// The echoed text of a raw response envelope.
func echoed(_ envelope: Envelope<ResponseMessage>) throws -> String? {
    guard case let .result(.rows(rows)) = envelope.message else { return nil }
    return try rows.first?.decode(String.self, named: "echo")
}

/// A QUERY request at consistency ONE, for ``ScriptedHandler`` to echo.
func echoQuery(_ text: String) -> RequestMessage {
    .query(Query(query: text, parameters: QueryParameters(consistency: .one)))
}

/// Sends `count` concurrent 1 MiB queries (larger than the socket buffers) and counts the answers that echo
/// their own text: partial writes and reads must keep every frame whole and every answer with its request.
func echoLargeQueries(_ connection: CQLConnection, count: Int) async throws -> Int {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        for index in 0..<count {
            group.addTask {
                let text = "SELECT \(index) " + String(repeating: String(UnicodeScalar(UInt8(65 + index % 26))), count: 1 << 20)
                return try echoed(try await connection.send(echoQuery(text), timeout: .seconds(60))) == text
            }
        }
        var matched = 0
        for try await ok in group where ok { matched += 1 }
        return matched
    }
}
