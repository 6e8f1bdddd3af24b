public import CQLWire
import Foundation
public import Logging

/// Everything a worker needs to start, resolved from flags, `SCHEDULER_*` environment
/// variables and defaults (in that order of precedence).
public struct WorkerConfiguration: Sendable, Hashable {
    /// Where the embedded node keeps its data, or that it keeps everything in memory.
    public enum EmbeddedStorage: Sendable, Hashable {
        /// Commit log and snapshots under this directory (created when missing).
        case directory(String)
        /// Nothing on disk (tests, throwaway runs).
        case inMemory
    }

    /// Which CQL cluster the worker talks to.
    public enum Database: Sendable, Hashable {
        /// An in-process embedded node on 127.0.0.1 and `port` (0 picks a free one); the worker applies the schema.
        case embedded(port: Int, storage: EmbeddedStorage)
        /// A real cluster reached through these contact points; the schema must already be applied.
        case cluster([CQLEndpoint])
    }

    /// The HTTP listen address.
    public var httpHost: String
    /// The HTTP port; 0 picks a free one (logged).
    public var httpPort: Int
    /// The database the worker uses.
    public var database: Database
    /// The scheduler keyspace.
    public var keyspace: String
    /// PasswordAuthenticator user name (cluster, or the embedded node when given).
    public var username: String?
    /// PasswordAuthenticator password.
    public var password: String?
    /// This worker's identity in shard leases and run records.
    public var workerID: String
    /// How many queue shards jobs are spread over (must match every worker of a cluster).
    public var shards: Int
    /// How often owned shards are polled for due runs.
    public var pollInterval: Duration
    /// The bearer token every endpoint but `/healthz` and `/metrics` requires; nil requires none.
    public var apiToken: String?
    /// Whether the `shell` job kind is registered (runs commands from payloads).
    public var enableShellJobs: Bool
    /// How long running jobs may take to finish on shutdown before they are handed back.
    public var shutdownGrace: Duration
    /// The log level of the worker's own logger.
    public var logLevel: Logger.Level
    /// How many runs the worker executes at the same time.
    public var maxConcurrentRuns = 16
    /// TLS to the cluster's nodes; nil for plain TCP (and always for the embedded node).
    public var tls: CQLTLSConfiguration?
    /// Consistency of the scheduler's reads and writes.
    public var consistency: Consistency = .localQuorum
    /// Serial consistency of its lightweight transactions: LOCAL_SERIAL locks are exclusive within
    /// one data centre only; SERIAL when workers in several data centres share the keyspace.
    public var serialConsistency: Consistency = .localSerial
    /// The data centre this worker runs in (LOCAL_* levels are met there); nil when the keyspace has one.
    public var localDatacenter: String?
    /// How long run history rows are kept (written `USING TTL`); zero keeps them forever.
    public var historyRetention: Duration = .seconds(30 * 86_400)

    /// The default data directory of the embedded node, relative to the working directory.
    public static let defaultDataDirectory = "./.scheduler-data"
    /// The default keyspace.
    public static let defaultKeyspace = "scheduler"

    /// A configuration; the defaults are what `worker` alone runs with.
    public init(
        httpHost: String = "127.0.0.1", httpPort: Int = 8080,
        database: Database = .embedded(port: 9042, storage: .directory(WorkerConfiguration.defaultDataDirectory)),
        keyspace: String = WorkerConfiguration.defaultKeyspace, username: String? = nil, password: String? = nil,
        workerID: String = WorkerConfiguration.defaultWorkerID(), shards: Int = 16,
        pollInterval: Duration = .milliseconds(500), apiToken: String? = nil, enableShellJobs: Bool = false,
        shutdownGrace: Duration = .seconds(30), logLevel: Logger.Level = .info
    ) {
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.database = database
        self.keyspace = keyspace
        self.username = username
        self.password = password
        self.workerID = workerID
        self.shards = shards
        self.pollInterval = pollInterval
        self.apiToken = apiToken
        self.enableShellJobs = enableShellJobs
        self.shutdownGrace = shutdownGrace
        self.logLevel = logLevel
    }

