import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Scheduler
import TestSupport
import Testing

/// Operating a recurring job through the `worker` binary as users run it: runs, then PATCH, pause,
/// resume, cancel and purge over HTTP, the runtime running all along.
@Suite("Job changes, worker process", .serialized)
struct JobChangeProcessTests {
    @Test("a running recurring job is changed, paused, resumed, cancelled and purged over HTTP; SIGTERM exits 0")
    func operateRecurringJob() async throws {
        let directory = try ScratchDirectory(prefix: "worker-test")
        let worker = try await ChildProcess.start("worker", [
            "--http-port", "0", "--embedded-port", "0", "--data-dir", directory.path + "/data",
            "--poll-interval", "100ms", "--shards", "2", "--shutdown-grace", "5s", "--history-retention", "2h",
        ], log: directory.path + "/worker.log")
        defer { worker.kill() }
        let base = try await worker.waitForLine(prefix: "worker listening on ")
        let key = "operate-\(UUID().uuidString)"

        let created = try await HTTP.request("POST", base + "/jobs", body: """
            {"schedule":"@every 1s","kind":"echo","payload":{"v":1},"max_duration_seconds":30,"idempotency_key":"\(key)","run":true}
            """)
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.json["job_id"]?.stringValue, "\(created.text)")
        // It runs (each second) before anything changes.
        #expect(try await eventually(timeout: .seconds(30), every: .milliseconds(200)) { try await Self.succeededRuns(base, id) >= 2 }, "no runs: \(worker.output)")

        // The new schedule applies from the next fire: the job is then queued about an hour out.
        let patched = try await HTTP.request("PATCH", base + "/jobs/\(id)", body: #"{"schedule":"@every 1h","payload":{"v":2}}"#)
        #expect(patched.status == 200, "\(patched.text)")
        #expect(patched.json["schedule"]?.stringValue == "@every 1h")
        #expect(try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
            let job = try await HTTP.request("GET", base + "/jobs/\(id)")
            guard job.json["status"]?.stringValue == "queued", let due = job.json["next_due_at"]?.stringValue,
                  let at = try? RFC3339.parse(due) else { return false }
            return at.timeIntervalSinceNow > 3000
        })
        let runsBefore = try await Self.succeededRuns(base, id)

        let paused = try await HTTP.request("POST", base + "/jobs/\(id)/pause")
        #expect(paused.status == 200, "\(paused.text)")
        #expect(paused.json["status"]?.stringValue == "paused")
        #expect(try await HTTP.request("POST", base + "/jobs/\(id)/pause").status == 200)
        let listed = try await HTTP.request("GET", base + "/jobs?status=paused&kind=echo")
        #expect(listed.text.contains(id), "\(listed.text)")
        let resumed = try await HTTP.request("POST", base + "/jobs/\(id)/resume")
        #expect(resumed.status == 200, "\(resumed.text)")
        #expect(resumed.json["status"]?.stringValue == "queued")

        let byKey = try await HTTP.request("GET", base + "/jobs?idempotency_key=\(key)")
        #expect(byKey.text.contains(id), "\(byKey.text)")
        #expect(try await HTTP.request("DELETE", base + "/jobs/\(id)?purge=true").status == 409, "a queued job is not purged")
        #expect(try await HTTP.request("DELETE", base + "/jobs/\(id)").json["status"]?.stringValue == "cancelled")
        let purged = try await HTTP.request("DELETE", base + "/jobs/\(id)?purge=true")
        #expect(purged.status == 200, "\(purged.text)")
        #expect(try await HTTP.request("GET", base + "/jobs/\(id)").status == 404)
        #expect(try await HTTP.request("GET", base + "/jobs?idempotency_key=\(key)").json["jobs"] == .array([]))
        #expect(runsBefore >= 2)

        let exitStatus = try await worker.terminate(timeout: .seconds(60))
        #expect(exitStatus == 0, "worker exited \(exitStatus); output:\n\(worker.output)")
    }

    /// The job's succeeded runs in its first history page.
    static func succeededRuns(_ base: String, _ id: String) async throws -> Int {
        let history = try await HTTP.request("GET", base + "/jobs/\(id)/history?limit=1000")
        guard case .array(let runs)? = history.json["runs"] else { return 0 }
        return runs.filter { $0["status"]?.stringValue == "succeeded" }.count
    }
}
