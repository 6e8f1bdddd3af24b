import CQLNode
import Foundation
import TestSupport
import Testing

/// `cqlprobe` as scripts run it, against an embedded node: cqlsh's output and error shapes, exit codes.
@Suite("cqlprobe")
struct CQLProbeTests {
    /// Runs `body` with a fresh in-memory node's port, shutting the node down afterwards.
    static func withNode(_ body: (String) async throws -> Void) async throws {
        let node = try await EmbeddedNode.start(EmbeddedNode.Configuration(host: "127.0.0.1", port: 0))
        do {
            try await body(String(node.port))
        } catch {
            try await node.shutdown()
            throw error
        }
        try await node.shutdown()
    }

    static let schema = """
        CREATE KEYSPACE probe WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
        CREATE TABLE probe.people (id int PRIMARY KEY, name text, score double);
        INSERT INTO probe.people (id, name, score) VALUES (1, 'ann', 2.5);
        INSERT INTO probe.people (id, name, score) VALUES (100, 'bartholomew', 10);
        """

    @Test("-e runs statements and prints a SELECT as cqlsh's aligned table with its row count")
    func selectTable() async throws {
        try await Self.withNode { port in
            let created = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-e", Self.schema])
            #expect(created.status == 0, "stderr: \(created.stderr)")
            let selected = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-e", "SELECT id, name, score FROM probe.people WHERE id = 100"])
            #expect(selected.status == 0, "stderr: \(selected.stderr)")
            #expect(selected.stdout == """

                 id  | name        | score
                -----+-------------+-------
                 100 | bartholomew |    10

                (1 rows)

                """)
            #expect(selected.stderr.isEmpty)
        }
    }

    @Test("-f runs a file: multi-line statements, comments, ';' inside strings, a whole BEGIN BATCH ... APPLY BATCH")
    func file() async throws {
        try await Self.withNode { port in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cqlprobe-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("script.cql")
            try """
                -- a comment; with a semicolon
                CREATE KEYSPACE files
                    WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
                USE files;
                CREATE TABLE notes (id int PRIMARY KEY, body text); /* block; comment */
                BEGIN BATCH
                    INSERT INTO notes (id, body) VALUES (1, 'one; two');
                    INSERT INTO notes (id, body) VALUES (2, 'it''s');
                APPLY BATCH;
                SELECT id, body FROM notes WHERE id IN (1, 2);
                """.write(to: file, atomically: true, encoding: .utf8)
            let outcome = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-f", file.path])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            #expect(outcome.stdout.contains("""
                 id | body
                ----+----------
                  1 | one; two
                  2 |     it's

                (2 rows)
                """), "stdout: \(outcome.stdout)")
        }
    }

    @Test("a server error and a syntax error exit 2 with cqlsh's error lines on stderr")
    func invalidStatement() async throws {
        try await Self.withNode { port in
            let outcome = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-e", "SELECT * FROM nowhere.nothing"])
            #expect(outcome.status == 2)
            #expect(outcome.stderr.hasPrefix("<stdin>:1:InvalidRequest: Error from server: code=2200 [Invalid query] message=\""),
                    "stderr: \(outcome.stderr)")
            let syntax = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-e", "SELEKT 1"])
            #expect(syntax.status == 2)
            #expect(syntax.stderr.hasPrefix("<stdin>:1:SyntaxException: "), "stderr: \(syntax.stderr)")
        }
    }

    @Test("a node that cannot be reached exits 2 with one line naming it and the reason")
    func connectionRefused() async throws {
        // A port just freed by a stopped node: nothing listens there.
        let node = try await EmbeddedNode.start(EmbeddedNode.Configuration(host: "127.0.0.1", port: 0))
        let port = String(node.port)
        try await node.shutdown()
        let outcome = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-e", "SELECT * FROM system.local",
                                                             "--connect-timeout", "2"])
        #expect(outcome.status == 2)
        let lines = outcome.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(outcome.stderr)")
        #expect(outcome.stderr.hasPrefix("cqlprobe: cannot connect to 127.0.0.1:\(port): "), "stderr: \(outcome.stderr)")
        #expect(outcome.stderr.components(separatedBy: "cannot connect").count == 2, "stderr: \(outcome.stderr)")
        #expect(outcome.stdout.isEmpty)
    }

    @Test("DESCRIBE KEYSPACES runs on the node and lists names as cqlsh does; DESCRIBE TABLE prints CREATE TABLE")
    func describe() async throws {
        try await Self.withNode { port in
            _ = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-e", Self.schema])
            let keyspaces = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-e", "DESCRIBE KEYSPACES"])
            #expect(keyspaces.status == 0, "stderr: \(keyspaces.stderr)")
            let names = keyspaces.stdout.split(whereSeparator: { $0.isWhitespace }).map(String.init)
            #expect(names.contains("probe") && names.contains("system") && names.contains("system_schema"), "\(keyspaces.stdout)")
            let table = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-k", "probe", "-e", "DESC TABLE people"])
            #expect(table.status == 0, "stderr: \(table.stderr)")
            #expect(table.stdout.contains("CREATE TABLE probe.people"), "\(table.stdout)")
        }
    }

    /// The scheduler's schema (infra/schema.cql), plus a user type and a table with what it lacks:
    /// a composite partition key, descending clustering, a static column, collections, quoted names.
    static func describedSchema() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let schema = try String(contentsOf: root.appendingPathComponent("infra/schema.cql"), encoding: .utf8)
        return schema + """

            CREATE TYPE scheduler.address (street text, "Zip" int);
            CREATE TABLE scheduler."Mixed" (k int, c1 text, c2 int, s int static, l list<int>, a frozen<address>,
                m map<text, int>, "Order" text, PRIMARY KEY ((k, c1), c2))
                WITH CLUSTERING ORDER BY (c2 DESC) AND comment = 'it''s' AND gc_grace_seconds = 3600;
            """
    }

    /// `text` without the option lines a client cannot tell apart from the node's: `memtable` (not
    /// in the node's `system_schema.tables`) and the read repair chances (Cassandra 3.11 options,
    /// kept at 0.0 in Cassandra 4's `system_schema.tables`, which its DESCRIBE leaves out).
    static func withoutUnknowableOptions(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            !["AND memtable = ", "AND dclocal_read_repair_chance = ", "AND read_repair_chance = "].contains { line.contains($0) }
        }.joined(separator: "\n")
    }

    /// Runs the statements of `text` from a file (`-f`: a text starting with `--` is no option then).
    static func runFile(_ port: String, _ text: String, _ options: [String] = []) async throws -> Command.Outcome {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cqlprobe-\(UUID().uuidString).cql")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        // A long timeout: the node shares the test process with every other suite running at once.
        return try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-f", file.path, "--request-timeout", "60"] + options)
    }

    @Test("DESCRIBE built on the client from system_schema replays to the same tables as the node's own DESCRIBE; listings match")
    func clientDescribe() async throws {
        let schema = try Self.describedSchema()
        var serverDescription = ""
        var clientDescription = ""
        try await Self.withNode { port in
            let applied = try await Self.runFile(port, schema)
            #expect(applied.status == 0, "stderr: \(applied.stderr)")
            let server = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-e", "DESCRIBE KEYSPACE scheduler"])
            let client = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "--client-describe", "-e", "DESCRIBE KEYSPACE scheduler"])
            #expect(server.status == 0 && client.status == 0, "stderr: \(server.stderr) \(client.stderr)")
            serverDescription = server.stdout
            clientDescription = client.stdout
            // Whole-cluster listings differ by design on Cassandra 4: virtual keyspaces are not in system_schema.
            for listing in ["USE scheduler; DESCRIBE TABLES", "USE scheduler; DESCRIBE TYPES",
                            "DESCRIBE TABLE scheduler.\"Mixed\"", "DESCRIBE TYPE scheduler.address", "DESCRIBE TABLE scheduler.jobs"] {
                let server = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-e", listing])
                let client = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "--client-describe", "-e", listing])
                #expect(client.status == 0, "\(listing): \(client.stderr)")
                #expect(Self.withoutUnknowableOptions(client.stdout) == Self.withoutUnknowableOptions(server.stdout), "\(listing)")
            }
            let missing = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "--client-describe", "-e", "DESCRIBE TABLE scheduler.nope"])
            #expect(missing.status == 2)
            #expect(missing.stderr.contains("'nope' not found in keyspace 'scheduler'"), "\(missing.stderr)")
        }
        #expect(clientDescription.contains("CREATE TABLE scheduler.\"Mixed\" ("), "\(clientDescription)")
        #expect(clientDescription.contains("PRIMARY KEY ((k, c1), c2)"), "\(clientDescription)")
        #expect(clientDescription.contains("CLUSTERING ORDER BY (c2 DESC)"), "\(clientDescription)")
        // Replayed on a fresh node, the client's description gives what the node itself describes.
        try await Self.withNode { port in
            let replayed = try await Self.runFile(port, clientDescription)
            #expect(replayed.status == 0, "stderr: \(replayed.stderr)")
            let described = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-e", "DESCRIBE KEYSPACE scheduler"])
            #expect(described.stdout == serverDescription)
        }
    }

    @Test("LWT results print the [applied] column; shell commands answer as cqlsh's")
    func lwtAndShellCommands() async throws {
        try await Self.withNode { port in
            _ = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-e", Self.schema])
            let outcome = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port, "-k", "probe", "-e", """
                CONSISTENCY QUORUM; CONSISTENCY; SERIAL CONSISTENCY LOCAL_SERIAL;
                INSERT INTO people (id, name) VALUES (7, 'x') IF NOT EXISTS;
                INSERT INTO people (id, name) VALUES (7, 'y') IF NOT EXISTS;
                """])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            #expect(outcome.stdout.contains("Consistency level set to QUORUM.\nCurrent consistency level is QUORUM.\n"
                                            + "Serial consistency level set to LOCAL_SERIAL.\n"), "\(outcome.stdout)")
            #expect(outcome.stdout.contains(" [applied]\n-----------\n      True\n"), "\(outcome.stdout)")
            #expect(outcome.stdout.contains(" [applied] | id | name | score\n-----------+----+------+-------\n     False |  7 |    x |  null\n"),
                    "\(outcome.stdout)")
        }
    }

    @Test("statements piped on standard input run in order; long results arrive page by page, every row printed")
    func pipedInputAndPaging() async throws {
        try await Self.withNode { port in
            let inserts = (0..<250).map { "INSERT INTO paged.t (p, c) VALUES (0, \($0));" }.joined(separator: "\n")
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("cqlprobe-home-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: home) }
            let outcome = try await Command.run(try Repository.product("cqlprobe"), ["127.0.0.1", port], input: """
                CREATE KEYSPACE paged WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
                CREATE TABLE paged.t (p int, c int, PRIMARY KEY (p, c));
                \(inserts)
                SELECT c FROM paged.t
                    WHERE p = 0;
                """, environment: ["HOME": home.path])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            #expect(outcome.stdout.hasSuffix("\n(250 rows)\n"), "\(outcome.stdout.suffix(200))")
            let cells = outcome.stdout.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            #expect(cells == Array(0..<250))
            let history = try String(contentsOf: home.appendingPathComponent(".cqlprobe_history"), encoding: .utf8)
            #expect(history.hasSuffix("SELECT c FROM paged.t     WHERE p = 0;\n"), "\(history.suffix(100))")
        }
    }
}

/// `cqlbench` against an embedded node: it creates its schema and completes requests without errors.
@Suite("cqlbench")
struct CQLBenchTests {
    @Test("a short mixed run reports requests done and no errors")
    func mixedRun() async throws {
        try await CQLProbeTests.withNode { port in
            let outcome = try await Command.run(try Repository.product("cqlbench"), [
                "--port", port, "--workload", "mixed", "--duration", "2", "--warmup", "0.5", "--concurrency", "8",
                "--rows", "500", "--json",
            ])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any],
                                      "stdout: \(outcome.stdout)")
            #expect((report["ops"] as? Int ?? 0) > 0, "\(outcome.stdout)")
            #expect((report["errors"] as? Int) == 0, "\(outcome.stdout)")
            #expect(report["workload"] as? String == "mixed")
        }
    }
}
