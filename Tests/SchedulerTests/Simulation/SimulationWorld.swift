import CQLWire
import Foundation
import Logging
import Metrics
@testable import Scheduler
import NIOConcurrencyHelpers

/// One simulated worker incarnation: the real ownership, poller, run coordinator and repair sweep,
/// on a simulated store and clock, plus what it has found and claimed.
final class SimulatedWorker: Sendable {
    struct ActiveRun: Sendable {
        var entry: QueueEntry
        var claim: Claim
        var leaseEnd: Date
    }

    struct State {
        var pending: [QueueEntry] = []
        var active: [ActiveRun] = []
        var busy = false
        var pausedUntil: Duration = .zero
        /// When the worker last started a drain cycle.
        var lastCycle: Duration = .seconds(-1)
        var lastSweep: Duration = .seconds(-3600)
    }

    let index: Int
    let incarnation: Int
    let clock: SimulatedClock
    let service: JobService
    let ownership: ShardOwnership
    let runs: RunCoordinator
    let poller: Poller
    let repair: RepairSweep
    let state = NIOLockedValueBox(State())

    init(index: Int, incarnation: Int, world: SimulationWorld) {
        self.index = index
        self.incarnation = incarnation
        let skew = Duration.milliseconds(world.random.int(Int(world.maximumSkew.milliseconds) * 2 + 1)) - world.maximumSkew
        clock = SimulatedClock(turnstile: world.turnstile, worker: index, incarnation: incarnation, skew: skew)
        let store = SimulatedStore(database: world.database, turnstile: world.turnstile, random: world.random, faults: world.faults,
                                   worker: index, incarnation: incarnation, clock: clock, maximumSkew: world.maximumSkew)
        let logger = Logger(label: "simulation", factory: { _ in SwiftLogNoOpLogHandler() })
        let random = world.random
        service = JobService(store: store, lockStore: store, configuration: world.configuration, handlers: .builtIns(), clock: clock,
                             requestTimeout: .seconds(2), logger: logger, metrics: NOOPMetricsHandler.instance,
                             makeJobID: { random.uuid() })
        let workerID = "w\(index).\(incarnation)"
        let lifecycle = RuntimeLifecycle(clock: clock)
        ownership = ShardOwnership(service: service, workerID: workerID, shards: world.configuration.shards, address: "",
                                   lifecycle: lifecycle, logger: logger)
        runs = RunCoordinator(service: service, workerID: workerID, lifecycle: lifecycle, logger: logger,
                              jitter: { random.double(in: 1.0...1.2) })
        let found = state
        poller = Poller(service: service, ownership: ownership, runs: runs, pollInterval: .seconds(1), lifecycle: lifecycle, logger: logger,
                        start: { entry in
                            found.withLockedValue { state in
                                guard !state.pending.contains(entry), !state.active.contains(where: { $0.entry.jobID == entry.jobID }) else { return false }
                                state.pending.append(entry)
                                return true
                            }
                        })
        repair = RepairSweep(service: service, ownership: ownership, poller: poller, lifecycle: lifecycle, logger: logger)
    }
}

/// A seeded run of several workers against one simulated cluster, with invariants checked after
/// every step. Everything random (faults, skews, the order requests land, ids, jitter) comes from
/// the seed, and only one simulated task runs at a time, so a seed replays the same interleaving.
final class SimulationWorld: Sendable {
    struct Options: Sendable {
        var workers = 3
        var jobs = 3
        var steps = 90
        var drainSteps = 6000
        var faults = FaultRates(fail: 0.05, timeout: 0.08)
        var crashRate = 0.01
        /// Break one fence on purpose (the mutant check): the completion CAS ignores the attempt.
        var trace = false
    }

    struct Outcome: Sendable {
        var violations: [String]
        var trace: [String]
        var checks: Int
        var steps: Int
    }

    let seed: UInt64
    let options: Options
    let random: SimulationRandom
    let turnstile = Turnstile()
    let database: SimulatedDatabase
    let faults: NIOLockedValueBox<FaultRates>
    let configuration: SchedulerConfiguration
    let maximumSkew: Duration
    private let workers = NIOLockedValueBox<[SimulatedWorker]>([])
    private let log = NIOLockedValueBox<[String]>([])
    private let seenTokens = NIOLockedValueBox<[String: Int64]>([:])
    private let checks = NIOLockedValueBox(0)
    private let violations = NIOLockedValueBox<[String]>([])

