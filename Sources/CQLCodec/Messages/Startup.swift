/// STARTUP: open the connection with options (specification 4.1.1).
public struct Startup: Sendable, Equatable {
    /// The options in wire order, so a decoded message re-encodes byte for byte.
    public var options: [(String, String)]

    /// A STARTUP carrying exactly `options`.
    public init(options: [(String, String)]) { self.options = options }

    /// A STARTUP with `CQL_VERSION` and, when given, `COMPRESSION`.
    public init(cqlVersion: String = "3.0.0", compression: String? = nil) {
        var options = [("CQL_VERSION", cqlVersion)]
        if let compression { options.append(("COMPRESSION", compression)) }
        self.options = options
    }

    /// The value of an option, by exact key.
    public subscript(option key: String) -> String? {
        options.first { $0.0 == key }?.1
    }

    /// The requested CQL version (`CQL_VERSION`, mandatory for servers).
    public var cqlVersion: String? { self[option: "CQL_VERSION"] }

    /// The requested frame compression (`COMPRESSION`), if any.
    public var compression: String? { self[option: "COMPRESSION"] }

    /// Reads the body: a `[string map]`.
    package init(from reader: inout ByteReader) throws(WireError) {
        options = try reader.readStringMap("STARTUP options")
    }

    /// Appends the body.
    package func encode(into writer: inout ByteWriter) { writer.writeStringMap(options) }

    public static func == (lhs: Startup, rhs: Startup) -> Bool {
        lhs.options.elementsEqual(rhs.options) { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}
