/// SUPPORTED: the server's STARTUP options (specification 4.2.4).
public struct Supported: Sendable, Equatable {
    /// Option names and their accepted values, in wire order.
    public var options: [(String, [String])]

    /// A SUPPORTED message.
    public init(options: [(String, [String])]) { self.options = options }

    /// The values offered for an option (`COMPRESSION`, `CQL_VERSION`, `PROTOCOL_VERSIONS`); empty if absent.
    public subscript(option key: String) -> [String] {
        options.first { $0.0 == key }?.1 ?? []
    }

    /// Reads the body: a `[string multimap]`.
    package init(from reader: inout ByteReader) throws(WireError) {
        options = try reader.readStringMultimap("SUPPORTED options")
    }

    /// Appends the body.
    package func encode(into writer: inout ByteWriter) { writer.writeStringMultimap(options) }

    public static func == (lhs: Supported, rhs: Supported) -> Bool {
        lhs.options.elementsEqual(rhs.options) { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}
