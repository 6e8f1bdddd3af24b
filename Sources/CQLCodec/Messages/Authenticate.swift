/// AUTHENTICATE: the server requires authentication (specification 4.2.3).
public struct Authenticate: Sendable, Hashable {
    /// The authenticator's Java class (`org.apache.cassandra.auth.PasswordAuthenticator`).
    public var authenticator: String

    /// An AUTHENTICATE message.
    public init(authenticator: String) { self.authenticator = authenticator }

    /// Reads the body: a `[string]`.
    package init(from reader: inout ByteReader) throws(WireError) {
        authenticator = try reader.readString("authenticator")
    }

    /// Appends the body.
    package func encode(into writer: inout ByteWriter) { writer.writeString(authenticator) }
}
