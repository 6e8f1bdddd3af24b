import CQLCodec
public import Logging
import NIOCore

/// A single-node CQL server in-process: storage, statement executor and native-protocol server together,
/// for tests and for the worker's embedded default (as cassandra-unit does for the JVM).
///
/// ```swift
/// let node = try await EmbeddedNode.start(.init())     // 127.0.0.1, a free port, in memory
/// // connect drivers to node.host:node.port
/// try await node.shutdown()
/// ```
public final class EmbeddedNode: Sendable {
    /// How the node is started.
    public struct Configuration: Sendable {
        /// The address to listen on.
        public var host: String
        /// The port; 0 picks a free one (read it from ``EmbeddedNode/port``).
        public var port: Int
        /// Where the commit log and snapshots live; nil keeps everything in memory.
        public var dataDirectory: String?
        /// Require these credentials (PasswordAuthenticator); nil lets every client in.
        public var credentials: (username: String, password: String)?
        /// Faults to inject into requests (tests of unknown LWT outcomes); nil injects none.
        public var faultInjection: FaultInjection?
        /// Where the node logs its lifecycle.
        public var logger: Logger
        /// Testing aid: a file that gets one JSON line per applied LWT in commit order (``LWTAuditLog``); nil for none.
        public var lwtAuditLogPath: String?
        /// Serve TLS only (and require client certificates when it names a client CA); nil for plain TCP.
        public var tls: CQLServerTLSConfiguration?

        /// A configuration; by default loopback, a free port, in memory, no authentication, no faults.
        public init(host: String = "127.0.0.1", port: Int = 0, dataDirectory: String? = nil,
                    credentials: (username: String, password: String)? = nil, faultInjection: FaultInjection? = nil,
                    logger: Logger = Logger(label: "cqlnode", factory: { _ in SwiftLogNoOpLogHandler() })) {
            self.host = host
            self.port = port
            self.dataDirectory = dataDirectory
            self.credentials = credentials
            self.faultInjection = faultInjection
            self.logger = logger
        }
    }

    /// The address the node listens on.
    public let host: String
    /// The port the node listens on.
    public let port: Int
    /// The node's storage engine.
    let storage: Storage
    /// The statement executor the server hands requests to.
    let executor: NodeExecutor
    private let server: CQLServer
    private let logger: Logger

    private init(host: String, port: Int, storage: Storage, executor: NodeExecutor, server: CQLServer, logger: Logger) {
        self.host = host
        self.port = port
        self.storage = storage
        self.executor = executor
        self.server = server
        self.logger = logger
    }

    /// Opens storage (replaying the data directory), starts listening and prepares the system keyspaces.
    public static func start(_ configuration: Configuration) async throws -> EmbeddedNode {
        let storage = try Storage(options: StorageOptions(dataDirectory: configuration.dataDirectory))
        let audit: LWTAuditLog?
        do {
            audit = try configuration.lwtAuditLogPath.map { try LWTAuditLog(path: $0) }
        } catch {
            storage.close()
            throw error
        }
        let executor = NodeExecutor(storage: storage, lwtAudit: audit)
        let authenticator = configuration.credentials.map { PasswordAuthenticator(username: $0.username, password: $0.password) }
        var serverConfiguration = CQLServer.Configuration(host: configuration.host, port: configuration.port,
                                                          authenticator: authenticator, faultInjection: configuration.faultInjection)
        serverConfiguration.tls = configuration.tls
        let server = CQLServer(configuration: serverConfiguration, handler: executor)
        let address: SocketAddress
        do {
            address = try await server.start()
        } catch {
            storage.close()
            throw error
        }
        let port = address.port ?? configuration.port
        do {
            try await bootstrapSystemKeyspaces(storage: storage, host: configuration.host, port: port)
        } catch {
            try? await server.shutdown()
            storage.close()
            throw error
        }
        configuration.logger.info("CQL node listening", metadata: [
            "host": "\(configuration.host)", "port": "\(port)",
            "data_directory": "\(configuration.dataDirectory ?? "in memory")",
        ])
        return EmbeddedNode(host: configuration.host, port: port, storage: storage, executor: executor, server: server,
                            logger: configuration.logger)
    }

    /// Writes the system keyspaces drivers read at connection time (`system.local`, `system_schema.*`).
    private static func bootstrapSystemKeyspaces(storage: Storage, host: String, port: Int) async throws {
        try await SystemKeyspaces.install(in: storage, identity: NodeIdentity(address: InetAddress(host), nativePort: port))
    }

    /// Stops listening, closes connections and flushes the commit log.
    public func shutdown() async throws {
        defer { storage.close() }
        try await server.shutdown()
        logger.info("CQL node stopped", metadata: ["port": "\(port)"])
    }
}
