import Foundation
import TestSupport
import Testing

/// Parses a YAML file of the repository with PyYAML (merge keys included) into JSON objects.
func loadYAML(_ relative: String) async throws -> [String: Any] {
    let script = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
    let outcome = try await Command.run(try Repository.requireOnPath("python3"), ["-c", script, Repository.file(relative).path])
    guard outcome.status == 0 else { throw TestSupportError("\(relative) does not parse as YAML: \(outcome.transcript)") }
    return try HTTP.object(outcome.stdout)
}

/// Every PromQL expression of the Grafana dashboard.
func dashboardExpressions() throws -> [String] {
    let data = try Data(contentsOf: Repository.file("infra/grafana/dashboards/scheduler.json"))
    guard let dashboard = try JSONSerialization.jsonObject(with: data) as? [String: Any],
          let panels = dashboard["panels"] as? [[String: Any]] else { throw TestSupportError("dashboard has no panels array") }
    return panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
}

/// The metric names a PromQL expression selects: the worker's metrics all start with
/// `scheduler_`, `cql_`, `worker_` or `process_`, which no PromQL function or label of the dashboard does.
func metricNames(in expression: String) -> Set<String> {
    var names: Set<String> = []
    var current = ""
    for character in expression + " " {
        if character.isLetter || character.isNumber || character == "_" || character == ":" {
            current.append(character)
        } else {
            if ["scheduler_", "cql_", "worker_", "process_"].contains(where: current.hasPrefix) { names.insert(current) }
            current = ""
        }
    }
    return names
}

@Suite("Infra static configuration")
struct StaticConfigTests {
    @Test("promtool accepts infra/prometheus/prometheus.yml")
    func promtoolAcceptsConfig() async throws {
        let outcome = try await Command.run(try Repository.requireOnPath("promtool"),
                                            ["check", "config", Repository.file("infra/prometheus/prometheus.yml").path])
        #expect(outcome.status == 0, "\(outcome.transcript)")
        #expect(outcome.stdout.contains("SUCCESS"))
    }

