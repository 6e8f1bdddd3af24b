/// AUTH_CHALLENGE: a server SASL challenge (specification 4.2.7).
public struct AuthChallenge: Sendable, Hashable {
    /// The challenge token.
    public var token: [UInt8]?

    /// An AUTH_CHALLENGE message.
    public init(token: [UInt8]?) { self.token = token }

    /// Reads the body: a `[bytes]`.
    package init(from reader: inout ByteReader) throws(WireError) { token = try reader.readBytes("auth token") }

    /// Appends the body.
    package func encode(into writer: inout ByteWriter) { writer.writeBytes(token) }
}
