import CQLWire
import Foundation

/// The scheduler's way of talking CQL: prepared statements (the session caches them), the
/// configured consistencies, and unlogged batches for the plain follow-up writes of a run.
struct SchedulerCQL: Sendable {
    let session: CQLSession
    let keyspace: String
    let configuration: SchedulerConfiguration

    /// A table name qualified with the keyspace.
    func table(_ name: String) -> String { "\(keyspace).\(name)" }

    /// A bound statement with the scheduler's consistency (or its serial consistency for SERIAL reads).
    func statement(_ cql: String, _ values: [any CQLEncodable], serialRead: Bool = false) async throws -> CQLStatement {
        configured(try await session.prepare(cql).bind(values), serialRead: serialRead)
    }

    /// A statement whose markers are bound from the properties of `row` by name.
    func statement<Row: Encodable>(_ cql: String, binding row: Row) async throws -> CQLStatement {
        configured(try await session.prepare(cql).bind(encodable: row), serialRead: false)
    }

    private func configured(_ bound: CQLStatement, serialRead: Bool) -> CQLStatement {
        var statement = bound
        statement.consistency = serialRead ? configuration.serialConsistency : configuration.consistency
        statement.serialConsistency = configuration.serialConsistency
        statement.timeout = configuration.requestTimeout
        return statement
    }

    /// Runs one statement.
    @discardableResult
    func run(_ cql: String, _ values: [any CQLEncodable] = [], serialRead: Bool = false) async throws -> QueryResult {
        try await session.execute(try await statement(cql, values, serialRead: serialRead))
    }

    /// Runs statements as one batch (one request), or alone when there is just one.
    func execute(_ statements: [CQLStatement], logged: Bool, timestamp: Int64? = nil) async throws {
        guard var first = statements.first else { return }
        if statements.count == 1 {
            if let timestamp { first.timestamp = timestamp }
            _ = try await session.execute(first)
            return
        }
        var batch = BatchStatement(logged ? .logged : .unlogged, statements, consistency: configuration.consistency)
        batch.timeout = configuration.requestTimeout
        if let timestamp { batch.timestamp = timestamp }
        _ = try await session.execute(batch)
    }
}

extension RowView {
    /// The cell of column `name`, nil when null or absent from the result.
    func optional<T: CQLDecodable>(_ name: String, as type: T.Type = T.self) throws -> T? {
        guard index(of: name) != nil else { return nil }
        return try decode(T?.self, named: name)
    }
}

extension CQLError {
    /// Whether the error leaves an LWT's outcome unknown (resolved by a SERIAL read, never guessed).
    var isUnknownOutcome: Bool {
        switch self {
        case .lwtOutcomeUnknown, .requestTimedOut, .connectionClosed: return true
        default: return false
        }
    }
}
