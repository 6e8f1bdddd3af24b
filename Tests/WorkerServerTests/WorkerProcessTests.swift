import CQLNode
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Scheduler
import Testing

/// The `worker` binary as users run it: a real process on free ports with a temporary data
/// directory, driven over HTTP, stopped with SIGTERM.
@Suite("Worker process", .serialized)
struct WorkerProcessTests {
    @Test("A job created and run over HTTP succeeds, is in its history, and SIGTERM exits 0")
    func endToEnd() async throws {
        let directory = try TemporaryDirectory()
        let worker = try ChildProcess.start("worker", [
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
        let directory = try TemporaryDirectory()
        let worker = try ChildProcess.start("worker", [
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
        let directory = try TemporaryDirectory()
        let node = try await EmbeddedNode.start(EmbeddedNode.Configuration())
        let worker = try ChildProcess.start("worker", ["--cassandra", "127.0.0.1:\(node.port)", "--http-port", "0"],
                                            log: directory.path + "/worker.log")
        defer { worker.kill() }
        let exitStatus = try await worker.waitForExit(timeout: .seconds(60))
        try await node.shutdown()
        #expect(exitStatus != 0)
        #expect(worker.output.contains("scripts/init_schema.sh"), "\(worker.output)")
    }
}

/// A temporary directory removed when the value goes away.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("worker-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A built executable of this package run as a child process, its output going to a log file
/// (no pipe to fill), killed by the test's `defer` when the test fails before stopping it.
final class ChildProcess: Sendable {
    /// What went wrong starting or watching a process.
    enum Failure: Error, CustomStringConvertible {
        case binaryMissing(String)
        case noLine(String, output: String)
        case timeout(String, output: String)
        case unexpected(String)

        var description: String {
            switch self {
            case let .binaryMissing(path): "no executable at \(path); build the package first (swift build)"
            case let .noLine(prefix, output): "the process never printed '\(prefix)'; output:\n\(output)"
            case let .timeout(name, output): "\(name) did not exit in time; output:\n\(output)"
            case let .unexpected(message): message
            }
        }
    }

    /// Where the test binary's build products are: the executables sit beside the test bundle.
    static var productDirectory: URL {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // On macOS the test binary sits inside Foo.xctest/Contents/MacOS.
        while directory.path.contains(".xctest") { directory.deleteLastPathComponent() }
        return directory
    }

    let name: String
    private let process: Process
    private let logPath: String

    /// Starts the product `name` (built beside the test binary) with `SCHEDULER_*` cleared.
    static func start(_ name: String, _ arguments: [String], log: String) throws -> ChildProcess {
        let path = productDirectory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw Failure.binaryMissing(path) }
        guard FileManager.default.createFile(atPath: log, contents: nil), let handle = FileHandle(forWritingAtPath: log) else {
            throw Failure.unexpected("cannot create \(log)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SCHEDULER_") }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try handle.close()
        return ChildProcess(name: name, process: process, logPath: log)
    }

    private init(name: String, process: Process, logPath: String) {
        self.name = name
        self.process = process
        self.logPath = logPath
    }

    /// Standard output and error so far.
    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    /// Whether the process still runs.
    var isRunning: Bool { process.isRunning }

    /// Waits for a line starting with `prefix` and returns the rest of it.
    func waitForLine(prefix: String, timeout: Duration = .seconds(120)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for line in output.split(separator: "\n") where line.hasPrefix(prefix) {
                return String(line.dropFirst(prefix.count))
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure.noLine(prefix, output: output)
    }

    /// Sends SIGTERM and waits for the exit status.
    func terminate(timeout: Duration) async throws -> Int32 {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGTERM) }
        return try await waitForExit(timeout: timeout)
    }

    /// Waits for the process to exit by itself and returns its status.
    func waitForExit(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw Failure.timeout(name, output: output) }
            try await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }

    /// Ends the process if a test left it running.
    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
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
