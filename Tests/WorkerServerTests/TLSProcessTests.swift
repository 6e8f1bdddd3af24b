import CQLWire
import Foundation
import Scheduler
import TestSupport
import Testing

/// Every tool over TLS to a standalone `cqlnode` process serving TLS only, with certificates the
/// test makes with `openssl`: `cqlprobe`, `cqlbench` and `worker` take the same `--tls-*` flags.
@Suite("Tools over TLS to a cqlnode process", .serialized)
struct TLSProcessTests {
    /// Starts `cqlnode` serving TLS (requiring client certificates when `clientCA` is set), runs
    /// `body` with its port, then stops it with SIGTERM; killed when something fails first.
    /// The node serves the CA's `localhost`/`127.0.0.1` certificate unless `wrongHost`.
    static func withTLSNode(clientCA: String? = nil, wrongHost: Bool = false,
                            _ body: (Int, TestCertificates, ScratchDirectory) async throws -> Void) async throws {
        let certificates = try await TestCertificates.shared()
        let directory = try ScratchDirectory(prefix: "worker-test")
        var arguments = ["--port", "0", "--in-memory",
                         "--tls-cert", wrongHost ? certificates.wrongHostCertificate : certificates.serverCertificate,
                         "--tls-key", wrongHost ? certificates.wrongHostKey : certificates.serverKey]
        if let clientCA { arguments += ["--tls-client-ca", clientCA] }
        let node = try await ChildProcess.start("cqlnode", arguments, log: directory.path + "/cqlnode.log")
        defer { node.kill() }
        let address = try await node.waitForLine(prefix: "cqlnode listening on ")
        let port = try #require(address.split(separator: ":").last.flatMap { Int($0) }, "no port in '\(address)'")
        try await body(port, certificates, directory)
        let status = try await node.terminate(timeout: .seconds(60))
        #expect(status == 0, "cqlnode exited \(status); output:\n\(node.output)")
    }

    /// Runs a tool to completion and returns its exit status and output.
    static func run(_ name: String, _ arguments: [String], in directory: ScratchDirectory,
                    timeout: Duration = .seconds(120)) async throws -> (status: Int32, output: String) {
        let tool = try await ChildProcess.start(name, arguments, log: directory.path + "/\(name)-\(UUID().uuidString).log")
        defer { tool.kill() }
        let status = try await tool.waitForExit(timeout: timeout)
        return (status, tool.output)
    }

    /// Runs `cqlprobe -e 'SELECT key FROM system.local'` with `tlsArguments` and expects its exit
    /// status and a text in its output.
    static func expectProbe(port: Int, _ tlsArguments: [String], exits status: Int32, saying text: String,
                            in directory: ScratchDirectory, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let probe = try await run("cqlprobe", ["127.0.0.1", "\(port)"] + tlsArguments + ["-e", "SELECT key FROM system.local"],
                                  in: directory, timeout: .seconds(60))
        #expect(probe.status == status, "\(probe.output)", sourceLocation: sourceLocation)
        #expect(probe.output.contains(text), "\(probe.output)", sourceLocation: sourceLocation)
    }

    @Test("cqlprobe --tls-ca runs statements; a certificate from another CA, or no TLS, is refused")
    func cqlprobe() async throws {
        try await Self.withTLSNode { port, certificates, directory in
            let probe = try await Self.run("cqlprobe", [
                "127.0.0.1", "\(port)", "--tls-ca", certificates.caFile,
                "-e", "CREATE KEYSPACE p WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}; "
                    + "CREATE TABLE p.t (k int PRIMARY KEY, v text); INSERT INTO p.t (k, v) VALUES (1, 'over tls'); "
                    + "SELECT v FROM p.t WHERE k = 1",
            ], in: directory)
            #expect(probe.status == 0, "\(probe.output)")
            #expect(probe.output.contains("over tls"), "\(probe.output)")
            #expect(probe.output.contains("(1 rows)"), "\(probe.output)")

            try await Self.expectProbe(port: port, ["--tls-ca", certificates.otherCAFile], exits: 2,
                                       saying: "not signed by a trusted CA", in: directory)
            try await Self.expectProbe(port: port, [], exits: 2, saying: "--tls-ca", in: directory)
        }
    }

