/// A message a server sends (specification 4.2).
public enum ResponseMessage: Sendable, Equatable {
    /// ERROR.
    case error(ServerError)
    /// READY (empty body).
    case ready
    /// AUTHENTICATE.
    case authenticate(Authenticate)
    /// SUPPORTED.
    case supported(Supported)
    /// RESULT.
    case result(ResultMessage)
    /// EVENT.
    case event(Event)
    /// AUTH_CHALLENGE.
    case authChallenge(AuthChallenge)
    /// AUTH_SUCCESS.
    case authSuccess(AuthSuccess)

    /// The frame opcode of this message.
    public var opcode: Opcode {
        switch self {
        case .error: .error
        case .ready: .ready
        case .authenticate: .authenticate
        case .supported: .supported
        case .result: .result
        case .event: .event
        case .authChallenge: .authChallenge
        case .authSuccess: .authSuccess
        }
    }

    /// Reads a whole body of a response with `opcode`; leftover bytes are an error.
    package init(opcode: Opcode, body reader: inout ByteReader) throws(WireError) {
        var cache = RowsMetadataCache()
        try self.init(opcode: opcode, body: &reader, metadataCache: &cache)
    }

    /// Reads a whole body; rows metadata may be one `metadataCache` already decoded.
    init(opcode: Opcode, body reader: inout ByteReader, metadataCache: inout RowsMetadataCache) throws(WireError) {
        switch opcode {
        case .error: self = .error(try ServerError(from: &reader))
        case .ready: self = .ready
        case .authenticate: self = .authenticate(try Authenticate(from: &reader))
        case .supported: self = .supported(try Supported(from: &reader))
        case .result: self = .result(try ResultMessage(from: &reader, metadataCache: &metadataCache))
        case .event: self = .event(try Event(from: &reader))
        case .authChallenge: self = .authChallenge(try AuthChallenge(from: &reader))
        case .authSuccess: self = .authSuccess(try AuthSuccess(from: &reader))
        case .startup, .authResponse, .options, .query, .prepare, .execute, .batch, .register:
            throw .invalidValue(what: "response opcode", detail: "\(opcode) is a request")
        }
        try reader.expectEnd("\(opcode) body")
    }

    /// Appends the message body.
    package func encode(into writer: inout ByteWriter) {
        switch self {
        case let .error(message): message.encode(into: &writer)
        case .ready: break
        case let .authenticate(message): message.encode(into: &writer)
        case let .supported(message): message.encode(into: &writer)
        case let .result(message): message.encode(into: &writer)
        case let .event(message): message.encode(into: &writer)
        case let .authChallenge(message): message.encode(into: &writer)
        case let .authSuccess(message): message.encode(into: &writer)
        }
    }
}
