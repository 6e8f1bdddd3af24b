/// A statement the nodes have prepared: its id, the types of its bind markers and of its result.
///
/// Bind it to values to get a ``CQLStatement``; the session re-prepares it transparently when a
/// node answers UNPREPARED (after a restart, or on a node that never saw it).
public struct PreparedStatement: Sendable {
    /// What never changes after preparing, behind one reference: a statement is copied into every
    /// request built from it, and one retain is cheaper than one per field.
    private final class Storage: Sendable {
        let query: String
        let keyspace: String?
        let id: [UInt8]
        let metadata: PreparedMetadata
        let resultMetadata: RowsMetadata
        let isConditional: Bool

        init(query: String, keyspace: String?, prepared: Prepared) {
            self.query = query
            self.keyspace = keyspace
            self.id = prepared.id
            self.metadata = prepared.metadata
            self.resultMetadata = prepared.resultMetadata
            self.isConditional = CQLText.isConditional(query)
        }

        init(_ other: Storage, resultMetadata: RowsMetadata) {
            query = other.query
            keyspace = other.keyspace
            id = other.id
            metadata = other.metadata
            self.resultMetadata = resultMetadata
            isConditional = other.isConditional
        }
    }

    private let storage: Storage

    /// The CQL text it was prepared from.
    public var query: String { storage.query }
    /// The keyspace the session used when preparing (unqualified names resolve in it).
    public var keyspace: String? { storage.keyspace }
    /// The id the nodes know it by.
    public var id: [UInt8] { storage.id }
    /// The bind markers' names and types, and which of them form the partition key.
    public var metadata: PreparedMetadata { storage.metadata }
    /// The columns of its result, when they are known at prepare time.
    public var resultMetadata: RowsMetadata { storage.resultMetadata }
    /// Whether it is a conditional statement (LWT): its result columns depend on the outcome,
    /// so it never asks the server to skip result metadata.
    public var isConditional: Bool { storage.isConditional }

    init(query: String, keyspace: String?, prepared: Prepared) {
        storage = Storage(query: query, keyspace: keyspace, prepared: prepared)
    }

    private init(storage: Storage) { self.storage = storage }

    /// The same statement with result columns learnt since it was prepared.
    func withResultMetadata(_ resultMetadata: RowsMetadata) -> PreparedStatement {
        PreparedStatement(storage: Storage(storage, resultMetadata: resultMetadata))
    }

    /// Whether executions ask the node to leave the result columns out (`skip_metadata`): they are
    /// known from PREPARE, and the statement is not conditional (an LWT's columns depend on its outcome).
    var skipsResultMetadata: Bool {
        !isConditional && !resultMetadata.noMetadata && !resultMetadata.columns.isEmpty
    }

    /// The bind markers, in order.
    public var variables: [ColumnSpec] { metadata.columns }

    /// Binds values by position, each serialized as its marker's CQL type.
    public func bind(_ values: [any CQLEncodable]) throws(WireError) -> CQLStatement {
        let bound = try CQLBinder.encodeValues(values, for: metadata.columns)
        return CQLStatement(.prepared(self), values: bound.isEmpty ? .none : .positional(bound))
    }

    /// Binds values by position, each serialized as its marker's CQL type.
    public func bind(_ values: any CQLEncodable...) throws(WireError) -> CQLStatement {
        try bind(values)
    }

    /// Binds the stored properties of `value` to the markers of the same name (`jobId` finds `job_id`).
    public func bind<T: Encodable>(encodable value: T) throws -> CQLStatement {
        let bound = try CQLBinder.encodeValues(value, for: metadata.columns)
        return CQLStatement(.prepared(self), values: bound.isEmpty ? .none : .positional(bound))
    }

    /// The keyspace of the table the statement's partition key belongs to, for replica routing.
    var routingKeyspace: String? {
        guard let first = metadata.pkIndices.first, Int(first) < metadata.columns.count else { return keyspace }
        return metadata.columns[Int(first)].keyspace
    }

    /// The serialized partition key of bound `values`, for token-aware routing; nil when unknown.
    func routingKey(_ values: QueryValues) -> [UInt8]? {
        guard case let .positional(bound) = values, !metadata.pkIndices.isEmpty else { return nil }
        var components: [[UInt8]] = []
        for index in metadata.pkIndices {
            let position = Int(index)
            guard position < bound.count, case let .bytes(bytes) = bound[position] else { return nil }
            components.append(bytes)
        }
        return Murmur3Token.partitionKeyBytes(components)
    }
}
