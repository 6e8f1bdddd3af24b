import Foundation
import Testing

/// Asks Prometheus for an instant vector and returns each series' labels and value.
func prometheusQuery(_ base: String, _ query: String) async throws -> [(labels: [String: String], value: Double)] {
    let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
    let response = try await HTTP.request("GET", "\(base)/api/v1/query?query=\(encoded)")
    guard response.status == 200 else { throw InfraFailure("query \(query): HTTP \(response.status) \(response.body)") }
    let object = try HTTP.object(response.body)
    guard object["status"] as? String == "success", let data = object["data"] as? [String: Any],
          let result = data["result"] as? [[String: Any]] else { throw InfraFailure("query \(query): \(response.body)") }
    return result.compactMap { series in
        guard let pair = series["value"] as? [Any], pair.count == 2, let text = pair[1] as? String,
              let value = Double(text) else { return nil }
        return (series["metric"] as? [String: String] ?? [:], value)
    }
}

/// Polls `condition` until it holds, failing with `what` after `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(250))
    }
    throw InfraFailure("\(what) did not happen within \(timeout)")
}

/// Creates a job and asks for a run now; returns its id.
func createAndRunJob(_ worker: String) async throws -> String {
    let created = try await HTTP.request("POST", "\(worker)/jobs",
                                         json: #"{"schedule":"now","payload":"{}","max_duration_seconds":60,"kind":"echo"}"#)
    guard created.status == 201, let id = try HTTP.object(created.body)["job_id"] as? String else {
        throw InfraFailure("POST /jobs answered \(created.status): \(created.body)")
    }
    let run = try await HTTP.request("POST", "\(worker)/jobs/\(id)/run")
    guard run.status == 200 else { throw InfraFailure("POST /jobs/\(id)/run answered \(run.status): \(run.body)") }
    return id
}

/// Processes that start real servers (worker, cqlnode, Prometheus) on loopback free ports; run one
/// at a time because the machine running them is small.
@Suite("Infra live processes", .serialized)
struct LiveStackTests {
    @Test("a real Prometheus scrapes a worker and sees scheduler_runs_total rise after a job run")
    func prometheusScrapesWorker() async throws {
        let scratch = try ScratchDirectory()
        // Found before any process starts, so a missing tool cannot leave the worker running.
        let promtool = try Repo.onPath("promtool")
        let prometheusBinary = try Repo.onPath("prometheus")
        let worker = try await RunningWorker.start(scratch: scratch)
        let prometheusPort = try freeLoopbackPort()
        let target = try #require(URL(string: worker.url)).port.map { "127.0.0.1:\($0)" }
        let config = """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: worker
                metrics_path: /metrics
                static_configs:
                  - targets: ["\(try #require(target))"]
            """
        try config.write(toFile: scratch.path("prometheus.yml"), atomically: true, encoding: .utf8)
        let check = try await Command.run(promtool, ["check", "config", scratch.path("prometheus.yml")])
        #expect(check.status == 0, "\(check.transcript)")
        let prometheus = try LaunchedProcess(prometheusBinary, [
            "--config.file=\(scratch.path("prometheus.yml"))",
            "--web.listen-address=127.0.0.1:\(prometheusPort)",
            "--storage.tsdb.path=\(scratch.path("tsdb"))",
        ], currentDirectory: scratch.url, scratch: scratch)
        do {
            let base = "http://127.0.0.1:\(prometheusPort)"
            try await eventually("Prometheus ready", timeout: .seconds(60)) {
                guard prometheus.isRunning else { throw InfraFailure("prometheus exited: \(prometheus.stderr)") }
                return (try? await HTTP.request("GET", "\(base)/-/ready"))?.status == 200
            }
            try await eventually("up{job=\"worker\"} == 1") {
                try await prometheusQuery(base, #"up{job="worker"}"#).first?.value == 1
            }
            let before = try await prometheusQuery(base, #"sum(scheduler_runs_total{job="worker"})"#).first?.value ?? 0
            let id = try await createAndRunJob(worker.url)
            try await eventually("job \(id) succeeded") {
                let answer = try await HTTP.request("GET", "\(worker.url)/jobs/\(id)")
                return try HTTP.object(answer.body)["status"] as? String == "succeeded"
            }
            try await eventually("scheduler_runs_total rising in Prometheus") {
                let now = try await prometheusQuery(base, #"sum(scheduler_runs_total{job="worker"})"#).first?.value ?? 0
                return now > before
            }
            let succeeded = try await prometheusQuery(base, #"scheduler_runs_total{job="worker",outcome="succeeded"}"#)
            #expect((succeeded.first?.value ?? 0) >= 1)
        } catch {
            await prometheus.stop()
            await worker.process.stop()
            throw error
        }
        await prometheus.stop()
        await worker.process.stop()
    }

    @Test("every metric the Grafana dashboard queries is in a worker's real /metrics")
    func dashboardMetricsExist() async throws {
        let scratch = try ScratchDirectory()
        let worker = try await RunningWorker.start(scratch: scratch)
        do {
            // One run, so the histograms that only appear once observed (durations, lag) are there.
            let id = try await createAndRunJob(worker.url)
            try await eventually("job \(id) succeeded") {
                let answer = try await HTTP.request("GET", "\(worker.url)/jobs/\(id)")
                return try HTTP.object(answer.body)["status"] as? String == "succeeded"
            }
            let metrics = try await HTTP.request("GET", "\(worker.url)/metrics")
            #expect(metrics.status == 200)
            let families = MetricFamilies(exposition: metrics.body)
            let used = try dashboardExpressions().reduce(into: Set<String>()) { $0.formUnion(metricNames(in: $1)) }
            #expect(!used.isEmpty)
            for name in used.sorted() {
                #expect(families.serves(name), "the dashboard queries \(name), which the worker's /metrics does not serve")
            }
        } catch {
            await worker.process.stop()
            throw error
        }
        await worker.process.stop()
    }

    @Test("init_schema.sh applies the schema to a standalone cqlnode, twice (idempotent)")
    func initSchemaOnStandaloneNode() async throws {
        try await withStandaloneNode { host, port in
            let environment = ["CASSANDRA_HOST": host, "CASSANDRA_PORT": port, "WORKER": try Repo.product("worker")]
            for round in 1...2 {
                let outcome = try await Command.run(try Repo.onPath("bash"),
                                                    [Repo.file("scripts/init_schema.sh").path, "--timeout", "60"],
                                                    environment: environment)
                #expect(outcome.status == 0, "round \(round): \(outcome.transcript)")
                #expect(outcome.stdout.contains("schema applied to keyspace scheduler"), "round \(round): \(outcome.transcript)")
            }
            let probe = try await Command.run(try Repo.product("cqlprobe"), [
                host, port, "-e",
                "SELECT version FROM scheduler.schema_version WHERE scope = 'scheduler'; SELECT name FROM scheduler.locks;",
            ])
            #expect(probe.status == 0, "\(probe.transcript)")
            // One row per migration of the schema file, however often it is applied.
            let migrations = try Repo.text("infra/schema.cql")
                .components(separatedBy: "INSERT INTO scheduler.schema_version").count - 1
            #expect(migrations >= 2)
            #expect(probe.stdout.contains("(\(migrations) rows)"), "\(probe.transcript)")
            // Another keyspace, from the positional host/port form.
            let renamed = try await initSchema(["--keyspace", "infra_check", host, port])
            #expect(renamed.status == 0, "\(renamed.transcript)")
            let tables = try await Command.run(try Repo.product("cqlprobe"), [host, port, "-e", "SELECT job_id FROM infra_check.jobs;"])
            #expect(tables.status == 0, "\(tables.transcript)")
        }
    }

    /// Runs `body` with the host and port of a fresh standalone cqlnode, stopped afterwards (also when `body` throws).
    func withStandaloneNode(_ body: (String, String) async throws -> Void) async throws {
        let scratch = try ScratchDirectory()
        let node = try LaunchedProcess(try Repo.product("cqlnode"), ["--in-memory", "--port", "0"], scratch: scratch)
        do {
            let address = try await node.waitFor("cqlnode listening line") { lineValue($0, after: "cqlnode listening on ") }
            let parts = address.split(separator: ":").map(String.init)
            try #require(parts.count == 2)
            try await body(parts[0], parts[1])
        } catch {
            await node.stop()
            throw error
        }
        await node.stop()
    }

    func initSchema(_ arguments: [String]) async throws -> Command.Outcome {
        try await Command.run(try Repo.onPath("bash"), [Repo.file("scripts/init_schema.sh").path] + arguments,
                              environment: ["WORKER": try Repo.product("worker")])
    }

    @Test("init_schema.sh --cluster --dc creates the keyspace with those data centres, twice; an unknown data centre names the statement")
    func initSchemaWithDataCentres() async throws {
        try await withStandaloneNode { host, port in
            for round in 1...2 {
                let outcome = try await initSchema(["--cluster", "--dc", "datacenter1:1", "--keyspace", "dc_check", host, port])
                #expect(outcome.status == 0, "round \(round): \(outcome.transcript)")
                #expect(outcome.stdout.contains("schema applied to keyspace dc_check (NetworkTopologyStrategy datacenter1:1)"),
                        "round \(round): \(outcome.transcript)")
                // The second run finds every migration recorded: only the keyspace statement is sent.
                #expect(outcome.stderr.contains("CREATE TABLE") == (round == 1), "round \(round): \(outcome.transcript)")
            }
            let replication = try await Command.run(try Repo.product("cqlprobe"), [
                host, port, "-e", "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = 'dc_check';",
            ])
            #expect(replication.stdout.contains("NetworkTopologyStrategy") && replication.stdout.contains("datacenter1"),
                    "\(replication.transcript)")

            let unknown = try await initSchema(["--dc", "dc1:1", "--keyspace", "dc_unknown", host, port])
            #expect(unknown.status == 1, "\(unknown.transcript)")
            #expect(unknown.stderr.contains("infra/schema.cql keyspace statement: CREATE KEYSPACE IF NOT EXISTS dc_unknown"),
                    "\(unknown.transcript)")
            #expect(!unknown.stderr.contains("/tmp"), "the error names a temporary file: \(unknown.transcript)")
        }
    }

    @Test("A keyspace at migration 1 (as on Cassandra 3.11) is upgraded with a plain ADD, never ADD IF NOT EXISTS")
    func initSchemaUpgradesVersionOne() async throws {
        try await withStandaloneNode { host, port in
            // The keyspace as migration 1 left it: the file up to migration 2.
            let scratch = try ScratchDirectory()
            let text = try Repo.text("infra/schema.cql")
            let cut = try #require(text.range(of: "-- migration 2:"))
            let file = scratch.path("migration1.cql")
            try String(text[..<cut.lowerBound]).write(toFile: file, atomically: true, encoding: .utf8)
            let seeded = try await Command.run(try Repo.product("cqlprobe"), [host, port, "-f", file])
            #expect(seeded.status == 0, "\(seeded.transcript)")

            let plan = try await initSchema(["--dry-run", host, port])
            #expect(plan.status == 0, "\(plan.transcript)")
            let planned = plan.stdout.split(separator: "\n").map(String.init)
            #expect(planned.first?.hasPrefix("CREATE KEYSPACE IF NOT EXISTS scheduler") == true, "\(plan.transcript)")
            #expect(planned.contains("ALTER TABLE scheduler.jobs_by_status ADD next_due_at timestamp;"), "\(plan.transcript)")
            #expect(planned.contains("ALTER TABLE scheduler.job_history ADD exit_code int;"), "\(plan.transcript)")
            #expect(!plan.stdout.contains("IF NOT EXISTS next_due_at"), "\(plan.transcript)")
            #expect(!plan.stdout.contains("CREATE TABLE IF NOT EXISTS scheduler.jobs ("),
                    "migration 1 is recorded and must not run again: \(plan.transcript)")

            let applied = try await initSchema([host, port])
            #expect(applied.status == 0, "\(applied.transcript)")
            #expect(applied.stderr.contains("== ALTER TABLE scheduler.jobs_by_status ADD next_due_at timestamp"), "\(applied.transcript)")
            let versions = try await Command.run(try Repo.product("cqlprobe"), [
                host, port, "-e", "SELECT version FROM scheduler.schema_version WHERE scope = 'scheduler';",
            ])
            #expect(versions.stdout.contains("(3 rows)"), "\(versions.transcript)")

            // A run that added the columns but stopped before recording migrations 2 and 3: the ADDs are skipped.
            let forget = try await Command.run(try Repo.product("cqlprobe"), [
                host, port, "-e", "DELETE FROM scheduler.schema_version WHERE scope = 'scheduler' AND version = 2; "
                    + "DELETE FROM scheduler.schema_version WHERE scope = 'scheduler' AND version = 3;",
            ])
            #expect(forget.status == 0, "\(forget.transcript)")
            let rest = try await initSchema(["--dry-run", host, port])
            #expect(rest.status == 0, "\(rest.transcript)")
            #expect(!rest.stdout.contains("ALTER TABLE"), "\(rest.transcript)")
            #expect(rest.stdout.contains("INSERT INTO scheduler.schema_version"), "\(rest.transcript)")
            let again = try await initSchema([host, port])
            #expect(again.status == 0, "\(again.transcript)")
        }
    }

    @Test("init_schema.sh gives up with a clear error when nothing answers CQL")
    func initSchemaWithoutNode() async throws {
        let port = try freeLoopbackPort()
        let outcome = try await Command.run(try Repo.onPath("bash"), [
            Repo.file("scripts/init_schema.sh").path, "--timeout", "2", "127.0.0.1", "\(port)",
        ], environment: ["WORKER": try Repo.product("worker")])
        #expect(outcome.status == 1, "\(outcome.transcript)")
        #expect(outcome.stderr.contains("no CQL answer from 127.0.0.1:\(port)"), "\(outcome.transcript)")
    }

    @Test("smoke_test.sh passes against a standalone worker")
    func smokeTestAgainstWorker() async throws {
        let scratch = try ScratchDirectory()
        let worker = try await RunningWorker.start(scratch: scratch)
        let outcome: Command.Outcome
        do {
            outcome = try await Command.run(try Repo.onPath("bash"), [Repo.file("scripts/smoke_test.sh").path],
                                            environment: ["SCHEDULER_URL": worker.url, "SCHEDULER_API_TOKEN": ""])
        } catch {
            await worker.process.stop()
            throw error
        }
        await worker.process.stop()
        #expect(outcome.status == 0, "\(outcome.transcript)")
        #expect(outcome.stdout.contains("smoke test passed"), "\(outcome.transcript)")
    }
}
