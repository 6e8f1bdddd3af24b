/// A message a client sends (specification 4.1).
public enum RequestMessage: Sendable, Equatable {
    /// STARTUP.
    case startup(Startup)
    /// AUTH_RESPONSE.
    case authResponse(AuthResponse)
    /// OPTIONS (empty body).
    case options
    /// QUERY.
    case query(Query)
    /// PREPARE.
    case prepare(Prepare)
    /// EXECUTE.
    case execute(Execute)
    /// BATCH.
    case batch(Batch)
    /// REGISTER.
    case register(Register)

    /// The frame opcode of this message.
    public var opcode: Opcode {
        switch self {
        case .startup: .startup
        case .authResponse: .authResponse
        case .options: .options
        case .query: .query
        case .prepare: .prepare
        case .execute: .execute
        case .batch: .batch
        case .register: .register
        }
    }

    /// Reads a whole body of a request with `opcode`; leftover bytes are an error.
    package init(opcode: Opcode, body reader: inout ByteReader) throws(WireError) {
        switch opcode {
        case .startup: self = .startup(try Startup(from: &reader))
        case .authResponse: self = .authResponse(try AuthResponse(from: &reader))
        case .options: self = .options
        case .query: self = .query(try Query(from: &reader))
        case .prepare: self = .prepare(try Prepare(from: &reader))
        case .execute: self = .execute(try Execute(from: &reader))
        case .batch: self = .batch(try Batch(from: &reader))
        case .register: self = .register(try Register(from: &reader))
        case .error, .ready, .authenticate, .supported, .result, .event, .authChallenge, .authSuccess:
            throw .invalidValue(what: "request opcode", detail: "\(opcode) is a response")
        }
        try reader.expectEnd("\(opcode) body")
    }

    /// Appends the message body.
    package func encode(into writer: inout ByteWriter) {
        switch self {
        case let .startup(message): message.encode(into: &writer)
        case let .authResponse(message): message.encode(into: &writer)
        case .options: break
        case let .query(message): message.encode(into: &writer)
        case let .prepare(message): message.encode(into: &writer)
        case let .execute(message): message.encode(into: &writer)
        case let .batch(message): message.encode(into: &writer)
        case let .register(message): message.encode(into: &writer)
        }
    }
}
