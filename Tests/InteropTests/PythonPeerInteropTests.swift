import CQLNode
import Foundation
import TestSupport
import Testing

/// The proof that the embedded node passes for Cassandra 4.1: real peers nobody here wrote (the DataStax
/// Python driver at its default settings, and cqlsh 6) connect to it and do real work.
///
/// cqlsh 6.2 (PyPI) needs no `--cqlversion` or environment tweaks against the node: it negotiates protocol v4 and
/// sends DESCRIBE to the server (release_version 4.1); it only prints "cqlsh was built against 5.0.0, but this server
/// is 4.1.7", which the assertions ignore.
@Suite("Python peers against the embedded node", .serialized)
struct PythonPeerInteropTests {
    static let script = Peers.scriptsDirectory.appendingPathComponent("driver_interop.py").path

    /// Runs the driver script against a node and fails with its whole output when a check fails.
    private func runDriverScript(port: Int, credentials: String? = nil) async throws {
        let python = try #require(Repository.onPath("python3"), "python3 is not on PATH")
        var arguments = [Self.script, "127.0.0.1", String(port)]
        if let credentials { arguments.append(credentials) }
        let outcome = try await Command.run(python, arguments, combineOutput: true, timeout: .seconds(180))
        #expect(!outcome.timedOut, "driver script timed out:\n\(outcome.output)")
        #expect(outcome.status == 0 && outcome.output.contains("ALL OK"), "driver script failed:\n\(outcome.output)")
    }

    @Test("the DataStax Python driver with default settings: metadata, DDL, prepared, paging, LWT, batches, TTL, UDTs, counters",
          .enabled("cassandra-driver is not installed (scripts/test.sh installs it)") { await Peers.pythonDriverAvailable() })
    func pythonDriver() async throws {
        let node = try await EmbeddedNode.start(EmbeddedNode.Configuration())
        do {
            try await runDriverScript(port: node.port)
        } catch {
            try await node.shutdown()
            throw error
        }
        try await node.shutdown()
    }

    @Test("the Python driver authenticates with PlainTextAuthProvider when the node requires it",
          .enabled("cassandra-driver is not installed (scripts/test.sh installs it)") { await Peers.pythonDriverAvailable() })
    func pythonDriverWithAuthentication() async throws {
        let node = try await EmbeddedNode.start(EmbeddedNode.Configuration(credentials: ("cassandra", "s3cret")))
        do {
            try await runDriverScript(port: node.port, credentials: "cassandra:s3cret")
            let python = try #require(Repository.onPath("python3"))
            let refused = try await Command.run(python, ["-c", """
                import sys
                from cassandra.auth import PlainTextAuthProvider
                from cassandra.cluster import Cluster, NoHostAvailable
                try:
                    Cluster(['127.0.0.1'], port=\(node.port), auth_provider=PlainTextAuthProvider('cassandra', 'wrong'),
                            connect_timeout=30, control_connection_timeout=30).connect()
                except NoHostAvailable as error:
                    print(error)
                    sys.exit(0)
                sys.exit(3)
                """], combineOutput: true, timeout: .seconds(60))
            #expect(refused.status == 0, "a wrong password was accepted:\n\(refused.output)")
            #expect(refused.output.contains("Provided username cassandra and/or password are incorrect"), "\(refused.output)")
        } catch {
            try await node.shutdown()
            throw error
        }
        try await node.shutdown()
    }

    @Test("cqlsh 6: DESCRIBE KEYSPACES/TABLE/CLUSTER, INSERT ... IF NOT EXISTS and SELECT",
          .enabled(if: Peers.cqlshAvailable, "cqlsh is not installed (scripts/test.sh installs it)"))
    func cqlsh() async throws {
        let node = try await EmbeddedNode.start(EmbeddedNode.Configuration())
        do {
            let cqlsh = try #require(Repository.onPath("cqlsh"))
            func run(_ statements: String) async throws -> Command.Outcome {
                let outcome = try await Command.run(cqlsh, ["127.0.0.1", String(node.port), "-e", statements],
                                                        combineOutput: true, timeout: .seconds(120))
                #expect(outcome.status == 0 && !outcome.timedOut, "cqlsh failed on \(statements):\n\(outcome.output)")
                return outcome
            }
            let keyspaces = try await run("DESCRIBE KEYSPACES")
            for name in ["system", "system_schema", "system_auth", "system_virtual_schema"] {
                #expect(keyspaces.output.contains(name), "DESCRIBE KEYSPACES lacks \(name):\n\(keyspaces.output)")
            }
            _ = try await run("""
                CREATE KEYSPACE shop WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
                CREATE TABLE shop.items (id int, part text, qty int, PRIMARY KEY (id, part)) WITH comment = 'stock';
                """)
            let insert = try await run("""
                INSERT INTO shop.items (id, part, qty) VALUES (1, 'bolt', 5) IF NOT EXISTS;
                INSERT INTO shop.items (id, part, qty) VALUES (1, 'bolt', 9) IF NOT EXISTS;
                """)
            #expect(insert.output.contains("True") && insert.output.contains("False"), "LWT results:\n\(insert.output)")
            let select = try await run("SELECT id, part, qty FROM shop.items")
            #expect(select.output.contains("bolt") && select.output.contains("(1 rows)"), "SELECT:\n\(select.output)")
            let table = try await run("DESCRIBE TABLE shop.items")
            #expect(table.output.contains("CREATE TABLE shop.items ("), "\(table.output)")
            #expect(table.output.contains("PRIMARY KEY (id, part)"), "\(table.output)")
            #expect(table.output.contains(") WITH CLUSTERING ORDER BY (part ASC)"), "\(table.output)")
            #expect(table.output.contains("AND comment = 'stock'"), "\(table.output)")
            let cluster = try await run("DESCRIBE CLUSTER")
            #expect(cluster.output.contains("Cluster: Test Cluster") && cluster.output.contains("Murmur3Partitioner"),
                    "\(cluster.output)")
        } catch {
            try await node.shutdown()
            throw error
        }
        try await node.shutdown()
    }
}
