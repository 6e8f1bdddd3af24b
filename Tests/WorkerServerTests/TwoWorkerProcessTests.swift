import CQLWire
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Scheduler
import TestSupport
import Testing

/// Two `worker` processes sharing one standalone `cqlnode` process, everything driven over
/// HTTP as a user would: the shards split between the workers, every job gets exactly one
/// accepted run, and a SIGTERM to one worker mid-load loses no activated job and completes no
/// run twice.
@Suite("Two worker processes on one cqlnode", .serialized)
struct TwoWorkerProcessTests {
    static let shards = 8
    static let firstWorker = "two-workers-a"
    static let secondWorker = "two-workers-b"

    @Test("1,000 jobs over two workers on one cqlnode: shards split, one accepted run each; SIGTERM to one mid-load loses and repeats nothing")
    func thousandJobsAndSIGTERM() async throws {
        let began = ContinuousClock.now
        let jobCount = 1000
        try await Self.withTwoWorkers(secondGrace: "10s") { stack in
            // A third of the jobs through both workers. They sleep a second each, so more arrive than
            // the workers finish and the second worker has runs under way and a backlog when it stops.
            let firstPart = jobCount / 3
            var ids = try await Self.createJobs(firstPart, through: [stack.urlA, stack.urlB], payload: #"{"seconds":1}"#, kind: "sleep")
            let inFlight = try await Self.waitForRunsUnderWay(stack)

            // What is under way when the signal goes out (figures only: how much is in flight is timing).
            let succeededOnSecond = try await Self.metric(stack.urlB, "scheduler_runs_total", outcome: "succeeded")
            let queuedAtSignal = try await Self.countJobs(stack.urlA, status: "queued")
            let runningAtSignal = try await Self.countJobs(stack.urlA, status: "running")

            // SIGTERM the second worker while the rest are created through the first.
            async let secondExit = stack.b.terminate(timeout: .seconds(90))
            ids += try await Self.createJobs(jobCount - firstPart, through: [stack.urlA])
            let secondStatus = try await secondExit
            #expect(secondStatus == 0, "\(Self.secondWorker) exited \(secondStatus); output:\n\(stack.b.output)")
            #expect(Set(ids).count == jobCount)

            let runs = try await Self.finishedRuns(ids, stack, timeout: .seconds(300))
            let acceptedBy = Self.acceptedRunsByWorker(runs)
            #expect(Set(acceptedBy.keys) == [Self.firstWorker, Self.secondWorker], "accepted runs by worker: \(acceptedBy)")
            let handedBack = runs.values.joined().filter { $0["status"]?.stringValue == "cancelled" }.count
            let stale = try await Self.metric(stack.urlA, "scheduler_stale_completions_total")
            print("two workers: \(jobCount) jobs in \(ContinuousClock.now - began); shards at split a=\(stack.owned.a) b=\(stack.owned.b); "
                + "at SIGTERM: queued \(queuedAtSignal), running \(runningAtSignal), b had completed \(succeededOnSecond) "
                + "with \(inFlight) under way; accepted runs \(acceptedBy); handed-back runs \(handedBack); stale completions on a: \(stale)")
        }
    }

    @Test("SIGTERM with a grace shorter than the runs: they are handed back and run once more by the other worker, without spending the only attempt")
    func handBackToOtherWorker() async throws {
        let began = ContinuousClock.now
        try await Self.withTwoWorkers(secondGrace: "500ms") { stack in
            // Ten-second runs: the second worker cannot finish what it has under way within its grace.
            let ids = try await Self.createJobs(24, through: [stack.urlA, stack.urlB], payload: #"{"seconds":10}"#, kind: "sleep",
                                                maxAttempts: 1)
            let inFlight = try await Self.waitForRunsUnderWay(stack, completed: 0)
            let secondStatus = try await stack.b.terminate(timeout: .seconds(90))
            #expect(secondStatus == 0, "\(Self.secondWorker) exited \(secondStatus); output:\n\(stack.b.output)")

            let runs = try await Self.finishedRuns(ids, stack, timeout: .seconds(180))
            let handedBack = runs.filter { $0.value.contains { $0["status"]?.stringValue == "cancelled" } }
            #expect(handedBack.count >= 1, "no run was handed back although \(inFlight) were under way on \(Self.secondWorker)")
            for (id, history) in handedBack {
                let accepted = history.first { $0["status"]?.stringValue == "succeeded" }
                #expect(accepted?["worker_id"]?.stringValue == Self.firstWorker, "job \(id): \(history.map(\.jsonText))")
            }
            print("two workers, hand-back: \(ids.count) jobs in \(ContinuousClock.now - began); \(inFlight) under way on b at SIGTERM; "
                + "\(handedBack.count) handed back and run again by a; accepted runs \(Self.acceptedRunsByWorker(runs))")
        }
    }

    // MARK: - Scenario

    /// The processes of one scenario: a standalone cqlnode with the schema and two workers sharing it.
    struct Stack {
        let node: ChildProcess
        let session: CQLSession
        let a: ChildProcess
        let b: ChildProcess
        let urlA: String
        let urlB: String
        /// Shards each worker held once they had split them.
        let owned: (a: Double, b: Double)
    }

    /// Starts the stack, waits until the workers split the shards, runs `body`, then stops the
    /// first worker and the node, expecting clean exits. Every process is killed and the data
    /// directory removed also when something fails on the way.
    static func withTwoWorkers(secondGrace: String, _ body: (Stack) async throws -> Void) async throws {
        let directory = try ScratchDirectory(prefix: "worker-test")
        let node = try await ChildProcess.start("cqlnode", ["--port", "0", "--data-dir", directory.path + "/node"],
                                          log: directory.path + "/cqlnode.log")
        defer { node.kill() }
        let address = try await node.waitForLine(prefix: "cqlnode listening on ")
        let port = try #require(address.split(separator: ":").last.flatMap { Int($0) }, "no port in '\(address)'")

        // A cluster's schema is applied once from outside (the workers only verify it).
        let session = try await CQLSession.connect(CQLSession.Configuration(
            contactPoints: [CQLEndpoint(host: "127.0.0.1", port: port)], discoverNodes: false))
        defer { session.close() }
        try await SchedulerSchema.applySchema(session: session, keyspace: "scheduler")

        let a = try await startWorker(firstWorker, port: port, grace: "10s", directory: directory)
        defer { a.kill() }
        let b = try await startWorker(secondWorker, port: port, grace: secondGrace, directory: directory)
        defer { b.kill() }
        let urlA = try await a.waitForLine(prefix: "worker listening on ")
        let urlB = try await b.waitForLine(prefix: "worker listening on ")

        // Both hold shards, and together all of them.
        var owned = (a: 0.0, b: 0.0)
        try await eventually("the shards to split between the workers", timeout: .seconds(120), context: { Self.outputs([a, b]) }) {
            owned.a = try await metric(urlA, "scheduler_owned_shards")
            owned.b = try await metric(urlB, "scheduler_owned_shards")
            return owned.a > 0 && owned.b > 0 && owned.a + owned.b == Double(shards)
        }
        let holders = try await shardHolders(session)
        #expect(holders.count == shards, "shard leases: \(holders)")
        #expect(Set(holders.values) == [firstWorker, secondWorker], "shard leases: \(holders)")

        try await body(Stack(node: node, session: session, a: a, b: b, urlA: urlA, urlB: urlB, owned: owned))

        let firstStatus = try await a.terminate(timeout: .seconds(90))
        #expect(firstStatus == 0, "\(firstWorker) exited \(firstStatus); output:\n\(a.output)")
        let nodeStatus = try await node.terminate(timeout: .seconds(60))
        #expect(nodeStatus == 0, "cqlnode exited \(nodeStatus); output:\n\(node.output)")
    }

    /// Waits until the second worker has runs under way (and at least `completed` finished); returns how many are under way.
    static func waitForRunsUnderWay(_ stack: Stack, completed: Double = 1) async throws -> Double {
        var inFlight = 0.0
        try await eventually("\(secondWorker) to have runs under way", timeout: .seconds(120), context: { Self.outputs([stack.a, stack.b]) }) {
            let started = try await metric(stack.urlB, "scheduler_runs_started_total")
            let ended = try await metric(stack.urlB, "scheduler_runs_total")
            inFlight = started - ended
            return ended >= completed && inFlight >= 1
        }
        return inFlight
    }

    /// Waits until every job succeeded and the first worker holds every shard, then checks each
    /// job's history: exactly one succeeded run, which is the job's latest attempt; nothing left
    /// running; any other run is one the second worker handed back before the accepted one.
    /// Returns the runs per job.
    static func finishedRuns(_ ids: [String], _ stack: Stack, timeout: Duration) async throws -> [String: [JSONValue]] {
        let jobs = try await waitUntilFinished(ids, stack.urlA, worker: stack.a, timeout: timeout)
        // The survivor took over the leaving worker's shards (their jobs could not have finished otherwise).
        try await eventually("\(firstWorker) to hold every shard", timeout: .seconds(60), context: { Self.outputs([stack.a]) }) {
            try await metric(stack.urlA, "scheduler_owned_shards") == Double(shards)
        }
        let holders = try await shardHolders(stack.session)
        #expect(holders.count == shards && Set(holders.values) == [firstWorker], "shard leases: \(holders)")

        let histories = try await concurrently(ids, width: 8) { id in
            (id, try await HTTP.request("GET", stack.urlA + "/jobs/\(id)/history?limit=50"))
        }
        var runsByJob: [String: [JSONValue]] = [:]
        for (id, answer) in histories {
            guard answer.status == 200, case .array(let runs)? = answer.json["runs"] else {
                Issue.record("history of \(id): HTTP \(answer.status) \(answer.text)")
                continue
            }
            runsByJob[id] = runs
            let accepted = runs.filter { $0["status"]?.stringValue == "succeeded" }
            #expect(accepted.count == 1, "job \(id) has \(accepted.count) succeeded runs: \(answer.text)")
            let attempts = runs.compactMap { $0["attempt"]?.int64Value }
            #expect(Set(attempts).count == runs.count, "job \(id) repeats an attempt: \(answer.text)")
            guard let acceptedAttempt = accepted.first?["attempt"]?.int64Value else { continue }
            #expect(acceptedAttempt == jobs[id]?["attempt"]?.int64Value,
                    "job \(id): the accepted run is not the job's latest attempt: \(answer.text); job \(jobs[id]?.jsonText ?? "")")
            for run in runs where run["status"]?.stringValue != "succeeded" {
                #expect(run["status"]?.stringValue == "cancelled" && run["worker_id"]?.stringValue == secondWorker
                        && (run["attempt"]?.int64Value ?? .max) < acceptedAttempt,
                        "job \(id): a run that is neither the accepted one nor handed back by \(secondWorker): \(answer.text)")
            }
        }
        let accepted = acceptedRunsByWorker(runsByJob).values.reduce(0, +)
        #expect(accepted == ids.count, "\(accepted) accepted runs for \(ids.count) jobs")
        return runsByJob
    }

    /// How many accepted (succeeded) runs each worker recorded.
    static func acceptedRunsByWorker(_ runs: [String: [JSONValue]]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for run in runs.values.joined() where run["status"]?.stringValue == "succeeded" {
            counts[run["worker_id"]?.stringValue ?? "?", default: 0] += 1
        }
        return counts
    }

    // MARK: - Helpers

    /// A `worker` against the standalone node: free HTTP port, fast polling, quiet logs.
    static func startWorker(_ id: String, port: Int, grace: String, directory: ScratchDirectory) async throws -> ChildProcess {
        try await ChildProcess.start("worker", [
            "--cassandra", "127.0.0.1:\(port)", "--http-port", "0", "--worker-id", id, "--shards", "\(shards)",
            "--poll-interval", "100ms", "--shutdown-grace", grace, "--log-level", "warning",
        ], log: directory.path + "/\(id).log")
    }

    /// Creates `count` jobs activated on creation, spread over `urls`, a few at a time.
    static func createJobs(_ count: Int, through urls: [String], payload: String = "{}", kind: String = "noop",
                           maxAttempts: Int = 3) async throws -> [String] {
        let body = #"{"schedule":"now","payload":\#(payload),"max_duration_seconds":60,"kind":"\#(kind)","max_attempts":\#(maxAttempts),"run":true}"#
        return try await concurrently(Array(0..<count), width: 6) { index in
            let url = urls[index % urls.count]
            let answer = try await HTTP.request("POST", url + "/jobs", body: body)
            guard answer.status == 201, let id = answer.json["job_id"]?.stringValue else {
                throw TestSupportError("POST \(url)/jobs answered \(answer.status): \(answer.text)")
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
                throw TestSupportError(
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
                throw TestSupportError("GET /jobs?status=\(status): HTTP \(answer.status) \(answer.text)")
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

    /// What the processes printed, for a failure message.
    static func outputs(_ processes: [ChildProcess]) -> String {
        processes.map { "--- \($0.name)\n\($0.output)" }.joined(separator: "\n")
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
