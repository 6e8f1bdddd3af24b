import ArgumentParser
import CQLToolOptions
import CQLWire
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `cqlprobe`: a cqlsh-like shell on CQLWire alone.
@main
struct CQLProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cqlprobe",
        abstract: "A cqlsh-like CQL shell on the CQLWire client (native protocol v4).",
        discussion: """
            Statements end with ';' (outside strings and comments); BEGIN BATCH ... APPLY BATCH stays whole. \
            Shell commands: CONSISTENCY [LEVEL], SERIAL CONSISTENCY [LEVEL], TRACING ON|OFF, PAGING ON|OFF|N, \
            DESCRIBE/DESC (run on the node; built from system_schema before Cassandra 4.0), USE, HISTORY [N], HELP, EXIT/QUIT. Results print as cqlsh prints them.

            The prompt reads plain lines from standard input: there is no arrow-key editing or completion \
            (no readline dependency). Statements typed at the prompt are kept in memory (HISTORY) and appended \
            to ~/.cqlprobe_history.

            Exit status: 0, or 2 when a statement given with -e/-f (or piped on standard input) failed, or \
            when the node cannot be reached.
            """
    )

    @Argument(help: "The node's address.")
    var host = "127.0.0.1"

    @Argument(help: "The node's native-protocol port.")
    var port = 9042

    @Option(name: [.short, .customLong("execute")], help: "Run STATEMENT(s) and exit.")
    var execute: String?

    @Option(name: [.short, .customLong("file")], help: "Run the statements of a CQL file and exit.")
    var file: String?

    @Option(name: [.short, .customLong("keyspace")], help: "The keyspace to start in.")
    var keyspace: String?

    @Option(name: [.short, .customLong("username")], help: "PasswordAuthenticator user.")
    var username: String?

    @Option(name: [.short, .customLong("password")], help: "PasswordAuthenticator password.")
    var password: String?

    @Option(help: "The starting consistency level (default ONE, as cqlsh).")
    var consistency = "ONE"

    @Option(name: .customLong("request-timeout"), help: "Seconds a statement may take.")
    var requestTimeout = 10

    @Option(name: .customLong("connect-timeout"), help: "Seconds connecting may take.")
    var connectTimeout = 5

    @Flag(name: .customLong("no-history"), help: "Do not read or write ~/.cqlprobe_history.")
    var noHistory = false

    @OptionGroup(title: "TLS")
    var tls: TLSOptions

    @Flag(name: .customLong("client-describe"),
          help: ArgumentHelp("Build DESCRIBE from system_schema even on Cassandra 4.0 and later.", visibility: .hidden))
    var clientDescribe = false

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("the port must be between 1 and 65535") }
        guard Consistency(name: consistency) != nil else { throw ValidationError("unknown consistency level \(consistency)") }
        if (username == nil) != (password == nil) { throw ValidationError("-u and -p go together") }
        guard requestTimeout > 0, connectTimeout > 0 else { throw ValidationError("timeouts must be positive") }
    }

    func run() async throws {
        let terminal = Terminal()
        let level = Consistency(name: consistency) ?? .one
        let credentials = username.flatMap { user in password.map { CQLConnection.Credentials(username: user, password: $0) } }
        let session: CQLSession
        do {
            var configuration = CQLSession.Configuration(
                contactPoints: [CQLEndpoint(host: host, port: port)], keyspace: keyspace, credentials: credentials,
                compression: [], connectTimeout: .seconds(connectTimeout), requestTimeout: .seconds(requestTimeout),
                consistency: level, pageSize: 100, connectionsPerNode: 1, discoverNodes: false,
                loadBalancing: .roundRobin, retryPolicy: DefaultRetryPolicy(maxRetries: 0))
            configuration.tls = try tls.configuration()
            session = try await CQLSession.connect(configuration)
        } catch {
            let endpoint = CQLEndpoint(host: host, port: port)
            if let reason = Self.unreachableReason(error, endpoint: endpoint) {
                terminal.error("cqlprobe: cannot connect to \(endpoint): \(reason)")
            } else {
                terminal.error("Connection error: Unable to connect to \(endpoint): " + ResultFormatting.errorText(error))
            }
            throw ExitCode(2)
        }
        defer { session.close() }

        let scripted = execute != nil || file != nil
        let stdinIsTTY = isatty(STDIN_FILENO) == 1
        let interactive = !scripted && stdinIsTTY
        let historyFile: String? = (scripted || noHistory) ? nil
            : ProcessInfo.processInfo.environment["HOME"].map { $0 + "/.cqlprobe_history" }
        let shell = Shell(session: session, terminal: terminal,
                          sourceName: file ?? "<stdin>", showLineNumbers: !interactive, interactive: interactive,
                          consistency: level, historyFile: historyFile)
        if clientDescribe { shell.clientDescribe = true }

        if let execute {
            await shell.run(CQLScript.statements(in: execute, lineCommands: CQLScript.shellCommands))
        } else if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                terminal.error("Could not open '\(file)'")
                throw ExitCode(2)
            }
            await shell.run(CQLScript.statements(in: text, lineCommands: CQLScript.shellCommands))
        } else {
            await prompt(shell: shell, terminal: terminal, interactive: interactive)
        }
        terminal.flush()
        if shell.failed && !interactive { throw ExitCode(2) }
    }

    /// Why `endpoint` could not be reached (refused, timed out, unknown host), once, without the
    /// endpoint the session's errors repeat; nil for other failures (authentication, protocol).
    static func unreachableReason(_ error: any Error, endpoint: CQLEndpoint) -> String? {
        guard let error = error as? CQLError else { return nil }
        switch error {
        case let .connectionFailed(_, reason), let .connectionClosed(_, reason):
            return reason
        case let .requestTimedOut(_, timeout):
            return "timed out after \(timeout)"
        case let .noHostAvailable(errors):
            guard var reason = errors.first else { return "no host available" }
            // Each layer names the endpoint again ("HOST:PORT: cannot connect to HOST:PORT: refused").
            while let prefix = ["\(endpoint): ", "cannot connect to \(endpoint): "].first(where: { reason.hasPrefix($0) }) {
                reason.removeFirst(prefix.count)
            }
            return reason
        default:
            return nil
        }
    }

    /// The read-eval-print loop over standard input.
    private func prompt(shell: Shell, terminal: Terminal, interactive: Bool) async {
        if interactive {
            terminal.line("Connected to \(host):\(port) with cqlprobe (CQLWire, native protocol v4).")
            terminal.line("Use HELP for help.")
        }
        var splitter = CQLScript.shellInput()
        var number = 0
        var typed: [String] = []
        while !shell.exitRequested {
            if interactive {
                terminal.write(shell.prompt(continuing: splitter.isPending))
                terminal.flush()
            }
            guard let line = await readInputLine() else {
                if let tail = splitter.finish(line: number) { await shell.run(tail) }
                if interactive { terminal.line() }
                break
            }
            number += 1
            typed.append(line)
            let statements = splitter.feed(line: line, number: number)
            if !splitter.isPending {
                let entry = typed.joined(separator: " ").trimmingCharacters(in: .whitespaces)
                if !entry.isEmpty { shell.remember(entry) }
                typed = []
            }
            for statement in statements {
                await shell.run(statement)
                if shell.exitRequested { break }
            }
        }
        terminal.flush()
    }
}
