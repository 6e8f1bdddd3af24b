/// REGISTER: subscribe to server events (specification 4.1.8).
public struct Register: Sendable, Hashable {
    /// Event types: `TOPOLOGY_CHANGE`, `STATUS_CHANGE`, `SCHEMA_CHANGE`.
    public var events: [String]

    /// A REGISTER message.
    public init(events: [String]) { self.events = events }

    /// Reads the body: a `[string list]`.
    package init(from reader: inout ByteReader) throws(WireError) { events = try reader.readStringList("event types") }

    /// Appends the body.
    package func encode(into writer: inout ByteWriter) { writer.writeStringList(events) }
}
