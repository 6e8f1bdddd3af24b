import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// A TLS transport: a SwiftNIO channel with NIOSSL's client handler, behind the blocking
/// ``CQLTransport`` interface.
///
/// The socket and the TLS state machine live on an event loop of NIO's shared group (BoringSSL
/// objects are owned by one thread, and NIO's embedded channel, the other way to drive them, is
/// confined to the thread that made it, while our reads and writes come from several). Plaintext
/// the loop decrypts is buffered here until the connection's reader thread takes it; writes are
/// handed to the loop and refused (non-blocking) or waited for (blocking) while the channel is
/// not writable, which keeps the connection's back-pressure model. Reading pauses (`autoRead`
/// off) while more than `maxBufferedPlaintext` waits unread.
///
/// It has no pollable descriptor: a ``CQLIOExecutor`` cannot read it, so TLS and the I/O executor
/// are refused together when a connection or session is configured.
public final class TLSTransport: CQLTransport {
    private let channel: any Channel
    private let stream: TLSStream

    private init(channel: any Channel, stream: TLSStream) {
        self.channel = channel
        self.stream = stream
    }

    /// The most decrypted bytes buffered before the transport stops reading from the socket.
    static let maxBufferedPlaintext = 4 * 1024 * 1024

    /// Connects to `host:port` and runs the TLS handshake, both within `timeout`; blocks the
    /// calling thread (never call it from an event loop or the cooperative pool). Throws
    /// ``CQLError/invalidConfiguration(_:)`` for unusable certificate files, else a ``CQLTransportError``.
    public static func connect(host: String, port: Int, timeout: Duration,
                               configuration: CQLTLSConfiguration) throws -> TLSTransport {
        try connect(host: host, port: port, timeout: timeout, context: configuration.makeContext(),
                    serverHostname: configuration.serverHostname)
    }

    /// As ``connect(host:port:timeout:configuration:)`` with a context already made.
    static func connect(host: String, port: Int, timeout: Duration, context: NIOSSLContext,
                        serverHostname: String?) throws(CQLTransportError) -> TLSTransport {
        let deadline = NIODeadline.now() + TimeAmount.nanoseconds(Int64(clamping: timeout.nanoseconds))
        // An IP literal is checked against the connected address (IP SANs) and never sent as SNI.
        let expectedName = serverHostname ?? host
        let sniName = expectedName.isIPAddress ? nil : expectedName
        let stream = TLSStream()
        let verification = VerificationRecorder()
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount.nanoseconds(Int64(clamping: timeout.nanoseconds)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: 256 * 1024, high: 1024 * 1024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = try NIOSSLClientHandler.make(context: context, serverHostname: sniName,
                                                               verification: verification)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(TLSStreamHandler(stream: stream, deadline: deadline))
                }
            }
        let channel: any Channel
        do {
            channel = try bootstrap.connect(host: host, port: port).wait()
        } catch let error as ChannelError {
            if case .connectTimeout = error { throw .connectTimeout(host: host, port: port) }
            throw .connect(host: host, port: port, detail: "\(error)")
        } catch let error as NIOConnectionError {
            throw .connect(host: host, port: port, detail: Self.describe(error))
        } catch {
            throw .connect(host: host, port: port, detail: "\(error)")
        }
        do {
            try stream.waitForHandshake()
        } catch {
            channel.close(promise: nil)
            throw .tls(host: host, port: port,
                       failure: Self.classify(error, expectedName: expectedName, failed: verification.failedValidity))
        }
        return TLSTransport(channel: channel, stream: stream)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(CQLTransportError) -> Int {
        let (count, resume) = try stream.read(into: buffer)
        // Switching autoRead back on makes the channel read again.
        if resume { channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in } }
        return count
    }

    public func write(_ bytes: UnsafeRawBufferPointer, blocking: Bool) throws(CQLTransportError) -> Int {
        guard bytes.count > 0 else { return 0 }
        guard try stream.waitUntilWritable(blocking: blocking) else { return 0 }
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(buffer, promise: nil)
        return bytes.count
    }

    /// A TLS failure seen on the connection (an alert after the handshake, such as the node
    /// refusing the client certificate, which TLS 1.3 reports only then), nil if none.
    public var failure: CQLTLSFailure? { stream.failure }

    public func close() {
        if stream.close() { channel.close(promise: nil) }
    }

    /// Names why the handshake failed, from NIOSSL's error and the certificate BoringSSL rejected.
    static func classify(_ error: any Error, expectedName: String, failed validity: (notBefore: Int, notAfter: Int)?)
        -> CQLTLSFailure {
        if let failure = error as? CQLTLSFailure { return failure }
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return .hostnameMismatch(expected: expectedName)
        }
        if let validity {
            let now = Int(Date().timeIntervalSince1970)
            if validity.notAfter < now { return .certificateExpired }
            if validity.notBefore > now { return .certificateNotYetValid }
            return .untrustedIssuer
        }
        return classifyAlert("\(error)") ?? .other("\(error)")
    }

    /// Reads a TLS failure out of BoringSSL's error text (its reason codes are stable names).
    static func classifyAlert(_ text: String) -> CQLTLSFailure? {
        if text.contains("CERTIFICATE_REQUIRED") { return .clientCertificateRequired }
        for alert in ["BAD_CERTIFICATE", "UNKNOWN_CA", "CERTIFICATE_UNKNOWN", "CERTIFICATE_EXPIRED", "DECRYPT_ERROR",
                      "ACCESS_DENIED", "UNSUPPORTED_CERTIFICATE"] where text.contains("ALERT_" + alert) {
            return .clientCertificateRejected(alert: alert.lowercased())
        }
        for marker in ["WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST", "UNEXPECTED_RECORD",
                       "RECORD_LENGTH_MISMATCH"] where text.contains(marker) {
            return .notTLS(detail: marker.lowercased())
        }
        return nil
    }

    private static func describe(_ error: NIOConnectionError) -> String {
        if let first = error.connectionErrors.first { return "\(first.error)" }
        if let resolution = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve: \(resolution)" }
        return "\(error)"
    }
}

