import CQLNode
import UnixSignals
import CQLWire
import Foundation
import Hummingbird
public import Logging
import Metrics
import NIOConcurrencyHelpers
import Prometheus
import Scheduler
import ServiceLifecycle

/// Why a worker could not start.
public enum WorkerStartupError: Error, CustomStringConvertible {
    /// The cluster has no (or an outdated) scheduler schema; it is applied once by scripts/init_schema.sh.
    case schemaMissing(keyspace: String, detail: String)
    /// The embedded node's data directory cannot be created.
    case dataDirectory(path: String, reason: String)

    /// A message for the operator.
    public var description: String {
        switch self {
        case let .schemaMissing(keyspace, detail):
            // The detail already says to run scripts/init_schema.sh.
            return "the scheduler schema is not ready in keyspace \(keyspace): \(detail)"
        case let .dataDirectory(path, reason):
            return "cannot create the data directory \(path): \(reason)"
        }
    }
}

/// The `worker` process: embedded node or cluster session, schema, job service, scheduler
/// runtime and HTTP server, run as one service group that stops gracefully on SIGTERM/SIGINT.
public enum WorkerService {
    /// Runs a worker until SIGTERM or SIGINT, then stops claiming, lets running jobs finish within
    /// the grace period (handing the rest back), releases leases, closes CQL connections and stops
    /// the embedded node. Returns normally after a clean stop.
    ///
    /// `announce` receives the parseable start-up lines (`embedded CQL node on HOST:PORT`,
    /// `worker listening on http://HOST:PORT`); by default they go to standard output.
    public static func run(configuration: WorkerConfiguration, logger: Logger,
                           announce: @escaping @Sendable (String) -> Void = WorkerService.printLine) async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = DocumentedMetricsFactory(registry: registry)

        var node: EmbeddedNode?
        let contactPoints: [CQLEndpoint]
        switch configuration.database {
        case let .embedded(port, storage):
            var directory: String?
            if case let .directory(path) = storage {
                do {
                    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                } catch {
                    throw WorkerStartupError.dataDirectory(path: path, reason: "\(error.localizedDescription)")
                }
                directory = path
            }
            let started = try await EmbeddedNode.start(EmbeddedNode.Configuration(
                host: "127.0.0.1", port: port, dataDirectory: directory,
                credentials: configuration.credentials.map { ($0.username, $0.password) },
                logger: logger.child(label: "cqlnode")))
            announce("embedded CQL node on \(started.host):\(started.port)")
            node = started
            contactPoints = [CQLEndpoint(host: started.host, port: started.port)]
        case let .cluster(endpoints):
            contactPoints = endpoints
        }

        let session: CQLSession
        do {
            session = try await CQLSession.connect(configuration.sessionConfiguration(
                contactPoints: contactPoints, logger: logger.child(label: "cqlwire"), metrics: metrics))
        } catch {
            try? await node?.shutdown()
            throw error
        }

