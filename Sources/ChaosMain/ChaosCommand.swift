import ArgumentParser
import ChaosKit
import CQLWire
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Scheduler
import TestSupport

/// `chaos`: runs a node and three workers on loopback, submits jobs, injects faults while they
/// run, then checks the recorded histories.
@main
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Fault-injection run of the scheduler (node, 3 workers, TCP proxy) and a checker of its invariants.",
        discussion: "Ends with one line `N passed, N failed`; exits non-zero when any check failed.")

    @Option(help: "Jobs to submit (about 1 in 50 recurring, the rest one-shot noop or fenced http).")
    var jobs = 600

    @Option(help: "Seconds of fault injection while jobs are submitted and run.")
    var duration = 240

    @Option(name: .customLong("kill-rate"), help: "Worker SIGKILLs per minute.")
    var killRate = 2.0

    @Option(name: .customLong("stop-rate"), help: "Worker SIGSTOPs (longer than the run lease) per minute.")
    var stopRate = 1.0

    @Option(name: .customLong("stop-seconds"), help: "How long a SIGSTOP lasts (the run lease is 30 s).")
    var stopSeconds = 35

    @Option(name: .customLong("node-restarts"), help: "kill -9 + restarts of cqlnode, spread over the run.")
    var nodeRestarts = 2

    @Option(name: .customLong("proxy-faults"), help: "Proxy cuts or delays per minute.")
    var proxyFaults = 3.0

    @Option(name: .customLong("faults-each"),
            help: "Besides the random draws, inject at least this many worker kills, stops, proxy cuts and proxy delays, spread over the run.")
    var faultsEach = 0

    @Option(name: .customLong("drain-timeout"), help: "Seconds to wait after the faults for jobs to finish.")
    var drainTimeout = 240

    @Option(name: .customLong("late-effects"),
            help: "Fraction of effect requests the effect server holds before deciding (late writes the fencing must reject).")
    var lateEffects = 0.1

    @Option(name: .customLong("late-effect-seconds"),
            help: "How long a late effect is held (longer than the http job's 5 s timeout, so its run is retried meanwhile).")
    var lateEffectSeconds = 12.0

    @Option(help: "Random seed (printed, so a run can be repeated).")
    var seed: UInt64?

    @Option(name: .customLong("work-dir"), help: "Where logs and the node's data go (default a new temporary directory).")
    var workDir: String?

    func validate() throws {
        guard jobs >= 1, duration >= 10 else { throw ValidationError("--jobs must be at least 1 and --duration at least 10") }
        guard killRate >= 0, stopRate >= 0, proxyFaults >= 0, nodeRestarts >= 0, faultsEach >= 0 else { throw ValidationError("rates must not be negative") }
        guard (0...1).contains(lateEffects), lateEffectSeconds >= 0 else {
            throw ValidationError("--late-effects must be between 0 and 1 and --late-effect-seconds not negative")
        }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let seed = self.seed ?? UInt64.random(in: 1...UInt64(UInt32.max))
        var random = SplitMix64(seed: seed)
        let bin = URL(fileURLWithPath: try Repository.product("cqlnode")).deletingLastPathComponent()
        let work = URL(fileURLWithPath: workDir ?? NSTemporaryDirectory() + "chaos-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        print("chaos: seed \(seed), jobs \(jobs), duration \(duration) s, kill-rate \(killRate)/min, stop-rate \(stopRate)/min, "
              + "node-restarts \(nodeRestarts), proxy-faults \(proxyFaults)/min, late effects \(lateEffects) held \(lateEffectSeconds) s, "
              + "logs in \(work.path)")

        let effects = try EffectServer(holdFraction: lateEffects, holdSeconds: lateEffectSeconds, seed: seed)
        let cluster = Cluster(binDirectory: bin, workDirectory: work, workers: 3, shards: 8)
        do {
            try await cluster.startNode()
            let nodePort = await cluster.nodePort
            let session = try await CQLSession.connect(.init(contactPoints: [CQLEndpoint(host: "127.0.0.1", port: Int(nodePort))],
                                                             requestTimeout: .seconds(5), discoverNodes: false))
            try await SchedulerSchema.applySchema(session: session, keyspace: "scheduler")
            for index in 0..<3 { try await cluster.startWorker(index) }
            print("chaos: node on \(nodePort), proxy on \(await cluster.proxy?.port ?? 0), effects on \(effects.port)")

            let started = ContinuousClock.now
            let submitted = try await inject(cluster: cluster, effectsPort: effects.port, random: &random)
            await cluster.resumeDue(all: true)
            let faults = await cluster.faults
            print("chaos: faults injected: " + faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            print("chaos: submitted \(submitted.count) jobs (\(submitted.filter(\.recurring).count) recurring), draining")
            let historyAtFaultsEnd = try? await CheckReader.attempts(session: session)
            try await drain(session: session, jobs: submitted)
            let runSeconds = Double((ContinuousClock.now - started).components.seconds)
            // A recurring job stalled by a fault must fire again now that they are over (within a run lease and a few periods).
            let runsAfterFaults = await CheckReader.runsAfter(historyAtFaultsEnd, session: session, jobs: submitted, timeout: .seconds(90))
            await cluster.shutdown()
            // Late effects still held are decided now, so the checker sees every one.
            if !(await effects.waitIdle(timeout: .seconds(Int64(lateEffectSeconds) + 5))) {
                print("chaos: \(effects.pending) effect requests still undecided")
            }
            effects.stop()
            session.close()

            // The checker reads from a node restarted once more, so what it judges is what the
            // commit log kept.
            try await cluster.startNode()
            let checkSession = try await CQLSession.connect(.init(contactPoints: [CQLEndpoint(host: "127.0.0.1", port: Int(nodePort))],
                                                                  discoverNodes: false))
            let input = try await CheckReader.read(session: checkSession, jobs: submitted, effects: effects.snapshot,
                                                   auditPath: await cluster.auditLogPath, expectStaleEffects: lateEffects > 0,
                                                   runSeconds: runSeconds, runsAfterFaults: runsAfterFaults)
            checkSession.close()
            await cluster.shutdown()
            await cluster.stopProxy()
            var checker = Checker()
            checker.judge(input)
            for line in checker.report { print(line) }
            print("\(checker.passed) passed, \(checker.failed) failed")
            if checker.failed > 0 { throw ExitCode.failure }
        } catch let error as ExitCode {
            throw error
        } catch {
            await cluster.killAll()
            await cluster.stopProxy()
            effects.stop()
            print("chaos: harness error: \(error)")
            print("0 passed, 1 failed")
            throw ExitCode.failure
        }
    }

    /// Submits the jobs over the first 70 % of the run while faults fire at random.
    private func inject(cluster: Cluster, effectsPort: UInt16, random: inout SplitMix64) async throws -> [SubmittedJob] {
        var submitted: [SubmittedJob] = []
        let start = ContinuousClock.now
        let end = start + .seconds(duration)
        let submitWindow = Double(duration) * 0.7
        let recurringEvery = max(1, jobs / 50)
        var nextRestart = nodeRestarts > 0 ? Double(duration) / Double(nodeRestarts + 1) : Double.infinity
        var restartsDone = 0
        var tick = 0
        while ContinuousClock.now < end {
            let elapsed = Double((ContinuousClock.now - start).components.seconds)
            // Jobs due by now at an even pace.
            let due = min(jobs, Int(Double(jobs) * min(1, (elapsed + 1) / submitWindow)))
            while submitted.count < due {
                let index = submitted.count
                let recurring = index % recurringEvery == 0 && index / recurringEvery < max(1, jobs / 50)
                let effect = Double.random(in: 0..<1, using: &random) < 0.5
                let urls = await cluster.liveURLs()
                guard let url = urls.randomElement(using: &random) else { break }
                if let job = await submit(to: url, recurring: recurring, effect: effect, effectsPort: effectsPort) {
                    submitted.append(job)
                } else {
                    break
                }
            }
            try await injectGuaranteed(cluster: cluster, elapsed: elapsed, random: &random)
            if tick % 2 == 0 {
                // Each rate is per minute; one draw every 2 s.
                if Double.random(in: 0..<1, using: &random) < killRate / 30 { try await cluster.killRandomWorker(using: &random) }
                if Double.random(in: 0..<1, using: &random) < stopRate / 30 {
                    await cluster.stopRandomWorker(for: stopSeconds, using: &random)
                }
                if Double.random(in: 0..<1, using: &random) < proxyFaults / 30 {
                    if Bool.random(using: &random) {
                        await cluster.cutConnections(refusingFor: Double.random(in: 0.5...3, using: &random))
                    } else {
                        await cluster.delayConnections(milliseconds: Int.random(in: 50...800, using: &random),
                                                       for: Double.random(in: 2...8, using: &random))
                    }
                }
            }
            if elapsed >= nextRestart && restartsDone < nodeRestarts {
                try await cluster.restartNode()
                restartsDone += 1
                nextRestart = Double(duration) * Double(restartsDone + 1) / Double(nodeRestarts + 1)
            }
            await cluster.resumeDue()
            tick += 1
            try await Task.sleep(for: .seconds(1))
        }
        return submitted
    }

    /// Injects the `--faults-each` faults of each kind that are due by `elapsed` and not injected yet
    /// (random draws count too), each kind at its own offset so they do not all land together.
    private func injectGuaranteed(cluster: Cluster, elapsed: Double, random: inout SplitMix64) async throws {
        guard faultsEach > 0 else { return }
        func due(_ kind: String, offset: Double) async -> Bool {
            let done = await cluster.faults[kind] ?? 0
            return done < faultsEach && elapsed >= Double(duration) * (Double(done) + offset) / Double(faultsEach)
        }
        if await due(Cluster.stopFault, offset: 0.1) { await cluster.stopRandomWorker(for: stopSeconds, using: &random) }
        if await due(Cluster.killFault, offset: 0.3) { try await cluster.killRandomWorker(using: &random) }
        if await due(Cluster.cutFault, offset: 0.5) {
            await cluster.cutConnections(refusingFor: Double.random(in: 0.5...3, using: &random))
        }
        if await due(Cluster.delayFault, offset: 0.7) {
            await cluster.delayConnections(milliseconds: Int.random(in: 50...800, using: &random), for: Double.random(in: 2...8, using: &random))
        }
    }

    /// Waits until every one-shot job is terminal (or the drain timeout passes).
    private func drain(session: CQLSession, jobs: [SubmittedJob]) async throws {
        struct Row: Decodable, Sendable { var job_id: UUID; var status: String? }
        let wanted = Set(jobs.filter { !$0.recurring }.map(\.id))
        let deadline = ContinuousClock.now + .seconds(drainTimeout)
        var pending = wanted.count
        while ContinuousClock.now < deadline {
            var done = 0
            do {
                for try await row in session.rows(CQLStatement("SELECT job_id, status FROM scheduler.jobs", values: []), as: Row.self)
                where wanted.contains(row.job_id.uuidString.lowercased()) && Checker.terminal.contains(row.status ?? "") {
                    done += 1
                }
                pending = wanted.count - done
                if pending == 0 { break }
            } catch {
                // The node may still be recovering; read again.
            }
            try await Task.sleep(for: .seconds(2))
        }
        print("chaos: drain finished with \(pending) one-shot jobs not terminal")
    }

    /// POSTs one job; nil when the worker did not take it.
    private func submit(to base: String, recurring: Bool, effect: Bool, effectsPort: UInt16) async -> SubmittedJob? {
        let every = 5
        var body: [String: Any] = [
            "schedule": recurring ? "@every \(every)s" : "now",
            "max_duration_seconds": 20,
            "max_attempts": 10,
            "run": true,
        ]
        if effect {
            body["kind"] = "http"
            body["payload"] = ["url": "http://127.0.0.1:\(effectsPort)/effect", "timeout_seconds": 5]
        } else {
            body["kind"] = "noop"
            body["payload"] = [String: String]()
        }
        guard let url = URL(string: base.hasSuffix("/") ? base + "jobs" : base + "/jobs"),
              let data = try? JSONSerialization.data(withJSONObject: body) else { return nil }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = data
        request.timeoutInterval = 10
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        guard let (answer, status) = await Self.send(request), (200...299).contains(status),
              let object = try? JSONSerialization.jsonObject(with: answer) as? [String: Any],
              let id = object["job_id"] as? String else { return nil }
        return SubmittedJob(id: id.lowercased(), kind: effect ? "http" : "noop", recurring: recurring, everySeconds: every)
    }

    private static func send(_ request: URLRequest) async -> (Data, Int)? {
        await withCheckedContinuation { (continuation: CheckedContinuation<(Data, Int)?, Never>) in
            URLSession.shared.dataTask(with: request) { data, response, _ in
                guard let http = response as? HTTPURLResponse else {
                    continuation.resume(returning: nil)
                    return
                }
                continuation.resume(returning: (data ?? Data(), http.statusCode))
            }.resume()
        }
    }
}