    init(seed: UInt64, options: Options = Options()) {
        self.seed = seed
        self.options = options
        random = SimulationRandom(seed: seed)
        database = SimulatedDatabase(turnstile: turnstile)
        faults = NIOLockedValueBox(options.faults)
        configuration = SchedulerConfiguration(
            shards: 2, runLease: .seconds(12), shardLeaseTTL: .seconds(6), leaseSafetyMargin: .seconds(1), baseRetryDelay: .seconds(1),
            maximumRetryDelay: .seconds(4), workerTTL: .seconds(15), repairInterval: .seconds(30), maximumConcurrentRuns: 4,
            pollLookback: .seconds(120), requestTimeout: .seconds(2))
        // Clocks may disagree by at most the lease safety margin (the locks' stated assumption).
        maximumSkew = configuration.leaseSafetyMargin / 2
    }

    private func note(_ text: @autoclosure () -> String) {
        guard options.trace else { return }
        let landed = database.notes.withLockedValue { notes in defer { notes = [] }; return notes }
        let now = turnstile.now.milliseconds
        let line = text()
        log.withLockedValue { $0 += (landed + [line]).map { "\(now)ms \($0)" } }
    }

    private func fail(_ text: String) {
        violations.withLockedValue { $0.append(text) }
    }

    // MARK: - Running

    func run() async -> Outcome {
        workers.withLockedValue { list in list = (0..<options.workers).map { SimulatedWorker(index: $0, incarnation: 0, world: self) } }
        var steps = 0
        while steps < options.steps {
            steps += 1
            await step(draining: false)
            checkInvariants()
            if !violations.withLockedValue({ $0.isEmpty }) { break }
        }
        // Drain: the network heals, nobody crashes; every activation must now come to an end.
        faults.withLockedValue { $0 = .none }
        turnstile.dropGhosts()
        await resumePaused()
        var drained = 0
        while violations.withLockedValue({ $0.isEmpty }), drained < options.drainSteps, !allSettled() {
            drained += 1
            await step(draining: true)
            checkInvariants()
        }
        if violations.withLockedValue({ $0.isEmpty }) { checkLiveness() }
        // Leave nothing parked: crash every worker so its tasks end.
        for worker in workers.withLockedValue({ $0 }) { await crash(worker.index, rebuild: false) }
        let audit = database.tables.withLockedValue { ($0.violations, $0.checks) }
        return Outcome(violations: violations.withLockedValue { $0 } + audit.0, trace: log.withLockedValue { $0 },
                       checks: checks.withLockedValue { $0 } + audit.1, steps: steps + drained)
    }

    private func step(draining: Bool) async {
        await turnstile.quiesce()
        let now = turnstile.now
        let pending = turnstile.pendingWorkers
        let workers = self.workers.withLockedValue { $0 }
        // Requests of paused workers wait; everything else may go.
        let releasable = pending.enumerated().filter { item in
            workers[item.element].state.withLockedValue { $0.pausedUntil <= now }
        }.map(\.offset)
        if draining {
            // A healed cluster and steady workers: each runs a full cycle once per simulated second.
            // Requests go in arrival order, all of them in one step (the healed cluster has no interleaving to explore).
            if !releasable.isEmpty {
                while let first = turnstile.pendingWorkers.indices.first {
                    let label = turnstile.release(first)
                    note(label())
                    await turnstile.quiesce()
                }
            } else if let worker = workers.first(where: { worker in
                worker.state.withLockedValue { !$0.busy && $0.pausedUntil <= now && $0.lastCycle < now }
            }) {
                worker.state.withLockedValue { $0.lastCycle = now }
                await act(worker, .cycle)
            } else {
                note("time +1s")
                while turnstile.advance(to: now + .seconds(1)) { await turnstile.quiesce() }
            }
            return
        }
        let roll = random.int(100)
        if roll < 2, options.crashRate > 0, random.chance(options.crashRate * 50) {
            let victim = random.int(workers.count)
            note("crash w\(victim)")
            await crash(victim, rebuild: true)
        } else if roll < 4 {
            let victim = random.int(workers.count)
            let pause = Duration.seconds(5 + random.int(60))
            workers[victim].state.withLockedValue { $0.pausedUntil = now + pause }
            note("pause w\(victim) for \(pause)")
        } else if roll < 8, turnstile.ghostCount > 0 {
            // Outside note(): its text is an autoclosure evaluated only when tracing, and a replay must do the same.
            let landed = turnstile.landGhost(random.int(turnstile.ghostCount))
            note("lands " + landed)
        } else if roll < 60, !releasable.isEmpty {
            let label = turnstile.release(releasable[random.int(releasable.count)])
            note(label())
            await turnstile.quiesce()
        } else if roll < 88, let worker = idleWorker(workers, now: now) {
            await act(worker, randomAction(for: worker))
        } else {
            await advanceTime()
        }
    }

