public import ArgumentParser
import CQLWire
import Foundation
import Logging
import Scheduler

/// `worker schema`: applies or prints infra/schema.cql (embedded in the binary), the one
/// implementation scripts/init_schema.sh and the embedded node share.
public struct SchemaCommand: ParsableCommand {
    /// The command's name, help and subcommands.
    public static let configuration = CommandConfiguration(
        commandName: "worker schema",
        abstract: "Apply infra/schema.cql to a cluster, or print it (scripts/init_schema.sh runs this).",
        subcommands: [Apply.self, Print.self])

    /// An empty command (ArgumentParser fills it in).
    public init() {}

    /// The keyspace and replication both subcommands take.
    public struct SchemaOptions: ParsableArguments, Sendable {
        /// `--cluster`.
        @Flag(name: .customLong("cluster"), help: "NetworkTopologyStrategy, RF 3 in datacenter1 unless --dc says otherwise.")
        public var cluster = false

        /// `--dc NAME:RF`, repeatable.
        @Option(name: .customLong("dc"), help: "A data centre and its replication factor, e.g. dc1:3 (repeatable; implies --cluster).")
        public var dataCenters: [String] = []

        /// An empty set of options.
        public init() {}

        /// The replication the options ask for.
        func replication() throws(ConfigurationError) -> SchedulerSchema.Replication {
            guard !dataCenters.isEmpty else { return cluster ? .clusterDefault : .embedded }
            var factors: [String: Int] = [:]
            for text in dataCenters {
                let parts = text.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 2, let name = parts.first, let factor = Int(parts[1]), (1...99).contains(factor),
                      !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) else {
                    throw ConfigurationError(setting: "--dc", problem: "must be NAME:RF such as dc1:3, got \"\(text)\"")
                }
                guard factors[String(name)] == nil else {
                    throw ConfigurationError(setting: "--dc", problem: "data centre \(name) given twice")
                }
                factors[String(name)] = factor
            }
            return .networkTopology(factors)
        }
    }

    /// `worker schema apply`: connects and applies the schema (or, with `--dry-run`, prints what it would send).
    public struct Apply: AsyncParsableCommand {
        /// The command's name and help.
        public static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Create the keyspace and apply the migrations not yet recorded, waiting for schema agreement after each change.",
            discussion: """
                Connects to --cassandra (required), retrying for up to --wait seconds. Prints each statement sent on \
                standard error and `schema applied to keyspace K (REPLICATION) on HOSTS` on standard output.
                """)

        /// Keyspace replication.
        @OptionGroup public var schema: SchemaOptions
        /// Connection settings, as the worker takes them (`--cassandra`, `--keyspace`, credentials).
        @OptionGroup public var options: WorkerOptions

        /// `--dry-run`.
        @Flag(name: .customLong("dry-run"), help: "Read the cluster's schema and print the statements that would be sent; change nothing.")
        public var dryRun = false

        /// `--wait`.
        @Option(name: .customLong("wait"), help: "Seconds to keep trying to connect (default 0: one try).")
        public var wait: Int = 0

        /// An empty command.
        public init() {}

        /// Applies the schema.
        public func run() async throws {
            let configuration: WorkerConfiguration
            let replication: SchedulerSchema.Replication
            do {
                configuration = try options.resolve(environment: ProcessInfo.processInfo.environment)
                replication = try schema.replication()
            } catch {
                throw ValidationError(error.description)
            }
            guard case let .cluster(endpoints) = configuration.database else {
                throw ValidationError("--cassandra: give the cluster's contact points (host:port,...)")
            }
            guard (0...86_400).contains(wait) else { throw ValidationError("--wait: must be 0 to 86400 seconds, got \(wait)") }
            var logger = Logger(label: "worker-schema")
            logger.logLevel = configuration.logLevel
            do {
                let session = try await Self.connect(configuration.sessionConfiguration(contactPoints: endpoints, logger: logger),
                                                     waiting: .seconds(wait))
                defer { session.close() }
                let dryRun = self.dryRun
                try await SchedulerSchema.apply(session: session, keyspace: configuration.keyspace, replication: replication,
                                                dryRun: dryRun) { statement in
                    if dryRun {
                        WorkerService.printLine(statement + ";")
                    } else {
                        // One line per statement in the log: whitespace runs (a table's layout) collapsed.
                        Self.printError("== " + statement.split(whereSeparator: \.isWhitespace).joined(separator: " "))
                    }
                }
                if !dryRun {
                    try await SchedulerSchema.verifySchema(session: session, keyspace: configuration.keyspace)
                    WorkerService.printLine("schema applied to keyspace \(configuration.keyspace) (\(replication)) on "
                        + endpoints.map(\.description).joined(separator: ","))
                }
            } catch {
                Self.printError("worker schema: \(error)")
                throw ExitCode(1)
            }
        }

        /// A session, trying again every 2 s until `waiting` has passed.
        static func connect(_ configuration: CQLSession.Configuration, waiting: Duration) async throws -> CQLSession {
            let clock = ContinuousClock()
            let end = clock.now + waiting
            while true {
                do {
                    return try await CQLSession.connect(configuration)
                } catch let error as CQLError {
                    guard case .noHostAvailable = error, clock.now < end else {
                        let hosts = configuration.contactPoints.map(\.description).joined(separator: ",")
                        throw CQLError.noHostAvailable(errors: ["no CQL answer from \(hosts) within \(waiting): \(error)"])
                    }
                    try await Task.sleep(for: .seconds(2))
                }
            }
        }

        static func printError(_ line: String) {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// `worker schema print`: the statements of the schema for a keyspace and replication, without connecting.
    public struct Print: AsyncParsableCommand {
        /// The command's name and help.
        public static let configuration = CommandConfiguration(
            commandName: "print", abstract: "Print every statement of the schema (as a fresh keyspace gets it); no connection.")

        /// Keyspace replication.
        @OptionGroup public var schema: SchemaOptions

        /// `--keyspace`.
        @Option(name: .customLong("keyspace"), help: "Scheduler keyspace (default scheduler; env SCHEDULER_KEYSPACE).")
        public var keyspace: String?

        /// An empty command.
        public init() {}

        /// Prints the statements.
        public func run() async throws {
            let replication: SchedulerSchema.Replication
            do {
                replication = try schema.replication()
            } catch {
                throw ValidationError(error.description)
            }
            let name = keyspace ?? ProcessInfo.processInfo.environment["SCHEDULER_KEYSPACE"] ?? WorkerConfiguration.defaultKeyspace
            guard SettingParser.isKeyspaceName(name) else {
                throw ValidationError("--keyspace: must be 1 to 48 letters, digits or underscores, got \"\(name)\"")
            }
            for statement in SchedulerSchema.statements(keyspace: name, replication: replication) {
                WorkerService.printLine(statement + ";")
            }
        }
    }
}