    @Test("the Grafana dashboard is valid JSON with a panel for each scheduler concern")
    func dashboardIsWellFormed() async throws {
        let data = try Data(contentsOf: Repository.file("infra/grafana/dashboards/scheduler.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((dashboard["uid"] as? String)?.isEmpty == false)
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        let datasource = try await loadYAML("infra/grafana/provisioning/datasources/prometheus.yml")
        let sources = try #require(datasource["datasources"] as? [[String: Any]])
        let uids = Set(sources.compactMap { $0["uid"] as? String })
        for panel in panels {
            let title = panel["title"] as? String ?? "?"
            let targets = try #require(panel["targets"] as? [[String: Any]], "panel \(title) has no targets")
            #expect(!targets.isEmpty, "panel \(title) has no queries")
            for target in targets {
                #expect((target["expr"] as? String)?.isEmpty == false, "panel \(title) has an empty query")
                let uid = (target["datasource"] as? [String: Any])?["uid"] as? String
                #expect(uid.map(uids.contains) == true, "panel \(title) uses datasource \(uid ?? "none"), provisioned: \(uids)")
            }
        }
        let used = try dashboardExpressions().reduce(into: Set<String>()) { $0.formUnion(metricNames(in: $1)) }
        let required = ["scheduler_runs_total", "scheduler_queue_lag_seconds_bucket", "scheduler_run_duration_seconds_bucket",
                        "scheduler_lock_acquisitions_total", "scheduler_lease_losses_total", "cql_requests_total",
                        "cql_request_errors_total", "cql_request_duration_seconds_bucket", "cql_lwt_requests_total",
                        "scheduler_jobs_queued", "scheduler_jobs_running", "scheduler_retries_total",
                        "process_cpu_seconds_total", "process_resident_memory_bytes"]
        for name in required { #expect(used.contains(name), "the dashboard does not chart \(name)") }
        let expressions = try dashboardExpressions()
        for metric in ["scheduler_runs_total", "scheduler_run_duration_seconds_bucket", "scheduler_retries_total"] {
            #expect(expressions.contains { $0.contains(metric) && $0.range(of: #"by \([^)]*kind"#, options: .regularExpression) != nil },
                    "no panel shows \(metric) by kind")
        }
        let lwtPerRun = try dashboardExpressions().contains {
            $0.contains("rate(cql_lwt_requests_total") && $0.contains("/") && $0.contains("rate(scheduler_runs_total")
        }
        #expect(lwtPerRun, "no LWT-per-run panel (rate(cql_lwt_requests_total) / rate(scheduler_runs_total))")
    }

    @Test("Grafana provisioning points at the mounted dashboards directory")
    func grafanaProvisioningMatchesCompose() async throws {
        let providers = try await loadYAML("infra/grafana/provisioning/dashboards/dashboards.yml")
        let list = try #require(providers["providers"] as? [[String: Any]])
        let paths = list.compactMap { ($0["options"] as? [String: Any])?["path"] as? String }
        let compose = try await loadYAML("infra/docker-compose.yml")
        let services = try #require(compose["services"] as? [String: Any])
        let grafana = try #require(services["grafana"] as? [String: Any])
        let mounts = (grafana["volumes"] as? [String] ?? []).map { $0.split(separator: ":").map(String.init) }
        for path in paths {
            let mount = mounts.first { $0.count >= 2 && $0[1] == path }
            #expect(mount?.first == "./grafana/dashboards", "dashboards path \(path) is not the mount of ./grafana/dashboards")
        }
        #expect(!paths.isEmpty)
        let datasourceURL = try #require(
            ((try await loadYAML("infra/grafana/provisioning/datasources/prometheus.yml"))["datasources"] as? [[String: Any]])?
                .first?["url"] as? String)
        #expect(datasourceURL == "http://prometheus:9090")
        #expect(services["prometheus"] != nil)
    }

    @Test("docker-compose.yml is consistent: dependencies, health checks, volumes, pinned images, scrape targets")
    func composeIsConsistent() async throws {
        let compose = try await loadYAML("infra/docker-compose.yml")
        let services = try #require(compose["services"] as? [String: [String: Any]])
        let declaredVolumes = Set((compose["volumes"] as? [String: Any] ?? [:]).keys)
        for required in ["cassandra1", "cassandra2", "cassandra3", "schema-init", "worker1", "worker2", "prometheus", "grafana"] {
            #expect(services[required] != nil, "service \(required) is missing")
        }
        for (name, service) in services {
            let image = service["image"] as? String
            #expect(image != nil || service["build"] != nil, "\(name) has neither image nor build")
            if let image, service["build"] == nil {
                let tag = image.split(separator: ":").dropFirst().first.map(String.init)
                #expect(tag != nil && tag != "latest", "\(name) uses an unpinned image \(image)")
            }
            var dependencies: [String] = []
            if let list = service["depends_on"] as? [String] { dependencies = list }
            if let map = service["depends_on"] as? [String: [String: Any]] {
                dependencies = Array(map.keys)
                for (target, condition) in map {
                    let wanted = condition["condition"] as? String
                    if wanted == "service_healthy" {
                        let check = services[target]?["healthcheck"] as? [String: Any]
                        #expect(check?["test"] != nil, "\(name) waits for \(target) to be healthy, which has no health check")
                    }
                    if wanted == "service_completed_successfully" {
                        #expect(services[target]?["restart"] as? String == "no", "\(target) is awaited as a one-shot but restarts")
                    }
                }
            }
            for target in dependencies { #expect(services[target] != nil, "\(name) depends on unknown service \(target)") }
            for volume in service["volumes"] as? [String] ?? [] {
                let source = String(volume.split(separator: ":").first ?? "")
                if source.hasPrefix(".") || source.hasPrefix("/") {
                    let path = Repository.file("infra/\(source)").path
                    #expect(source.hasPrefix("/") || FileManager.default.fileExists(atPath: path), "\(name) mounts missing \(source)")
                } else {
                    #expect(declaredVolumes.contains(source), "\(name) uses undeclared volume \(source)")
                }
            }
        }
        for node in ["cassandra1", "cassandra2", "cassandra3"] {
            let service = try #require(services[node])
            #expect((service["image"] as? String)?.hasPrefix("cassandra:4.1.") == true)
            let test = ((service["healthcheck"] as? [String: Any])?["test"] as? [String])?.joined(separator: " ") ?? ""
            #expect(test.contains("cqlsh") || test.contains("nodetool"), "\(node) health check: \(test)")
            let environment = service["environment"] as? [String: Any] ?? [:]
            #expect(environment["CASSANDRA_DC"] as? String == "datacenter1")
            #expect(environment["CASSANDRA_ENDPOINT_SNITCH"] as? String == "GossipingPropertyFileSnitch")
            #expect(environment["CASSANDRA_SEEDS"] as? String == "cassandra1")
            #expect(environment["MAX_HEAP_SIZE"] != nil && environment["HEAP_NEWSIZE"] != nil)
        }
        // The cluster schema names datacenter1: the nodes must be in that data centre.
        #expect(try Repository.text("infra/schema.cql").contains("'datacenter1': 3"))

        // Every scrape target is host:port of a compose service that serves that port.
        let prometheus = try await loadYAML("infra/prometheus/prometheus.yml")
        let jobs = try #require(prometheus["scrape_configs"] as? [[String: Any]])
        var targetCount = 0
        for job in jobs {
            for config in job["static_configs"] as? [[String: Any]] ?? [] {
                for target in config["targets"] as? [String] ?? [] {
                    targetCount += 1
                    let parts = target.split(separator: ":").map(String.init)
                    try #require(parts.count == 2, "target \(target) is not host:port")
                    let service = try #require(services[parts[0]], "scrape target \(target) is not a compose service")
                    var ports = Set((service["expose"] as? [Any] ?? []).map { "\($0)" })
                    for mapping in service["ports"] as? [Any] ?? [] {
                        if let container = "\(mapping)".split(separator: ":").last { ports.insert(String(container)) }
                    }
                    #expect(ports.contains(parts[1]), "\(parts[0]) does not expose port \(parts[1]) (has \(ports))")
                }
            }
        }
        for worker in ["worker1", "worker2"] {
            #expect(jobs.contains { ($0["static_configs"] as? [[String: Any]] ?? []).contains {
                ($0["targets"] as? [String] ?? []).contains("\(worker):8080") } }, "\(worker) is not scraped")
            let command = (services[worker]?["command"] as? [String] ?? []).joined(separator: " ")
            #expect(command.contains("--cassandra cassandra1:9042,cassandra2:9042,cassandra3:9042"))
            #expect(command.contains("--http-host 0.0.0.0"))
        }
        #expect(targetCount >= 3)
    }

    @Test("infra/Dockerfile is multi-stage, runs as non-root and builds products that exist")
    func dockerfileMatchesPackage() throws {
        let dockerfile = try Repository.text("infra/Dockerfile")
        let lines = dockerfile.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.hasPrefix("#") }
        let stages = lines.filter { $0.hasPrefix("FROM ") }
        #expect(stages.count >= 2, "not multi-stage: \(stages)")
        let stageNames = Set(stages.compactMap { $0.components(separatedBy: " AS ").dropFirst().first })
        #expect(stageNames.contains("builder"))
        let user = try #require(lines.last { $0.hasPrefix("USER ") })
        #expect(user != "USER root" && user != "USER 0", "runs as \(user)")
        #expect(lines.contains("EXPOSE 8080"))
        #expect(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("/healthz"))

        // --product names must be executable products of Package.swift.
        let manifest = try Repository.text("Package.swift")
        let words = dockerfile.components(separatedBy: .whitespacesAndNewlines).filter { !$0.isEmpty }
        var products: [String] = []
        for (index, word) in words.enumerated() where word == "--product" && index + 1 < words.count {
            products.append(words[index + 1])
        }
        #expect(Set(products) == ["worker", "cqlprobe"], "builds \(products)")
        for product in products {
            #expect(manifest.contains(".executable(name: \"\(product)\""), "\(product) is not an executable product")
        }
        // Files copied from the builder are the built products; files copied from the context exist.
        for line in lines where line.hasPrefix("COPY ") {
            let parts = line.split(separator: " ").map(String.init)
            if parts.contains(where: { $0.hasPrefix("--from=") }) {
                let source = parts[parts.count - 2]
                let name = URL(fileURLWithPath: source).lastPathComponent
                #expect(products.contains(name), "copies \(source), which is not a built product")
                #expect(dockerfile.contains("/\(name)\" /out/") || dockerfile.contains("/\(name)\" \""),
                        "\(source) is never put in place by the build stage")
            } else {
                for source in parts.dropFirst().dropLast() where !source.hasPrefix("--") {
                    let path = source.hasSuffix("*") ? String(source.dropLast()) : source
                    #expect(source.hasSuffix("*") || FileManager.default.fileExists(atPath: Repository.file(path).path),
                            "COPY source \(source) does not exist")
                }
            }
        }
        let runtime = try #require(stages.last)
        #expect(runtime.contains("slim"), "runtime stage is not a slim image: \(runtime)")
    }

    @Test("each script answers --help and runs under set -euo pipefail", arguments: [
        "scripts/start.sh", "scripts/stop.sh", "scripts/init_schema.sh", "scripts/smoke_test.sh",
    ])
    func scriptHelp(script: String) async throws {
        #expect(try Repository.text(script).contains("set -euo pipefail"))
        let outcome = try await Command.run(try Repository.requireOnPath("bash"), [Repository.file(script).path, "--help"], timeout: .seconds(30))
        #expect(outcome.status == 0, "\(outcome.transcript)")
        #expect(outcome.stdout.contains("usage:"))
        // The help is the usage text, not lines of the script's own source.
        #expect(!outcome.stdout.contains("pipefail") && !outcome.stdout.contains("$(dirname"), "\(outcome.stdout)")
    }

    @Test("start.sh and stop.sh explain a missing docker instead of failing obscurely", arguments: [
        "scripts/start.sh", "scripts/stop.sh",
    ])
    func scriptsWithoutDocker(script: String) async throws {
        let scratch = try ScratchDirectory()
        // A PATH with the basic tools but no docker.
        let bin = scratch.path("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for tool in ["bash", "dirname", "sed"] {
            try FileManager.default.createSymbolicLink(atPath: "\(bin)/\(tool)", withDestinationPath: try Repository.requireOnPath(tool))
        }
        let outcome = try await Command.run(try Repository.requireOnPath("bash"), [Repository.file(script).path],
                                            environment: ["PATH": bin], timeout: .seconds(30))
        #expect(outcome.status == 1, "\(outcome.transcript)")
        #expect(outcome.stderr.contains("docker is not installed"), "\(outcome.transcript)")
    }

    @Test("init_schema.sh produces each replication variant and renames the keyspace", arguments: [
        (["--print"], "'class': 'SimpleStrategy', 'replication_factor': 1", "NetworkTopologyStrategy"),
        (["--print", "--replication", "embedded"], "'class': 'SimpleStrategy', 'replication_factor': 1", "NetworkTopologyStrategy"),
        (["--print", "--cluster"], "'class': 'NetworkTopologyStrategy', 'datacenter1': 3", "SimpleStrategy"),
        (["--print", "--replication", "cluster"], "'class': 'NetworkTopologyStrategy', 'datacenter1': 3", "SimpleStrategy"),
        (["--print", "--dc", "eu_west:3", "--dc", "us-east:2"], "'class': 'NetworkTopologyStrategy', 'eu_west': 3, 'us-east': 2",
         "datacenter1"),
    ])
    func schemaVariants(arguments: [String], expected: String, absent: String) async throws {
        let outcome = try await Command.run(try Repository.requireOnPath("bash"), [Repository.file("scripts/init_schema.sh").path] + arguments
            + ["--keyspace", "jobs_eu"], environment: ["WORKER": try Repository.product("worker")], timeout: .seconds(30))
        #expect(outcome.status == 0, "\(outcome.transcript)")
        let statements = outcome.stdout.split(separator: "\n").filter { !$0.hasPrefix("--") }.joined(separator: "\n")
        #expect(statements.contains("CREATE KEYSPACE IF NOT EXISTS jobs_eu WITH replication = {\(expected)}"))
        #expect(!statements.contains(absent))
        #expect(!statements.contains("scheduler."), "a table is still qualified with scheduler.")
        #expect(statements.contains("CREATE TABLE IF NOT EXISTS jobs_eu.jobs"))
    }

    @Test("init_schema.sh refuses bad usage with exit status 2", arguments: [
        ["--replication", "triple"], ["--keyspace", "bad-name"], ["127.0.0.1", "notaport"], ["--frobnicate"],
        ["--dc", "dc1"], ["--dc", "dc1:three"], ["--dc"],
    ])
    func schemaBadUsage(arguments: [String]) async throws {
        let outcome = try await Command.run(try Repository.requireOnPath("bash"), [Repository.file("scripts/init_schema.sh").path] + arguments,
                                            timeout: .seconds(30))
        #expect(outcome.status == 2, "\(outcome.transcript)")
    }
}