    private func idleWorker(_ workers: [SimulatedWorker], now: Duration) -> SimulatedWorker? {
        let idle = workers.filter { worker in worker.state.withLockedValue { !$0.busy && $0.pausedUntil <= now } }
        guard !idle.isEmpty else { return nil }
        return idle[random.int(idle.count)]
    }

    private func advanceTime() async {
        let jump: Duration
        switch random.int(10) {
        case 0..<6: jump = .milliseconds(100 + random.int(2000))
        case 6..<9: jump = .seconds(2 + random.int(10))
        default: jump = .seconds(20 + random.int(40))  // longer than a shard lease, sometimes than a run lease
        }
        let target = turnstile.now + jump
        note("time +\(target - turnstile.now)")
        while turnstile.advance(to: target) { await turnstile.quiesce() }
    }

    private func crash(_ index: Int, rebuild: Bool) async {
        let incarnation = turnstile.crash(index)
        while turnstile.reapOne() { await turnstile.quiesce() }
        await turnstile.quiesce()
        if rebuild {
            let replacement = SimulatedWorker(index: index, incarnation: incarnation, world: self)
            workers.withLockedValue { $0[index] = replacement }
        }
    }

    // MARK: - Actions

    private enum Action: CaseIterable {
        case balance, poll, claim, renew, finish, sweep, create, cancel, rerun, cycle, pause, resume, update, purge
    }

    private func randomAction(for worker: SimulatedWorker) -> Action {
        let (pending, active) = worker.state.withLockedValue { ($0.pending.count, $0.active.count) }
        var choices: [Action] = [.balance, .poll, .sweep, .cancel, .rerun, .pause, .resume, .update, .purge]
        if pending > 0 { choices.append(.claim) }
        if active > 0 { choices += [.renew, .finish, .finish] }
        if database.tables.withLockedValue({ $0.jobs.count }) < options.jobs { choices += [.create, .create] }
        return choices[random.int(choices.count)]
    }

    /// Runs `action` on `worker` in a task of its own, until it ends or parks.
    private func act(_ worker: SimulatedWorker, _ action: Action) async {
        worker.state.withLockedValue { $0.busy = true }
        turnstile.taskStarting()
        let world = self
        Task {
            defer {
                worker.state.withLockedValue { $0.busy = false }
                world.turnstile.taskEnded()
            }
            do {
                try await world.perform(action, on: worker)
            } catch is SimulatedCrash {
                return
            } catch {
                world.note("w\(worker.index) \(action) failed: \(error)")
            }
        }
        await turnstile.quiesce()
    }

