/// What the client reports when a request cannot complete; errors the server answered are
/// thrown as CQLCodec's `ServerError` (unless they make an LWT's outcome unknown).
public enum CQLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The node could not be reached.
    case connectionFailed(endpoint: String, reason: String)
    /// The TLS handshake with the node failed; `reason` says why (untrusted issuer, host name
    /// mismatch, expired certificate, a node that requires a client certificate, no TLS there).
    case tlsHandshakeFailed(endpoint: String, reason: CQLTLSFailure)
    /// The connection closed; requests sent on it may or may not have been applied.
    case connectionClosed(endpoint: String, reason: String)
    /// No answer within the request's timeout; the request may or may not have been applied.
    case requestTimedOut(endpoint: String, timeout: Duration)
    /// Every stream id of the connection is in use or held for a late answer.
    case tooManyRequests(endpoint: String, inFlight: Int)
    /// The node refused protocol version 4.
    case protocolVersionRefused(endpoint: String, message: String)
    /// The node requires authentication and no credentials were configured.
    case authenticationRequired(endpoint: String, authenticator: String)
    /// The node refused the credentials.
    case authenticationFailed(endpoint: String, message: String)
    /// The node answered with a message the protocol does not allow here.
    case unexpectedResponse(endpoint: String, expected: String, received: String)
    /// A frame from the node could not be decoded; the connection is closed.
    case malformedResponse(endpoint: String, detail: String)
    /// A conditional statement (LWT) may or may not have been applied: read it back with SERIAL consistency.
    case lwtOutcomeUnknown(reason: String)
    /// No node could run the request; the reasons per node.
    case noHostAvailable(errors: [String])
    /// The statement or its values cannot be sent as they are.
    case invalidStatement(String)
    /// The session was shut down.
    case sessionClosed
    /// The configuration cannot work as given (a missing certificate file, options that exclude each other).
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case let .connectionFailed(endpoint, reason): "cannot connect to \(endpoint): \(reason)"
        case let .tlsHandshakeFailed(endpoint, reason): "TLS handshake with \(endpoint) failed: \(reason)"
        case let .connectionClosed(endpoint, reason): "connection to \(endpoint) closed: \(reason)"
        case let .requestTimedOut(endpoint, timeout): "request to \(endpoint) timed out after \(timeout)"
        case let .tooManyRequests(endpoint, inFlight): "too many requests in flight on \(endpoint) (\(inFlight))"
        case let .protocolVersionRefused(endpoint, message): "\(endpoint) refused protocol v4: \(message)"
        case let .authenticationRequired(endpoint, authenticator): "\(endpoint) requires authentication with \(authenticator) but no credentials are configured"
        case let .authenticationFailed(endpoint, message): "authentication to \(endpoint) failed: \(message)"
        case let .unexpectedResponse(endpoint, expected, received): "\(endpoint) answered \(received) where \(expected) was expected"
        case let .malformedResponse(endpoint, detail): "malformed response from \(endpoint): \(detail)"
        case let .lwtOutcomeUnknown(reason): "lightweight transaction outcome unknown: \(reason)"
        case let .noHostAvailable(errors): "no host available: \(errors.joined(separator: "; "))"
        case let .invalidStatement(detail): "invalid statement: \(detail)"
        case .sessionClosed: "the session is closed"
        case let .invalidConfiguration(detail): "invalid configuration: \(detail)"
        }
    }

    /// Whether the request certainly never reached the node, so it is safe to send elsewhere.
    public var requestWasNotSent: Bool {
        switch self {
        case .connectionFailed, .tlsHandshakeFailed, .invalidConfiguration, .tooManyRequests, .protocolVersionRefused, .authenticationRequired,
             .authenticationFailed, .noHostAvailable, .invalidStatement, .sessionClosed: true
        case .connectionClosed, .requestTimedOut, .unexpectedResponse, .malformedResponse, .lwtOutcomeUnknown: false
        }
    }
}
