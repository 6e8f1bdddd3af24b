/// EXECUTE: run a prepared statement (specification 4.1.6).
public struct Execute: Sendable, Equatable {
    /// The prepared statement id from RESULT Prepared.
    public var id: [UInt8]
    /// Consistency, values, paging and the other options.
    public var parameters: QueryParameters

    /// An EXECUTE message.
    public init(id: [UInt8], parameters: QueryParameters) {
        self.id = id
        self.parameters = parameters
    }

    /// Reads the body: `<id><query_parameters>`.
    package init(from reader: inout ByteReader) throws(WireError) {
        id = try reader.readShortBytes("prepared id")
        parameters = try QueryParameters(from: &reader)
    }

    /// Appends the body.
    package func encode(into writer: inout ByteWriter) {
        writer.writeShortBytes(id)
        parameters.encode(into: &writer)
    }
}
