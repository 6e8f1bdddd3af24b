public import ArgumentParser
import CQLWire
import Foundation
import Logging

/// The `worker` command line. Every option also reads a `SCHEDULER_*` environment variable;
/// a flag wins over the variable, the variable over the default.
public struct WorkerOptions: ParsableArguments, Sendable {
    /// `--http-host` / `SCHEDULER_HTTP_HOST`.
    @Option(name: .customLong("http-host"), help: "HTTP listen address (default 127.0.0.1; env SCHEDULER_HTTP_HOST).")
    public var httpHost: String?

    /// `--http-port` / `SCHEDULER_HTTP_PORT`.
    @Option(name: .customLong("http-port"), help: "HTTP port; 0 picks a free one and logs it (default 8080; env SCHEDULER_HTTP_PORT).")
    public var httpPort: String?

    /// `--cassandra` / `SCHEDULER_CASSANDRA`.
    @Option(name: .customLong("cassandra"),
            help: "Cluster contact points host:port,...; absent starts the embedded node (env SCHEDULER_CASSANDRA).")
    public var cassandra: String?

    /// `--data-dir` / `SCHEDULER_DATA_DIR`.
    @Option(name: .customLong("data-dir"), help: "Embedded node data directory (default ./.scheduler-data; env SCHEDULER_DATA_DIR).")
    public var dataDir: String?

    /// `--in-memory` / `SCHEDULER_IN_MEMORY`.
    @Flag(name: .customLong("in-memory"), help: "Embedded node keeps nothing on disk (env SCHEDULER_IN_MEMORY=1).")
    public var inMemory = false

    /// `--embedded-port` / `SCHEDULER_EMBEDDED_PORT`.
    @Option(name: .customLong("embedded-port"),
            help: "Embedded node CQL port on 127.0.0.1; 0 picks a free one and logs it (default 9042; env SCHEDULER_EMBEDDED_PORT).")
    public var embeddedPort: String?

    /// `--keyspace` / `SCHEDULER_KEYSPACE`.
    @Option(name: .customLong("keyspace"), help: "Scheduler keyspace (default scheduler; env SCHEDULER_KEYSPACE).")
    public var keyspace: String?

    /// `--username` / `SCHEDULER_USERNAME`.
    @Option(name: .customLong("username"), help: "CQL user name (env SCHEDULER_USERNAME).")
    public var username: String?

    /// `--password` / `SCHEDULER_PASSWORD`.
    @Option(name: .customLong("password"), help: "CQL password (env SCHEDULER_PASSWORD; prefer the variable).")
    public var password: String?

    /// `--worker-id` / `SCHEDULER_WORKER_ID`.
    @Option(name: .customLong("worker-id"), help: "This worker's identity in leases and run records (default hostname-pid; env SCHEDULER_WORKER_ID).")
    public var workerID: String?

    /// `--shards` / `SCHEDULER_SHARDS`.
    @Option(name: .customLong("shards"), help: "Queue shards, the same on every worker (default 16; env SCHEDULER_SHARDS).")
    public var shards: String?

    /// `--poll-interval` / `SCHEDULER_POLL_INTERVAL`.
    @Option(name: .customLong("poll-interval"), help: "How often owned shards are polled, e.g. 500ms, 2s (default 500ms; env SCHEDULER_POLL_INTERVAL).")
    public var pollInterval: String?

    /// `--api-token` / `SCHEDULER_API_TOKEN`.
    @Option(name: .customLong("api-token"),
            help: "Require 'Authorization: Bearer TOKEN' on every endpoint but /healthz and /metrics (env SCHEDULER_API_TOKEN).")
    public var apiToken: String?

    /// `--enable-shell-jobs` / `SCHEDULER_ENABLE_SHELL_JOBS`.
    @Flag(name: .customLong("enable-shell-jobs"), help: "Register the shell job kind (env SCHEDULER_ENABLE_SHELL_JOBS=1).")
    public var enableShellJobs = false

