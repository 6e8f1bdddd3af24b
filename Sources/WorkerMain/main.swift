import ArgumentParser
import Logging
import WorkerServer

// Logs go to standard error so standard output carries only the listener lines scripts parse.
LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }

// Parsed and run by hand: from top-level code `WorkerCommand.main()` resolves to the synchronous
// entry point, which refuses asynchronous commands.
do {
    let arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "schema" {
        // `worker schema apply|print`: parsed on its own, so the worker's options do not claim its flags.
        var command = try SchemaCommand.parseAsRoot(Array(arguments.dropFirst()))
        // Dispatched by type: through an existential, `run()` resolves to the synchronous requirement.
        switch command {
        case let apply as SchemaCommand.Apply: try await apply.run()
        case let print as SchemaCommand.Print: try await print.run()
        default: try command.run()  // the group itself: prints its help
        }
    } else {
        let command = try WorkerCommand.parse(arguments)
        try await command.run()
    }
} catch {
    if CommandLine.arguments.dropFirst().first == "schema" { SchemaCommand.exit(withError: error) }
    WorkerCommand.exit(withError: error)
}
