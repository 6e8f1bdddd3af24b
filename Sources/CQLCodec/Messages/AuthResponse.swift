/// AUTH_RESPONSE: the client's SASL token (specification 4.1.2).
public struct AuthResponse: Sendable, Hashable {
    /// The token; its meaning depends on the authenticator (PLAIN: `\0user\0password`).
    public var token: [UInt8]?

    /// An AUTH_RESPONSE message.
    public init(token: [UInt8]?) { self.token = token }

    /// The token PasswordAuthenticator expects: SASL PLAIN with an empty authorization id.
    public static func plain(username: String, password: String) -> AuthResponse {
        AuthResponse(token: [0] + Array(username.utf8) + [0] + Array(password.utf8))
    }

    /// Reads the body: a `[bytes]`.
    package init(from reader: inout ByteReader) throws(WireError) { token = try reader.readBytes("auth token") }

    /// Appends the body.
    package func encode(into writer: inout ByteWriter) { writer.writeBytes(token) }
}
