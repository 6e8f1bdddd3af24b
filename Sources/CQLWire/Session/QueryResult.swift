public import Foundation

/// What a statement returned: rows (one page of them), or the effect of a schema change or `USE`.
public struct QueryResult: Sendable {
    /// The RESULT message.
    public let result: ResultMessage
    /// Warnings the node attached.
    public let warnings: [String]
    /// The tracing session id, when tracing was asked for.
    public let tracingID: UUID?
    /// The node that answered (`host:port`).
    public let coordinator: String
    /// Whether the nodes agreed on the schema when the statement returned: false only after a
    /// schema change whose agreement wait (``CQLSession/Configuration/maxSchemaAgreementWait``) ran out.
    public internal(set) var schemaInAgreement = true

    init(envelope: Envelope<ResponseMessage>, result: ResultMessage, coordinator: String) {
        self.result = result
        self.warnings = envelope.warnings
        self.tracingID = envelope.tracingID
        self.coordinator = coordinator
    }

    /// A void result with nothing attached: what a request the retry policy ignored returns.
    init(ignoredBy coordinator: String) {
        self.result = .void
        self.warnings = []
        self.tracingID = nil
        self.coordinator = coordinator
    }

    /// The rows of this page; empty for results without rows.
    public var rows: Rows {
        if case let .rows(rows) = result { return rows }
        return Rows(metadata: RowsMetadata(columns: []), rowCount: 0, buffer: [], contentRange: 0..<0)
    }

    /// Whether the result carried rows (a SELECT or an LWT).
    public var hasRows: Bool {
        if case .rows = result { return true }
        return false
    }

    /// The first row of this page.
    public var first: RowView? { rows.first }

    /// Where the next page starts; nil on the last page.
    public var pagingState: [UInt8]? {
        if case let .rows(rows) = result { return rows.metadata.pagingState }
        return nil
    }

    /// Decodes every row of this page as `T` (by column name, or by position for tuples and arrays).
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> [T] {
        try rows.decode(type)
    }

    /// The schema change a DDL statement made.
    public var schemaChange: SchemaChange? {
        if case let .schemaChange(change) = result { return change }
        return nil
    }

    /// An LWT's outcome: `[applied]` and the row the node returned with it.
    public var lwt: LWTResult? { LWTResult(rows) }

    /// Whether a conditional statement was applied; true for any result that is not an LWT's.
    public var wasApplied: Bool { lwt?.applied ?? true }
}

/// The outcome of a lightweight transaction: whether it applied, and what the node returned with it.
///
/// As Cassandra answers: `[applied]` alone when applied or when the row does not exist; the
/// existing row when `IF NOT EXISTS` failed; the conditioned columns when `IF` conditions failed.
public struct LWTResult: Sendable {
    /// Whether the conditional update was applied.
    public let applied: Bool
    /// The row with `[applied]` and whatever columns the node returned.
    public let row: RowView

    /// Reads `[applied]` from the first row; nil when the rows are not an LWT's.
    public init?(_ rows: Rows) {
        guard let column = rows.metadata.columns.first, column.name == "[applied]", column.type == .boolean,
              let row = rows.first, let applied = try? row.decode(Bool.self, at: 0) else { return nil }
        self.applied = applied
        self.row = row
    }

    /// The current value of `column` that made the condition fail (nil when not returned or null).
    public func value<T: CQLDecodable>(_ type: T.Type = T.self, named column: String) throws(WireError) -> T? {
        guard let index = row.index(of: column) else { return nil }
        return try row.decode(T?.self, at: index)
    }
}
