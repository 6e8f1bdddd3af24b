import Dispatch
import Foundation
import Logging
import Synchronization

/// One native-protocol v4 connection to one node: many requests in flight (stream ids),
/// pipelined writes, per-request timeouts, heartbeats on idle, and server events.
///
/// Blocking socket calls never run on Swift's cooperative pool: a dedicated reader thread
/// decodes frames and resumes the waiting tasks; frames go to one write buffer, written with
/// non-blocking sends by the sender itself while few requests are in flight, else by one pool
/// job per burst (many frames per syscall); a writer thread takes over when the socket pushes
/// back; a timer thread fails requests past their deadline. With a ``Configuration/ioExecutor``
/// the executor's thread reads the socket instead of the reader thread, and writes what the tasks
/// it runs send once they ran. Call ``close()`` when done: the threads keep the connection alive
/// until it closes.
///
/// The type composes parts each readable alone: `ConnectionHandshake` (OPTIONS, STARTUP, AUTH,
/// USE), `FrameWriter` (the write buffer and its drain strategies), the loops in
/// `CQLConnection+Loops.swift` (reader, timer, heartbeats) and `ConnectionStateMachine` (stream
/// ids, in-flight requests, deadlines, heartbeat state: events in, actions out, no I/O).
public final class CQLConnection: Sendable {
    /// A caller waiting for its answer, with the timeout it asked for (for the error it gets on expiry).
    ///
    /// The continuation is unchecked (no canary object per request): it is resumed exactly once
    /// because every path that resumes it first takes it out of its slot in the state machine under
    /// the lock (answer, abandon, expiry, close), or never stored it (closed, exhausted).
    struct Waiter: Sendable {
        let continuation: UnsafeContinuation<Envelope<ResponseMessage>, any Error>
        let timeoutNanoseconds: UInt64
    }

    /// The stream and request id a ``send(_:timeout:tracing:)`` got, for its cancellation handler.
    ///
    /// `@unchecked Sendable` is sound because `request` is only read and written while holding the
    /// connection's state lock (it is set in the same critical section that allocates the stream),
    /// which saves a lock of its own on every request.
    private final class RequestTicket: @unchecked Sendable {
        var request: (stream: Int16, requestID: UInt64)?
    }

    struct State: Sendable {
        var machine: ConnectionStateMachine<Waiter>
        var compression: FrameCompression?
        var closeReason: CQLError?
        var closeHandlers: [@Sendable (CQLError) -> Void] = []
    }

    /// `host:port` of the node, as given to ``connect(host:port:configuration:)``.
    public let endpoint: String
    /// The configuration the connection was opened with.
    public let configuration: Configuration
    /// EVENTs the node pushes after ``register(_:)``; finishes when the connection closes.
    public let events: AsyncStream<Event>
    /// The statements (keyspace and text) a session prepared through this connection, so preparing
    /// on every node skips a node whose warm-up already did it.
    let preparedStatements = Mutex<Set<String>>([])

    let transport: any CQLTransport
    /// Stream ids, in-flight requests, deadlines and heartbeats (the state machine), and how the connection ended.
    let state: Mutex<State>
    /// The write buffer and its drain strategies.
    let writer: FrameWriter
    /// Wakes the timer thread: a request's deadline is earlier than it sleeps until, or the connection closed.
    let timerSignal = DispatchSemaphore(value: 0)
    let eventContinuation: AsyncStream<Event>.Continuation
    let logger: Logger
    /// What the reading thread keeps between reads.
    let readState: ReadState
    /// The configured executor, when the transport can be polled.
    let attachedExecutor: CQLIOExecutor?
    /// Whether `attachedExecutor` took the connection (it refuses once shut down: then a reader
    /// thread reads it, and writes must never wait for that executor's flush).
    let readByExecutor = Atomic<Bool>(false)