    private func perform(_ action: Action, on worker: SimulatedWorker) async throws {
        note("w\(worker.index) \(action)")
        switch action {
        case .balance:
            try await worker.ownership.balance()
        case .poll:
            try await worker.poller.pollOnce()
            note("w\(worker.index) has \(worker.state.withLockedValue { $0.pending.count }) due, owns \(worker.ownership.ownedShards)")
        case .sweep:
            try await worker.repair.sweep()
        case .claim:
            guard let entry = worker.state.withLockedValue({ $0.pending.isEmpty ? nil : $0.pending.removeFirst() }) else { return }
            if let claim = try await worker.runs.claim(entry) {
                worker.state.withLockedValue { $0.active.append(.init(entry: entry, claim: claim, leaseEnd: claim.leaseExpiresAt)) }
            }
        case .renew:
            guard let run = worker.state.withLockedValue({ $0.active.first }) else { return }
            let renewed = try await worker.runs.renewRunLease(run.entry, claim: run.claim)
            worker.state.withLockedValue { state in
                guard let at = state.active.firstIndex(where: { $0.claim == run.claim && $0.entry.jobID == run.entry.jobID }) else { return }
                if let renewed { state.active[at].leaseEnd = renewed } else { state.active[at].leaseEnd = .distantPast }
            }
        case .finish:
            guard let run = worker.state.withLockedValue({ $0.active.isEmpty ? nil : $0.active.removeFirst() }) else { return }
            let lost = worker.clock.now() >= run.leaseEnd
            let report = random.chance(0.25) ? RunReport(output: "partial", error: "simulated failure", exitCode: 1) : RunReport(output: "ok", exitCode: 0)
            try await worker.runs.complete(run.entry, claim: run.claim, end: lost ? .leaseLost : .finished, report: report,
                                           leaseExpiresAt: run.leaseEnd)
        case .create:
            let job = try JobRequest(schedule: "now", timezone: nil, payload: nil, maxDurationSeconds: 30, kind: "noop",
                                     maxAttempts: Int64(1 + random.int(3)), idempotencyKey: random.chance(0.3) ? "key-\(random.int(4))" : nil,
                                     run: true)
                .validated(kinds: HandlerRegistry.builtIns().kinds, now: worker.clock.now())
            _ = try await worker.service.create(job)
        case .cancel:
            guard let id = randomJob(), random.chance(0.3) else { return }
            _ = try await worker.service.cancel(id)
        case .rerun:
            guard let id = randomJob() else { return }
            _ = try await worker.service.run(id)
        case .pause:
            guard let id = randomJob(), random.chance(0.5) else { return }
            _ = try await worker.service.pause(id)
        case .resume:
            guard let id = randomJob() else { return }
            _ = try await worker.service.resume(id)
        case .update:
            guard let id = randomJob() else { return }
            // A new payload and limit, sometimes a new one-shot time a few seconds ahead.
            let schedule = random.chance(0.3) ? RFC3339.format(worker.clock.now().adding(.seconds(random.int(10)))) : nil
            let patch = JobPatch(schedule: schedule, payload: .object(["v": .number(String(random.int(100)))]),
                                 maxAttempts: Int64(1 + random.int(3)))
            _ = try await worker.service.update(id, patch: patch)
        case .purge:
            guard let id = randomJob(), random.chance(0.3) else { return }
            try await worker.service.purge(id)
        case .cycle:
            // What a healthy runtime does: leases, due runs claimed and finished, then a sweep.
            // The sweep every 15 s, as a runtime does it every repair interval, not at every poll.
            let now = turnstile.now
            let sweeps = worker.state.withLockedValue { state in
                defer { if now - state.lastSweep >= .seconds(15) { state.lastSweep = now } }
                return now - state.lastSweep >= .seconds(15)
            }
            for step in [Action.balance, .poll, .claim, .finish] + (sweeps ? [.sweep] : []) {
                repeat {
                    do {
                        try await perform(step, on: worker)
                    } catch is SimulatedCrash {
                        throw SimulatedCrash()
                    } catch {
                        note("w\(worker.index) \(step) failed: \(error)")
                    }
                } while step == .claim && worker.state.withLockedValue({ !$0.pending.isEmpty })
                    || step == .finish && worker.state.withLockedValue({ !$0.active.isEmpty })
            }
        }
    }

    private func randomJob() -> UUID? {
        let ids = database.tables.withLockedValue { $0.jobs.keys.sorted { $0.uuidString < $1.uuidString } }
        return ids.isEmpty ? nil : ids[random.int(ids.count)]
    }

    // MARK: - Invariants

    private func allSettled() -> Bool {
        let busy = workers.withLockedValue { $0.contains { $0.state.withLockedValue { $0.busy || !$0.active.isEmpty } } }
        guard !busy, turnstile.pendingCount == 0 else { return false }
        return database.tables.withLockedValue { t in
            // A `running` index entry of an ended run stays until a sweep ends the run's record with it.
            t.jobs.values.allSatisfy { $0.status != .queued && $0.status != .running && t.index[.init(status: .running, jobID: $0.jobID)]?.value == nil }
        }
    }

