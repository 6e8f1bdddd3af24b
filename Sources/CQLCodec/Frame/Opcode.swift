/// The message type of a frame (specification section 2.4).
public enum Opcode: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// ERROR: a request failed.
    case error = 0x00
    /// STARTUP: open the connection.
    case startup = 0x01
    /// READY: the connection is ready for queries.
    case ready = 0x02
    /// AUTHENTICATE: the server requires authentication.
    case authenticate = 0x03
    /// OPTIONS: ask for the supported STARTUP options (also a heartbeat).
    case options = 0x05
    /// SUPPORTED: the answer to OPTIONS.
    case supported = 0x06
    /// QUERY: run a CQL statement.
    case query = 0x07
    /// RESULT: the outcome of a statement.
    case result = 0x08
    /// PREPARE: prepare a statement.
    case prepare = 0x09
    /// EXECUTE: run a prepared statement.
    case execute = 0x0A
    /// REGISTER: subscribe to events.
    case register = 0x0B
    /// EVENT: a server-pushed event.
    case event = 0x0C
    /// BATCH: run statements as a batch.
    case batch = 0x0D
    /// AUTH_CHALLENGE: a SASL challenge.
    case authChallenge = 0x0E
    /// AUTH_RESPONSE: a SASL response.
    case authResponse = 0x0F
    /// AUTH_SUCCESS: authentication finished.
    case authSuccess = 0x10

    /// Whether a client sends this message (as opposed to a server).
    public var isRequest: Bool {
        switch self {
        case .startup, .options, .query, .prepare, .execute, .register, .batch, .authResponse: true
        case .error, .ready, .authenticate, .supported, .result, .event, .authChallenge, .authSuccess: false
        }
    }

    /// The opcode's name as the specification writes it (`AUTH_CHALLENGE`).
    public var description: String {
        switch self {
        case .error: "ERROR"
        case .startup: "STARTUP"
        case .ready: "READY"
        case .authenticate: "AUTHENTICATE"
        case .options: "OPTIONS"
        case .supported: "SUPPORTED"
        case .query: "QUERY"
        case .result: "RESULT"
        case .prepare: "PREPARE"
        case .execute: "EXECUTE"
        case .register: "REGISTER"
        case .event: "EVENT"
        case .batch: "BATCH"
        case .authChallenge: "AUTH_CHALLENGE"
        case .authResponse: "AUTH_RESPONSE"
        case .authSuccess: "AUTH_SUCCESS"
        }
    }
}

/// The flags byte of a frame header (specification section 2.2).
public struct FrameFlags: OptionSet, Hashable, Sendable {
    /// The flags byte as it travels.
    public var rawValue: UInt8

    /// A flag set from its wire byte; unknown bits are kept so a header re-encodes byte for byte.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The body is compressed with the algorithm negotiated in STARTUP.
    public static let compression = FrameFlags(rawValue: 0x01)
    /// Request: trace this request. Response: the body starts with a tracing id.
    public static let tracing = FrameFlags(rawValue: 0x02)
    /// The body starts (after tracing id and warnings) with a `[bytes map]` custom payload.
    public static let customPayload = FrameFlags(rawValue: 0x04)
    /// The response body carries a `[string list]` of warnings.
    public static let warning = FrameFlags(rawValue: 0x08)
    /// The frame uses a beta protocol version; servers also set it on some error frames.
    public static let useBeta = FrameFlags(rawValue: 0x10)
}