/// What the event loop hands the reading and writing threads: decrypted bytes, writability,
/// the handshake's outcome and the end of the stream.
///
/// `@unchecked Sendable` is sound because every stored property is read and written only while
/// holding `condition`'s lock, which also carries the wake-ups between the loop and the threads.
private final class TLSStream: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks = CircularBuffer<ByteBuffer>()
    private var buffered = 0
    private var readingPaused = false
    private var writable = true
    private var handshake: Result<Void, any Error>?
    private var ended = false
    private var closedLocally = false
    private var error: (any Error)?

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }

    /// Blocks until the handshake finished; throws its error.
    func waitForHandshake() throws {
        let outcome = locked { () -> Result<Void, any Error> in
            while handshake == nil { condition.wait() }
            return handshake ?? .success(())
        }
        try outcome.get()
    }

    func handshakeFinished(_ outcome: Result<Void, any Error>) {
        locked {
            guard handshake == nil else { return }
            handshake = outcome
            condition.broadcast()
        }
    }

    /// Buffers decrypted bytes; false when the loop should stop reading the socket.
    func deliver(_ bytes: ByteBuffer) -> Bool {
        locked {
            buffered += bytes.readableBytes
            chunks.append(bytes)
            condition.broadcast()
            if buffered > TLSTransport.maxBufferedPlaintext { readingPaused = true }
            return !readingPaused
        }
    }

    func writabilityChanged(_ isWritable: Bool) {
        locked {
            writable = isWritable
            condition.broadcast()
        }
    }

    /// The stream ended: the channel closed.
    func end() {
        locked {
            ended = true
            if handshake == nil { handshake = .failure(error ?? CQLTLSFailure.closedDuringHandshake) }
            condition.broadcast()
        }
    }

    func recordError(_ error: any Error) {
        locked {
            if self.error == nil { self.error = error }
        }
    }

    /// A failure that names a TLS problem (an alert), from the error that ended the stream.
    var failure: CQLTLSFailure? {
        locked { error.flatMap { TLSTransport.classifyAlert("\($0)") } }
    }

    /// Copies buffered plaintext into `buffer`, blocking until some arrives; 0 at the end of the
    /// stream. `resume` says the caller must switch reading back on.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(CQLTransportError) -> (count: Int, resume: Bool) {
        guard buffer.count > 0 else { return (0, false) }
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !ended && !closedLocally { condition.wait() }
        guard !chunks.isEmpty else {
            if closedLocally { throw .closed }
            // A node closing without close_notify (Cassandra does) is an end of stream, not a TLS failure.
            if let error, (error as? NIOSSLError) != .uncleanShutdown {
                throw .tlsStream(detail: TLSTransport.classifyAlert("\(error)")?.description ?? "\(error)")
            }
            return (0, false)
        }
        var copied = 0
        while copied < buffer.count, var chunk = chunks.first {
            let count = min(chunk.readableBytes, buffer.count - copied)
            chunk.withUnsafeReadableBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: buffer[copied..<(copied + count)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<count]))
            }
            chunk.moveReaderIndex(forwardBy: count)
            copied += count
            if chunk.readableBytes == 0 { chunks.removeFirst() } else { chunks[chunks.startIndex] = chunk }
        }
        buffered -= copied
        let resume = readingPaused && buffered <= TLSTransport.maxBufferedPlaintext / 2
        if resume { readingPaused = false }
        return (copied, resume)
    }

    /// Whether a write may go ahead now; with `blocking`, waits until it may. Throws once the stream ended.
    func waitUntilWritable(blocking: Bool) throws(CQLTransportError) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if closedLocally { throw .closed }
            if ended {
                throw .tlsStream(detail: error.map { TLSTransport.classifyAlert("\($0)")?.description ?? "\($0)" }
                                 ?? "the connection closed")
            }
            if writable { return true }
            if !blocking { return false }
            condition.wait()
        }
    }

    /// Marks the stream closed locally, waking every waiter; true the first time.
    func close() -> Bool {
        locked {
            guard !closedLocally else { return false }
            closedLocally = true
            condition.broadcast()
            return true
        }
    }
}

