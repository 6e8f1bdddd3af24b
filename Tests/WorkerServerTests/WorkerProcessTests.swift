import CQLNode
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Scheduler
import TestSupport
import Testing

/// The `worker` binary as users run it: a real process on free ports with a temporary data
/// directory, driven over HTTP, stopped with SIGTERM.
@Suite("Worker process", .serialized)
struct WorkerProcessTests {
    @Test("A job created and run over HTTP succeeds, is in its history, and SIGTERM exits 0")
    func endToEnd() async throws {
        let directory = try ScratchDirectory(prefix: "worker-test")
        let worker = try await ChildProcess.start("worker", [
            "--http-port", "0", "--embedded-port", "0", "--data-dir", directory.path + "/data",
            "--poll-interval", "100ms", "--shards", "2", "--worker-id", "e2e-worker", "--shutdown-grace", "5s",
        ], log: directory.path + "/worker.log")
        defer { worker.kill() }
        let base = try await worker.waitForLine(prefix: "worker listening on ")
        let cqlLine = try await worker.waitForLine(prefix: "embedded CQL node on 127.0.0.1:")
        #expect(Int(cqlLine) ?? 0 > 0, "embedded port not logged: \(cqlLine)")

        let created = try await HTTP.request("POST", base + "/jobs",
            body: #"{"schedule":"now","payload":{"message":"hello"},"max_duration_seconds":30,"kind":"echo"}"#)
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.json["job_id"]?.stringValue, "\(created.text)")

        let run = try await HTTP.request("POST", base + "/jobs/\(id)/run")
        #expect(run.status == 200, "\(run.text)")

        var status = ""
        for _ in 0..<300 {
            let job = try await HTTP.request("GET", base + "/jobs/\(id)")
            status = job.json["status"]?.stringValue ?? ""
            if status == "succeeded" || status == "failed" || status == "timed_out" { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(status == "succeeded")

        let history = try await HTTP.request("GET", base + "/jobs/\(id)/history")
        #expect(history.status == 200)
        guard case .array(let runs)? = history.json["runs"] else {
            Issue.record("no runs in \(history.text)")
            return
        }
        #expect(runs.contains { $0["status"]?.stringValue == "succeeded" && $0["worker_id"]?.stringValue == "e2e-worker" },
                "\(history.text)")

        let metrics = try await HTTP.request("GET", base + "/metrics")
        #expect(metrics.text.contains(#"scheduler_runs_total{kind="echo",outcome="succeeded"} 1"#), "\(metrics.text)")

        let exitStatus = try await worker.terminate(timeout: .seconds(60))
        #expect(exitStatus == 0, "worker exited \(exitStatus); output:\n\(worker.output)")
    }

    @Test("SIGTERM during a long run hands it back after the grace period and exits 0")
    func shutdownWithRunningJob() async throws {
        let directory = try ScratchDirectory(prefix: "worker-test")
        let worker = try await ChildProcess.start("worker", [
            "--http-port", "0", "--embedded-port", "0", "--data-dir", directory.path + "/data",
            "--poll-interval", "100ms", "--shards", "1", "--shutdown-grace", "1s",
        ], log: directory.path + "/worker.log")
        defer { worker.kill() }
        let base = try await worker.waitForLine(prefix: "worker listening on ")
        let created = try await HTTP.request("POST", base + "/jobs",
            body: #"{"schedule":"now","payload":{"seconds":300},"max_duration_seconds":600,"kind":"sleep","run":true}"#)
        let id = try #require(created.json["job_id"]?.stringValue, "\(created.text)")
        var status = ""
        for _ in 0..<300 where status != "running" {
            try await Task.sleep(for: .milliseconds(100))
            status = try await HTTP.request("GET", base + "/jobs/\(id)").json["status"]?.stringValue ?? ""
        }
        #expect(status == "running")
        // The run would sleep for five minutes; the worker must hand it back instead of waiting.
        let exitStatus = try await worker.terminate(timeout: .seconds(60))
        #expect(exitStatus == 0, "worker exited \(exitStatus); output:\n\(worker.output)")
    }

    @Test("Against a cluster without the schema the worker exits non-zero naming scripts/init_schema.sh")
    func missingSchema() async throws {
        let directory = try ScratchDirectory(prefix: "worker-test")
        let node = try await EmbeddedNode.start(EmbeddedNode.Configuration())
        let worker = try await ChildProcess.start("worker", ["--cassandra", "127.0.0.1:\(node.port)", "--http-port", "0"],
                                            log: directory.path + "/worker.log")
        defer { worker.kill() }
        let exitStatus = try await worker.waitForExit(timeout: .seconds(60))
        try await node.shutdown()
        #expect(exitStatus != 0)
        #expect(worker.output.contains("scripts/init_schema.sh"), "\(worker.output)")
    }
}

extension ChildProcess {
    /// Starts the product `name` as users run it, with `SCHEDULER_*` cleared and both output streams
    /// in the file `log` (its name without extension names the process).
    static func start(_ name: String, _ arguments: [String], log: String) async throws -> ChildProcess {
        let file = URL(fileURLWithPath: log)
        return try await start(try Repository.product(name), arguments, name: file.deletingPathExtension().lastPathComponent,
                               logs: file.deletingLastPathComponent().path, removingEnvironment: ["SCHEDULER_"],
                               combineOutput: true)
    }
}

/// Minimal HTTP client over URLSession.
enum HTTP {
    struct Answer {
        let status: Int
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSONValue { (try? JSONValue.parse(Array(body))) ?? .null }
    }

    static func request(_ method: String, _ url: String, body: String? = nil) async throws -> Answer {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Answer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
    }
}
