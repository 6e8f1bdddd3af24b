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
public final class CQLConnection: Sendable {
    /// How a connection is opened and behaves.
    public struct Configuration: Sendable {
        /// How long establishing the TCP connection may take.
        public var connectTimeout: Duration
        /// The default time a request waits for its answer.
        public var requestTimeout: Duration
        /// Compressions to ask for, most preferred first, used only when the node offers them; empty for none.
        public var compression: [FrameCompression]
        /// PasswordAuthenticator credentials, used when the node sends AUTHENTICATE.
        public var credentials: Credentials?
        /// Silence after which an OPTIONS heartbeat checks the connection.
        public var heartbeatInterval: Duration
        /// How long a heartbeat may stay unanswered before the connection is closed as dead.
        public var heartbeatTimeout: Duration
        /// The largest response body accepted (Cassandra's default 256 MiB).
        public var maxFrameBodyLength: Int
        /// The most requests in flight at once (at most 32768, the v4 stream-id space).
        public var maxConcurrentRequests: Int
        /// Requests abandoned without an answer (timed out, cancelled) after which the connection
        /// is closed and replaced, since their stream ids stay held until answers that may never come.
        public var maxOrphanedRequests: Int
        /// A keyspace to `USE` once the connection is ready.
        public var keyspace: String?
        /// Where connection events are logged (debug and trace).
        public var logger: Logger
        /// An executor whose thread reads and writes the connection instead of a reader thread of its
        /// own, so tasks preferring it get their answers without a thread hop; nil (the default) for
        /// the reader thread. Used only when the transport offers a pollable descriptor.
        public var ioExecutor: CQLIOExecutor?
        /// TLS to the node; nil (the default) for a plain TCP connection. Cannot be combined with
        /// ``ioExecutor``: NIO's event loop reads a TLS connection.
        public var tls: CQLTLSConfiguration?

        /// A configuration with the defaults of the DataStax drivers.
        public init(connectTimeout: Duration = .seconds(5), requestTimeout: Duration = .seconds(12),
                    compression: [FrameCompression] = [.lz4, .snappy], credentials: Credentials? = nil,
                    heartbeatInterval: Duration = .seconds(30), heartbeatTimeout: Duration = .seconds(10),
                    maxFrameBodyLength: Int = 256 * 1024 * 1024, maxConcurrentRequests: Int = 32768,
                    maxOrphanedRequests: Int = 1024, keyspace: String? = nil, logger: Logger = Logger(label: "cqlwire", factory: { _ in SwiftLogNoOpLogHandler() }),
                    ioExecutor: CQLIOExecutor? = nil, tls: CQLTLSConfiguration? = nil) {
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.compression = compression
            self.credentials = credentials
            self.heartbeatInterval = heartbeatInterval
            self.heartbeatTimeout = heartbeatTimeout
            self.maxFrameBodyLength = maxFrameBodyLength
            self.maxConcurrentRequests = maxConcurrentRequests
            self.maxOrphanedRequests = maxOrphanedRequests
            self.keyspace = keyspace
            self.logger = logger
            self.ioExecutor = ioExecutor
            self.tls = tls
        }
    }

    /// PasswordAuthenticator credentials (SASL PLAIN).
    public struct Credentials: Sendable, Hashable {
        /// The user name.
        public var username: String
        /// The password.
        public var password: String

        /// Credentials for `username`.
        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

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

    private struct State: Sendable {
        var machine: ConnectionStateMachine<Waiter>
        var compression: FrameCompression?
        var closeReason: CQLError?
        var closeHandlers: [@Sendable (CQLError) -> Void] = []
    }

    /// Encoded frames waiting for the socket, appended to one buffer so a batch needs neither a
    /// join nor an allocation per frame; the drainer swaps it with `spare`, whose capacity it keeps.
    private struct WriteState: Sendable {
        var pending: [UInt8] = []
        var spare: [UInt8] = []
        var draining = false
        /// `draining` is held by the I/O executor's thread, which flushes once its ready jobs ran.
        var flushOnExecutor = false
        var closed = false
    }

