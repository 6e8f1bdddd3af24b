/// The native-protocol handshake of a new connection: OPTIONS (what the node supports), STARTUP
/// with the first offered compression the configuration asks for, SASL PLAIN authentication when
/// the node sends AUTHENTICATE, then `USE` of the configured keyspace.
///
/// It only sends requests and reads their answers; the connection does the I/O and applies what
/// the handshake negotiated (``run()`` reports the compression before STARTUP is sent, since the
/// answers after it may already be compressed).
struct ConnectionHandshake {
    let connection: CQLConnection
    let configuration: CQLConnection.Configuration

    private var endpoint: String { connection.endpoint }

    /// Runs the handshake; throws the node's ERROR, ``CQLError/authenticationRequired(endpoint:authenticator:)``,
    /// ``CQLError/authenticationFailed(endpoint:message:)`` or ``CQLError/unexpectedResponse(endpoint:expected:received:)``.
    func run() async throws {
        let options = try await connection.send(.options, timeout: configuration.connectTimeout)
        guard case let .supported(supported) = options.message else {
            if case let .error(error) = options.message { throw error }
            throw CQLError.unexpectedResponse(endpoint: endpoint, expected: "SUPPORTED", received: "\(options.message.opcode)")
        }
        let offered = Set(supported[option: "COMPRESSION"].map { $0.lowercased() })
        let chosen = configuration.compression.first { offered.contains($0.rawValue) }
        let cqlVersion = supported[option: "CQL_VERSION"].first ?? "3.0.0"
        // Responses after STARTUP may already be compressed.
        connection.negotiated(compression: chosen)
        let startup = try await connection.send(.startup(Startup(cqlVersion: cqlVersion, compression: chosen?.rawValue)),
                                                timeout: configuration.connectTimeout)
        switch startup.message {
        case .ready:
            break
        case let .authenticate(request):
            try await authenticate(with: request.authenticator)
        case let .error(error):
            throw error
        default:
            throw CQLError.unexpectedResponse(endpoint: endpoint, expected: "READY or AUTHENTICATE", received: "\(startup.message.opcode)")
        }
        connection.handshakeCompleted(compression: chosen)
        if let keyspace = configuration.keyspace {
            try await connection.use(keyspace: keyspace)
        }
    }

    private func authenticate(with authenticator: String) async throws {
        guard let credentials = configuration.credentials else {
            throw CQLError.authenticationRequired(endpoint: endpoint, authenticator: authenticator)
        }
        let response = try await connection.send(.authResponse(.plain(username: credentials.username, password: credentials.password)),
                                                 timeout: configuration.connectTimeout)
        switch response.message {
        case .authSuccess:
            return
        case let .error(error):
            throw CQLError.authenticationFailed(endpoint: endpoint, message: error.message)
        default:
            throw CQLError.unexpectedResponse(endpoint: endpoint, expected: "AUTH_SUCCESS", received: "\(response.message.opcode)")
        }
    }
}
