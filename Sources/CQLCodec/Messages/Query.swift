/// QUERY: run a CQL statement (specification 4.1.4).
public struct Query: Sendable, Equatable {
    /// The CQL text.
    public var query: String
    /// Consistency, values, paging and the other options.
    public var parameters: QueryParameters

    /// A QUERY message.
    public init(query: String, parameters: QueryParameters) {
        self.query = query
        self.parameters = parameters
    }

    /// Reads the body: `<query><query_parameters>`.
    package init(from reader: inout ByteReader) throws(WireError) {
        query = try reader.readLongString("query string")
        parameters = try QueryParameters(from: &reader)
    }

    /// Appends the body.
    package func encode(into writer: inout ByteWriter) {
        writer.writeLongString(query)
        parameters.encode(into: &writer)
    }
}
