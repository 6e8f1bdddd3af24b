/// EVENT: a change the server pushes to registered clients on stream -1 (specification 4.2.6).
public enum Event: Sendable, Hashable {
    /// `TOPOLOGY_CHANGE` kinds.
    public enum TopologyChange: String, Sendable, Hashable, CaseIterable {
        /// A node joined.
        case newNode = "NEW_NODE"
        /// A node left.
        case removedNode = "REMOVED_NODE"
        /// Sent by Cassandra versions that moved tokens; kept so such events still decode.
        case movedNode = "MOVED_NODE"
    }

    /// `STATUS_CHANGE` kinds.
    public enum StatusChange: String, Sendable, Hashable, CaseIterable {
        /// A node came up.
        case up = "UP"
        /// A node went down.
        case down = "DOWN"
    }

    /// A node joined or left the cluster.
    case topologyChange(TopologyChange, InetEndpoint)
    /// A node went up or down.
    case statusChange(StatusChange, InetEndpoint)
    /// A keyspace, table, type, function or aggregate changed.
    case schemaChange(SchemaChange)

    /// The event type string, as REGISTER names it.
    public var eventType: String {
        switch self {
        case .topologyChange: "TOPOLOGY_CHANGE"
        case .statusChange: "STATUS_CHANGE"
        case .schemaChange: "SCHEMA_CHANGE"
        }
    }

    /// Reads the body: the event type then its fields.
    package init(from reader: inout ByteReader) throws(WireError) {
        let type = try reader.readString("event type")
        switch type {
        case "TOPOLOGY_CHANGE":
            let raw = try reader.readString("topology change")
            guard let change = TopologyChange(rawValue: raw) else { throw .invalidValue(what: "topology change", detail: raw) }
            self = .topologyChange(change, try reader.readInet("node address"))
        case "STATUS_CHANGE":
            let raw = try reader.readString("status change")
            guard let change = StatusChange(rawValue: raw) else { throw .invalidValue(what: "status change", detail: raw) }
            self = .statusChange(change, try reader.readInet("node address"))
        case "SCHEMA_CHANGE":
            self = .schemaChange(try SchemaChange(from: &reader))
        default:
            throw .invalidValue(what: "event type", detail: type)
        }
    }

    /// Appends the body.
    package func encode(into writer: inout ByteWriter) {
        writer.writeString(eventType)
        switch self {
        case let .topologyChange(change, endpoint):
            writer.writeString(change.rawValue)
            writer.writeInet(endpoint)
        case let .statusChange(change, endpoint):
            writer.writeString(change.rawValue)
            writer.writeInet(endpoint)
        case let .schemaChange(change):
            change.encode(into: &writer)
        }
    }
}
