import CQLWire
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Scheduler
import Testing

/// Two `worker` processes sharing one standalone `cqlnode` process, everything driven over
/// HTTP as a user would: the shards split between the workers, every job gets exactly one
/// accepted run, and a SIGTERM to one worker mid-load loses no activated job and completes no
/// run twice.
@Suite("Two worker processes on one cqlnode", .serialized)
struct TwoWorkerProcessTests {
    static let jobCount = 1000
    static let shards = 8
    static let firstWorker = "two-workers-a"
    static let secondWorker = "two-workers-b"

    @Test("1,000 jobs over two workers on one cqlnode: shards split, one accepted run each; SIGTERM to one mid-load loses and repeats nothing")
    func thousandJobsAndSIGTERM() async throws {
        let began = ContinuousClock.now
        let directory = try TemporaryDirectory()
        let node = try ChildProcess.start("cqlnode", ["--port", "0", "--data-dir", directory.path + "/node"],
                                          log: directory.path + "/cqlnode.log")
        defer { node.kill() }
        let address = try await node.waitForLine(prefix: "cqlnode listening on ")
        let port = try #require(address.split(separator: ":").last.flatMap { Int($0) }, "no port in '\(address)'")

        // A cluster's schema is applied once from outside (the workers only verify it).
        let session = try await CQLSession.connect(CQLSession.Configuration(
            contactPoints: [CQLEndpoint(host: "127.0.0.1", port: port)], discoverNodes: false))
        defer { session.close() }
        try await JobService.applySchema(session: session, keyspace: "scheduler")

        let a = try Self.startWorker(Self.firstWorker, port: port, directory: directory)
        defer { a.kill() }
        let b = try Self.startWorker(Self.secondWorker, port: port, directory: directory)
        defer { b.kill() }
        let urlA = try await a.waitForLine(prefix: "worker listening on ")
        let urlB = try await b.waitForLine(prefix: "worker listening on ")

        // Both hold shards, and together all of them.
        var owned = (a: 0.0, b: 0.0)
        try await Self.eventually("the shards to split between the workers", timeout: .seconds(120), [a, b]) {
            owned.a = try await Self.metric(urlA, "scheduler_owned_shards")
            owned.b = try await Self.metric(urlB, "scheduler_owned_shards")
            return owned.a > 0 && owned.b > 0 && owned.a + owned.b == Double(Self.shards)
        }
        let holders = try await Self.shardHolders(session)
        #expect(holders.count == Self.shards, "shard leases: \(holders)")
        #expect(Set(holders.values) == [Self.firstWorker, Self.secondWorker], "shard leases: \(holders)")

        // A third of the jobs through both workers. They sleep a second each, so more arrive than
        // the workers finish and the second worker has runs under way and a backlog when it stops.
        let firstPart = Self.jobCount / 3
        var ids = try await Self.createJobs(firstPart, through: [urlA, urlB], payload: #"{"seconds":1}"#, kind: "sleep")
        var inFlightOnSecond = 0.0
        try await Self.eventually("\(Self.secondWorker) to complete a run and have another under way", timeout: .seconds(120), [a, b]) {
            let started = try await Self.metric(urlB, "scheduler_runs_started_total")
            let ended = try await Self.metric(urlB, "scheduler_runs_total")
            inFlightOnSecond = started - ended
            return ended >= 1 && inFlightOnSecond >= 1
        }

        // What is under way when the signal goes out (figures only: how much is in flight is timing).
        let succeededOnSecond = try await Self.metric(urlB, "scheduler_runs_total", outcome: "succeeded")
        let queuedAtSignal = try await Self.countJobs(urlA, status: "queued")
        let runningAtSignal = try await Self.countJobs(urlA, status: "running")

        // SIGTERM the second worker while the rest are created through the first.
        async let secondExit = b.terminate(timeout: .seconds(90))
        ids += try await Self.createJobs(Self.jobCount - firstPart, through: [urlA])
        let secondStatus = try await secondExit
        #expect(secondStatus == 0, "\(Self.secondWorker) exited \(secondStatus); output:\n\(b.output)")
        #expect(Set(ids).count == Self.jobCount)

        let jobs = try await Self.waitUntilFinished(ids, urlA, worker: a, timeout: .seconds(300))
        // The survivor took over the leaving worker's shards (their jobs could not have finished otherwise).
        try await Self.eventually("\(Self.firstWorker) to hold every shard", timeout: .seconds(60), [a]) {
            try await Self.metric(urlA, "scheduler_owned_shards") == Double(Self.shards)
        }
        let holdersAfter = try await Self.shardHolders(session)
        #expect(holdersAfter.count == Self.shards && Set(holdersAfter.values) == [Self.firstWorker], "shard leases: \(holdersAfter)")
        var runsBy: [String: Int] = [:]
        var unaccepted: [String: Int] = [:]
        let histories = try await Self.concurrently(ids, width: 8) { id in
            (id, try await HTTP.request("GET", urlA + "/jobs/\(id)/history?limit=50"))
        }
        for (id, answer) in histories {
            guard answer.status == 200, case .array(let runs)? = answer.json["runs"] else {
                Issue.record("history of \(id): HTTP \(answer.status) \(answer.text)")
                continue
            }
            let accepted = runs.filter { $0["status"]?.stringValue == "succeeded" }
            #expect(accepted.count == 1, "job \(id) has \(accepted.count) succeeded runs: \(answer.text)")
            #expect(!runs.contains { $0["status"]?.stringValue == "running" }, "job \(id) has a run left running: \(answer.text)")
            let attempts = runs.compactMap { $0["attempt"]?.int64Value }
            #expect(Set(attempts).count == runs.count, "job \(id) repeats an attempt: \(answer.text)")
            if let run = accepted.first {
                #expect(run["attempt"]?.int64Value == jobs[id]?["attempt"]?.int64Value,
                        "job \(id): the accepted run is not the job's latest attempt: \(answer.text); job \(jobs[id]?.jsonText ?? "")")
                runsBy[run["worker_id"]?.stringValue ?? "?", default: 0] += 1
            }
            for run in runs where run["status"]?.stringValue != "succeeded" {
                unaccepted[run["status"]?.stringValue ?? "?", default: 0] += 1
            }
        }
        #expect(runsBy.values.reduce(0, +) == Self.jobCount, "accepted runs by worker: \(runsBy)")
        #expect(Set(runsBy.keys) == [Self.firstWorker, Self.secondWorker], "accepted runs by worker: \(runsBy)")

        let stale = try await Self.metric(urlA, "scheduler_stale_completions_total")
        let firstStatus = try await a.terminate(timeout: .seconds(90))
        #expect(firstStatus == 0, "\(Self.firstWorker) exited \(firstStatus); output:\n\(a.output)")
        let nodeStatus = try await node.terminate(timeout: .seconds(60))
        #expect(nodeStatus == 0, "cqlnode exited \(nodeStatus); output:\n\(node.output)")
        print("two workers: \(Self.jobCount) jobs in \(ContinuousClock.now - began); shards at split a=\(owned.a) b=\(owned.b); "
            + "at SIGTERM: queued \(queuedAtSignal), running \(runningAtSignal), b had completed \(succeededOnSecond) "
            + "with \(inFlightOnSecond) under way; "
            + "accepted runs \(runsBy); other run records \(unaccepted); stale completions on a: \(stale)")
    }

