import ArgumentParser
import CQLNode
import Dispatch
import Foundation
import Logging

/// `cqlnode`: the embedded single-node CQL server, standalone.
@main
struct CQLNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cqlnode",
        abstract: "A single-node CQL server speaking the Cassandra native protocol v4 (presents itself as Cassandra 4.1).",
        discussion: """
            Prints one line `cqlnode listening on HOST:PORT` once it accepts connections, and stops cleanly on \
            SIGTERM or SIGINT (exit status 0). With --tls-cert and --tls-key the port serves TLS only (Cassandra's \
            client_encryption_options); --tls-client-ca also requires client certificates.
            """
    )

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one; the chosen port is printed).")
    var port = 9042

    @Option(name: .customLong("data-dir"), help: "Where the commit log and snapshots live.")
    var dataDirectory = ".cqlnode-data"

    @Flag(name: .customLong("in-memory"), help: "Keep everything in memory (nothing survives a restart).")
    var inMemory = false

    @Option(help: "Require PasswordAuthenticator credentials, written USER:PASS.")
    var auth: String?

    @Option(name: .customLong("lwt-audit-log"),
            help: "Testing aid: append one JSON line per applied conditional write (LWT) to FILE, in commit order.")
    var lwtAuditLog: String?

    @Option(name: .customLong("tls-cert"), help: "Serve TLS only, with this PEM certificate chain (needs --tls-key).")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(name: .customLong("tls-client-ca"),
            help: "Require client certificates signed by a CA of this PEM file (mutual TLS; needs --tls-cert).")
    var tlsClientCA: String?

    func validate() throws {
        if (tlsCertificate == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if tlsClientCA != nil, tlsCertificate == nil { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key") }
        if let auth, !auth.contains(":") { throw ValidationError("--auth takes USER:PASS") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    }

    func run() async throws {
        var logger = Logger(label: "cqlnode")
        logger.logLevel = .info
        let credentials = auth.flatMap { text -> (username: String, password: String)? in
            guard let colon = text.firstIndex(of: ":") else { return nil }
            return (String(text[..<colon]), String(text[text.index(after: colon)...]))
        }
        var configuration = EmbeddedNode.Configuration(
            host: host, port: port, dataDirectory: inMemory ? nil : dataDirectory, credentials: credentials, logger: logger)
        configuration.lwtAuditLogPath = lwtAuditLog
        if let tlsCertificate, let tlsKey {
            configuration.tls = CQLServerTLSConfiguration(certificateChainFile: tlsCertificate, privateKeyFile: tlsKey,
                                                          clientCAFile: tlsClientCA)
        }
        let node = try await EmbeddedNode.start(configuration)
        // Written unbuffered: tests and scripts wait for this line on a pipe.
        FileHandle.standardOutput.write(Data("cqlnode listening on \(node.host):\(node.port)\n".utf8))
        let signal = await Self.waitForTermination()
        logger.info("stopping", metadata: ["signal": "\(signal)"])
        try await node.shutdown()
    }

    /// Suspends until SIGTERM or SIGINT arrives; returns the signal's number.
    static func waitForTermination() async -> Int32 {
        let stream = AsyncStream<Int32> { continuation in
            let queue = DispatchQueue(label: "cqlnode.signals")
            var sources: [any DispatchSourceSignal] = []
            for number in [SIGTERM, SIGINT] {
                // The default action would kill the process before the handler could run.
                Foundation.signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { continuation.yield(number) }
                source.resume()
                sources.append(source)
            }
            let retained = SignalSources(sources)
            continuation.onTermination = { _ in retained.cancel() }
        }
        for await signal in stream { return signal }
        return SIGTERM
    }
}

/// Keeps the signal sources alive until the stream that reports them ends.
final class SignalSources: @unchecked Sendable {
    // Safe: the sources are only touched again by `cancel`, once, when the stream terminates.
    private let sources: [any DispatchSourceSignal]

    init(_ sources: [any DispatchSourceSignal]) { self.sources = sources }

    func cancel() { for source in sources { source.cancel() } }
}
