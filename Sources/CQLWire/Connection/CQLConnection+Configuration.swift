public import Logging

extension CQLConnection {
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