    private init(transport: any CQLTransport, endpoint: String, configuration: Configuration) {
        self.transport = transport
        self.endpoint = endpoint
        self.configuration = configuration
        var logger = configuration.logger
        logger[metadataKey: "cql.endpoint"] = "\(endpoint)"
        self.logger = logger
        readState = ReadState(maxBodyLength: configuration.maxFrameBodyLength)
        writer = FrameWriter(transport: transport)
        attachedExecutor = transport.pollableDescriptor == nil ? nil : configuration.ioExecutor
        state = Mutex(State(machine: ConnectionStateMachine(
            maxStreams: configuration.maxConcurrentRequests,
            heartbeatInterval: configuration.heartbeatInterval.nanoseconds,
            heartbeatTimeout: configuration.heartbeatTimeout.nanoseconds,
            now: DispatchTime.now().uptimeNanoseconds)))
        (events, eventContinuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(1024))
    }

    /// Connects over TCP (and TLS when configured), then runs the handshake (OPTIONS, STARTUP with
    /// compression, authentication, USE).
    ///
    /// A failed TLS handshake throws ``CQLError/tlsHandshakeFailed(endpoint:reason:)``.
    public static func connect(host: String, port: Int, configuration: Configuration = Configuration()) async throws -> CQLConnection {
        let endpoint = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let timeout = configuration.connectTimeout
        let tls = configuration.tls
        if tls != nil, configuration.ioExecutor != nil { throw CQLError.invalidConfiguration(Self.tlsWithExecutor) }
        let transport: any CQLTransport
        do {
            transport = try await runOnDedicatedThread(name: "cqlwire-connect \(endpoint)") { () throws -> any CQLTransport in
                if let tls { return try TLSTransport.connect(host: host, port: port, timeout: timeout, configuration: tls) }
                return try SocketTransport.connect(host: host, port: port, timeout: timeout)
            }
        } catch let CQLTransportError.tls(_, _, failure) {
            throw CQLError.tlsHandshakeFailed(endpoint: endpoint, reason: failure)
        } catch let error as CQLTransportError {
            throw CQLError.connectionFailed(endpoint: endpoint, reason: error.description)
        }
        do {
            return try await connect(transport: transport, endpoint: endpoint, configuration: configuration)
        } catch {
            // TLS 1.3 reports a refused client certificate only after the client finished its
            // handshake: the first CQL request then fails, which is still a TLS handshake failure.
            if let failure = (transport as? TLSTransport)?.failure {
                throw CQLError.tlsHandshakeFailed(endpoint: endpoint, reason: failure)
            }
            if tls == nil, case CQLError.connectionFailed(_, let reason) = error {
                throw CQLError.connectionFailed(endpoint: endpoint, reason: reason + Self.plaintextHint)
            }
            throw error
        }
    }

    /// Why TLS and an I/O executor cannot go together.
    static let tlsWithExecutor = "TLS connections are read by NIO's event loop, so they cannot use an I/O executor: "
        + "turn one of them off (cqlbench: --executor pool)"

    /// Added to a failed plaintext handshake: a TLS-only node closes plaintext connections without an answer.
    static let plaintextHint = " (if the node serves TLS only, connect with TLS: --tls-ca FILE or --tls)"

    /// Runs the handshake over an already connected transport (a TLS transport, a test pipe).
    public static func connect(transport: any CQLTransport, endpoint: String,
                               configuration: Configuration = Configuration()) async throws -> CQLConnection {
        let connection = CQLConnection(transport: transport, endpoint: endpoint, configuration: configuration)
        connection.startThreads()
        do {
            try await ConnectionHandshake(connection: connection, configuration: configuration).run()
        } catch let CQLError.connectionClosed(endpoint, reason) {
            // A connection that closes before it is ready was never usable: to the caller the node
            // could not be reached (a listener going away can still accept, then drop, a connect).
            connection.close(reason: "handshake failed: \(reason)")
            throw CQLError.connectionFailed(endpoint: endpoint, reason: reason)
        } catch {
            connection.close(reason: "handshake failed: \(error)")
            throw error
        }
        return connection
    }