    @Test("cqlprobe refuses a certificate for another host name, and accepts it with --tls-server-name NAME")
    func serverName() async throws {
        try await Self.withTLSNode(wrongHost: true) { port, certificates, directory in
            try await Self.expectProbe(port: port, ["--tls-ca", certificates.caFile], exits: 2,
                                       saying: "does not name 127.0.0.1", in: directory)
            try await Self.expectProbe(port: port, ["--tls-ca", certificates.caFile, "--tls-server-name", certificates.wrongHostName],
                                       exits: 0, saying: "local", in: directory)
        }
    }

    @Test("cqlprobe with --tls-cert/--tls-key passes a node requiring client certificates; without them it is refused")
    func mutualTLS() async throws {
        let certificates = try await TestCertificates.shared()
        try await Self.withTLSNode(clientCA: certificates.caFile) { port, certificates, directory in
            try await Self.expectProbe(port: port, ["--tls-ca", certificates.caFile, "--tls-cert", certificates.clientCertificate,
                                                    "--tls-key", certificates.clientKey],
                                       exits: 0, saying: "local", in: directory)
            try await Self.expectProbe(port: port, ["--tls-ca", certificates.caFile], exits: 2,
                                       saying: "requires a client certificate", in: directory)
        }
    }

    @Test("cqlbench runs 2 s over TLS without errors")
    func cqlbench() async throws {
        try await Self.withTLSNode { port, certificates, directory in
            let bench = try await Self.run("cqlbench", [
                "--port", "\(port)", "--tls-ca", certificates.caFile, "--workload", "mixed", "--duration", "2",
                "--warmup", "0.5", "--concurrency", "16", "--rows", "200", "--json",
            ], in: directory)
            #expect(bench.status == 0, "\(bench.output)")
            let line = try #require(bench.output.split(separator: "\n").last { $0.hasPrefix("{") }, "\(bench.output)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((report["ops"] as? Int ?? 0) > 0, "\(line)")
            #expect((report["errors"] as? Int) == 0, "\(line)")
            #expect((report["client"] as? String)?.contains("tls") == true, "\(line)")

            let executor = try await Self.run("cqlbench", [
                "--port", "\(port)", "--tls-ca", certificates.caFile, "--executor", "io", "--duration", "1",
            ], in: directory)
            #expect(executor.status != 0, "\(executor.output)")
            #expect(executor.output.contains("--executor pool"), "\(executor.output)")
        }
    }

    @Test("worker --cassandra with --tls-ca connects and answers /readyz 200")
    func worker() async throws {
        try await Self.withTLSNode { port, certificates, directory in
            var configuration = CQLSession.Configuration(contactPoints: [CQLEndpoint(host: "127.0.0.1", port: port)],
                                                         discoverNodes: false)
            configuration.tls = CQLTLSConfiguration(trustRoots: .file(certificates.caFile))
            let session = try await CQLSession.connect(configuration)
            defer { session.close() }
            try await SchedulerSchema.applySchema(session: session, keyspace: "scheduler")

            let worker = try await ChildProcess.start("worker", [
                "--cassandra", "127.0.0.1:\(port)", "--tls-ca", certificates.caFile, "--http-port", "0",
                "--shards", "2", "--poll-interval", "100ms", "--shutdown-grace", "2s", "--log-level", "warning",
            ], log: directory.path + "/worker.log")
            defer { worker.kill() }
            let base = try await worker.waitForLine(prefix: "worker listening on ")
            var ready = 0
            for _ in 0..<100 where ready != 200 {
                ready = try await HTTP.request("GET", base + "/readyz").status
                if ready != 200 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(ready == 200, "\(worker.output)")
            let created = try await HTTP.request("POST", base + "/jobs",
                body: #"{"schedule":"now","payload":{},"max_duration_seconds":30,"kind":"noop","run":true}"#)
            #expect(created.status == 201, "\(created.text)")
            let status = try await worker.terminate(timeout: .seconds(60))
            #expect(status == 0, "worker exited \(status); output:\n\(worker.output)")

            // Without TLS settings the same worker cannot get in, and says so.
            let plaintext = try await ChildProcess.start("worker", [
                "--cassandra", "127.0.0.1:\(port)", "--http-port", "0", "--log-level", "warning",
            ], log: directory.path + "/worker-plain.log")
            defer { plaintext.kill() }
            let failed = try await plaintext.waitForExit(timeout: .seconds(60))
            #expect(failed != 0, "\(plaintext.output)")
            #expect(plaintext.output.contains("--tls-ca"), "\(plaintext.output)")
        }
    }
}
