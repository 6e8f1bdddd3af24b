import Foundation
import TestSupport
import Testing

/// The `cqlnode` executable as scripts and users run it: it prints where it listens, serves real peers and
/// stops cleanly (exit 0) on SIGTERM and SIGINT.
@Suite("cqlnode executable", .serialized)
struct CQLNodeExecutableTests {
    /// The `cqlnode` binary built next to the test runner, if any.
    static var binary: String? { try? Repository.product("cqlnode") }

    /// A running `cqlnode`, its output in a scratch directory.
    struct RunningNode {
        let process: ChildProcess
        private let scratch: ScratchDirectory

        init(binary: String, arguments: [String]) async throws {
            scratch = try ScratchDirectory(prefix: "cqlnode")
            process = try await ChildProcess.start(binary, arguments, logs: scratch.path, combineOutput: true)
        }

        /// What it printed so far.
        var output: String { process.output }

        /// Waits for the `cqlnode listening on HOST:PORT` line and returns the port.
        func waitUntilListening() async throws -> Int {
            try await process.waitFor("a `cqlnode listening on` line", timeout: .seconds(60)) { text in
                text.split(separator: "\n").first { $0.hasPrefix("cqlnode listening on ") }
                    .flatMap { $0.split(separator: ":").last.flatMap { Int($0) } }
            }
        }

        /// Sends `signal` and waits for the exit status (128 + the signal when it ended the node).
        func stop(_ signal: Int32) async throws -> Int32 {
            process.send(signal)
            return try await process.waitForExit(timeout: .seconds(30))
        }
    }

    @Test("prints its address, serves cqlsh, and exits 0 on SIGTERM and on SIGINT", arguments: [SIGTERM, SIGINT])
    func lifecycle(signal: Int32) async throws {
        let binary = try #require(Self.binary, "the cqlnode product was not built next to the tests")
        let node = try await RunningNode(binary: binary, arguments: ["--port", "0", "--in-memory"])
        let port = try await node.waitUntilListening()
        #expect(port > 0)
        if let cqlsh = Repository.onPath("cqlsh") {
            let outcome = try await Command.run(cqlsh, ["127.0.0.1", String(port), "-e", "SELECT cluster_name FROM system.local"],
                                                combineOutput: true, timeout: .seconds(120))
            #expect(outcome.status == 0 && outcome.output.contains("Test Cluster"), "\(outcome.output)")
        }
        #expect(try await node.stop(signal) == 0, "\(node.output)")
    }

    @Test("keeps acknowledged schema and data across a restart on the same data directory")
    func restart() async throws {
        let binary = try #require(Self.binary, "the cqlnode product was not built next to the tests")
        let python = try #require(Repository.onPath("python3"))
        try #require(await Peers.pythonDriverAvailable(), "cassandra-driver is not installed")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cqlnode-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func driver(_ port: Int, _ code: String) async throws -> Command.Outcome {
            try await Command.run(python, ["-c", """
                from cassandra.cluster import Cluster
                cluster = Cluster(['127.0.0.1'], port=\(port), connect_timeout=30, control_connection_timeout=30)
                session = cluster.connect()
                \(code)
                cluster.shutdown()
                """], combineOutput: true, timeout: .seconds(120))
        }
        let first = try await RunningNode(binary: binary, arguments: ["--port", "0", "--data-dir", directory])
        let firstPort = try await first.waitUntilListening()
        let wrote = try await driver(firstPort, """
            session.execute("CREATE KEYSPACE keep WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
            session.execute("CREATE TABLE keep.t (k int PRIMARY KEY, v text)")
            session.execute("INSERT INTO keep.t (k, v) VALUES (1, 'one')")
            """)
        #expect(wrote.status == 0, "\(wrote.output)")
        #expect(try await first.stop(SIGTERM) == 0)
        let second = try await RunningNode(binary: binary, arguments: ["--port", "0", "--data-dir", directory])
        let secondPort = try await second.waitUntilListening()
        let read = try await driver(secondPort, """
            assert 't' in cluster.metadata.keyspaces['keep'].tables, cluster.metadata.keyspaces
            print(session.execute("SELECT v FROM keep.t WHERE k = 1").one().v)
            """)
        #expect(read.status == 0 && read.output.contains("one"), "\(read.output)")
        #expect(try await second.stop(SIGTERM) == 0)
    }
}