    /// At the drain's start: every paused job is resumed, so that each activation must come to an end.
    private func resumePaused() async {
        let paused = database.tables.withLockedValue { t in t.jobs.values.filter { $0.status == .paused || $0.paused }.map(\.jobID) }
        guard let worker = workers.withLockedValue({ $0.first }) else { return }
        for id in paused.sorted(by: { $0.uuidString < $1.uuidString }) {
            turnstile.taskStarting()
            let world = self
            Task {
                defer { world.turnstile.taskEnded() }
                do { _ = try await worker.service.resume(id) } catch { world.note("resume \(id.short) at drain failed: \(error)") }
            }
            await turnstile.quiesce()
            while turnstile.pendingWorkers.indices.first != nil {
                let label = turnstile.release(0)
                note(label())
                await turnstile.quiesce()
            }
        }
    }

    /// Checked after every step.
    private func checkInvariants() {
        let workers = self.workers.withLockedValue { $0 }
        let instant = SchedulerInstant(sinceOrigin: turnstile.now)
        var live: [String: [String]] = [:]
        for worker in workers {
            for lease in worker.ownership.leases where !lease.isExpired(at: instant) {
                checks.withLockedValue { $0 += 2 }
                live[lease.name, default: []].append(lease.owner)
                // Tokens: each live lease a worker newly holds carries a token above every one seen before for
                // the name. (A lease whose acquisition ended after its own deadline is expired when first seen.)
                seenTokens.withLockedValue { seen in
                    let key = "\(lease.name)/\(lease.owner)/\(lease.fencingToken)"
                    guard seen[key] == nil else { return }
                    if let highest = seen[lease.name], lease.fencingToken <= highest {
                        fail("lock \(lease.name): \(lease.owner) holds token \(lease.fencingToken), not above \(highest)")
                    }
                    seen[key] = lease.fencingToken
                    seen[lease.name] = max(seen[lease.name] ?? lease.fencingToken, lease.fencingToken)
                }
            }
        }
        for (name, holders) in live.sorted(by: { $0.key < $1.key }) where holders.count > 1 {
            fail("lock \(name): \(holders.count) live holders \(holders)")
        }
        // At most one live run per job: a worker whose run lease is live by its own clock.
        var running: [UUID: [String]] = [:]
        for worker in workers {
            let now = worker.clock.now()
            for run in worker.state.withLockedValue({ $0.active }) where run.leaseEnd > now {
                running[run.entry.jobID, default: []].append("w\(worker.index)#\(run.claim.attempt)")
            }
        }
        for (id, holders) in running.sorted(by: { $0.key.uuidString < $1.key.uuidString }) where holders.count > 1 {
            fail("job \(id): runs \(holders) live at once")
        }
        // No activated job hidden from the sweep: a queued or running job has a queue entry or a
        // `queued`/`running` index entry.
        let hidden = database.tables.withLockedValue { t -> [String] in
            t.jobs.values.filter { $0.status == .queued || $0.status == .running }.compactMap { job in
                let queued = t.queue.values.contains { $0.value?.jobID == job.jobID }
                let indexed = [JobStatus.queued, .running].contains { t.index[.init(status: $0, jobID: job.jobID)]?.value != nil }
                return queued || indexed ? nil : "job \(job.jobID) is \(job.status.rawValue) with no queue or index entry"
            }.sorted()
        }
        checks.withLockedValue { $0 += 2 + running.count }
        for text in hidden { fail(text) }
    }

    /// After the drain: every activation ended at least once.
    private func checkLiveness() {
        let problems = database.tables.withLockedValue { t -> [String] in
            t.jobs.values.sorted { $0.jobID.uuidString < $1.jobID.uuidString }.compactMap { job in
                guard !t.cancelled.contains(job.jobID) else { return nil }
                if job.status == .queued || job.status == .running {
                    return "job \(job.jobID) still \(job.status.rawValue) after the drain"
                }
                let ends = t.terminalEnds[job.jobID, default: 0], activations = t.activations[job.jobID, default: 0]
                return ends >= activations ? nil : "job \(job.jobID): \(activations) activations but \(ends) ended"
            }
        }
        for text in problems { fail(text) }
        // No run of a gone worker stays `running` in history once its job was reclaimed, finished or cancelled.
        let running = database.tables.withLockedValue { t -> [String] in
            t.history.filter { $0.value.status == .running }.compactMap { key, record in
                guard let job = t.jobs[key.jobID], !(job.status == .running && job.attempt == key.attempt) else { return nil }
                return "job \(key.jobID) run \(key.attempt) (worker \(record.workerID ?? "?")) still running in history; job \(job.status.rawValue) at attempt \(job.attempt)"
            }.sorted()
        }
        for text in running { fail(text) }
    }
}
