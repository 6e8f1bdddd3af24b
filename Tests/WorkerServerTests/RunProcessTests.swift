import Foundation
import Scheduler
import TestSupport
import Testing

/// Runs of the `worker` binary as users run it: a `shell` job's process holds none of the worker's
/// descriptors (a `kill -9`ed worker restarts on its ports at once while the job's process lives
/// on), and DELETE of a running job stops it, records it cancelled and ends its process.
@Suite("Worker runs", .serialized)
struct RunProcessTests {
    /// The worker's arguments on the given ports, with shell jobs enabled.
    static func arguments(_ directory: ScratchDirectory, http: Int = 0, cql: Int = 0) -> [String] {
        ["--http-port", "\(http)", "--embedded-port", "\(cql)", "--data-dir", directory.path + "/data", "--poll-interval", "100ms",
         "--shards", "1", "--worker-id", "runs-worker", "--shutdown-grace", "1s", "--enable-shell-jobs"]
    }

    /// The pid of the process whose command line is exactly `arguments`, nil when none runs.
    static func process(commandLine arguments: [String]) -> pid_t? {
        let wanted = arguments.joined(separator: "\0") + "\0"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            if String(decoding: data, as: UTF8.self) == wanted { return pid }
        }
        return nil
    }

    /// What the process's descriptors point at (`socket:[...]`, `pipe:[...]`, paths), by number.
    static func descriptors(of pid: pid_t) -> [Int: String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        var targets: [Int: String] = [:]
        for entry in entries {
            guard let number = Int(entry) else { continue }
            targets[number] = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(entry)")) ?? "?"
        }
        return targets
    }

    /// Waits until the job has `status`; returns the last status seen.
    static func waitForStatus(_ base: String, _ id: String, _ status: String, seconds: Int = 60) async throws -> String {
        var seen = ""
        for _ in 0..<(seconds * 10) {
            seen = try await HTTP.request("GET", base + "/jobs/\(id)").json["status"]?.stringValue ?? ""
            if seen == status { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return seen
    }

    /// The pid of the job's `sleep <duration>` process once it runs (nil when it never showed up).
    static func sleepProcess(_ duration: String) async throws -> pid_t? {
        for _ in 0..<100 {
            for path in ["/usr/bin/sleep", "/bin/sleep", "sleep"] { if let pid = process(commandLine: [path, duration]) { return pid } }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    /// Whether the process is gone within about 10 s.
    static func ends(_ pid: pid_t) async throws -> Bool {
        for _ in 0..<100 {
            if kill(pid, 0) != 0 { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// A unique `sleep` duration, so the test finds its own process by command line.
    static func uniqueSleep(_ seconds: Int) -> String {
        "\(seconds).\(String(format: "%06d", Int.random(in: 0..<1_000_000)))"
    }

    @Test("a kill -9ed worker with a running shell job restarts on the same ports at once; the job's process holds no socket")
    func killedWorkerRestarts() async throws {
        let directory = try ScratchDirectory(prefix: "worker-test")
        let worker = try await ChildProcess.start("worker", Self.arguments(directory), log: directory.path + "/worker.log")
        defer { worker.kill() }
        let base = try await worker.waitForLine(prefix: "worker listening on ")
        let cqlPort = try #require(Int(try await worker.waitForLine(prefix: "embedded CQL node on 127.0.0.1:")))
        let httpPort = try #require(base.split(separator: ":").last.flatMap { Int($0) }, "no port in \(base)")
        let duration = Self.uniqueSleep(45)
        let created = try await HTTP.request("POST", base + "/jobs", body: """
            {"schedule":"now","kind":"shell","payload":{"command":"sleep","args":["\(duration)"]},"max_duration_seconds":120,"run":true}
            """)
        let id = try #require(created.json["job_id"]?.stringValue, "\(created.text)")
        #expect(try await Self.waitForStatus(base, id, "running") == "running")
        let pid = try #require(try await Self.sleepProcess(duration), "the job's process was not found")
        defer { kill(pid, SIGKILL) }
        // Only stdin (/dev/null) and the output pipe: no socket, no epoll, nothing else of the worker's.
        // Sampled until `sleep` is past its start-up, where it opens and closes locale files for a moment.
        var inherited = Self.descriptors(of: pid)
        for _ in 0..<20 where Set(inherited.keys) != [0, 1, 2] {
            #expect(!inherited.values.contains { $0.hasPrefix("socket:") || $0.contains("eventpoll") }, "\(inherited)")
            try await Task.sleep(for: .milliseconds(100))
            inherited = Self.descriptors(of: pid)
        }
        #expect(Set(inherited.keys) == [0, 1, 2], "\(inherited)")
        #expect(!inherited.values.contains { $0.hasPrefix("socket:") || $0.contains("eventpoll") }, "\(inherited)")

        worker.kill()
        _ = try await worker.waitForExit(timeout: .seconds(30))
        #expect(kill(pid, 0) == 0, "the job's process should outlive the worker it was started by")

        let restarted = try await ChildProcess.start("worker", Self.arguments(directory, http: httpPort, cql: cqlPort),
                                               log: directory.path + "/restarted.log")
        defer { restarted.kill() }
        let again = try await restarted.waitForLine(prefix: "worker listening on ")
        #expect(again == base)
        let health = try await HTTP.request("GET", again + "/healthz")
        #expect(health.status == 200, "\(health.text)")
        let exit = try await restarted.terminate(timeout: .seconds(60))
        #expect(exit == 0, "restarted worker exited \(exit): \(restarted.output)")
    }

    @Test("DELETE of a running sleep or shell job stops the run, records it cancelled, and the shell job's process is gone",
          arguments: ["sleep", "shell"])
    func cancelStopsRun(kind: String) async throws {
        let directory = try ScratchDirectory(prefix: "worker-test")
        let worker = try await ChildProcess.start("worker", Self.arguments(directory), log: directory.path + "/worker.log")
        defer { worker.kill() }
        let base = try await worker.waitForLine(prefix: "worker listening on ")
        let duration = Self.uniqueSleep(30)
        let payload = kind == "sleep" ? #"{"seconds":30}"# : #"{"command":"sleep","args":["\#(duration)"]}"#
        let created = try await HTTP.request("POST", base + "/jobs", body: """
            {"schedule":"now","kind":"\(kind)","payload":\(payload),"max_duration_seconds":120,"run":true}
            """)
        let id = try #require(created.json["job_id"]?.stringValue, "\(created.text)")
        #expect(try await Self.waitForStatus(base, id, "running") == "running")
        let child = kind == "shell" ? try await Self.sleepProcess(duration) : nil
        #expect(kind != "shell" || child != nil, "the job's process was not found")
        defer { if let child { kill(child, SIGKILL) } }

        let deleted = try await HTTP.request("DELETE", base + "/jobs/\(id)")
        #expect(deleted.status == 200, "\(deleted.text)")
        // Generous: the rule's 2 s is asserted on the test clock (RunResultTests); here, that it happens.
        var run: JSONValue = .null
        for _ in 0..<150 {
            let history = try await HTTP.request("GET", base + "/jobs/\(id)/history")
            if case .array(let runs)? = history.json["runs"], let first = runs.first { run = first }
            if run["status"]?.stringValue == "cancelled", run["finished_at"] != nil,
               worker.output.contains("run finished"), worker.output.contains("outcome=cancelled") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(run["status"]?.stringValue == "cancelled", "\(run)")
        #expect(run["error"]?.stringValue == "job cancelled while running", "\(run)")
        #expect(worker.output.contains("outcome=cancelled"), "no end line for the cancelled run:\n\(worker.output)")
        if let child {
            #expect(try await Self.ends(child), "the cancelled job's process \(child) still runs")
        }
        let exit = try await worker.terminate(timeout: .seconds(60))
        #expect(exit == 0, "worker exited \(exit): \(worker.output)")
    }

    @Test("SIGTERM of a worker with a running shell job ends the job's process group and records the run handed back")
    func shutdownEndsProcess() async throws {
        let directory = try ScratchDirectory(prefix: "worker-test")
        let worker = try await ChildProcess.start("worker", Self.arguments(directory), log: directory.path + "/worker.log")
        defer { worker.kill() }
        let base = try await worker.waitForLine(prefix: "worker listening on ")
        let duration = Self.uniqueSleep(40)
        // The shell ignores SIGTERM; its `sleep` child is in the same group and gets the SIGKILL 5 s later.
        let created = try await HTTP.request("POST", base + "/jobs", body: """
            {"schedule":"now","kind":"shell","payload":{"command":"trap '' TERM; sleep \(duration); true","shell":true},"max_duration_seconds":120,"run":true}
            """)
        let id = try #require(created.json["job_id"]?.stringValue, "\(created.text)")
        #expect(try await Self.waitForStatus(base, id, "running") == "running")
        let pid = try #require(try await Self.sleepProcess(duration), "the job's process was not found")
        defer { kill(pid, SIGKILL) }
        let exit = try await worker.terminate(timeout: .seconds(60))
        #expect(exit == 0, "worker exited \(exit): \(worker.output)")
        #expect(try await Self.ends(pid), "the job's process \(pid) outlived the worker's shutdown")
        #expect(worker.output.contains("outcome=cancelled"), "\(worker.output)")
    }
}
