public import ArgumentParser
import Foundation
import Logging

/// The `worker` command: parses flags and `SCHEDULER_*` variables and runs ``WorkerService``.
public struct WorkerCommand: AsyncParsableCommand {
    /// The command's name, help and discussion.
    public static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Job scheduler worker: REST API, Prometheus metrics and the background runner, on Cassandra or an embedded CQL node.",
        discussion: """
            Without --cassandra the worker starts an embedded CQL node in-process (data under ./.scheduler-data, CQL on \
            127.0.0.1:9042) and applies the schema. With --cassandra it uses that cluster, whose schema must have been \
            applied once with scripts/init_schema.sh. Every option can also be given as a SCHEDULER_* environment \
            variable; a flag wins. The worker prints one line per listener, `embedded CQL node on HOST:PORT` and \
            `worker listening on http://HOST:PORT`, and stops gracefully on SIGTERM or SIGINT (exit status 0).             `worker schema apply` applies the schema to a cluster (scripts/init_schema.sh runs it).
            """)

    /// The options.
    @OptionGroup public var options: WorkerOptions

    /// An empty command (ArgumentParser fills it in).
    public init() {}

    /// Resolves the configuration, then runs the worker until it is told to stop.
    public func run() async throws {
        let configuration: WorkerConfiguration
        do {
            configuration = try options.resolve(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.description)
        }
        var logger = Logger(label: "worker")
        logger.logLevel = configuration.logLevel
        logger.info("starting worker", metadata: [
            "worker_id": "\(configuration.workerID)", "keyspace": "\(configuration.keyspace)",
            "shards": "\(configuration.shards)", "database": "\(configuration.database)",
        ])
        do {
            try await WorkerService.run(configuration: configuration, logger: logger)
        } catch {
            logger.critical("worker failed", metadata: ["error": "\(error)"])
            FileHandle.standardError.write(Data("worker: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
