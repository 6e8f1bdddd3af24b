/// PREPARE: prepare a statement for EXECUTE (specification 4.1.5).
public struct Prepare: Sendable, Hashable {
    /// The CQL text to prepare.
    public var query: String

    /// A PREPARE message.
    public init(query: String) { self.query = query }

    /// Reads the body: a `[long string]`.
    package init(from reader: inout ByteReader) throws(WireError) {
        query = try reader.readLongString("query string")
    }

    /// Appends the body.
    package func encode(into writer: inout ByteWriter) { writer.writeLongString(query) }
}
