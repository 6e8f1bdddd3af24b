/// AUTH_SUCCESS: authentication finished (specification 4.2.8).
public struct AuthSuccess: Sendable, Hashable {
    /// Final information from the authenticator; PasswordAuthenticator sends null.
    public var token: [UInt8]?

    /// An AUTH_SUCCESS message.
    public init(token: [UInt8]? = nil) { self.token = token }

    /// Reads the body: a `[bytes]`.
    package init(from reader: inout ByteReader) throws(WireError) { token = try reader.readBytes("auth token") }

    /// Appends the body.
    package func encode(into writer: inout ByteWriter) { writer.writeBytes(token) }
}
