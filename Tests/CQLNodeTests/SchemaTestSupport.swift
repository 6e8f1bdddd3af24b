import CQLWire
import Foundation
import NIOConcurrencyHelpers
@testable import CQLNode

/// A node without a socket: in-memory (or on-disk) storage with the system keyspaces installed, the real
/// executor, and an event bus whose deliveries are recorded.
struct SchemaHarness {
    let storage: Storage
    let executor: NodeExecutor
    let session = ClientSession()
    let events = EventBus()
    let delivered = NIOLockedValueBox<[Event]>([])
    private let subscriber = EventSubscriberKey()

    init(dataDirectory: String? = nil) async throws {
        storage = try Storage(options: StorageOptions(dataDirectory: dataDirectory))
        try await SystemKeyspaces.install(in: storage, identity: NodeIdentity(nativePort: 9042))
        executor = NodeExecutor(storage: storage)
        let delivered = self.delivered
        events.register(ObjectIdentifier(subscriber), eventTypes: ["SCHEMA_CHANGE"]) { event in
            delivered.withLockedValue { $0.append(event) }
        }
    }

    var context: RequestContext { RequestContext(stream: 1, session: session, events: events) }

    /// QUERY: the response message.
    func query(_ cql: String, _ values: [WireValue] = []) async -> ResponseMessage {
        let parameters = QueryParameters(consistency: .one, values: values.isEmpty ? .none : .positional(values))
        return await executor.handle(.query(Query(query: cql, parameters: parameters)), context: context).message
    }

    /// QUERY with its whole response (warnings included).
    func response(_ cql: String) async -> QueryResponse {
        await executor.handle(.query(Query(query: cql, parameters: QueryParameters(consistency: .one))), context: context)
    }

    /// QUERY that must succeed.
    @discardableResult
    func run(_ cql: String) async throws -> ResponseMessage {
        let message = await query(cql)
        if case let .error(error) = message { throw SchemaHarnessError(description: "\(cql): \(error.message)") }
        return message
    }

    /// QUERY that must return rows: their cells decoded as text where the column is text, else raw.
    func rows(_ cql: String, _ values: [WireValue] = []) async throws -> (columns: [ColumnSpec], rows: [[CQLValue]]) {
        let message = await query(cql, values)
        guard case let .result(.rows(rows)) = message else { throw SchemaHarnessError(description: "\(cql): expected rows, got \(message)") }
        let cells = try rows.cellValues()
        let columns = rows.metadata.columns
        let decoded = try cells.map { row in
            try zip(row, columns).map { cell, column in
                guard let cell else { return CQLValue.null }
                return try CQLValue.decode(cell, as: column.type)
            }
        }
        return (columns, decoded)
    }

    /// The ERROR a QUERY answers, or nil.
    func error(_ cql: String) async -> ServerError? {
        if case let .error(error) = await query(cql) { return error }
        return nil
    }

    /// The events delivered so far, then forgets them.
    func takeEvents() -> [Event] {
        delivered.withLockedValue { events in
            defer { events.removeAll() }
            return events
        }
    }

    /// `system.local`'s `schema_version`.
    func schemaVersion() async throws -> CQLValue? {
        try await rows("SELECT schema_version FROM system.local WHERE key = 'local'").rows.first?.first
    }
}

/// An object whose identity names the harness's subscription on the event bus.
final class EventSubscriberKey: Sendable {}

struct SchemaHarnessError: Error, CustomStringConvertible {
    var description: String
}

extension CQLValue {
    /// The text of a `.text` value, else nil.
    var textValue: String? {
        if case let .text(text) = self { return text }
        return nil
    }
}