        do {
            try await serve(configuration: configuration, session: session, embedded: node != nil,
                            registry: registry, metrics: metrics, logger: logger, announce: announce)
        } catch {
            session.close()
            try? await node?.shutdown()
            throw error
        }
        session.close()
        try await node?.shutdown()
        logger.info("worker stopped")
    }

    /// Writes a line to standard output unbuffered, so scripts waiting on a pipe see it at once.
    @Sendable public static func printLine(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    private static func serve(configuration: WorkerConfiguration, session: CQLSession, embedded: Bool,
                              registry: PrometheusCollectorRegistry, metrics: DocumentedMetricsFactory,
                              logger: Logger, announce: @escaping @Sendable (String) -> Void) async throws {
        let keyspace = configuration.keyspace
        if embedded {
            try await SchedulerSchema.applySchema(session: session, keyspace: keyspace)
        } else {
            do {
                try await SchedulerSchema.verifySchema(session: session, keyspace: keyspace)
            } catch let error as JobServiceError {
                throw WorkerStartupError.schemaMissing(keyspace: keyspace, detail: error.description)
            }
        }

        let handlers = HandlerRegistry.builtIns(shell: configuration.enableShellJobs ? ShellHandler() : nil)
        var schedulerConfiguration = SchedulerConfiguration(shards: configuration.shards, consistency: configuration.consistency,
                                                            serialConsistency: configuration.serialConsistency,
                                                            maximumConcurrentRuns: configuration.maxConcurrentRuns)
        schedulerConfiguration.historyRetention = configuration.historyRetention
        let jobs = JobService(session: session, keyspace: keyspace, configuration: schedulerConfiguration,
                              handlers: handlers, clock: SystemSchedulerClock(), logger: logger.child(label: "scheduler"),
                              metrics: metrics)
        let runtime = SchedulerRuntime(service: jobs, workerID: configuration.workerID, shards: configuration.shards,
                                       pollInterval: configuration.pollInterval, address: configuration.httpHost,
                                       logger: logger.child(label: "scheduler"))

        let readiness = ReadinessMonitor(
            target: ReadinessMonitor.Target(session: session, keyspace: keyspace, consistency: configuration.consistency,
                                            serialConsistency: configuration.serialConsistency,
                                            localDatacenter: configuration.localDatacenter),
            logger: logger.child(label: "readiness"))
        let api = WorkerAPI(
            jobs: jobs, registry: registry, metricsFactory: metrics, apiToken: configuration.apiToken,
            readiness: { await readiness.answer() }, logger: logger.child(label: "http"),
            nodes: { session.nodeStates })
        let host = configuration.httpHost
        let listening = NIOLockedValueBox(false)
        let app = Application(
            router: api.makeRouter(),
            server: .worker,
            configuration: ApplicationConfiguration(address: .hostname(host, port: configuration.httpPort), serverName: nil),
            onServerRunning: { channel in
                listening.withLockedValue { $0 = true }
                let port = channel.localAddress?.port ?? configuration.httpPort
                announce("worker listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port)")
            },
            logger: logger.child(label: "http"))

        // Shutdown runs in reverse order: the scheduler drains first while HTTP still answers
        // (status reads during a rolling restart), then the server stops.
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: readiness),
                .init(service: app),
                .init(service: SchedulerService(runtime: runtime, gracePeriod: configuration.shutdownGrace,
                                                logger: logger.child(label: "scheduler"))),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // The grace period, the runtime's hand-back wait and lease releases; past that a stuck
        // shutdown is escalated to cancellation instead of hanging the process.
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownGrace + .seconds(30)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch where !listening.withLockedValue({ $0 }) {
            // The HTTP server's bind is what fails before it listens; say which address.
            throw ListenError(bindFailure: error, service: "HTTP", host: host, port: configuration.httpPort) ?? error
        }
    }
}

extension WorkerConfiguration {
    /// The CQL session settings of this configuration for `contactPoints` (the cluster's, or the embedded node's).
    func sessionConfiguration(contactPoints: [CQLEndpoint], logger: Logger,
                              metrics: (any MetricsFactory)? = nil) -> CQLSession.Configuration {
        var session = CQLSession.Configuration(contactPoints: contactPoints, credentials: credentials, logger: logger,
                                               metricsFactory: metrics)
        session.consistency = consistency
        session.serialConsistency = serialConsistency
        session.localDatacenter = localDatacenter
        session.tls = tls
        return session
    }
}

/// Runs the scheduler runtime inside the service group; on graceful shutdown it drains the
/// runtime (stop claiming, finish or hand back runs, release leases) before returning, so the
/// session is closed only after the last lease release.
///
/// A database fault while the runtime starts (its first heartbeat, say with a quorum of replicas
/// down) does not stop the worker: the start is tried again with backoff until it succeeds or the
/// worker is shut down, while the HTTP API keeps answering (503 and `/readyz` say why).
struct SchedulerService: Service {
    let runtime: SchedulerRuntime
    let gracePeriod: Duration
    let logger: Logger
    /// The first wait before starting the runtime again after a database fault; doubled per failure up to 16 times it.
    var startRetryDelay: Duration = .seconds(1)

    private enum Event { case runtimeEnded, shutdownRequested }

    func run() async throws {
        try await withThrowingTaskGroup(of: Event.self) { group in
            group.addTask {
                try await runRuntime()
                return .runtimeEnded
            }
            group.addTask {
                try await gracefulShutdown()
                return .shutdownRequested
            }
            switch try await group.next() {
            case .shutdownRequested?:
                await runtime.shutdown(gracePeriod: gracePeriod)
                // The runtime's loops see the stop flag and return.
                while let event = try await group.next(), event != .runtimeEnded {}
            case .runtimeEnded?, nil:
                group.cancelAll()
            }
        }
    }

    /// Runs the runtime, starting it again after a database fault until a graceful shutdown.
    private func runRuntime() async throws {
        var delay = startRetryDelay
        while true {
            do {
                try await runtime.run()
                return
            } catch {
                guard let fault = DatabaseFault(error) else { throw error }
                // Stopping anyway: the start that failed has nothing to hand back.
                if Task.isShuttingDownGracefully { return }
                logger.warning("the scheduler cannot start yet; trying again", metadata: [
                    "cause": "\(fault.cause)", "error": "\(fault.detail)", "retry_in": "\(delay)"])
                let wait = delay
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
                delay = min(delay * 2, startRetryDelay * 16)
            }
        }
    }
}

extension Logger {
    /// The same logger (handler and level) tagged with the component that logs.
    func child(label: String) -> Logger {
        var logger = self
        logger[metadataKey: "component"] = "\(label)"
        return logger
    }
}
