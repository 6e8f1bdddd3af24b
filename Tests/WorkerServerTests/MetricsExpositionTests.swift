import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import WorkerServer

@Suite("Metrics exposition")
struct MetricsExpositionTests {
    /// The families of an exposition that have a `# TYPE` line, and those that have a `# HELP` line.
    static func families(_ text: String) -> (typed: Set<String>, helped: Set<String>) {
        let lines = text.split(separator: "\n")
        func names(_ prefix: String) -> Set<String> {
            Set(lines.filter { $0.hasPrefix(prefix) }.compactMap { $0.split(separator: " ").dropFirst(2).first.map(String.init) })
        }
        return (names("# TYPE "), names("# HELP "))
    }

    @Test("GET /metrics has a HELP line for every family, the catalog's buckets, kind labels and process_* metrics")
    func helpForEveryFamily() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            _ = try await client.createJob()
            _ = try await client.send(.get, "/healthz")
            let text = try await client.send(.get, "/metrics").text
            let (typed, helped) = Self.families(text)
            #expect(typed.count >= 15, "\(text)")
            #expect(typed.subtracting(helped).isEmpty, "families without HELP: \(typed.subtracting(helped).sorted())")
            for family in typed {
                #expect(MetricCatalog.description(of: family) != nil, "\(family) is not in MetricCatalog")
            }
            #expect(text.contains("# HELP scheduler_jobs_queued Due queue entries"), "\(text)")
            // Every registered kind starts at zero for every outcome, so rate() exists before the first run.
            #expect(text.contains(#"scheduler_runs_total{kind="noop",outcome="timed_out"} 0"#), "\(text)")
            #expect(text.contains(#"scheduler_retries_total{kind="http"} 0"#), "\(text)")
            #if os(Linux)
            for family in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_max_fds",
                           "process_start_time_seconds"] {
                #expect(typed.contains(family), "\(family) missing from \(text)")
            }
            #endif
        }
    }

    @Test("The buckets: queue lag from 1 ms to 1 h, run duration up to 7 days, both increasing")
    func buckets() {
        #expect(MetricCatalog.queueLagBuckets.first == 0.001)
        #expect(MetricCatalog.queueLagBuckets.last == 3600)
        #expect(MetricCatalog.runDurationBuckets.last == 604_800.0)
        for buckets in [MetricCatalog.queueLagBuckets, MetricCatalog.runDurationBuckets] {
            #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0 < $1 })
        }
        #expect(MetricCatalog.description(of: "scheduler_queue_lag_seconds")?.buckets == MetricCatalog.queueLagBuckets)
        #expect(MetricCatalog.description(of: "scheduler_run_duration_seconds")?.buckets == MetricCatalog.runDurationBuckets)
    }

    @Test("The README's metrics table lists every family of the catalog with its labels")
    func readmeListsEveryMetric() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let names = Set(MetricCatalog.all.map(\.name))
        #expect(names.count == MetricCatalog.all.count, "a family is in the catalog twice")
        for metric in MetricCatalog.all {
            let row = text.split(separator: "\n").first { $0.hasPrefix("| `\(metric.name)` |") }
            let cells = row.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
            #expect(cells.count >= 4, "README has no table row for \(metric.name)")
            guard cells.count >= 4 else { continue }
            #expect(cells[1] == metric.kind.rawValue, "\(metric.name): README says \(cells[1])")
            let labels = cells[2].split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " `")) }
            #expect(labels == metric.labels, "\(metric.name): README labels \(labels), catalog \(metric.labels)")
        }
    }

    @Test("process_* values parse from /proc text, a command name with spaces and parentheses included")
    func processStatParsing() {
        // Fields 14/15 utime/stime, 22 starttime, 23 vsize, 24 rss.
        let stat = "4242 (my (odd) worker) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 150 0 0 20 0 12 0 5000 "
            + "734003200 2560 18446744073709551615 1 1 0 0 0 0 0 4096 17922 0 0 0 17 1 0 0 0 0 0"
        var metrics = ProcessMetrics()
        metrics.apply(stat: stat, bootTime: 1_700_000_000, ticksPerSecond: 100, pageSize: 4096)
        #expect(metrics.cpuSeconds == 4)
        #expect(metrics.startTimeSeconds == 1_700_000_050)
        #expect(metrics.virtualMemoryBytes == 734_003_200)
        #expect(metrics.residentMemoryBytes == 10_485_760.0)
        #expect(ProcessMetrics.bootTime(procStat: "cpu  1 2 3\nbtime 1699999999\nprocesses 5\n") == 1_699_999_999)
        let limits = """
            Limit                     Soft Limit           Hard Limit           Units
            Max open files            1024                 1048576              files
            """
        #expect(ProcessMetrics.openFilesLimit(limits: limits) == 1024)
        #expect(ProcessMetrics.openFilesLimit(limits: "Max open files            unlimited            unlimited            files") == .infinity)
        var broken = ProcessMetrics()
        broken.apply(stat: "12 (x) S 1 2", bootTime: nil, ticksPerSecond: 100, pageSize: 4096)
        #expect(broken == ProcessMetrics())
        let text = ProcessMetrics(cpuSeconds: 1.5, maxFileDescriptors: .infinity).exposition()
        #expect(text == """
            # HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
            # TYPE process_cpu_seconds_total counter
            process_cpu_seconds_total 1.5
            # HELP process_max_fds Maximum number of open file descriptors.
            # TYPE process_max_fds gauge
            process_max_fds +Inf

            """)
    }
}

@Suite("HEAD requests")
struct HeadRequestTests {
    @Test("HEAD of every GET route answers as GET, with its headers and no body")
    func headLikeGet() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let id = try await client.createJob()
            for path in ["/healthz", "/readyz", "/openapi.yaml", "/jobs", "/jobs/\(id)", "/jobs/\(id)/history", "/metrics"] {
                let get = try await client.send(.get, path)
                let head = try await client.send(.head, path)
                #expect(head.status == get.status, "HEAD \(path): \(head.status), GET \(get.status)")
                #expect(head.body.readableBytes == 0, "HEAD \(path) has a body: \(head.text)")
                #expect(head.headers[.contentType] == get.headers[.contentType], "HEAD \(path)")
                // The list and the metrics change between the two requests (other tests write to the same keyspace).
                if path != "/metrics" && path != "/jobs" {
                    #expect(head.headers[.contentLength] == get.headers[.contentLength], "HEAD \(path)")
                }
            }
            let missing = try await client.send(.head, "/jobs/\(UUID().uuidString)")
            #expect(missing.status == .notFound)
            #expect(missing.body.readableBytes == 0)
        }
    }

    @Test("A method not served names HEAD among the allowed ones of a GET route; HEAD of a POST-only route is 405")
    func allowListsHead() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let put = try await client.send(.put, "/healthz")
            #expect(put.status == .methodNotAllowed)
            #expect(put.headers[.allow] == "GET, HEAD", "\(put.headers)")
            let head = try await client.send(.head, "/jobs/\(UUID().uuidString)/run")
            #expect(head.status == .methodNotAllowed)
            #expect(head.body.readableBytes == 0)
        }
    }
}
