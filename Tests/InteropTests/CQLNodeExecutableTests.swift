import Foundation
import Testing

/// The `cqlnode` executable as scripts and users run it: it prints where it listens, serves real peers and
/// stops cleanly (exit 0) on SIGTERM and SIGINT.
@Suite("cqlnode executable", .serialized)
struct CQLNodeExecutableTests {
    /// The `cqlnode` binary built next to the test runner, if any.
    static var binary: String? {
        var directory = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent("cqlnode").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    /// A running `cqlnode`, with its printed port.
    final class RunningNode: @unchecked Sendable {
        // Safe: `process` is only touched from the test's task; output goes through the locked buffer.
        let process = Process()
        let output = OutputBuffer()
        var port = 0

        init(binary: String, arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            let output = self.output
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if !data.isEmpty { output.append(data) }
            }
            try process.run()
        }

        /// Waits for the `cqlnode listening on HOST:PORT` line and returns the port.
        func waitUntilListening() async throws -> Int {
            for _ in 0..<600 {
                for line in output.text.split(separator: "\n") where line.hasPrefix("cqlnode listening on ") {
                    if let port = line.split(separator: ":").last.flatMap({ Int($0) }) {
                        self.port = port
                        return port
                    }
                }
                if !process.isRunning { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw NodeStartFailure(output: output.text)
        }

        /// Sends `signal` and waits for the exit status.
        func stop(_ signal: Int32) async throws -> Int32 {
            kill(process.processIdentifier, signal)
            for _ in 0..<600 where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning {
                process.terminate()
                throw NodeStartFailure(output: "cqlnode did not stop on signal \(signal):\n\(output.text)")
            }
            return process.terminationStatus
        }
    }

    struct NodeStartFailure: Error, CustomStringConvertible {
        var output: String
        var description: String { "cqlnode did not report its address:\n\(output)" }
    }

    @Test("prints its address, serves cqlsh, and exits 0 on SIGTERM and on SIGINT", arguments: [SIGTERM, SIGINT])
    func lifecycle(signal: Int32) async throws {
        let binary = try #require(Self.binary, "the cqlnode product was not built next to the tests")
        let node = try RunningNode(binary: binary, arguments: ["--port", "0", "--in-memory"])
        let port = try await node.waitUntilListening()
        #expect(port > 0)
        if let cqlsh = PeerProcess.which("cqlsh") {
            let outcome = try await PeerProcess.run(cqlsh, ["127.0.0.1", String(port), "-e", "SELECT cluster_name FROM system.local"],
                                                    timeout: .seconds(120))
            #expect(outcome.status == 0 && outcome.output.contains("Test Cluster"), "\(outcome.output)")
        }
        #expect(try await node.stop(signal) == 0, "\(node.output.text)")
    }

    @Test("keeps acknowledged schema and data across a restart on the same data directory")
    func restart() async throws {
        let binary = try #require(Self.binary, "the cqlnode product was not built next to the tests")
        let python = try #require(PeerProcess.which("python3"))
        try #require(PeerProcess.pythonDriverAvailable, "cassandra-driver is not installed")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cqlnode-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func driver(_ port: Int, _ code: String) async throws -> PeerProcess.Outcome {
            try await PeerProcess.run(python, ["-c", """
                from cassandra.cluster import Cluster
                cluster = Cluster(['127.0.0.1'], port=\(port), connect_timeout=30, control_connection_timeout=30)
                session = cluster.connect()
                \(code)
                cluster.shutdown()
                """], timeout: .seconds(120))
        }
        let first = try RunningNode(binary: binary, arguments: ["--port", "0", "--data-dir", directory])
        let firstPort = try await first.waitUntilListening()
        let wrote = try await driver(firstPort, """
            session.execute("CREATE KEYSPACE keep WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
            session.execute("CREATE TABLE keep.t (k int PRIMARY KEY, v text)")
            session.execute("INSERT INTO keep.t (k, v) VALUES (1, 'one')")
            """)
        #expect(wrote.status == 0, "\(wrote.output)")
        #expect(try await first.stop(SIGTERM) == 0)
        let second = try RunningNode(binary: binary, arguments: ["--port", "0", "--data-dir", directory])
        let secondPort = try await second.waitUntilListening()
        let read = try await driver(secondPort, """
            assert 't' in cluster.metadata.keyspaces['keep'].tables, cluster.metadata.keyspaces
            print(session.execute("SELECT v FROM keep.t WHERE k = 1").one().v)
            """)
        #expect(read.status == 0 && read.output.contains("one"), "\(read.output)")
        #expect(try await second.stop(SIGTERM) == 0)
    }
}