    /// What the thread reading the socket keeps between reads (the reader thread's, or the I/O
    /// executor's when attached to one).
    ///
    /// `@unchecked Sendable` is sound because exactly one thread ever reads the connection: the
    /// reader thread, or the executor's loop; nothing else touches this.
    private final class ReadState: @unchecked Sendable {
        var decoder: FrameDecoder
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // The answers of one read are handed over together once it is decoded: the tasks become
        // runnable in one burst, so a pool thread woken for the first finds the others queued.
        var deliveries: [(Waiter, Envelope<ResponseMessage>)] = []
        /// Result metadata seen on this connection: answers to the same statement reuse its columns.
        var metadataCache = RowsMetadataCache()

        init(maxBodyLength: Int) { decoder = FrameDecoder(maxBodyLength: maxBodyLength) }
    }

    /// `host:port` of the node, as given to ``connect(host:port:configuration:)``.
    public let endpoint: String
    /// The configuration the connection was opened with.
    public let configuration: Configuration
    /// EVENTs the node pushes after ``register(_:)``; finishes when the connection closes.
    public let events: AsyncStream<Event>
    /// The statements (keyspace and text) a session prepared through this connection, so preparing
    /// on every node skips a node whose warm-up already did it.
    let preparedStatements = Locked<Set<String>>([])

    private let transport: any CQLTransport
    private let state: Locked<State>
    private let writeState = Locked(WriteState())
    private let writerSignal = DispatchSemaphore(value: 0)
    private let timerSignal = DispatchSemaphore(value: 0)
    private let eventContinuation: AsyncStream<Event>.Continuation
    private let logger: Logger
    private let readState: ReadState
    /// The configured executor, when the transport can be polled.
    private let attachedExecutor: CQLIOExecutor?
    /// Whether `attachedExecutor` took the connection (it refuses once shut down: then a reader
    /// thread reads it, and writes must never wait for that executor's flush).
    private let readByExecutor = Atomic<Bool>(false)