    /// `--shutdown-grace` / `SCHEDULER_SHUTDOWN_GRACE`.
    @Option(name: .customLong("shutdown-grace"),
            help: "How long running jobs may finish on SIGTERM before they are handed back (default 30s; env SCHEDULER_SHUTDOWN_GRACE).")
    public var shutdownGrace: String?

    /// `--history-retention` / `SCHEDULER_HISTORY_RETENTION`.
    @Option(name: .customLong("history-retention"),
            help: "How long run history is kept, e.g. 30d, 12h; 0 keeps it forever (default 30d; env SCHEDULER_HISTORY_RETENTION).")
    public var historyRetention: String?

    /// `--max-concurrent-runs` / `SCHEDULER_MAX_CONCURRENT_RUNS`.
    @Option(name: .customLong("max-concurrent-runs"),
            help: "Runs this worker executes at the same time (default 16; env SCHEDULER_MAX_CONCURRENT_RUNS).")
    public var maxConcurrentRuns: String?

    /// `--log-level` / `SCHEDULER_LOG_LEVEL`.
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info; env SCHEDULER_LOG_LEVEL).")
    public var logLevel: String?

    /// `--tls-ca` / `SCHEDULER_TLS_CA`.
    @Option(name: .customLong("tls-ca"),
            help: "PEM CA bundle that signs the nodes' certificates; turns TLS on (env SCHEDULER_TLS_CA).")
    public var tlsCA: String?

    /// `--tls-cert` / `SCHEDULER_TLS_CERT`.
    @Option(name: .customLong("tls-cert"), help: "PEM client certificate for mutual TLS (env SCHEDULER_TLS_CERT).")
    public var tlsCertificate: String?

    /// `--tls-key` / `SCHEDULER_TLS_KEY`.
    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert (env SCHEDULER_TLS_KEY).")
    public var tlsKey: String?

    /// `--tls-server-name` / `SCHEDULER_TLS_SERVER_NAME`.
    @Option(name: .customLong("tls-server-name"),
            help: "Name the nodes' certificates must carry (default each contact point's host; env SCHEDULER_TLS_SERVER_NAME).")
    public var tlsServerName: String?

    /// `--tls` / `SCHEDULER_TLS`.
    @Flag(name: .customLong("tls"), help: "TLS with the system's trust roots (env SCHEDULER_TLS=1).")
    public var tls = false

    /// `--consistency` / `SCHEDULER_CONSISTENCY`.
    @Option(name: .customLong("consistency"),
            help: "Consistency of reads and writes: LOCAL_QUORUM, QUORUM, EACH_QUORUM, ALL, LOCAL_ONE, ONE, TWO or THREE (default LOCAL_QUORUM; env SCHEDULER_CONSISTENCY).")
    public var consistency: String?

    /// `--serial-consistency` / `SCHEDULER_SERIAL_CONSISTENCY`.
    @Option(name: .customLong("serial-consistency"),
            help: "Serial consistency of locks and claims: LOCAL_SERIAL (exclusive within one data centre) or SERIAL (across data centres) (default LOCAL_SERIAL; env SCHEDULER_SERIAL_CONSISTENCY).")
    public var serialConsistency: String?

    /// `--local-dc` / `SCHEDULER_LOCAL_DC`.
    @Option(name: .customLong("local-dc"),
            help: "The data centre this worker runs in, where LOCAL_* consistencies are met (env SCHEDULER_LOCAL_DC).")
    public var localDC: String?

    /// Options with nothing given.
    public init() {}

    /// Combines the flags with `environment` and the defaults into a configuration.
    public func resolve(environment: [String: String]) throws(ConfigurationError) -> WorkerConfiguration {
        var configuration = WorkerConfiguration()
        func value(_ flag: String?, _ variable: String) -> (text: String, setting: String)? {
            if let flag { return (flag, "--" + Self.flagName(of: variable)) }
            if let text = environment[variable], !text.isEmpty { return (text, variable) }
            return nil
        }
        func flag(_ given: Bool, _ variable: String) throws(ConfigurationError) -> Bool {
            if given { return true }
            guard let text = environment[variable] else { return false }
            guard let parsed = SettingParser.bool(text) else {
                throw ConfigurationError(setting: variable, problem: "must be true or false, got \"\(text)\"")
            }
            return parsed
        }

        if let (text, _) = value(httpHost, "SCHEDULER_HTTP_HOST") { configuration.httpHost = text }
        if let (text, setting) = value(httpPort, "SCHEDULER_HTTP_PORT") {
            guard let port = SettingParser.port(text) else {
                throw ConfigurationError(setting: setting, problem: "must be a port number from 0 to 65535, got \"\(text)\"")
            }
            configuration.httpPort = port
        }
        if let (text, setting) = value(keyspace, "SCHEDULER_KEYSPACE") {
            guard SettingParser.isKeyspaceName(text) else {
                throw ConfigurationError(setting: setting, problem: "must be 1 to 48 letters, digits or underscores, got \"\(text)\"")
            }
            configuration.keyspace = text
        }
        configuration.username = value(username, "SCHEDULER_USERNAME")?.text
        configuration.password = value(password, "SCHEDULER_PASSWORD")?.text
        if (configuration.username == nil) != (configuration.password == nil) {
            throw ConfigurationError(setting: "--username/--password", problem: "give both or neither")
        }

        if let (text, setting) = value(cassandra, "SCHEDULER_CASSANDRA") {
            guard let endpoints = SettingParser.endpoints(text) else {
                throw ConfigurationError(setting: setting, problem: "must be host:port[,host:port...], got \"\(text)\"")
            }
            configuration.database = .cluster(endpoints)
        } else {
            var port = 9042
            if let (text, setting) = value(embeddedPort, "SCHEDULER_EMBEDDED_PORT") {
                guard let parsed = SettingParser.port(text) else {
                    throw ConfigurationError(setting: setting, problem: "must be a port number from 0 to 65535, got \"\(text)\"")
                }
                port = parsed
            }
            let storage: WorkerConfiguration.EmbeddedStorage
            if try flag(inMemory, "SCHEDULER_IN_MEMORY") {
                storage = .inMemory
            } else {
                storage = .directory(value(dataDir, "SCHEDULER_DATA_DIR")?.text ?? WorkerConfiguration.defaultDataDirectory)
            }
            configuration.database = .embedded(port: port, storage: storage)
        }

        if let (text, _) = value(workerID, "SCHEDULER_WORKER_ID") { configuration.workerID = text }
        if let (text, setting) = value(shards, "SCHEDULER_SHARDS") {
            guard let count = Int(text), (1...4096).contains(count) else {
                throw ConfigurationError(setting: setting, problem: "must be a whole number from 1 to 4096, got \"\(text)\"")
            }
            configuration.shards = count
        }
        if let (text, setting) = value(pollInterval, "SCHEDULER_POLL_INTERVAL") {
            guard let interval = SettingParser.duration(text), interval >= .milliseconds(10), interval <= .seconds(3600) else {
                throw ConfigurationError(setting: setting, problem: "must be a duration from 10ms to 1h such as 500ms or 2s, got \"\(text)\"")
            }
            configuration.pollInterval = interval
        }
        if let (text, _) = value(apiToken, "SCHEDULER_API_TOKEN") { configuration.apiToken = text }
        configuration.enableShellJobs = try flag(enableShellJobs, "SCHEDULER_ENABLE_SHELL_JOBS")
        if let (text, setting) = value(shutdownGrace, "SCHEDULER_SHUTDOWN_GRACE") {
            guard let grace = SettingParser.duration(text), grace <= .seconds(86_400) else {
                throw ConfigurationError(setting: setting, problem: "must be a duration up to 24h such as 30s or 2m, got \"\(text)\"")
            }
            configuration.shutdownGrace = grace
        }
        if let (text, setting) = value(historyRetention, "SCHEDULER_HISTORY_RETENTION") {
            // Cassandra's largest TTL is 20 years (7300 days).
            guard let retention = SettingParser.duration(text), retention >= .zero,
                  retention <= .seconds(630_720_000) else {
                throw ConfigurationError(setting: setting, problem: "must be a duration up to 7300d such as 30d or 12h, or 0 to keep history forever, got \"\(text)\"")
            }
            configuration.historyRetention = retention
        }
        if let (text, setting) = value(maxConcurrentRuns, "SCHEDULER_MAX_CONCURRENT_RUNS") {
            guard let count = Int(text), (1...10_000).contains(count) else {
                throw ConfigurationError(setting: setting, problem: "must be a whole number from 1 to 10000, got \"\(text)\"")
            }
            configuration.maxConcurrentRuns = count
        }
        let tlsCA = value(tlsCA, "SCHEDULER_TLS_CA")?.text
        let tlsCertificate = value(tlsCertificate, "SCHEDULER_TLS_CERT")?.text
        let tlsKey = value(tlsKey, "SCHEDULER_TLS_KEY")?.text
        let tlsServerName = value(tlsServerName, "SCHEDULER_TLS_SERVER_NAME")?.text
        do {
            configuration.tls = try CQLTLSConfiguration.fromOptions(
                caFile: tlsCA, certificateFile: tlsCertificate, keyFile: tlsKey, serverName: tlsServerName,
                enabled: try flag(tls, "SCHEDULER_TLS"))
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(setting: "--tls-*", problem: Self.problem(of: error))
        }
        if configuration.tls != nil, case .embedded = configuration.database {
            throw ConfigurationError(setting: "--tls-*", problem: "TLS is for a cluster (--cassandra); the embedded node is plain TCP")
        }
        if let (text, setting) = value(logLevel, "SCHEDULER_LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw ConfigurationError(
                    setting: setting,
                    problem: "must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
            }
            configuration.logLevel = level
        }
        if let (text, setting) = value(consistency, "SCHEDULER_CONSISTENCY") {
            let allowed: [Consistency] = [.localQuorum, .quorum, .eachQuorum, .all, .localOne, .one, .two, .three]
            guard let level = Consistency(name: text), allowed.contains(level) else {
                throw ConfigurationError(setting: setting,
                                         problem: "must be one of \(allowed.map(\.description).joined(separator: ", ")), got \"\(text)\"")
            }
            configuration.consistency = level
        }
        if let (text, setting) = value(serialConsistency, "SCHEDULER_SERIAL_CONSISTENCY") {
            guard let level = Consistency(name: text), level.isSerial else {
                throw ConfigurationError(setting: setting, problem: "must be LOCAL_SERIAL or SERIAL, got \"\(text)\"")
            }
            configuration.serialConsistency = level
        }
        if let (text, setting) = value(localDC, "SCHEDULER_LOCAL_DC") {
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty, text.utf8.count <= 256 else {
                throw ConfigurationError(setting: setting, problem: "must be a data centre name such as datacenter1, got \"\(text)\"")
            }
            configuration.localDatacenter = text
        }
        return configuration
    }

    /// The text of a TLS configuration error without its "invalid configuration" prefix.
    private static func problem(of error: any Error) -> String {
        if case let CQLError.invalidConfiguration(detail) = error { return detail }
        return "\(error)"
    }

    /// `SCHEDULER_HTTP_PORT` → `http-port`, so errors name the flag the user typed.
    private static func flagName(of variable: String) -> String {
        variable.dropFirst("SCHEDULER_".count).lowercased().replacingOccurrences(of: "_", with: "-")
    }
}