    /// Whether the connection is closed (locally, by the peer, or after an error).
    public var isClosed: Bool { state.withLock { $0.machine.state == .closed } }

    /// Requests in flight, including those held for a late answer.
    public var inFlightCount: Int { state.withLock { $0.machine.inFlight } }

    /// Whether the connection is closed and how many requests it has in flight, read together under one lock.
    var load: (isClosed: Bool, inFlight: Int) {
        state.withLock { ($0.machine.state == .closed, $0.machine.inFlight) }
    }

    /// The executor whose thread does this connection's I/O, nil when it has a reader thread of its own.
    public var ioExecutor: CQLIOExecutor? { readByExecutor.load(ordering: .relaxed) ? attachedExecutor : nil }

    /// The compression negotiated in STARTUP, or nil.
    public var compression: FrameCompression? { state.withLock { $0.compression } }

    /// Sends `request` (asking the node to trace it when `tracing`) and waits for its answer (an ERROR answer is returned, not thrown).
    ///
    /// Throws ``CQLError/requestTimedOut(endpoint:timeout:)`` after `timeout` (the configured
    /// request timeout by default), ``CQLError/connectionClosed(endpoint:reason:)`` when the
    /// connection goes away first, and `CancellationError` when the task is cancelled; in
    /// each of these cases the stream id stays reserved until the late answer arrives.
    public func send(_ request: RequestMessage, timeout: Duration? = nil, tracing: Bool = false) async throws -> Envelope<ResponseMessage> {
        try Task.checkCancellation()
        let timeoutNanoseconds = (timeout ?? configuration.requestTimeout).nanoseconds
        let ticket = RequestTicket()
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                let now = DispatchTime.now().uptimeNanoseconds
                let (deadline, overflow) = now.addingReportingOverflow(timeoutNanoseconds)
                let waiter = Waiter(continuation: continuation, timeoutNanoseconds: timeoutNanoseconds)
                let (allocation, compression, closeReason, wakeTimer, few) = state.withLock { state in
                    let allocation = state.machine.allocate(waiter: waiter, now: now, deadline: overflow ? .max : deadline)
                    if case let .send(stream, requestID) = allocation { ticket.request = (stream, requestID) }
                    return (allocation, state.compression, state.closeReason, state.machine.takeTimerWakeRequest(),
                            state.machine.inFlight <= Self.inlineWriteLimit)
                }
                switch allocation {
                case .closed:
                    // Nothing was written: callers may safely send the request elsewhere.
                    let reason = closeReason.map { "\($0)" } ?? "closed"
                    continuation.resume(throwing: CQLError.connectionFailed(endpoint: endpoint, reason: "closed before sending: \(reason)"))
                case let .exhausted(inFlight):
                    continuation.resume(throwing: CQLError.tooManyRequests(endpoint: endpoint, inFlight: inFlight))
                case let .send(stream, _):
                    if wakeTimer { timerSignal.signal() }
                    logger.trace("request", metadata: ["cql.stream": "\(stream)", "cql.opcode": "\(request.opcode)"])
                    if compression == nil || request.opcode == .startup || request.opcode == .options {
                        enqueue(inline: few) { request.appendUncompressedFrame(to: &$0, stream: stream, tracing: tracing) }
                    } else {
                        let frame = request.encodeFrame(stream: stream, tracing: tracing, compression: compression)
                        enqueue(inline: few) { $0.append(contentsOf: frame) }
                    }
                }
            }
        } onCancel: {
            if let (stream, requestID) = state.withLock({ _ in ticket.request }) {
                abandon(stream: stream, requestID: requestID, error: CancellationError())
            }
        }
    }

    /// Subscribes to server events (`TOPOLOGY_CHANGE`, `STATUS_CHANGE`, `SCHEMA_CHANGE`); they arrive on ``events``.
    public func register(_ eventTypes: [String] = ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"]) async throws {
        let response = try await send(.register(Register(events: eventTypes)))
        switch response.message {
        case .ready: return
        case let .error(error): throw error
        default: throw CQLError.unexpectedResponse(endpoint: endpoint, expected: "READY", received: "\(response.message.opcode)")
        }
    }

    /// Closes the connection; requests still waiting fail with ``CQLError/connectionClosed(endpoint:reason:)``.
    public func close() {
        close(reason: "closed by the client")
    }

    /// Calls `handler` once when the connection closes (at once if it already has).
    func onClose(_ handler: @escaping @Sendable (CQLError) -> Void) {
        let reason = state.withLock { state -> CQLError? in
            if state.machine.state == .closed { return state.closeReason }
            state.closeHandlers.append(handler)
            return nil
        }
        if let reason { handler(reason) }
    }

    // MARK: - Handshake

    /// The handshake chose `compression`: answers after STARTUP may use it.
    func negotiated(compression: FrameCompression?) {
        state.withLock { $0.compression = compression }
    }

    /// READY or AUTH_SUCCESS arrived: requests other than the handshake's may be sent.
    func handshakeCompleted(compression: FrameCompression?) {
        state.withLock { $0.machine.handshakeCompleted() }
        logger.debug("connection ready", metadata: ["cql.compression": "\(compression?.rawValue ?? "none")"])
    }

    /// Switches the connection's keyspace (`USE`).
    public func use(keyspace: String) async throws {
        let quoted = "\"" + keyspace.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        let response = try await send(.query(Query(query: "USE \(quoted)", parameters: QueryParameters(consistency: .one))))
        switch response.message {
        case .result(.setKeyspace): return
        case let .error(error): throw error
        default: throw CQLError.unexpectedResponse(endpoint: endpoint, expected: "RESULT SetKeyspace", received: "\(response.message.opcode)")
        }
    }

    // MARK: - Writing

    /// With this many requests in flight or fewer, the sender writes its frame itself: there is little
    /// to batch, and the write does not wait for a free pool thread.
    static let inlineWriteLimit = 4

    /// Queues an encoded frame and runs the drain strategy the writer picks (see ``FrameWriter``).
    func enqueue(inline: Bool, _ write: (inout [UInt8]) -> Void) {
        // On the executor's thread the loop flushes after the jobs it runs, whatever the load.
        let onExecutor = readByExecutor.load(ordering: .relaxed) && attachedExecutor?.isCurrentThread == true
        switch writer.enqueue(inline: inline, onExecutor: onExecutor, write) {
        case .caller?: drain(blocking: false)
        case .job?:
            // A job queued behind the tasks already waiting to run (those woken by the same burst of
            // answers) writes what they queue meanwhile in one syscall; cheaper than waking a thread.
            Task { self.drain(blocking: false) }
        case .executor?, nil: break
        }
    }

    /// Called by the I/O executor once its ready jobs ran: writes what they queued, one buffer per syscall.
    func flushDeferredWrites() {
        if writer.takeExecutorFlush() { drain(blocking: false) }
    }

    /// Writes what is queued (the caller holds the writer's drain); a failed write closes the connection.
    func drain(blocking: Bool) {
        do {
            try writer.drain(blocking: blocking)
        } catch {
            close(reason: "write failed: \(error)")
        }
    }

    func close(reason: String) {
        close(error: .connectionClosed(endpoint: endpoint, reason: reason))
    }

    func close(error: CQLError) {
        let (waiters, handlers) = state.withLock { state -> ([Waiter], [@Sendable (CQLError) -> Void]) in
            guard state.machine.state != .closed else { return ([], []) }
            state.closeReason = error
            let handlers = state.closeHandlers
            state.closeHandlers = []
            return (state.machine.close(), handlers)
        }
        writer.close()
        timerSignal.signal()
        transport.close()
        eventContinuation.finish()
        if !waiters.isEmpty || !handlers.isEmpty {
            logger.debug("connection closed", metadata: ["cql.reason": "\(error)", "cql.failed": "\(waiters.count)"])
        }
        for waiter in waiters { waiter.continuation.resume(throwing: error) }
        for handler in handlers { handler(error) }
    }
}
