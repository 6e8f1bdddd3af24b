public import Logging
public import Metrics

/// A node address: host name or IP literal, and the native-protocol port.
public struct CQLEndpoint: Hashable, Sendable, CustomStringConvertible {
    /// Host name, IPv4 or IPv6 literal.
    public var host: String
    /// The native-protocol port (9042 by default).
    public var port: Int

    /// An endpoint.
    public init(host: String, port: Int = 9042) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension CQLSession {
    /// How a session finds nodes, connects, routes and retries. Every option has a sane default.
    public struct Configuration: Sendable {
        /// Nodes to start from; the others are discovered through `system.peers_v2` / `system.peers`.
        public var contactPoints: [CQLEndpoint]
        /// The keyspace every connection uses (`USE`); nil for none.
        public var keyspace: String?
        /// PasswordAuthenticator credentials.
        public var credentials: CQLConnection.Credentials?
        /// Compressions to ask for, most preferred first; used only when a node offers them.
        public var compression: [FrameCompression]
        /// How long opening a TCP connection may take.
        public var connectTimeout: Duration
        /// How long a request waits for its answer unless the statement says otherwise.
        public var requestTimeout: Duration
        /// Silence after which a connection sends an OPTIONS heartbeat.
        public var heartbeatInterval: Duration
        /// The consistency of statements that set none.
        public var consistency: Consistency
        /// The serial consistency of conditional statements that set none.
        public var serialConsistency: Consistency
        /// Rows per page of statements that set no page size.
        public var pageSize: Int32
        /// Whether statements without a timestamp get a client-side one (microseconds, strictly increasing).
        public var clientTimestamps: Bool
        /// Connections opened to each node.
        public var connectionsPerNode: Int
        /// Whether other nodes are discovered from the contact points' `system.peers` tables and events.
        public var discoverNodes: Bool
        /// How requests pick a node, with the default ``hostSelectionPolicy``.
        public var loadBalancing: LoadBalancing
        /// Which nodes a request may go to and in what order; nil (the default) for
        /// ``DefaultHostSelectionPolicy`` with ``loadBalancing`` and ``localDatacenter``. The
        /// replication of keyspaces, which a policy needs to place replicas
        /// (``HostSelectionContext/replicas(ofRoutingKey:keyspace:)``), is read only with
        /// ``LoadBalancing/tokenAware`` ``loadBalancing`` (the default).
        public var hostSelectionPolicy: (any HostSelectionPolicy)?
        /// When failed requests are tried again, and where (``DefaultRetryPolicy``: the DataStax drivers' default).
        public var retryPolicy: any RetryPolicy
        /// The data center whose nodes coordinate requests: when set, its nodes come first in every
        /// query plan (the partition's local replicas first when token-aware), other data centers'
        /// nodes only after them, and never for a LOCAL_ONE, LOCAL_QUORUM or LOCAL_SERIAL request.
        /// Nil: every node alike.
        public var localDatacenter: String?
        /// How long a schema-changing statement waits for the nodes to agree on the schema before
        /// returning (``QueryResult/schemaInAgreement`` false after that, with a warning logged);
        /// zero returns at once. 10 s by default, as the DataStax drivers.
        public var maxSchemaAgreementWait: Duration
        /// Speculative executions of idempotent statements (nil, the default: none).
        public var speculativeExecution: SpeculativeExecutionPolicy?
        /// The clock schema agreement and speculative executions wait on (a test clock in tests).
        public var clock: any Clock<Duration> = ContinuousClock()
        /// How a node that cannot be reached is retried.
        public var reconnection: ReconnectionPolicy
        /// Where the session logs (request context at debug and trace).
        public var logger: Logger
        /// Where request counts and latencies go; nil records nothing (the global system is never touched).
        public var metricsFactory: (any MetricsFactory)?
        /// Whether the session's connections do their I/O on one ``CQLIOExecutor`` thread, which
        /// tasks can prefer (``CQLSession/withIOExecutor(isolation:_:)``) to get answers without a
        /// thread hop; false (the default) gives each connection a reader thread of its own.
        public var usesIOExecutor: Bool
        /// Whether ``CQLSession/prepare(_:)`` also prepares on every other reachable node before
        /// returning (failures there are only logged), so executions routed anywhere find the statement.
        public var prepareOnAllNodes = true
        /// Whether a node that is new or back (restarted, reachable again) gets the session's prepared
        /// statements re-prepared on its first connection before requests are sent to it.
        public var reprepareOnUp = true
        /// TLS to every node (Cassandra's `client_encryption_options`); nil (the default) for plain
        /// TCP. Cannot be combined with ``usesIOExecutor``.
        public var tls: CQLTLSConfiguration?

        /// A configuration for `contactPoints` with the DataStax drivers' defaults.
        public init(contactPoints: [CQLEndpoint], keyspace: String? = nil, credentials: CQLConnection.Credentials? = nil,
                    compression: [FrameCompression] = [.lz4, .snappy], connectTimeout: Duration = .seconds(5),
                    requestTimeout: Duration = .seconds(12), heartbeatInterval: Duration = .seconds(30),
                    consistency: Consistency = .localQuorum, serialConsistency: Consistency = .serial,
                    pageSize: Int32 = 5000, clientTimestamps: Bool = true, connectionsPerNode: Int = 2,
                    discoverNodes: Bool = true, loadBalancing: LoadBalancing = .tokenAware,
                    retryPolicy: any RetryPolicy = DefaultRetryPolicy(), reconnection: ReconnectionPolicy = ReconnectionPolicy(),
                    logger: Logger = Logger(label: "cqlwire", factory: { _ in SwiftLogNoOpLogHandler() }),
                    metricsFactory: (any MetricsFactory)? = nil, usesIOExecutor: Bool = false,
                    localDatacenter: String? = nil, maxSchemaAgreementWait: Duration = .seconds(10),
                    hostSelectionPolicy: (any HostSelectionPolicy)? = nil) {
            self.contactPoints = contactPoints
            self.keyspace = keyspace
            self.credentials = credentials
            self.compression = compression
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.heartbeatInterval = heartbeatInterval
            self.consistency = consistency
            self.serialConsistency = serialConsistency
            self.pageSize = pageSize
            self.clientTimestamps = clientTimestamps
            self.connectionsPerNode = connectionsPerNode
            self.discoverNodes = discoverNodes
            self.loadBalancing = loadBalancing
            self.retryPolicy = retryPolicy
            self.reconnection = reconnection
            self.logger = logger
            self.metricsFactory = metricsFactory
            self.usesIOExecutor = usesIOExecutor
            self.localDatacenter = localDatacenter
            self.maxSchemaAgreementWait = maxSchemaAgreementWait
            self.hostSelectionPolicy = hostSelectionPolicy
        }
    }

    /// How requests pick a node.
    public enum LoadBalancing: Sendable, Hashable {
        /// Nodes in turn.
        case roundRobin
        /// The replicas of the statement's partition (Murmur3 token of the routing key, the keyspace's
        /// replication) first, taking turns (an LWT always starts at the owner), then the other nodes in turn.
        case tokenAware
    }
}

/// Speculative executions (the DataStax drivers' constant policy): an idempotent statement not
/// answered after `delay` is sent to the next node of its plan as well, and so on up to
/// `maxExecutions` in all; the first to finish wins and the others are cancelled. Never used for
/// conditional statements (Paxos rounds would contend) nor for statements not marked idempotent.
public struct SpeculativeExecutionPolicy: Sendable, Hashable {
    /// How long an execution waits for an answer before the next one starts.
    public var delay: Duration
    /// Executions at most, the first one included (at most one per node of the plan).
    public var maxExecutions: Int

    /// A policy; by default one extra execution after 100 ms.
    public init(delay: Duration = .milliseconds(100), maxExecutions: Int = 2) {
        self.delay = delay
        self.maxExecutions = maxExecutions
    }
}

/// Exponential backoff with full jitter between attempts to reach a node.
public struct ReconnectionPolicy: Sendable, Hashable {
    /// The delay after the first failure.
    public var baseDelay: Duration
    /// The largest delay.
    public var maxDelay: Duration

    /// A policy; by default 100 ms doubling up to 10 s.
    public init(baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(10)) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The delay before attempt `failures + 1`: uniformly random up to `min(max, base * 2^failures)`.
    public func delay(afterFailures failures: Int) -> Duration {
        let exponent = min(max(0, failures - 1), 30)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        let fraction = Double.random(in: 0.5...1.0)
        return ceiling * fraction
    }
}
