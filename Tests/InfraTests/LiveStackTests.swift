import Foundation
import TestSupport
import Testing

/// Asks Prometheus for an instant vector and returns each series' labels and value.
func prometheusQuery(_ base: String, _ query: String) async throws -> [(labels: [String: String], value: Double)] {
    let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
    let response = try await HTTP.request("GET", "\(base)/api/v1/query?query=\(encoded)")
    guard response.status == 200 else { throw TestSupportError("query \(query): HTTP \(response.status) \(response.body)") }
    let object = try HTTP.object(response.body)
    guard object["status"] as? String == "success", let data = object["data"] as? [String: Any],
          let result = data["result"] as? [[String: Any]] else { throw TestSupportError("query \(query): \(response.body)") }
    return result.compactMap { series in
        guard let pair = series["value"] as? [Any], pair.count == 2, let text = pair[1] as? String,
              let value = Double(text) else { return nil }
        return (series["metric"] as? [String: String] ?? [:], value)
    }
}

/// Creates a job and asks for a run now; returns its id.
func createAndRunJob(_ worker: String) async throws -> String {
    let created = try await HTTP.request("POST", "\(worker)/jobs",
                                         json: #"{"schedule":"now","payload":"{}","max_duration_seconds":60,"kind":"echo"}"#)
    guard created.status == 201, let id = try HTTP.object(created.body)["job_id"] as? String else {
        throw TestSupportError("POST /jobs answered \(created.status): \(created.body)")
    }
    let run = try await HTTP.request("POST", "\(worker)/jobs/\(id)/run")
    guard run.status == 200 else { throw TestSupportError("POST /jobs/\(id)/run answered \(run.status): \(run.body)") }
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
        let promtool = try Repository.requireOnPath("promtool")
        let prometheusBinary = try Repository.requireOnPath("prometheus")
        let worker = try await RunningWorker.start(scratch: scratch)
        let prometheusPort = try Sockets.freePort()
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
        let prometheus = try await ChildProcess.start(prometheusBinary, [
            "--config.file=\(scratch.path("prometheus.yml"))",
            "--web.listen-address=127.0.0.1:\(prometheusPort)",
            "--storage.tsdb.path=\(scratch.path("tsdb"))",
        ], logs: scratch.path, workingDirectory: scratch.path)
        do {
            let base = "http://127.0.0.1:\(prometheusPort)"
            try await eventually("Prometheus ready", timeout: .seconds(60)) {
                guard prometheus.isRunning else { throw TestSupportError("prometheus exited: \(prometheus.standardError)") }
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

    /// The `/metrics` text of a worker that ran one `echo` job to success (so the histograms that
    /// only appear once observed, durations and lag, are there); the worker is stopped afterwards.
    func metricsAfterOneRun() async throws -> String {
        let scratch = try ScratchDirectory()
        let worker = try await RunningWorker.start(scratch: scratch)
        do {
            let id = try await createAndRunJob(worker.url)
            try await eventually("job \(id) succeeded") {
                let answer = try await HTTP.request("GET", "\(worker.url)/jobs/\(id)")
                return try HTTP.object(answer.body)["status"] as? String == "succeeded"
            }
            let metrics = try await HTTP.request("GET", "\(worker.url)/metrics")
            guard metrics.status == 200 else { throw TestSupportError("GET /metrics answered \(metrics.status)") }
            await worker.process.stop()
            return metrics.body + "\n"
        } catch {
            await worker.process.stop()
            throw error
        }
    }

    @Test("every metric the Grafana dashboard queries is in a worker's real /metrics")
    func dashboardMetricsExist() async throws {
        let families = MetricFamilies(exposition: try await metricsAfterOneRun())
        let used = try dashboardExpressions().reduce(into: Set<String>()) { $0.formUnion(metricNames(in: $1)) }
        #expect(!used.isEmpty)
        for name in used.sorted() {
            #expect(families.serves(name), "the dashboard queries \(name), which the worker's /metrics does not serve")
        }
    }

    @Test("a worker's real /metrics passes promtool check metrics: HELP for every family, buckets from 1 ms and to 7 days, process_* metrics")
    func metricsPassPromtool() async throws {
        let promtool = try Repository.requireOnPath("promtool")
        let text = try await metricsAfterOneRun()
        let scratch = try ScratchDirectory()
        try text.write(toFile: scratch.path("metrics.txt"), atomically: true, encoding: .utf8)
        // promtool reads the exposition on standard input.
        let check = try await Command.run(try Repository.requireOnPath("sh"), ["-c", "\"$0\" check metrics < \"$1\"", promtool, scratch.path("metrics.txt")])
        #expect(check.status == 0, "promtool check metrics: \(check.transcript)")

        let lines = text.split(separator: "\n").map(String.init)
        let typed = Set(lines.filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        let helped = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { String($0.split(separator: " ")[2]) })
        #expect(!typed.isEmpty)
        #expect(typed.subtracting(helped).isEmpty, "families without # HELP: \(typed.subtracting(helped).sorted())")
        #expect(text.contains(#"scheduler_queue_lag_seconds_bucket{le="0.001"}"#), "\(text)")
        #expect(text.contains(#"scheduler_queue_lag_seconds_bucket{le="3600.0"}"#), "\(text)")
        #expect(text.contains(#"scheduler_run_duration_seconds_bucket{kind="echo",outcome="succeeded",le="604800.0"} 1"#), "\(text)")
        #expect(text.contains(#"scheduler_runs_total{kind="echo",outcome="succeeded"} 1"#), "\(text)")
        #expect(text.contains(#"scheduler_retries_total{kind="echo"} 0"#), "\(text)")
        for family in ["scheduler_jobs_queued", "scheduler_jobs_running", "process_cpu_seconds_total", "process_resident_memory_bytes",
                       "process_open_fds", "process_max_fds", "process_start_time_seconds"] {
            #expect(typed.contains(family), "\(family) missing")
        }
        let values = MetricFamilies.values(exposition: text)
        let start = try #require(values["process_start_time_seconds"])
        #expect(abs(start - Date().timeIntervalSince1970) < 600, "start time \(start)")
        #expect((values["process_resident_memory_bytes"] ?? 0) > 1_000_000)
        #expect((values["process_open_fds"] ?? 0) > 3)
        #expect((values["process_open_fds"] ?? 0) <= (values["process_max_fds"] ?? 0))
        #expect((values["process_cpu_seconds_total"] ?? 0) > 0)
        #expect(values["scheduler_jobs_running"] == 0)
    }

    @Test("init_schema.sh applies the schema to a standalone cqlnode, twice (idempotent)")
    func initSchemaOnStandaloneNode() async throws {
        try await withStandaloneNode { host, port in
            let environment = ["CASSANDRA_HOST": host, "CASSANDRA_PORT": port, "WORKER": try Repository.product("worker")]
            for round in 1...2 {
                let outcome = try await Command.run(try Repository.requireOnPath("bash"),
                                                    [Repository.file("scripts/init_schema.sh").path, "--timeout", "60"],
                                                    environment: environment)
                #expect(outcome.status == 0, "round \(round): \(outcome.transcript)")
                #expect(outcome.stdout.contains("schema applied to keyspace scheduler"), "round \(round): \(outcome.transcript)")
            }
            let probe = try await Command.run(try Repository.product("cqlprobe"), [
                host, port, "-e",
                "SELECT version FROM scheduler.schema_version WHERE scope = 'scheduler'; SELECT name FROM scheduler.locks;",
            ])
            #expect(probe.status == 0, "\(probe.transcript)")
            // One row per migration of the schema file, however often it is applied.
            let migrations = try Repository.text("infra/schema.cql")
                .components(separatedBy: "INSERT INTO scheduler.schema_version").count - 1
            #expect(migrations >= 2)
            #expect(probe.stdout.contains("(\(migrations) rows)"), "\(probe.transcript)")
            // Another keyspace, from the positional host/port form.
            let renamed = try await initSchema(["--keyspace", "infra_check", host, port])
            #expect(renamed.status == 0, "\(renamed.transcript)")
            let tables = try await Command.run(try Repository.product("cqlprobe"), [host, port, "-e", "SELECT job_id FROM infra_check.jobs;"])
            #expect(tables.status == 0, "\(tables.transcript)")
        }
    }

    /// Runs `body` with the host and port of a fresh standalone cqlnode, stopped afterwards (also when `body` throws).
    func withStandaloneNode(_ body: (String, String) async throws -> Void) async throws {
        let scratch = try ScratchDirectory()
        let node = try await ChildProcess.start(try Repository.product("cqlnode"), ["--in-memory", "--port", "0"], logs: scratch.path)
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
        try await Command.run(try Repository.requireOnPath("bash"), [Repository.file("scripts/init_schema.sh").path] + arguments,
                              environment: ["WORKER": try Repository.product("worker")])
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
            let replication = try await Command.run(try Repository.product("cqlprobe"), [
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
            let text = try Repository.text("infra/schema.cql")
            let cut = try #require(text.range(of: "-- migration 2:"))
            let file = scratch.path("migration1.cql")
            try String(text[..<cut.lowerBound]).write(toFile: file, atomically: true, encoding: .utf8)
            let seeded = try await Command.run(try Repository.product("cqlprobe"), [host, port, "-f", file])
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
            let versions = try await Command.run(try Repository.product("cqlprobe"), [
                host, port, "-e", "SELECT version FROM scheduler.schema_version WHERE scope = 'scheduler';",
            ])
            #expect(versions.stdout.contains("(4 rows)"), "\(versions.transcript)")

            // A run that added the columns but stopped before recording migrations 2 to 4: the ADDs are skipped.
            let forget = try await Command.run(try Repository.product("cqlprobe"), [
                host, port, "-e", "DELETE FROM scheduler.schema_version WHERE scope = 'scheduler' AND version = 2; "
                    + "DELETE FROM scheduler.schema_version WHERE scope = 'scheduler' AND version = 3; "
                    + "DELETE FROM scheduler.schema_version WHERE scope = 'scheduler' AND version = 4;",
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
        let port = try Sockets.freePort()
        let outcome = try await Command.run(try Repository.requireOnPath("bash"), [
            Repository.file("scripts/init_schema.sh").path, "--timeout", "2", "127.0.0.1", "\(port)",
        ], environment: ["WORKER": try Repository.product("worker")])
        #expect(outcome.status == 1, "\(outcome.transcript)")
        #expect(outcome.stderr.contains("no CQL answer from 127.0.0.1:\(port)"), "\(outcome.transcript)")
    }

    @Test("smoke_test.sh passes against a standalone worker")
    func smokeTestAgainstWorker() async throws {
        let scratch = try ScratchDirectory()
        let worker = try await RunningWorker.start(scratch: scratch)
        let outcome: Command.Outcome
        do {
            outcome = try await Command.run(try Repository.requireOnPath("bash"), [Repository.file("scripts/smoke_test.sh").path],
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