/// The last handler of a TLS transport's pipeline: forwards decrypted bytes, writability, the
/// handshake's outcome and the channel's end to the ``TLSStream``, and fails a handshake that
/// outlives its deadline.
private final class TLSStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let stream: TLSStream
    private let deadline: NIODeadline
    private var timeout: Scheduled<Void>?

    init(stream: TLSStream, deadline: NIODeadline) {
        self.stream = stream
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let stream = self.stream
        let channel = context.channel
        timeout = context.eventLoop.scheduleTask(deadline: deadline) {
            stream.handshakeFinished(.failure(CQLTLSFailure.timedOut))
            channel.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            timeout?.cancel()
            stream.handshakeFinished(.success(()))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !stream.deliver(unwrapInboundIn(data)) {
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        stream.writabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        stream.recordError(error)
        stream.handshakeFinished(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        stream.end()
        context.fireChannelInactive()
    }
}

/// The first certificate BoringSSL's verification rejected, as its validity period (seconds
/// since 1970), so a failed handshake can say "expired" rather than "verify failed".
private final class VerificationRecorder: Sendable {
    private let failed = Mutex<(notBefore: Int, notAfter: Int)?>(nil)

    var failedValidity: (notBefore: Int, notAfter: Int)? { failed.withLock { $0 } }

    /// BoringSSL's per-certificate callback: records the first rejected certificate and keeps
    /// BoringSSL's verdict.
    func observe(_ result: NIOSSLVerificationResult, _ certificate: NIOSSLCertificate) -> NIOSSLVerificationResult {
        if result == .failed {
            let validity = (notBefore: Int(certificate.notValidBefore), notAfter: Int(certificate.notValidAfter))
            failed.withLock { if $0 == nil { $0 = validity } }
        }
        return result
    }
}

/// NIOSSL's client handler with BoringSSL's per-certificate verification callback, the one API
/// that shows which certificate failed while leaving the verification itself to BoringSSL (the
/// newer callbacks replace it). That initializer is deprecated; it is reached through this
/// protocol, whose witness it is, so the build stays free of the deprecation warning.
private protocol ObservedClientHandler {
    init(context: NIOSSLContext, serverHostname: String?, verificationCallback: NIOSSLVerificationCallback?) throws
}

extension NIOSSLClientHandler: ObservedClientHandler {}

extension ObservedClientHandler {
    static func make(context: NIOSSLContext, serverHostname: String?, verification: VerificationRecorder) throws -> Self {
        try Self(context: context, serverHostname: serverHostname, verificationCallback: verification.observe)
    }
}

extension String {
    /// Whether the string is an IPv4 or IPv6 literal.
    var isIPAddress: Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return withCString { inet_pton(AF_INET, $0, &v4) == 1 || inet_pton(AF_INET6, $0, &v6) == 1 }
    }
}