    private init(transport: any CQLTransport, endpoint: String, configuration: Configuration) {
        self.transport = transport
        self.endpoint = endpoint
        self.configuration = configuration
        var logger = configuration.logger
        logger[metadataKey: "cql.endpoint"] = "\(endpoint)"
        self.logger = logger
        readState = ReadState(maxBodyLength: configuration.maxFrameBodyLength)
        attachedExecutor = transport.pollableDescriptor == nil ? nil : configuration.ioExecutor
        state = Locked(State(machine: ConnectionStateMachine(
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
            try await connection.handshake()
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

    private func handshake() async throws {
        let options = try await send(.options, timeout: configuration.connectTimeout)
        guard case let .supported(supported) = options.message else {
            if case let .error(error) = options.message { throw error }
            throw CQLError.unexpectedResponse(endpoint: endpoint, expected: "SUPPORTED", received: "\(options.message.opcode)")
        }
        let offered = Set(supported[option: "COMPRESSION"].map { $0.lowercased() })
        let chosen = configuration.compression.first { offered.contains($0.rawValue) }
        let cqlVersion = supported[option: "CQL_VERSION"].first ?? "3.0.0"
        // Responses after STARTUP may already be compressed.
        state.withLock { $0.compression = chosen }
        let startup = try await send(.startup(Startup(cqlVersion: cqlVersion, compression: chosen?.rawValue)),
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
        state.withLock { $0.machine.handshakeCompleted() }
        logger.debug("connection ready", metadata: ["cql.compression": "\(chosen?.rawValue ?? "none")"])
        if let keyspace = configuration.keyspace {
            try await use(keyspace: keyspace)
        }
    }

    private func authenticate(with authenticator: String) async throws {
        guard let credentials = configuration.credentials else {
            throw CQLError.authenticationRequired(endpoint: endpoint, authenticator: authenticator)
        }
        let response = try await send(.authResponse(.plain(username: credentials.username, password: credentials.password)),
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
    private static let inlineWriteLimit = 4

    /// Queues an encoded frame. With few requests in flight the caller writes it at once (latency);
    /// otherwise a flush job writes it with whatever else queued up meanwhile, so under load many
    /// frames share one syscall.
    ///
    /// `write` appends the frame's bytes to the queue, under the write lock.
    private func enqueue(inline: Bool, _ write: (inout [UInt8]) -> Void) {
        // On the executor's thread the loop flushes after the jobs it runs, whatever the load.
        let onExecutor = readByExecutor.load(ordering: .relaxed) && attachedExecutor?.isCurrentThread == true
        let drainer = writeState.withLock { state -> Drainer? in
            guard !state.closed else { return nil }
            write(&state.pending)
            guard !state.draining else { return nil }
            state.draining = true
            if onExecutor {
                state.flushOnExecutor = true
                return .executor
            }
            return inline ? .caller : .job
        }
        switch drainer {
        case .caller?: drain(blocking: false)
        case .job?:
            // A job queued behind the tasks already waiting to run (those woken by the same burst of
            // answers) writes what they queue meanwhile in one syscall; cheaper than waking a thread.
            Task { self.drain(blocking: false) }
        case .executor?, nil: break
        }
    }

    /// Who writes what was just queued.
    private enum Drainer { case caller, job, executor }

    /// Called by the I/O executor once its ready jobs ran: writes what they queued, one buffer per syscall.
    func flushDeferredWrites() {
        let owned = writeState.withLock { state -> Bool in
            defer { state.flushOnExecutor = false }
            return state.flushOnExecutor
        }
        if owned { drain(blocking: false) }
    }

    /// Writes everything queued, a whole buffer per syscall. Only the holder of `draining` calls
    /// this; without `blocking` it hands the rest to the writer thread on back-pressure.
    private func drain(blocking: Bool) {
        var batch: [UInt8] = []
        while true {
            let taken = writeState.withLock { state -> Bool in
                guard !state.closed, !state.pending.isEmpty else {
                    state.draining = false
                    state.flushOnExecutor = false
                    return false
                }
                swap(&batch, &state.spare)
                swap(&batch, &state.pending)
                return true
            }
            guard taken else { return }
            var offset = 0
            do {
                while offset < batch.count {
                    let written = try batch.withUnsafeBytes { buffer throws(CQLTransportError) -> Int in
                        try transport.write(UnsafeRawBufferPointer(rebasing: buffer[offset...]), blocking: blocking)
                    }
                    if written == 0 {
                        writeState.withLock { $0.pending.insert(contentsOf: batch[offset...], at: 0) }
                        writerSignal.signal()
                        return
                    }
                    offset += written
                }
            } catch {
                writeState.withLock { $0.draining = false }
                close(reason: "write failed: \(error)")
                return
            }
            // Hands the emptied buffer back for the next batch, unless it grew unusually large.
            if batch.capacity <= Self.keptWriteCapacity { batch.removeAll(keepingCapacity: true) } else { batch = [] }
            writeState.withLock { swap(&batch, &$0.spare) }
        }
    }

    /// The largest write buffer kept between batches.
    private static let keptWriteCapacity = 256 * 1024

    // MARK: - Threads

    private func startThreads() {
        // Stored before the handshake's first send; whoever gets the connection later got it through a lock.
        let attached = attachedExecutor?.attach(self) ?? false
        readByExecutor.store(attached, ordering: .relaxed)
        if !attached {
            let reader = Thread { [self] in readLoop() }
            reader.name = "cqlwire-reader \(endpoint)"
            reader.start()
        }
        let writer = Thread { [self] in writeLoop() }
        writer.name = "cqlwire-writer \(endpoint)"
        writer.start()
        let timer = Thread { [self] in timerLoop() }
        timer.name = "cqlwire-timer \(endpoint)"
        timer.start()
        let tick = tickInterval
        Task { [weak self] in
            while true {
                guard (try? await Task.sleep(for: tick)) != nil, let connection = self, !connection.isClosed else { return }
                connection.heartbeatTick()
            }
        }
    }

    private var tickInterval: Duration {
        max(.milliseconds(50), min(configuration.heartbeatInterval, configuration.heartbeatTimeout) / 2)
    }

    private func writeLoop() {
        while true {
            writerSignal.wait()
            if writeState.withLock({ $0.closed }) { return }
            drain(blocking: true)
        }
    }

    /// Fails requests past their deadline. Sleeps until the earliest deadline of a waiting
    /// request (a thread rather than a timer task per request: sending stays free of timer work).
    private func timerLoop() {
        while true {
            let wake = state.withLock { $0.machine.state == .closed ? nil : $0.machine.timerWake }
            guard let wake else { return }
            let now = DispatchTime.now().uptimeNanoseconds
            if now < wake {
                if wake == .max { timerSignal.wait() } else { _ = timerSignal.wait(timeout: DispatchTime(uptimeNanoseconds: wake)) }
                continue
            }
            let (expired, orphaned) = state.withLock { ($0.machine.expire(now: now), $0.machine.abandonedCount) }
            for (stream, _, waiter) in expired {
                let error = CQLError.requestTimedOut(endpoint: endpoint,
                                                     timeout: .nanoseconds(Int64(clamping: waiter.timeoutNanoseconds)))
                logger.debug("request abandoned", metadata: ["cql.stream": "\(stream)", "cql.reason": "\(error)"])
                waiter.continuation.resume(throwing: error)
            }
            if !expired.isEmpty, orphaned >= max(1, configuration.maxOrphanedRequests) {
                close(reason: "\(orphaned) requests went unanswered")
            }
        }
    }

    private func readLoop() {
        while true {
            let count: Int
            do {
                count = try readState.buffer.withUnsafeMutableBytes { bytes throws(CQLTransportError) -> Int in
                    try transport.read(into: bytes)
                }
            } catch {
                close(reason: "read failed: \(error)")
                return
            }
            guard consume(count) else { return }
        }
    }

    /// The socket descriptor the I/O executor polls.
    var pollableDescriptor: Int32? { transport.pollableDescriptor }

    /// Called by the I/O executor when the socket is readable: reads what arrived and resumes the
    /// requests it answers; false once the connection is closed (the executor then forgets it).
    func readAvailable() -> Bool {
        let count: Int?
        do {
            count = try readState.buffer.withUnsafeMutableBytes { bytes throws(CQLTransportError) -> Int? in
                try transport.readAvailable(into: bytes)
            }
        } catch {
            close(reason: "read failed: \(error)")
            return false
        }
        guard let count else { return !isClosed }
        return consume(count)
    }

    /// The I/O executor reading this connection shut down: nothing will read it any more.
    func executorShutDown() {
        close(reason: "its I/O executor shut down")
    }

    /// Decodes the `count` bytes just read into the buffer and resumes the requests they answer;
    /// false when the connection is (now) closed.
    private func consume(_ count: Int) -> Bool {
        guard count > 0 else {
            close(reason: "the node closed the connection")
            return false
        }
        let reader = readState
        reader.buffer.withUnsafeBytes { reader.decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        // One clock read per read: the frames of one read arrived together.
        let now = DispatchTime.now().uptimeNanoseconds
        var open = true
        do {
            while open, let frame = try reader.decoder.nextFrame() {
                open = handle(frame, now: now, deliveries: &reader.deliveries)
            }
        } catch {
            close(reason: "undecodable frame: \(error)")
            open = false
        }
        // Answers taken out of their slots before a failure are still theirs to receive.
        for (waiter, envelope) in reader.deliveries { waiter.continuation.resume(returning: envelope) }
        reader.deliveries.removeAll(keepingCapacity: true)
        return open
    }

    /// Routes one frame to its waiter (appended to `deliveries`); false when the connection had to close.
    private func handle(_ frame: Frame, now: UInt64, deliveries: inout [(Waiter, Envelope<ResponseMessage>)]) -> Bool {
        let compression = state.withLock { $0.compression }
        let envelope: Envelope<ResponseMessage>
        do {
            envelope = try frame.decodeResponse(compression: compression, maxBodyLength: configuration.maxFrameBodyLength,
                                                metadataCache: &readState.metadataCache)
        } catch {
            if frame.header.version != Frame.supportedVersion, let refusal = try? frame.decodeVersionRefusal() {
                let failure = CQLError.protocolVersionRefused(endpoint: endpoint, message: refusal.message)
                if let waiter = takeWaiter(stream: frame.header.stream) { waiter.continuation.resume(throwing: failure) }
                close(error: failure)
            } else {
                close(error: .malformedResponse(endpoint: endpoint, detail: "\(error)"))
            }
            return false
        }
        if envelope.stream < 0 {
            if case let .event(event) = envelope.message {
                logger.debug("event", metadata: ["cql.event": "\(event)"])
                eventContinuation.yield(event)
            }
            return true
        }
        let action = state.withLock { $0.machine.responseReceived(stream: envelope.stream, now: now) }
        switch action {
        case let .deliver(waiter):
            deliveries.append((waiter, envelope))
        case let .discardLate(requestID):
            logger.debug("late response dropped", metadata: ["cql.stream": "\(envelope.stream)", "cql.request": "\(requestID)"])
        case .heartbeatAnswered:
            logger.trace("heartbeat answered")
        case .unknownStream:
            close(error: .unexpectedResponse(endpoint: endpoint, expected: "a response on a stream in use",
                                             received: "\(envelope.message.opcode) on stream \(envelope.stream)"))
            return false
        }
        return true
    }

    private func takeWaiter(stream: Int16) -> Waiter? {
        let action = state.withLock { $0.machine.responseReceived(stream: stream, now: DispatchTime.now().uptimeNanoseconds) }
        if case let .deliver(waiter) = action { return waiter }
        return nil
    }

    private func abandon(stream: Int16, requestID: UInt64, error: any Error) {
        let (waiter, orphaned) = state.withLock { ($0.machine.abandon(stream: stream, requestID: requestID), $0.machine.abandonedCount) }
        guard let waiter else { return }
        logger.debug("request abandoned", metadata: ["cql.stream": "\(stream)", "cql.reason": "\(error)"])
        waiter.continuation.resume(throwing: error)
        if orphaned >= max(1, configuration.maxOrphanedRequests) {
            close(reason: "\(orphaned) requests went unanswered")
        }
    }

    private func heartbeatTick() {
        // OPTIONS is never compressed, so the negotiated compression does not matter here.
        let action = state.withLock { $0.machine.tick(now: DispatchTime.now().uptimeNanoseconds) }
        switch action {
        case .none:
            return
        case let .sendHeartbeat(stream):
            logger.trace("heartbeat", metadata: ["cql.stream": "\(stream)"])
            enqueue(inline: true) { RequestMessage.options.appendUncompressedFrame(to: &$0, stream: stream, tracing: false) }
        case .closeUnresponsive:
            close(reason: "heartbeat unanswered for \(configuration.heartbeatTimeout)")
        }
    }

    private func close(reason: String) {
        close(error: .connectionClosed(endpoint: endpoint, reason: reason))
    }

    private func close(error: CQLError) {
        let (waiters, handlers) = state.withLock { state -> ([Waiter], [@Sendable (CQLError) -> Void]) in
            guard state.machine.state != .closed else { return ([], []) }
            state.closeReason = error
            let handlers = state.closeHandlers
            state.closeHandlers = []
            return (state.machine.close(), handlers)
        }
        writeState.withLock {
            $0.closed = true
            $0.pending = []
            $0.spare = []
        }
        writerSignal.signal()
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


extension Duration {
    /// Whole nanoseconds, saturating.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (product, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .max }
        return product &+ UInt64(attoseconds / 1_000_000_000)
    }
}

extension RequestMessage {
    /// Appends the frame ``encodeFrame(stream:version:tracing:customPayload:compression:)`` makes
    /// without compression, built in place: no body array, no frame array, no copy.
    func appendUncompressedFrame(to buffer: inout [UInt8], stream: Int16, tracing: Bool) {
        let start = buffer.count
        var writer = ByteWriter(capacity: 0)
        swap(&writer.bytes, &buffer)
        FrameHeader(isResponse: false, flags: tracing ? [.tracing] : [], stream: stream, opcode: opcode.rawValue, length: 0)
            .encode(into: &writer)
        encode(into: &writer)
        swap(&writer.bytes, &buffer)
        let length = UInt32(bitPattern: Int32(clamping: buffer.count - start - FrameHeader.size))
        // The length is the header's last four bytes, big-endian.
        for index in 0..<4 {
            buffer[start + 5 + index] = UInt8(truncatingIfNeeded: length >> (24 - 8 * UInt32(index)))
        }
    }
}
