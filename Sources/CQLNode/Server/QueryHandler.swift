import CQLCodec
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// The statement executor's seam: the protocol server hands it every QUERY, PREPARE,
/// EXECUTE and BATCH once the connection is ready, and writes back what it returns.
///
/// The server owns everything else (handshake, authentication, OPTIONS, REGISTER, framing,
/// compression). Requests of one connection arrive concurrently, one call per stream.
protocol QueryHandler: Sendable {
    /// Runs one request; failures are answered as `QueryResponse(.error(...))`, never thrown.
    func handle(_ request: QueryRequest, context: RequestContext) async -> QueryResponse
}

/// The requests a ``QueryHandler`` executes: the statement-carrying opcodes.
enum QueryRequest: Sendable, Equatable {
    /// QUERY: a CQL string with its parameters.
    case query(CQLCodec.Query)
    /// PREPARE: a CQL string to prepare.
    case prepare(CQLCodec.Prepare)
    /// EXECUTE: a prepared statement id with its parameters.
    case execute(CQLCodec.Execute)
    /// BATCH: several statements applied together.
    case batch(CQLCodec.Batch)

    /// The frame opcode the request arrived with.
    var opcode: Opcode {
        switch self {
        case .query: .query
        case .prepare: .prepare
        case .execute: .execute
        case .batch: .batch
        }
    }

    /// The CQL texts the request carries (none for EXECUTE; a batch's simple statements).
    var cqlTexts: [String] {
        switch self {
        case let .query(query): [query.query]
        case let .prepare(prepare): [prepare.query]
        case .execute: []
        case let .batch(batch):
            batch.statements.compactMap { statement in
                if case let .query(text, _) = statement { text } else { nil }
            }
        }
    }
}

/// What a ``QueryHandler`` answers: a response message plus what travels around it in the frame.
struct QueryResponse: Sendable, Equatable {
    /// RESULT or ERROR (any ``ResponseMessage`` is encoded as given).
    var message: ResponseMessage
    /// Warnings for the client (the frame's warning flag); empty for none.
    var warnings: [String]
    /// The tracing session id, for a request that asked for tracing.
    var tracingID: UUID?
    /// A custom payload to return (the frame's custom payload flag).
    var customPayload: [(String, [UInt8]?)]?

    /// A response with optional warnings, tracing id and custom payload.
    init(_ message: ResponseMessage, warnings: [String] = [], tracingID: UUID? = nil,
                customPayload: [(String, [UInt8]?)]? = nil) {
        self.message = message
        self.warnings = warnings
        self.tracingID = tracingID
        self.customPayload = customPayload
    }

    /// An ERROR response.
    static func error(_ error: ServerError) -> QueryResponse { QueryResponse(.error(error)) }

    static func == (lhs: QueryResponse, rhs: QueryResponse) -> Bool {
        guard lhs.message == rhs.message, lhs.warnings == rhs.warnings, lhs.tracingID == rhs.tracingID else { return false }
        switch (lhs.customPayload, rhs.customPayload) {
        case (nil, nil): return true
        case let (a?, b?): return a.elementsEqual(b) { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }
}

/// What the server knows about a request besides its message.
struct RequestContext: Sendable {
    /// The stream id the answer goes back on.
    var stream: Int16
    /// The connection's protocol version (3 or 4); a v3 connection shares v4's framing and requests,
    /// but its RESULT Prepared carries no partition-key indexes and it knows no failure error codes (0x1300-0x1500).
    var protocolVersion: UInt8
    /// Whether the client set the tracing flag.
    var tracing: Bool
    /// The request's custom payload, when the flag was set.
    var customPayload: [(String, [UInt8]?)]?
    /// The connection's session state (current keyspace, authenticated user), shared by its requests.
    var session: ClientSession
    /// Where schema-change events are published to registered connections.
    var events: EventBus
    /// The server address the client connected to (what `system.local` reports as `rpc_address`).
    var localAddress: SocketAddress?
    /// The client's address.
    var remoteAddress: SocketAddress?

    /// A context; the server builds these, tests of a handler may too.
    init(stream: Int16, protocolVersion: UInt8 = 4, tracing: Bool = false,
                customPayload: [(String, [UInt8]?)]? = nil, session: ClientSession = ClientSession(),
                events: EventBus = EventBus(), localAddress: SocketAddress? = nil,
                remoteAddress: SocketAddress? = nil) {
        self.stream = stream
        self.protocolVersion = protocolVersion
        self.tracing = tracing
        self.customPayload = customPayload
        self.session = session
        self.events = events
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
    }
}

/// Per-connection state that statements read and change (`USE ks` sets the keyspace).
///
/// A reference shared by all requests of one connection: they run concurrently, so the
/// state sits behind a lock (each access is a short read or write, never held across await).
final class ClientSession: Sendable {
    private struct State {
        var keyspace: String?
        var authenticatedUser: String?
    }

    private let state: NIOLockedValueBox<State>

    /// A session with no keyspace and no user.
    init(keyspace: String? = nil, authenticatedUser: String? = nil) {
        state = NIOLockedValueBox(State(keyspace: keyspace, authenticatedUser: authenticatedUser))
    }

    /// The keyspace unqualified table names resolve in (set by `USE`).
    var keyspace: String? {
        get { state.withLockedValue { $0.keyspace } }
        set { state.withLockedValue { $0.keyspace = newValue } }
    }

    /// The user PasswordAuthenticator accepted, or nil when authentication is off.
    var authenticatedUser: String? {
        get { state.withLockedValue { $0.authenticatedUser } }
        set { state.withLockedValue { $0.authenticatedUser = newValue } }
    }
}