    // MARK: - Helpers

    static func startWorker(_ id: String, port: Int, directory: TemporaryDirectory) throws -> ChildProcess {
        try ChildProcess.start("worker", [
            "--cassandra", "127.0.0.1:\(port)", "--http-port", "0", "--worker-id", id, "--shards", "\(shards)",
            "--poll-interval", "100ms", "--shutdown-grace", "10s", "--log-level", "warning",
        ], log: directory.path + "/\(id).log")
    }

    /// Creates `count` jobs activated on creation, spread over `urls`, a few at a time.
    static func createJobs(_ count: Int, through urls: [String], payload: String = "{}", kind: String = "noop") async throws -> [String] {
        let body = #"{"schedule":"now","payload":\#(payload),"max_duration_seconds":60,"kind":"\#(kind)","run":true}"#
        return try await concurrently(Array(0..<count), width: 6) { index in
            let url = urls[index % urls.count]
            let answer = try await HTTP.request("POST", url + "/jobs", body: body)
            guard answer.status == 201, let id = answer.json["job_id"]?.stringValue else {
                throw ChildProcess.Failure.unexpected("POST \(url)/jobs answered \(answer.status): \(answer.text)")
            }
            return id
        }
    }

    /// Polls the jobs until each is in a final status; returns the last answer per job.
    static func waitUntilFinished(_ ids: [String], _ url: String, worker: ChildProcess,
                                  timeout: Duration) async throws -> [String: JSONValue] {
        let deadline = ContinuousClock.now + timeout
        var pending = Set(ids)
        var finished: [String: JSONValue] = [:]
        var statuses: [String: Int] = [:]
        while !pending.isEmpty {
            let answers = try await concurrently(Array(pending), width: 8) { id in
                (id, try await HTTP.request("GET", url + "/jobs/\(id)").json)
            }
            statuses = [:]
            for (id, job) in answers {
                let status = job["status"]?.stringValue ?? "?"
                statuses[status, default: 0] += 1
                guard ["succeeded", "failed", "timed_out", "cancelled"].contains(status) else { continue }
                #expect(status == "succeeded", "job \(id) ended \(job.jsonText)")
                finished[id] = job
                pending.remove(id)
            }
            if pending.isEmpty { break }
            guard ContinuousClock.now < deadline, worker.isRunning else {
                throw ChildProcess.Failure.unexpected(
                    "\(pending.count) of \(ids.count) jobs unfinished (\(statuses)); worker output:\n\(worker.output)")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        return finished
    }

    /// How many jobs `GET /jobs?status=` lists, following its pages.
    static func countJobs(_ url: String, status: String) async throws -> Int {
        var count = 0
        var page: String?
        repeat {
            let query = page.map { "&page=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
            let answer = try await HTTP.request("GET", url + "/jobs?status=\(status)&limit=1000" + query)
            guard answer.status == 200, case .array(let jobs)? = answer.json["jobs"] else {
                throw ChildProcess.Failure.unexpected("GET /jobs?status=\(status): HTTP \(answer.status) \(answer.text)")
            }
            count += jobs.count
            page = answer.json["next_page"]?.stringValue
        } while page != nil
        return count
    }

    /// The holder of every held shard lease, from the `locks` table.
    static func shardHolders(_ session: CQLSession) async throws -> [String: String] {
        let result = try await session.execute("SELECT name, holder FROM scheduler.locks")
        var holders: [String: String] = [:]
        for row in result.rows {
            let name = try row.decode(String.self, named: "name")
            guard name.hasPrefix("shard-"), case .text(let holder) = try row.value(named: "holder") else { continue }
            holders[name] = holder
        }
        return holders
    }

    /// The sum of a metric's samples in a worker's `/metrics`, optionally of one `outcome` only.
    static func metric(_ url: String, _ name: String, outcome: String? = nil) async throws -> Double {
        let answer = try await HTTP.request("GET", url + "/metrics")
        var total = 0.0
        for line in answer.text.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
            if let outcome, !line.contains(#"outcome="\#(outcome)""#) { continue }
            total += line.split(separator: " ").last.flatMap { Double($0) } ?? 0
        }
        return total
    }

    /// Polls `condition` until it holds, failing with the processes' output after `timeout`.
    static func eventually(_ what: String, timeout: Duration, _ processes: [ChildProcess],
                           _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        let outputs = processes.map { "--- \($0.name)\n\($0.output)" }.joined(separator: "\n")
        throw ChildProcess.Failure.unexpected("waited \(timeout) for \(what)\n\(outputs)")
    }

    /// Maps `items` with at most `width` calls at a time, keeping the order.
    static func concurrently<T: Sendable, R: Sendable>(_ items: [T], width: Int,
                                                        _ body: @escaping @Sendable (T) async throws -> R) async throws -> [R] {
        try await withThrowingTaskGroup(of: (Int, R).self) { group in
            var results: [R?] = Array(repeating: nil, count: items.count)
            var next = 0
            while next < min(width, items.count) {
                let index = next
                group.addTask { (index, try await body(items[index])) }
                next += 1
            }
            while let (index, result) = try await group.next() {
                results[index] = result
                if next < items.count {
                    let index = next
                    group.addTask { (index, try await body(items[index])) }
                    next += 1
                }
            }
            return results.compactMap { $0 }
        }
    }
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

    let name: String
    private let process: Process
    private let logPath: String

    /// Starts the product `name` (found beside the worker binary) with `SCHEDULER_*` cleared.
    static func start(_ name: String, _ arguments: [String], log: String) throws -> ChildProcess {
        let path = URL(fileURLWithPath: WorkerProcess.binaryPath).deletingLastPathComponent().appendingPathComponent(name).path
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
