import CQLCodec
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// The embedded node's native-protocol server: listens on TCP, speaks protocol v4 (and v3
/// framing) the way Cassandra 4.1 does, and hands statements to a ``QueryHandler``.
///
/// ```swift
/// let server = CQLServer(configuration: .init(port: 0), handler: executor)
/// let address = try await server.start()
/// // ... drivers connect to address.port ...
/// try await server.shutdown()
/// ```
final class CQLServer: Sendable {
    /// Where and how the server listens.
    struct Configuration: Sendable {
        /// The address to bind; loopback by default.
        var host: String
        /// The TCP port; 0 picks a free one (read it from ``CQLServer/localPort``).
        var port: Int
        /// The largest frame body accepted (Cassandra's `native_transport_max_frame_size`); a
        /// frame over it, or with a negative length, closes the connection before its body is read.
        var maxFrameBodyLength: Int
        /// Require PasswordAuthenticator logins with these users; nil lets everyone in.
        var authenticator: PasswordAuthenticator?
        /// The event loops serving connections; nil uses NIO's shared group (one thread per core).
        var eventLoopGroup: (any EventLoopGroup)?
        /// Faults to inject into requests; nil (the default) injects none.
        var faultInjection: FaultInjection?
        /// How many requests of one connection may run at once before the server stops reading from it.
        var maxConcurrentRequestsPerConnection: Int
        /// TLS on every connection; nil (the default) serves plain TCP.
        var tls: CQLServerTLSConfiguration?

        /// A configuration; every parameter has Cassandra's default or a safe one.
        init(host: String = "127.0.0.1", port: Int = 9042, maxFrameBodyLength: Int = 256 * 1024 * 1024,
                    authenticator: PasswordAuthenticator? = nil, eventLoopGroup: (any EventLoopGroup)? = nil,
                    faultInjection: FaultInjection? = nil, maxConcurrentRequestsPerConnection: Int = 2048) {
            self.host = host
            self.port = port
            self.maxFrameBodyLength = maxFrameBodyLength
            self.authenticator = authenticator
            self.eventLoopGroup = eventLoopGroup
            self.faultInjection = faultInjection
            self.maxConcurrentRequestsPerConnection = maxConcurrentRequestsPerConnection
        }
    }

    /// Why the server could not do what was asked.
    enum LifecycleError: Error, Equatable, Sendable, CustomStringConvertible {
        /// ``CQLServer/start()`` was called twice.
        case alreadyStarted
        /// ``CQLServer/start()`` was called after ``CQLServer/shutdown()``.
        case alreadyShutDown

        var description: String {
            switch self {
            case .alreadyStarted: "the CQL server is already started"
            case .alreadyShutDown: "the CQL server was shut down and cannot be started again"
            }
        }
    }

    private enum Lifecycle {
        case idle
        case starting
        case running(any Channel)
        case shutDown
    }

    /// The configuration the server was made with.
    let configuration: Configuration
    /// Publishes EVENTs to connections that sent REGISTER.
    let events: EventBus
    private let handler: any QueryHandler
    private let registry = ConnectionRegistry()
    private let lifecycle = NIOLockedValueBox(Lifecycle.idle)

    /// A server that will answer statements with `handler`; nothing listens until ``start()``.
    init(configuration: Configuration, handler: some QueryHandler) {
        self.configuration = configuration
        self.handler = handler
        self.events = EventBus()
    }

    /// Binds and starts accepting connections; returns the bound address.
    @discardableResult
    func start() async throws -> SocketAddress {
        try lifecycle.withLockedValue { state in
            switch state {
            case .idle: state = .starting
            case .starting, .running: throw LifecycleError.alreadyStarted
            case .shutDown: throw LifecycleError.alreadyShutDown
            }
        }
        let group = configuration.eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        let connectionConfiguration = ServerConnectionStateMachine.Configuration(
            maxBodyLength: max(0, configuration.maxFrameBodyLength), authenticator: configuration.authenticator)
        let handler = self.handler
        let events = self.events
        let faults = configuration.faultInjection
        let registry = self.registry
        let maxConcurrent = configuration.maxConcurrentRequestsPerConnection
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = try configuration.tls?.makeContext()
        } catch {
            lifecycle.withLockedValue { $0 = .idle }
            throw error
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext))
                    }
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(
                        configuration: connectionConfiguration, handler: handler, events: events,
                        faults: faults, registry: registry, maxConcurrentRequests: maxConcurrent))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            lifecycle.withLockedValue { $0 = .idle }
            throw ListenError(bindFailure: error, service: "CQL", host: configuration.host, port: configuration.port) ?? error
        }
        let stillWanted = lifecycle.withLockedValue { state -> Bool in
            guard case .starting = state else { return false }
            state = .running(channel)
            return true
        }
        guard stillWanted else {
            try? await channel.close()
            throw LifecycleError.alreadyShutDown
        }
        guard let address = channel.localAddress else {
            throw ChannelError.unknownLocalAddress
        }
        return address
    }

    /// The port the server listens on, once started.
    var localPort: Int? {
        lifecycle.withLockedValue { state in
            if case let .running(channel) = state { channel.localAddress?.port } else { nil }
        }
    }

    /// How many client connections are open.
    var connectionCount: Int { registry.count }

    /// Stops accepting, closes every open connection and waits until they are closed.
    ///
    /// Requests still running in the handler are cancelled; their answers are dropped.
    func shutdown() async throws {
        let listener = lifecycle.withLockedValue { state -> (any Channel)? in
            defer { state = .shutDown }
            if case let .running(channel) = state { return channel }
            return nil
        }
        if let listener {
            do {
                try await listener.close()
            } catch ChannelError.alreadyClosed {
                // Closed by a failing event loop already: nothing left to stop.
            }
        }
        for connection in registry.closeAll() {
            try? await connection.closeFuture.get()
        }
    }
}

/// The open client connections, so that shutdown can close them.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var closing = false
    }

    private let state = NIOLockedValueBox(State())

    /// Records a new connection; false when the server is shutting down.
    func add(_ channel: any Channel) -> Bool {
        state.withLockedValue { state in
            guard !state.closing else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    /// Forgets a closed connection.
    func remove(_ channel: any Channel) {
        _ = state.withLockedValue { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// How many connections are open.
    var count: Int { state.withLockedValue { $0.channels.count } }

    /// Refuses new connections, starts closing the open ones and returns them.
    func closeAll() -> [any Channel] {
        let channels = state.withLockedValue { state in
            state.closing = true
            return Array(state.channels.values)
        }
        for channel in channels { channel.close(promise: nil) }
        return channels
    }
}