    /// `hostname-pid`: unique per process on a machine and readable in lease rows.
    public static func defaultWorkerID() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// The credentials to present, when both halves are configured.
    public var credentials: CQLConnection.Credentials? {
        guard let username, let password else { return nil }
        return CQLConnection.Credentials(username: username, password: password)
    }
}

/// A configuration value that cannot be used: which setting and why.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The flag at fault (e.g. `--http-port`), with its environment variable when it came from there.
    public let setting: String
    /// What is wrong with it.
    public let problem: String

    /// Creates an error.
    public init(setting: String, problem: String) {
        self.setting = setting
        self.problem = problem
    }

    /// `setting: problem`.
    public var description: String { "\(setting): \(problem)" }
}

/// Parsers for the textual forms of settings shared by flags and environment variables.
public enum SettingParser {
    /// Parses `500ms`, `30s`, `2m`, `1h`, or a bare number of seconds.
    public static func duration(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(suffix: String, perUnit: Int64, isMilliseconds: Bool)] = [
            ("ms", 1, true), ("s", 1, false), ("m", 60, false), ("h", 3600, false), ("d", 86_400, false),
        ]
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            let digits = trimmed.dropLast(unit.suffix.count)
            guard let count = wholeNumber(digits) else { return nil }
            let (total, overflow) = count.multipliedReportingOverflow(by: unit.perUnit)
            guard !overflow else { return nil }
            return unit.isMilliseconds ? .milliseconds(total) : .seconds(total)
        }
        return wholeNumber(Substring(trimmed)).map { .seconds($0) }
    }

    /// Parses `host:port,host:port,...`; a missing port means 9042; IPv6 literals go in brackets.
    public static func endpoints(_ text: String) -> [CQLEndpoint]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !parts.isEmpty, !parts.contains(where: \.isEmpty) else { return nil }
        var result: [CQLEndpoint] = []
        for part in parts {
            guard let endpoint = endpoint(part) else { return nil }
            result.append(endpoint)
        }
        return result
    }

    /// Whether `text` is a port number (0 to 65535).
    public static func port(_ text: String) -> Int? {
        guard let value = wholeNumber(Substring(text)), (0...65_535).contains(value) else { return nil }
        return Int(value)
    }

    /// Whether `name` can be used unquoted as a CQL keyspace name (Cassandra allows 1 to 48 of `[A-Za-z0-9_]`).
    public static func isKeyspaceName(_ name: String) -> Bool {
        (1...48).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
        }
    }

    /// Parses `true/false/1/0/yes/no/on/off` (environment flags).
    public static func bool(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off", "": return false
        default: return nil
        }
    }

    private static func endpoint(_ text: String) -> CQLEndpoint? {
        let host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
        } else {
            let pieces = text.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { return nil }
            host = pieces[0]
            portText = pieces.count == 2 ? pieces[1] : nil
        }
        guard !host.isEmpty else { return nil }
        var port = 9042
        if let portText {
            guard let parsed = Self.port(String(portText)), parsed > 0 else { return nil }
            port = parsed
        }
        return CQLEndpoint(host: String(host), port: port)
    }

    private static func wholeNumber(_ text: Substring) -> Int64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(text)
    }
}

extension WorkerConfiguration.Database: CustomStringConvertible {
    /// `embedded 127.0.0.1:9042 (data ./.scheduler-data)` or `cluster h1:9042,h2:9042`, for the start-up log line.
    public var description: String {
        switch self {
        case let .embedded(port, .directory(path)): return "embedded 127.0.0.1:\(port) (data \(path))"
        case let .embedded(port, .inMemory): return "embedded 127.0.0.1:\(port) (in memory)"
        case let .cluster(endpoints): return "cluster " + endpoints.map(\.description).joined(separator: ",")
        }
    }
}
