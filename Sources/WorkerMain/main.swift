import ArgumentParser
import Logging
import WorkerServer

// Logs go to standard error so standard output carries only the listener lines scripts parse.
LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }

// Parsed and run by hand: from top-level code `WorkerCommand.main()` resolves to the synchronous
// entry point, which refuses asynchronous commands.
do {
    let command = try WorkerCommand.parse(Array(CommandLine.arguments.dropFirst()))
    try await command.run()
} catch {
    WorkerCommand.exit(withError: error)
}
